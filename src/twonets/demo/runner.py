"""Run the demo: migrate, seed the city once per (seed, scale), report the logins."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from twonets import migrations
from twonets.core.config import Mode, Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import Conflict, Forbidden
from twonets.core.models import Account, DemoSeed
from twonets.demo.city import DEMO_PASSWORD, DemoAccount, DemoCity, registered_steps, seed_core

__all__ = ["DemoAccount", "run_demo"]


def _progress(console: Console) -> Progress | None:
    if not console.is_terminal:
        return None
    return Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def run_demo(
    settings: Settings, *, scale: int = 1, seed: int = 2026, reset: bool = False
) -> list[DemoAccount]:
    """Seed the demo city into the configured database (once) and return its logins."""
    if settings.mode is Mode.PRODUCTION:
        raise Forbidden("the demo city is not seeded in production mode (TWONETS_MODE)")
    console = Console(stderr=True)
    url = settings.effective_database_url
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            existing = session.scalar(select(DemoSeed))
        if existing is not None and (existing.seed, existing.scale) == (seed, scale):
            console.print(f"demo city (seed {seed}, scale {scale}) already seeded")
            with factory() as session:
                return _accounts_of(existing, session)
        if existing is not None and not reset:
            raise Conflict(
                f"the database holds the demo city of seed {existing.seed}, scale "
                f"{existing.scale}; pass --reset to replace it"
            )
        if existing is not None or _has_data(factory):
            if not reset:
                raise Conflict("the database already holds data; pass --reset to replace it")
            engine.dispose()
            migrations.downgrade(url, "base")
            migrations.upgrade(url)
        started = time.perf_counter()
        progress = _progress(console)
        with unit_of_work(factory) as session:
            city = DemoCity(
                session=session, seed=seed, scale=scale, now=utcnow(), progress=progress
            )
            steps = [("00-core", seed_core), *registered_steps()]
            if progress is not None:
                progress.start()
            try:
                for name, step in steps:
                    step(city)
                    if progress is None:
                        print(f"seeded {name}", file=sys.stderr)
            finally:
                if progress is not None:
                    progress.stop()
            session.add(
                DemoSeed(seed=seed, scale=scale, steps=[n for n, _ in steps], seeded_at=city.now)
            )
            session.flush()
            record = session.scalar(select(DemoSeed))
            assert record is not None
            record.steps = [n for n, _ in steps] + [
                f"account:{a.username}:{a.description}" for a in city.accounts
            ]
        console.print(
            f"seeded the demo city (seed {seed}, scale {scale}) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        return city.accounts
    finally:
        engine.dispose()


def _has_data(factory: object) -> bool:
    from sqlalchemy.orm import Session, sessionmaker

    assert isinstance(factory, sessionmaker)
    session: Session
    with factory() as session:
        return session.scalar(select(Account.id).limit(1)) is not None


def _accounts_of(record: DemoSeed, session: object) -> list[DemoAccount]:
    accounts = []
    for entry in record.steps:
        if entry.startswith("account:"):
            _, username, description = entry.split(":", 2)
            accounts.append(DemoAccount(username, DEMO_PASSWORD, description))
    return accounts
