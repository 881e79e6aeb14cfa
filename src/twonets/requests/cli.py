"""Sub-commands ``twonets requests`` (the classifier) and ``twonets open311`` (client keys)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.requests import service

requests_app = typer.Typer(help="Enterprise requests and citizen reports: the classifier.")
open311_app = typer.Typer(help="Open311 GeoReport v2: client applications' keys.")
keys_app = typer.Typer(help="Keys of client applications that file reports through Open311.")
open311_app.add_typer(keys_app, name="keys")


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


@requests_app.command("evaluate")
def evaluate_command() -> None:
    """Train on the corpus's training split; print accuracy and macro-F1 on the held-out split."""
    from twonets.requests import classify

    result = classify.evaluate()
    typer.echo(
        f"corpus: {result.train_size + result.test_size} requests in {result.categories} "
        f"categories; trained on {result.train_size}, held out {result.test_size}"
    )
    typer.echo(f"accuracy: {result.accuracy:.3f}")
    typer.echo(f"macro-F1: {result.macro_f1:.3f}")


@requests_app.command("check-answers")
def check_answers_command() -> None:
    """Match the corpus's requests against the seed answers: how many are answered at once."""
    from twonets.requests import knowledge

    result = knowledge.check_against_corpus()
    typer.echo(
        f"answers: {len(knowledge.seed_answers())}; threshold {result.threshold:.2f} (cosine)"
    )
    typer.echo(
        f"corpus requests answered at once: {result.answered} of {result.requests}, "
        f"{result.same_category} of them in the answer's category"
    )


@keys_app.command("create")
def create_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the client application's name")],
) -> None:
    """Register a client application; its new key is printed on the last line, once."""
    with _session(ctx) as session:
        _, key = service.create_client(session, name, now=utcnow())
    typer.echo(f"Open311 client {name!r} created; keep its key, it is not shown again:")
    typer.echo(key)


@keys_app.command("revoke")
def revoke_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the client application's name")],
) -> None:
    """Revoke a client application's key at once."""
    with _session(ctx) as session:
        service.revoke_client(session, name, now=utcnow())
    typer.echo(f"Open311 client {name!r} revoked")
