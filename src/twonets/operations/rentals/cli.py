"""``twonets ops rentals detect|evaluate|import|outcomes``: files in, leads out, the loop.

Both work without the database; ``import`` and ``outcomes`` work on it. A broken input file
is exit code 2 with a message naming the file, the row and the column; nothing is written then.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer

from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.operations.rentals import data, detection, service, synthetic

rentals_app = typer.Typer(help="Group rentals (群租): leads from water, electricity and gas.")


def register(app: typer.Typer) -> None:
    """Add the group-rental commands to ``twonets ops``."""
    app.add_typer(rentals_app, name="rentals")


def leads_csv(leads: list[detection.Lead]) -> str:
    """Ranked leads as CSV: ``household_id,score,reasons``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["household_id", "score", "reasons"])
    for lead in leads:
        writer.writerow([lead.household_id, f"{lead.score:.4f}", lead.reasons])
    return buffer.getvalue()


def leads_json(leads: list[detection.Lead]) -> str:
    """Ranked leads as a JSON array of ``{household_id, score, reasons}``."""
    return json.dumps(
        [{"household_id": x.household_id, "score": x.score, "reasons": x.reasons} for x in leads],
        ensure_ascii=False,
        indent=1,
    )


@rentals_app.command("detect")
def detect_command(
    households: Annotated[Path, typer.Option("--households", help="Households, CSV or Parquet.")],
    readings: Annotated[Path, typer.Option("--readings", help="Monthly readings, CSV or Parquet.")],
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Keep only the K best leads.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write here (.json for JSON, else CSV); default: stdout."),
    ] = None,
) -> None:
    """Rank households as group-rental leads, with their reasons."""
    try:
        homes = data.read_households(households)
        rows = data.read_readings(readings, {h.household_id for h in homes})
    except data.FileProblem as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    leads = detection.detect(homes, rows, top=top)
    as_json = out is not None and out.suffix.lower() == ".json"
    text = leads_json(leads) + "\n" if as_json else leads_csv(leads)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(leads)} leads written to {out}", err=True)


@rentals_app.command("evaluate")
def evaluate_command(
    seed: Annotated[
        int, typer.Option("--seed", help="The synthetic city's seed.")
    ] = synthetic.DEFAULT_SEED,
    households: Annotated[
        int, typer.Option("--households", min=100, help="How many households.")
    ] = 3000,
    top: Annotated[
        int | None,
        typer.Option("--top", min=1, help="Precision in the K best (default: as many as planted)."),
    ] = None,
) -> None:
    """Precision@k and recall on the demo city's planted group rentals; look-alikes apart."""
    city = synthetic.generate(seed=seed, households=households)
    typer.echo(f"households       {len(city.households)} (seed {seed})")
    runs = (
        ("rules + model", detection.detect(city.households, city.readings)),
        ("rule baseline", detection.detect_baseline(city.households, city.readings)),
    )
    for name, leads in runs:
        result = synthetic.evaluate(
            city.kinds, [x.household_id for x in leads], top=top, starts=city.starts
        )
        typer.echo(f"{name}:")
        typer.echo(f"  planted rentals  {result.planted}")
        typer.echo(f"  leads            {result.leads}")
        typer.echo(f"  precision@{result.top:<6} {result.precision_at_top:.3f}")
        typer.echo(f"  recall           {result.recall:.3f}")
        typer.echo(f"  started mid-year {result.mid_year_found} of {result.mid_year_planted} found")
        typer.echo("  look-alikes in the top (of planted):")
        for kind, count in result.look_alikes_in_top.items():
            typer.echo(f"    {kind:<10} {count} of {result.look_alikes_planted[kind]}")


@rentals_app.command("import")
def import_command(
    ctx: typer.Context,
    as_: Annotated[str, typer.Option("--as", help="The housing staff account importing.")],
    households: Annotated[
        Path | None, typer.Option("--households", help="Households, CSV or Parquet.")
    ] = None,
    readings: Annotated[
        Path | None, typer.Option("--readings", help="Monthly readings, CSV or Parquet.")
    ] = None,
) -> None:
    """Import households and readings into the database (all or nothing), then detect."""
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            caller = service.acting_staff(session, as_)
            now = utcnow()
            done = service.import_files(
                session, caller, households=households, readings=readings, now=now
            )
            leads = service.detect_leads(session, caller, now=now)
    except data.FileProblem as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"{done.households} households, {done.readings} readings; {len(leads)} leads")


@rentals_app.command("outcomes")
def outcomes_command(ctx: typer.Context) -> None:
    """Label referred leads from their cases' outcomes (closed: found; not filed: not)."""
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            changed = service.record_outcomes(session, now=utcnow())
    finally:
        engine.dispose()
    typer.echo(f"{changed} leads learnt their outcome")
