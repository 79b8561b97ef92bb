"""`qa eval`: gold-suite evaluation (suites, metrics, runner, calibration, reports, compare)."""
