"""Sub-command ``twonets codes``."""

from __future__ import annotations

import typer

codes_app = typer.Typer(help="Personal and enterprise codes: scenarios, verification, scans.")
