"""`qa eval`: registered on the main app (see qa/eval/)."""
