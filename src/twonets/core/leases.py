"""Background work that runs once across the server's worker processes: a lease in the database.

``twonets serve --workers N`` starts N processes, each with the whole app. The background
work (the outbox relay, ledger sequencing, and every job a domain registers in
``app.state.background``) must run in one of them only: each process asks for the lease
named ``background`` in the ``work_lease`` table; the one that gets it runs the work and
renews the lease every third of its time; the others ask again at the same pace. A holder
that dies (SIGKILL, a lost host) stops renewing, its lease expires, and another process takes
it over within one lease time. A holder that cannot renew (the database is away, or someone
else took the lease) stops its work before its lease would expire, so two never overlap.

All the work is held under one lease, not one lease per job, because some jobs share state
in the process (the truck position consumer is fed by the outbox relay and checked by its
own job). The lease time is ``TWONETS_LEASE_SECONDS`` (15 s by default); hosts' clocks must
agree to well within it (NTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import utcnow
from twonets.core.models import WorkLease

log = logging.getLogger(__name__)

Work = Callable[[asyncio.Event], Awaitable[None]]
BACKGROUND = "background"


def holder_name() -> str:
    """This process, as a lease holder: host, process id and a random tail (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    """Take, renew and give back named leases in ``work_lease`` for one holder."""

    def __init__(
        self, factory: sessionmaker[Session], *, seconds: float, holder: str | None = None
    ) -> None:
        self.factory = factory
        self.seconds = seconds
        self.holder = holder or holder_name()

    def acquire(self, name: str) -> bool:
        """Take ``name`` if it is free, expired or already ours; whether we hold it now."""
        now = utcnow()
        expires = now + timedelta(seconds=self.seconds)
        ours = WorkLease.holder == self.holder
        with self.factory() as session, session.begin():
            # One conditional UPDATE: two processes cannot both take an expired lease.
            taken = session.execute(
                update(WorkLease)
                .where(WorkLease.name == name, ours | (WorkLease.expires_at < now))
                .values(
                    holder=self.holder,
                    renewed_at=now,
                    expires_at=expires,
                    acquired_at=case((ours, WorkLease.acquired_at), else_=now),
                    takeovers=case((ours, WorkLease.takeovers), else_=WorkLease.takeovers + 1),
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.scalar(select(WorkLease.name).where(WorkLease.name == name)) is not None:
                return False
        try:
            with self.factory() as session, session.begin():
                session.add(
                    WorkLease(
                        name=name,
                        holder=self.holder,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=expires,
                        takeovers=0,
                    )
                )
        except IntegrityError:  # another process created it first
            return False
        return True

    def renew(self, name: str) -> bool:
        """Extend our lease on ``name``; False if another holder has it now."""
        now = utcnow()
        with self.factory() as session, session.begin():
            renewed = session.execute(
                update(WorkLease)
                .where(WorkLease.name == name, WorkLease.holder == self.holder)
                .values(renewed_at=now, expires_at=now + timedelta(seconds=self.seconds))
                .execution_options(synchronize_session=False)
            )
            return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]

    def release(self, name: str) -> None:
        """Give ``name`` back at once (a clean shutdown), so another process need not wait."""
        now = utcnow()
        with self.factory() as session, session.begin():
            session.execute(
                update(WorkLease)
                .where(WorkLease.name == name, WorkLease.holder == self.holder)
                .values(expires_at=now, renewed_at=now)
                .execution_options(synchronize_session=False)
            )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _try(call: Callable[[str], bool], name: str) -> bool | None:
    """``call(name)`` off the event loop; None when the database could not answer."""
    try:
        return await asyncio.to_thread(call, name)
    except Exception as exc:  # a busy or absent database: the caller decides
        log.warning("lease %s: %s: %s", name, type(exc).__name__, exc)
        return None


async def run_leased(leases: Leases, name: str, works: Sequence[Work], stop: asyncio.Event) -> None:
    """Run ``works`` while this process holds lease ``name``, until ``stop`` is set.

    Each work gets an event of its own that is set when the lease is lost or ``stop`` is;
    the work is then awaited before the lease is asked for again.
    """
    every = leases.seconds / 3
    while not stop.is_set():
        if not await _try(leases.acquire, name):
            await _wait(stop, every)
            continue
        log.info("lease %s taken by %s: running %d jobs", name, leases.holder, len(works))
        inner = asyncio.Event()
        tasks: list[asyncio.Future[None]] = [asyncio.ensure_future(work(inner)) for work in works]
        renewed = time.monotonic()
        lost = False
        while not stop.is_set():
            await _wait(stop, every)
            if stop.is_set():
                break
            answer = await _try(leases.renew, name)
            if answer:
                renewed = time.monotonic()
            elif answer is False or time.monotonic() - renewed > leases.seconds * 0.8:
                lost = True  # taken over, or unrenewable until just before it expires
                log.warning("lease %s lost by %s: stopping its jobs", name, leases.holder)
                break
            for task in [t for t in tasks if t.done() and not t.cancelled()]:
                if task.exception() is not None:
                    log.error("background job failed", exc_info=task.exception())
                    tasks.remove(task)
        inner.set()
        for task in tasks:
            try:
                await task
            except Exception:  # one job's failure must not keep the others from stopping
                log.exception("background job failed while stopping")
        if not lost:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(leases.release, name)
