"""Codes in the demo city."""

from __future__ import annotations

from twonets.core.seeding import DemoCity


def seed(city: DemoCity) -> None:
    """Nothing yet."""
