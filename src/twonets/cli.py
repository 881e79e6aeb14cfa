"""The ``twonets`` command; each domain adds its own sub-command here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from twonets import migrations
from twonets.codes.cli import codes_app
from twonets.core import backup
from twonets.core.cli import accounts_app, ids_app
from twonets.core.config import Settings
from twonets.core.db import (
    connection_budget_problem,
    make_engine,
    make_session_factory,
    unit_of_work,
    utcnow,
)
from twonets.core.errors import TwonetsError
from twonets.core.service import ensure_reference_data
from twonets.governance.cli import governance_app, ledger_app
from twonets.health.cli import health_app
from twonets.licences.cli import licences_app, trust_app
from twonets.licences.wallet_cli import wallet_app
from twonets.operations.cli import ops_app
from twonets.requests.cli import open311_app, requests_app
from twonets.services.cli import services_app

app = typer.Typer(
    help="Two Nets: government services and city operations on one governed platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: migrations.")
app.add_typer(db_app, name="db")
app.add_typer(ids_app, name="ids")
app.add_typer(accounts_app, name="accounts")
app.add_typer(ledger_app, name="ledger")
app.add_typer(governance_app, name="governance")
app.add_typer(licences_app, name="licences")
app.add_typer(trust_app, name="trust")
app.add_typer(wallet_app, name="wallet")
app.add_typer(health_app, name="health")
app.add_typer(codes_app, name="codes")
app.add_typer(ops_app, name="ops")
app.add_typer(requests_app, name="requests")
app.add_typer(open311_app, name="open311")
app.add_typer(services_app, name="services")


@app.callback()
def main_callback(ctx: typer.Context) -> None:
    """Build the settings once (from ``TWONETS_*``) for every sub-command."""
    try:
        ctx.obj = Settings()
    except Exception as exc:
        typer.echo(f"error: settings: {exc}", err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Migrate the database to the newest schema and load the reference places."""
    settings: Settings = ctx.obj
    url = settings.effective_database_url
    migrations.upgrade(url, revision)
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            added = ensure_reference_data(session)
        typer.echo(
            f"database at {migrations.current_revision(engine)}; {added} reference rows added"
        )
    finally:
        engine.dispose()


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the database's schema revision and the newest one."""
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        current = migrations.current_revision(engine)
    finally:
        engine.dispose()
    head = migrations.head_revision()
    typer.echo(f"current: {current or 'none'}\nhead:    {head}")
    raise typer.Exit(0 if current == head else 1)


def _passphrase(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        typer.echo(f"error: --passphrase-file: {exc.strerror}: {path}", err=True)
        raise typer.Exit(2) from None
    if len(value) < 12:
        typer.echo(
            f"error: --passphrase-file: {path}: the passphrase should be at least 12 characters",
            err=True,
        )
        raise typer.Exit(2)
    return value


@app.command("backup")
def backup_command(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="a new directory for the backup")],
    passphrase_file: Annotated[
        Path | None, typer.Option(help="seal the root secret in the backup with this passphrase")
    ] = None,
) -> None:
    """A consistent snapshot of the database and the root secret (docs/deploy.md, Backups)."""
    settings: Settings = ctx.obj
    try:
        manifest = backup.backup(
            settings, dest, now=utcnow(), passphrase=_passphrase(passphrase_file)
        )
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    total = sum(int(f["bytes"]) for f in manifest.files.values())
    typer.echo(
        f"backed up {manifest.database} at revision {manifest.revision} into {dest} "
        f"({len(manifest.files)} files, {total:,} bytes); it holds the root secret: keep it so"
    )


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(help="a directory written by twonets backup")],
    passphrase_file: Annotated[
        Path | None, typer.Option(help="the passphrase the backup's secret was sealed with")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite a database that holds data")
    ] = False,
) -> None:
    """Restore a backup into the configured database and secret, after checking it whole."""
    settings: Settings = ctx.obj
    try:
        manifest = backup.restore(
            settings, src, passphrase=_passphrase(passphrase_file), replace=replace
        )
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"restored the {manifest.database} backup of {manifest.created_at} "
        f"(revision {manifest.revision}); run `twonets db upgrade` if the code is newer"
    )


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="worker processes (PostgreSQL only for more than one)"),
    ] = 1,
) -> None:
    """Serve the API and the pages (the database must be migrated)."""
    settings: Settings = ctx.obj
    run_server(settings, host=host, port=port, workers=workers)


WORKER_FACTORY = "twonets.web.app:create_app_from_environment"


def run_server(
    settings: Settings, *, host: str | None = None, port: int | None = None, workers: int = 1
) -> None:
    """Run the app under uvicorn until interrupted, in one process or in ``workers``.

    With several workers each process builds the app from the ``TWONETS_*`` environment
    (uvicorn imports ``WORKER_FACTORY``); the background work runs in one of them at a time,
    under a lease in the database (core/leases.py). SQLite allows one writer, so several
    workers are refused on it.
    """
    from twonets.web import create_app

    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        typer.echo(
            f"error: --workers {workers}: several worker processes need PostgreSQL; "
            "SQLite serves with one (set TWONETS_DATABASE_URL to a PostgreSQL database)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        # Built once here even for several workers: configuration errors stop the command
        # before any worker starts, and a demo secret is generated once, not per worker.
        application = create_app(settings)
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    per_process = settings.database_pool_size + settings.database_max_overflow
    problem = connection_budget_problem(application.state.engine, workers, per_process)
    if problem is not None:
        typer.echo(f"warning: {problem}", err=True)
    if workers > 1:
        application.state.engine.dispose()
        uvicorn.run(
            WORKER_FACTORY,
            factory=True,
            workers=workers,
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
        )
        return
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@app.command("demo")
def demo(
    ctx: typer.Context,
    scale: Annotated[int, typer.Option(min=1, max=1000, help="size multiplier")] = 1,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same city)")] = 2026,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve after seeding")
    ] = True,
    reset: Annotated[
        bool, typer.Option("--reset", help="wipe a database that holds another demo city")
    ] = False,
    region: Annotated[
        str,
        typer.Option(help="SH: the demo city; JS: a second region beside it, its own database"),
    ] = "SH",
    peer_url: Annotated[
        str, typer.Option(help="with --region JS: the demo city's address")
    ] = "http://127.0.0.1:8000",
    peer_anchor: Annotated[
        Path, typer.Option(help="with --region JS: the demo city's anchor (its demo writes it)")
    ] = Path("var/anchor-SH.pem"),
) -> None:
    """Seed the deterministic demo city, then serve it and print the demo accounts."""
    from twonets.demo import run_demo

    settings: Settings = ctx.obj
    if region.upper() != "SH":
        _demo_region(settings, region.upper(), port, serve_after, peer_url, peer_anchor)
        return
    try:
        accounts = run_demo(settings, scale=scale, seed=seed, reset=reset)
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    url = f"http://{settings.host}:{port or settings.port}"
    typer.echo(f"\nTwo Nets demo city is ready at {url}\n\nDemo accounts (password in brackets):")
    for account in accounts:
        typer.echo(f"  {account.username:<22} [{account.password}]  {account.description}")
    if serve_after:
        run_server(settings, port=port)


def _demo_region(
    settings: Settings,
    region: str,
    port: int | None,
    serve_after: bool,
    peer_url: str,
    peer_anchor: Path,
) -> None:
    """A second region's own platform beside the demo city (``demo --region JS``)."""
    import threading

    from twonets.demo.region import own_settings, seed_region, wait_and_recognise

    if region != "JS":
        typer.echo("error: --region: the demo has a second region JS only", err=True)
        raise typer.Exit(2)
    settings = own_settings(settings, region)
    try:
        made = seed_region(settings, region=region)
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    own_url = f"http://{settings.host}:{port or settings.port}"
    typer.echo(
        f"\nJiangsu's own platform ({settings.effective_database_url}) is ready at {own_url}; "
        f"its anchor is {made.anchor_path}\n\nDemo accounts (password in brackets):"
    )
    for account in made.accounts:
        typer.echo(f"  {account.username:<22} [{account.password}]  {account.description}")
    if not serve_after:
        typer.echo(
            f"\nWhen both serve: `twonets trust recognise SH --url {peer_url} --anchor "
            f"{peer_anchor} --admin js.admin` here, and `twonets trust recognise {region} --url "
            f"{own_url} --anchor {made.anchor_path}` on the city's platform."
        )
        return
    threading.Thread(
        target=wait_and_recognise,
        kwargs={
            "settings": settings,
            "region": region,
            "own_url": own_url,
            "anchor_path": made.anchor_path,
            "peer": "SH",
            "peer_url": peer_url,
            "peer_anchor": peer_anchor,
            "say": typer.echo,
        },
        daemon=True,
    ).start()
    run_server(settings, port=port)


def main() -> None:
    """Entry point of the ``twonets`` command."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app()
