"""Benchmarks of the bot: ``make bench`` (``python -m bench``) writes docs/benchmarks.md."""
