"""The case loop's commands under ``twonets ops``: management elements, overdue cases, figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.operations.cases import catalogue, figures, queries, service
from twonets.operations.cases.elements import ElementKind


def register(app: typer.Typer) -> None:
    """Add the case loop's commands to ``twonets ops``."""
    app.command("elements")(elements_command)
    app.command("overdue")(overdue_command)
    app.command("figures")(figures_command)


@contextmanager
def _session(ctx: typer.Context) -> Iterator[Session]:
    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def elements_command(
    ctx: typer.Context,
    kind: Annotated[ElementKind | None, typer.Option(help="component or event")] = None,
) -> None:
    """List the management elements: code, name, handling department, time limits (hours)."""
    with _session(ctx) as session:
        catalogue.ensure_elements(session)
        rows = catalogue.list_categories(session, kind=kind)
        for c in rows:
            limits = "/".join(f"{c.limits_hours[u]:g}" for u in ("normal", "urgent", "emergency"))
            typer.echo(
                f"{c.code}  {c.major_name}/{c.name}  {c.name_en}  "
                f"→ {c.department_function}  {limits} h"
            )
    typer.echo(f"{len(rows)} minor categories (limits: normal/urgent/emergency working hours)")


def overdue_command(
    ctx: typer.Context,
    mark: Annotated[bool, typer.Option(help="mark newly overdue cases and announce them")] = True,
) -> None:
    """Cases being handled past their time limit; exits 1 if there are any."""
    now = utcnow()
    with _session(ctx) as session:
        marked = service.mark_overdue(session, now=now) if mark else 0
        rows, total = queries.list_cases(
            session, queries.CaseFilter(overdue=True, limit=1000), now=now
        )
        for c in rows:
            late = (now - c.deadline_at).total_seconds() / 3600 if c.deadline_at else 0
            typer.echo(f"{c.number}  {c.category_code}  {c.district_code}  {late:.1f} h late")
    typer.echo(f"{total} overdue ({marked} newly marked)")
    if total:
        raise typer.Exit(1)


def figures_command(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="district or department")] = "district",
) -> None:
    """Closure, on-time and rework rates and overdue counts per district or department."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    with _session(ctx) as session:
        rows = figures.figures(session, by=by, now=utcnow())
    typer.echo(f"{by:<24} cases closed closure on-time rework overdue  name")
    for r in [*rows, figures.totals(rows)]:
        typer.echo(
            f"{r['key'][:24]:<24} {r['cases']:>5} {r['closed']:>6} {pct(r['closure_rate']):>7} "
            f"{pct(r['on_time_rate']):>7} {pct(r['rework_rate']):>6} {r['overdue']:>7}  {r['name']}"
        )
