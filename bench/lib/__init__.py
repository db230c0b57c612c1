"""Helpers of bench/run.py (standard library only)."""
