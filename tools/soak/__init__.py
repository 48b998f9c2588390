"""The long soaks of `make soak` (the e-paper half; the defio half is host_tests/soak_core.py)."""
