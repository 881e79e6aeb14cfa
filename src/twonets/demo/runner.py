"""Run the demo: migrate, seed the city once per (seed, scale), report the logins."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from twonets import migrations
from twonets.core.config import Mode, Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import Conflict, Forbidden
from twonets.core.models import Account, DemoSeed
from twonets.core.seeding import DEMO_PASSWORD, DemoAccount, DemoCity, Step
from twonets.demo.city import registered_steps, seed_core, seed_signup_example
from twonets.governance import ledger

__all__ = ["DemoAccount", "run_demo"]

ACCOUNT_PREFIX = "account:"


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
    """Seed the demo city into the configured database (once) and return its logins.

    A database that already holds this city (same seed and scale) is kept; steps registered
    since it was seeded are run on it, so a new capability shows up without a reset.
    """
    if settings.mode is Mode.PRODUCTION:
        raise Forbidden("the demo city is not seeded in production mode (TWONETS_MODE)")
    console = Console(stderr=True)
    url = settings.effective_database_url
    root_secret = resolve_secret_key(settings)
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            existing = session.scalar(select(DemoSeed))
        steps: list[tuple[str, Step]] = [
            ("00-core", seed_core),
            *registered_steps(),
            # Last, so that no step gives the resident it names a login.
            ("99-signup", seed_signup_example),
        ]
        if existing is not None and (existing.seed, existing.scale) == (seed, scale):
            done = set(existing.steps)
            missing = [(n, s) for n, s in steps if n not in done]
            if not missing:
                console.print(f"demo city (seed {seed}, scale {scale}) already seeded")
                return _accounts_of(existing)
            accounts = _seed(factory, console, missing, seed, scale, root_secret, resume=True)
            _write_trust_bundle(factory, root_secret, console, settings.var_dir)
            return accounts
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
        accounts = _seed(factory, console, steps, seed, scale, root_secret, resume=False)
        _write_trust_bundle(factory, root_secret, console, settings.var_dir)
        return accounts
    finally:
        engine.dispose()


def _seed(
    factory: sessionmaker[Session],
    console: Console,
    steps: list[tuple[str, Step]],
    seed: int,
    scale: int,
    root_secret: bytes,
    *,
    resume: bool,
) -> list[DemoAccount]:
    started = time.perf_counter()
    progress = _progress(console)
    with unit_of_work(factory) as session:
        record = session.scalar(select(DemoSeed)) if resume else None
        city = DemoCity(
            session=session,
            seed=seed,
            scale=scale,
            now=utcnow(),
            root_secret=root_secret,
            progress=progress,
        )
        if record is not None:
            city.accounts = _accounts_of(record)
            city.citizen_ids, city.enterprise_ids = _ids(session)
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
        # Steps after governance's read personal data too (request contacts, service forms):
        # their reads join the ledger now, as the server's sequencer would have done.
        signer = ledger.LedgerSigner(root_secret)
        while ledger.sequence_pending(session, signer, now=city.now, batch_size=1000):
            pass
        names = [n for n, _ in steps]
        logins = [f"{ACCOUNT_PREFIX}{a.username}:{a.description}" for a in city.accounts]
        if record is None:
            session.add(DemoSeed(seed=seed, scale=scale, steps=names + logins, seeded_at=city.now))
        else:
            kept = [s for s in record.steps if not s.startswith(ACCOUNT_PREFIX)]
            record.steps = kept + names + logins
    console.print(
        f"seeded the demo city (seed {seed}, scale {scale}) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return city.accounts


def _write_trust_bundle(
    factory: sessionmaker[Session], root_secret: bytes, console: Console, var_dir: Path
) -> None:
    """Leave an offline verifier's trust bundle in var/ (``twonets licences verify``)."""
    import json

    from twonets.licences import service
    from twonets.trust import service as trust

    with unit_of_work(factory) as session:
        bundle = service.trust_bundle(session, service.Licensing(root_secret), now=utcnow())
        # The home region's anchor, for another region's deployment to pin (demo --region).
        anchor = trust.anchor_pem(session, "SH", root_secret)
    path = var_dir / "trust-bundle.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    (var_dir / "anchor-SH.pem").write_text(anchor, encoding="ascii")
    console.print(f"wrote the offline verifier's trust bundle to {path}")


def _ids(session: Session) -> tuple[list[int], list[int]]:
    from twonets.core.models import Citizen, Enterprise

    citizens = list(session.scalars(select(Citizen.id).order_by(Citizen.id)))
    firms = list(session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    return citizens, firms


def _has_data(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return session.scalar(select(Account.id).limit(1)) is not None


def _accounts_of(record: DemoSeed) -> list[DemoAccount]:
    accounts = []
    for entry in record.steps:
        if entry.startswith(ACCOUNT_PREFIX):
            username, _, description = entry.removeprefix(ACCOUNT_PREFIX).partition(":")
            accounts.append(DemoAccount(username, DEMO_PASSWORD, description))
    return accounts
