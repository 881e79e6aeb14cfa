"""Sub-command ``twonets health``: projections, siting and alarms, computed from files.

One module per command (``project``, ``siting``, ``alarms``), each adding itself with
``register(app)``; ``errors`` is how they all report a wrong option.
"""

from __future__ import annotations

import typer

from twonets.health.cli import alarms, project, siting

health_app = typer.Typer(
    help="Public-health readiness: bed-demand projection, centre siting, outbreak alarms."
)
for command in (project, siting, alarms):
    command.register(health_app)
