"""Sub-commands ``twonets ledger`` and ``twonets governance``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.governance import break_glass, keys, ledger, retention
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance

ledger_app = typer.Typer(help="The access ledger: verify the chain and tree heads, sequence.")
governance_app = typer.Typer(help="Personal-data governance: retention, dataset keys.")
retention_app = typer.Typer(help="Delete or anonymise records whose purpose has run out.")
keys_app = typer.Typer(help="Keys of sealed (encrypted) fields.")
break_glass_app = typer.Typer(help="Break-glass reads waiting for the officer's review.")
governance_app.add_typer(retention_app, name="retention")
governance_app.add_typer(keys_app, name="keys")
governance_app.add_typer(break_glass_app, name="break-glass")


@contextmanager
def _context(ctx: typer.Context) -> Iterator[tuple[Session, Governance]]:
    settings: Settings = ctx.obj
    try:
        gov = Governance(Catalogue(), resolve_secret_key(settings))
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session, gov
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@ledger_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Check every entry's hash and chain and every signed tree head; exit 1 on the first fault."""
    with _context(ctx) as (session, gov):
        report = ledger.verify_ledger(session, gov.signer.public_key)
    if report.ok:
        typer.echo(
            f"ledger ok: {report.entries} entries, {report.tree_heads} signed tree heads, "
            f"{report.pending} reads waiting to be sequenced"
        )
        return
    for problem in report.problems:
        typer.echo(f"ledger broken: {problem}", err=True)
    raise typer.Exit(1)


@ledger_app.command("sequence")
def sequence(ctx: typer.Context) -> None:
    """Move every pending read into the ledger now and sign a tree head."""
    total = 0
    with _context(ctx) as (session, gov):
        while count := ledger.sequence_pending(session, gov.signer, now=utcnow()):
            total += count
        head = ledger.latest_tree_head(session)
    typer.echo(f"sequenced {total} reads; tree size {head.tree_size if head else 0}")


@retention_app.command("run")
def retention_run(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable report")] = False,
) -> None:
    """Apply retention now; safe to rerun (a second run finds nothing to do)."""
    with _context(ctx) as (session, gov):
        outcomes = retention.run_retention(session, gov, actor="retention-job", now=utcnow())
    if as_json:
        typer.echo(json.dumps([asdict(o) for o in outcomes], ensure_ascii=False))
        return
    if not outcomes:
        typer.echo("no dataset has a retention rule")
    for o in outcomes:
        verb = "deleted" if o.action == "delete" else "anonymised"
        typer.echo(f"{o.dataset}: {verb} {o.affected} records ({o.reason}; cutoff {o.cutoff})")


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context, dataset: str) -> None:
    """Make a new key version current for a dataset; values under older keys still open."""
    with _context(ctx) as (session, gov):
        version = keys.rotate_dataset_key(
            session, gov, actor="key-rotation", dataset=dataset, now=utcnow()
        )
    typer.echo(f"{dataset}: key version {version} is now current; run 'keys rewrap' next")


@keys_app.command("rewrap")
def keys_rewrap(
    ctx: typer.Context,
    dataset: str,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
) -> None:
    """Re-seal values still under older keys, batch by batch, while the platform runs."""
    total = 0
    while True:
        with _context(ctx) as (session, gov):
            count = keys.rewrap_dataset(session, gov, dataset=dataset, batch_size=batch_size)
        total += count
        if count < batch_size:
            break
    typer.echo(f"{dataset}: re-sealed {total} records under the current key")


@break_glass_app.command("list")
def break_glass_list(
    ctx: typer.Context,
    everything: Annotated[bool, typer.Option("--all", help="reviewed ones too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable list")] = False,
) -> None:
    """Break-glass reads not yet reviewed (all of them with --all), newest first."""
    with _context(ctx) as (session, _):
        records = break_glass.list_break_glass(session, pending_only=not everything)
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "read_at": r.read_at.isoformat(),
                "actor": r.actor,
                "department_code": r.department_code,
                "purpose": r.purpose_code,
                "dataset": r.dataset,
                "subjects": len(r.subject_ids),
                "fields": list(r.fields),
                "reason": r.reason,
                "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None,
                "reviewed_by": r.reviewed_by,
                "review_note": r.review_note,
            }
            for r in records
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        typer.echo("no break-glass reads" + ("" if everything else " wait for review"))
    for row in [] if as_json else rows:
        state = (
            f"reviewed by {row['reviewed_by']}: {row['review_note']}"
            if row["reviewed_at"]
            else "NOT REVIEWED"
        )
        typer.echo(
            f"#{row['id']} {row['read_at']} {row['actor']} ({row['department_code']}) "
            f"{row['purpose']} {row['dataset']}: {row['subjects']} subject(s), "
            f"{', '.join(row['fields'])} — {row['reason']} [{state}]"
        )
