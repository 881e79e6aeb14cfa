"""Sub-command ``twonets health siting``: an exact p-median of an OR-Library file, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from twonets.core.errors import TwonetsError
from twonets.health.pmedian import solve_p_median
from twonets.health.siting import distances, read_orlib


def register(app: typer.Typer) -> None:
    """Add the ``siting`` command to ``app`` (mounted as ``twonets health``)."""

    @app.command("siting")
    def siting(
        orlib: Annotated[
            Path, typer.Option("--orlib", help="OR-Library p-median file (n m p; i j cost)")
        ],
        time_limit: Annotated[
            float | None, typer.Option("--time-limit", min=0.0, help="seconds for the solver")
        ] = None,
    ) -> None:
        """Choose p medians minimising total distance; print objective, medians and status."""
        try:
            text = orlib.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"error: {orlib}: cannot read: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            instance = read_orlib(text)
            result = solve_p_median(distances(instance), instance.p, time_limit=time_limit)
        except TwonetsError as exc:
            typer.echo(f"error: {orlib}: {exc.detail}", err=True)
            raise typer.Exit(2) from None
        objective: float | int | None = result.objective
        if result.objective != result.objective:  # NaN: no solution
            objective = None
        elif float(result.objective).is_integer():
            objective = int(result.objective)
        body = {
            "objective": objective,
            "medians": [j + 1 for j in result.medians],
            "status": str(result.status),
            "seconds": round(result.seconds, 3),
        }
        typer.echo(json.dumps(body))
