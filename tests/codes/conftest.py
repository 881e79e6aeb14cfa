"""Fixtures of the code tests (the world itself lives in ``world.py``)."""

from __future__ import annotations

from codes.world import world

__all__ = ["world"]
