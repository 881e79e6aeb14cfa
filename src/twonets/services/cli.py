"""Sub-command ``twonets services``: deploy and migrate process versions, simulate a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.services import service
from twonets.services.engine import ProcessFileError
from twonets.services.simulate import read_source, simulate

services_app = typer.Typer(
    help='"One thing" services: deploy process versions (BPMN), move applications, simulate.'
)


@contextmanager
def _session(ctx: typer.Context) -> Iterator[Session]:
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        # A broken process file is bad input (2); any other refusal is 1.
        raise typer.Exit(2 if isinstance(exc, ProcessFileError) else 1) from None
    finally:
        engine.dispose()


@services_app.command("deploy")
def deploy(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a BPMN 2.0 file (DMN tables beside it: *.dmn)")],
) -> None:
    """Add each process of FILE as its next version; running applications stay on theirs."""
    try:
        source = read_source(file)
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    with _session(ctx) as session:
        deployed = service.deploy_process(session, source, actor="cli", now=utcnow())
    for item in deployed:
        what = "deployed as version" if item.created else "unchanged, still version"
        typer.echo(f"{item.process_id}: {what} {item.version}")


@services_app.command("migrate")
def migrate(
    ctx: typer.Context,
    process: Annotated[str, typer.Argument(help="the process id")],
    to: Annotated[int, typer.Option("--to", min=1, help="the version to move applications to")],
) -> None:
    """Move PROCESS's in-flight applications to a version where the engine allows it."""
    with _session(ctx) as session:
        report = service.migrate_applications(
            session, process, to_version=to, actor="cli", now=utcnow()
        )
    typer.echo(f"{process}: {len(report.moved)} applications moved to version {to}")
    for application_id in report.moved:
        typer.echo(f"  moved  {application_id}")
    for application_id, reason in report.refused:
        typer.echo(f"  stays  {application_id}: {reason}")


@services_app.command("simulate")
def simulate_command(
    bpmn: Annotated[Path, typer.Option("--bpmn", help="the BPMN file (DMN tables beside it)")],
    process: Annotated[str, typer.Option("--process", help="the id of the process to run")],
    data: Annotated[
        str, typer.Option("--data", help="JSON object: the start's data and every task's")
    ] = "{}",
) -> None:
    """Run a process file without the database and print what it did, as JSON."""
    try:
        given: Any = json.loads(data)
    except json.JSONDecodeError as exc:
        typer.echo(f"error: --data: not JSON: {exc.msg} (column {exc.colno})", err=True)
        raise typer.Exit(2) from None
    if not isinstance(given, dict):
        typer.echo("error: --data: should be a JSON object", err=True)
        raise typer.Exit(2)
    try:
        result = simulate(read_source(bpmn), process, given)
    except TwonetsError as exc:
        typer.echo(f"error: {' '.join(exc.detail.split())}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, ensure_ascii=False))
