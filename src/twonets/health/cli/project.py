"""Command ``twonets health project``: CHIME's bed-demand projection from its arguments alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from twonets.core.errors import Invalid
from twonets.health.cli.errors import invalid_option
from twonets.health.projection import ProjectionParameters, project

_D = ProjectionParameters()


def register(app: typer.Typer) -> None:
    """Add the ``project`` command to ``app``."""
    app.command("project")(project_command)


def project_command(
    population: Annotated[int, typer.Option(help="Regional population (>= 1).")] = _D.population,
    current_hospitalized: Annotated[
        int, typer.Option(help="COVID-19 patients in this hospital today (>= 0).")
    ] = _D.current_hospitalized,
    doubling_time: Annotated[
        float, typer.Option(help="Days for cases to double before distancing (> 0).")
    ] = _D.doubling_time,
    relative_contact_rate: Annotated[
        float, typer.Option(help="Reduction in contacts from distancing, from day 0 (0-1).")
    ] = _D.relative_contact_rate,
    market_share: Annotated[
        float, typer.Option(help="This hospital's share of the region's patients (0-1].")
    ] = _D.market_share,
    infectious_days: Annotated[
        int, typer.Option(help="Days a case stays infectious (>= 1).")
    ] = _D.infectious_days,
    hospitalized_rate: Annotated[
        float, typer.Option(help="Share of infections needing a hospital bed (0-1].")
    ] = _D.hospitalized_rate,
    hospitalized_los: Annotated[
        int, typer.Option(help="Average hospital length of stay in days (>= 1).")
    ] = _D.hospitalized_los,
    icu_rate: Annotated[
        float, typer.Option(help="Share of infections needing an ICU bed (0-1).")
    ] = _D.icu_rate,
    icu_los: Annotated[int, typer.Option(help="Average ICU stay in days (>= 1).")] = _D.icu_los,
    ventilated_rate: Annotated[
        float, typer.Option(help="Share of infections needing a ventilator (0-1).")
    ] = _D.ventilated_rate,
    ventilated_los: Annotated[
        int, typer.Option(help="Average days on a ventilator (>= 1).")
    ] = _D.ventilated_los,
    n_days: Annotated[int, typer.Option(help="Days to project after today.")] = _D.n_days,
    csv: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Also write the daily table here.")
    ] = None,
) -> None:
    """Project hospital, ICU and ventilator census (CHIME's model); print peaks as JSON."""
    try:
        params = ProjectionParameters(
            population=population,
            current_hospitalized=current_hospitalized,
            doubling_time=doubling_time,
            relative_contact_rate=relative_contact_rate,
            market_share=market_share,
            infectious_days=infectious_days,
            hospitalized_rate=hospitalized_rate,
            hospitalized_los=hospitalized_los,
            icu_rate=icu_rate,
            icu_los=icu_los,
            ventilated_rate=ventilated_rate,
            ventilated_los=ventilated_los,
            n_days=n_days,
        )
    except Invalid as exc:
        raise invalid_option(exc) from None
    projection = project(params)
    if csv is not None:
        try:
            projection.to_csv(csv)
        except OSError as exc:
            typer.echo(f"error: --csv: cannot write {csv}: {exc.strerror}", err=True)
            raise typer.Exit(1) from None
    typer.echo(json.dumps(projection.to_json(), indent=2))
