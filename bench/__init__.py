"""Benchmarks: each runs with `python -m bench.<name>` and prints its figures last.

They are not tests: nothing fails on a timing, and `make test` does not run them.
"""
