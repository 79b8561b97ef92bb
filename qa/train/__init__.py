"""Fitting the learned answerer (work in progress: see docs/answerer-wip.md)."""
