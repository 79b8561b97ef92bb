"""`qa serve`: registered on the main app (see qa/api.py)."""
