"""``twonets ops trucks ...``: the batch check (no database), the registry import, the sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.operations.devices.enrolment import acting_staff
from twonets.operations.trucks import files, service
from twonets.operations.trucks.checks import Scene
from twonets.operations.trucks.config import TruckSettings

trucks_app = typer.Typer(help="Muck trucks: permits, corridors, hours, zones and violations.")

ExistingFile = Annotated[
    Path, typer.Option(exists=True, dir_okay=False, readable=True, help="A file to read.")
]


def register(app: typer.Typer) -> None:
    """Add ``twonets ops trucks`` to ``twonets ops``."""
    app.add_typer(trucks_app, name="trucks")


def _fail(detail: str) -> typer.Exit:
    typer.echo(f"error: {detail}", err=True)
    return typer.Exit(2)


@trucks_app.command("check")
def check_command(
    positions: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="CSV with header plate,time,lat,lon,speed_kmh (ISO 8601 times, WGS-84).",
        ),
    ],
    permits: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="GeoJSON FeatureCollection of permitted routes."
        ),
    ],
    zones: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="GeoJSON FeatureCollection of sites and no-go zones."
        ),
    ] = None,
) -> None:
    """Check positions against permits and zones; one JSON line per violation episode."""
    try:
        fixes = files.read_positions(positions)
        permitted = files.read_permits(permits)
        zoned = files.read_zones(zones) if zones is not None else []
    except files.FormatError as exc:
        raise _fail(str(exc)) from None
    for episode in Scene(permitted, zoned).check_all(fixes):
        typer.echo(json.dumps(episode.as_json(), ensure_ascii=False))


@contextmanager
def _session(ctx: typer.Context) -> Iterator[Session]:
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except TwonetsError as exc:
        raise _fail(exc.detail) from None
    finally:
        engine.dispose()


@trucks_app.command("import")
def import_command(
    ctx: typer.Context,
    as_: Annotated[
        str, typer.Option("--as", help="The operations staff account doing it (user name).")
    ],
    trucks: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="CSV with header credit_code,company,plate,terminal_phone.",
        ),
    ] = None,
    zones: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="GeoJSON of sites and no-go zones."),
    ] = None,
    permits: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="GeoJSON of permits (plate or company)."),
    ] = None,
) -> None:
    """Register trucks, zones and permits from files, in that order, all or nothing."""
    now = utcnow()
    with _session(ctx) as session:
        caller = acting_staff(session, as_)
        if trucks is not None:
            typer.echo(
                f"{len(service.import_trucks_file(session, caller, trucks, now=now))} trucks"
            )
        if zones is not None:
            typer.echo(f"{len(service.import_zones_file(session, caller, zones, now=now))} zones")
        if permits is not None:
            count = len(service.import_permits_file(session, caller, permits, now=now))
            typer.echo(f"{count} permits")


@trucks_app.command("sweep")
def sweep_command(
    ctx: typer.Context,
    hours: Annotated[float, typer.Option(min=0.1, help="Check the positions of these hours.")] = 24,
) -> None:
    """Check stored positions of the last hours (cases for new violations), then delete
    positions past the retention (TWONETS_TRUCKS_RETENTION_DAYS)."""
    now = utcnow()
    with _session(ctx) as session:
        found = service.check_positions(
            session, since=now - timedelta(hours=hours), until=now, now=now
        )
        purged = service.purge_positions(
            session, now=now, retention_days=TruckSettings().retention_days
        )
    typer.echo(f"{len(found)} new violations, {purged} old positions deleted")
