"""``twonets ops jt808 ...``, ``twonets ops gateway`` and ``twonets ops mqtt``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the device-intake commands to ``twonets ops``."""
