"""Sub-command ``twonets ops``."""

from __future__ import annotations

import typer

from twonets.operations import device_cli

ops_app = typer.Typer(help="City operations: management elements, cases, device intake.")
device_cli.register(ops_app)
