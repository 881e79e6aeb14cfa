"""Sub-command ``twonets ops``: each part of city operations adds its own commands."""

from __future__ import annotations

import typer

from twonets.operations.bikes import cli as bikes_cli
from twonets.operations.cases import cli as cases_cli
from twonets.operations.devices import cli as devices_cli
from twonets.operations.rentals import cli as rentals_cli
from twonets.operations.trucks import cli as trucks_cli

ops_app = typer.Typer(help="City operations: management elements, cases, device intake.")
devices_cli.register(ops_app)
cases_cli.register(ops_app)
trucks_cli.register(ops_app)
bikes_cli.register(ops_app)
rentals_cli.register(ops_app)
