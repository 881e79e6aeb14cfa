"""Two Nets: an open platform for a megacity's government services and city operations."""

__version__ = "0.1.0"
