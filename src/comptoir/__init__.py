"""Comptoir: online services for small French businesses."""

__version__ = "0.1.0"
