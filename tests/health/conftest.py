"""Fixtures of health's tests (the world itself lives in ``health_world``)."""

from __future__ import annotations

from health.health_world import world

__all__ = ["world"]
