"""Sub-command ``twonets health``: projections, siting and alarms, computed from files."""

from __future__ import annotations

import typer

from twonets.health import _cli_alarms, _cli_project, _cli_siting

health_app = typer.Typer(
    help="Public-health readiness: bed-demand projection, centre siting, outbreak alarms."
)
for command in (_cli_project, _cli_siting, _cli_alarms):
    command.register(health_app)
