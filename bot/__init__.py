"""Peershelf: catch what colleagues share in Slack and learn from it."""

__version__ = "0.1.0"
