"""The core's sub-commands: ``twonets ids`` and ``twonets accounts``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from twonets.core import service
from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.errors import TwonetsError
from twonets.core.ids import check_identifier
from twonets.core.models import DepartmentLevel, Role

ids_app = typer.Typer(help="Resident ID numbers (GB 11643) and credit codes (GB 32100).")
accounts_app = typer.Typer(help="Departments and staff accounts.")


@ids_app.command("check")
def check(
    values: Annotated[list[str], typer.Argument(help="ID numbers or credit codes")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array on stdout")] = False,
) -> None:
    """Check each value; exit status 1 if any is invalid."""
    results = [check_identifier(v) for v in values]
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False))
    else:
        for r in results:
            typer.echo(f"{r.value}: {'valid' if r.valid else r.reason}")
    raise typer.Exit(0 if all(r.valid for r in results) else 1)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@accounts_app.command("create-admin")
def create_admin(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="the administrator's user name")],
    display_name: Annotated[str, typer.Option(help="name shown on pages")] = "Administrator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Add an administrator (and the platform department if missing), for a new deployment."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine(_settings(ctx).effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            service.ensure_reference_data(session)
            try:
                service.get_department(session, "platform")
            except TwonetsError:
                service.create_department(
                    session,
                    code="platform",
                    name="大数据中心",
                    name_en="Big Data Centre (platform operator)",
                    function="platform",
                    level=DepartmentLevel.CITY,
                    region_code="SH",
                )
            service.create_staff_account(
                session,
                username=username,
                display_name=display_name,
                password=password,
                department_code="platform",
                roles=[Role.ADMIN],
            )
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"administrator {username} created")
