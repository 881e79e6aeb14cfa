"""The consumer of device intake's location events: positions into ``truck_position``.

The event stream stays the transport; this keeps the positions of registered trucks so that
tracks can be drawn and checked again. Events arrive one at a time; the consumer holds them
and writes a batch (one statement) when it holds ``batch_size`` of them or when ``flush`` is
called (by the app every ``flush_seconds``), so a busy fleet costs one transaction per batch,
not per position.

With a ``LiveSupervision`` the consumer also checks each batch as it is written (in the same
transaction, in a savepoint: a failing check never loses the positions), so a violation is
found seconds after its positions arrive, not at the next sweep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.operations.trucks import service

log = logging.getLogger(__name__)


class PositionConsumer:
    """Buffers location payloads and writes them in batches."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        batch_size: int = 500,
        live: service.LiveSupervision | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.factory = factory
        self.batch_size = batch_size
        self.live = live
        self.clock = clock
        self._held: list[Mapping[str, Any]] = []
        self._lock = threading.Lock()
        # One batch written (and checked) at a time, in the order they were taken.
        self._writing = threading.Lock()

    def hold(self, payload: Mapping[str, Any]) -> bool:
        """Hold one payload; whether the batch is full (the caller then flushes, off the
        event loop when it runs on one)."""
        with self._lock:
            self._held.append(payload)
            return len(self._held) >= self.batch_size

    def add(self, payload: Mapping[str, Any]) -> int:
        """Hold one payload and write the batch when full; the number written now."""
        return self.flush() if self.hold(payload) else 0

    def flush(self) -> int:
        """Write what is held; the number of positions written (of registered trucks)."""
        with self._writing:
            with self._lock:
                batch, self._held = self._held, []
            if not batch:
                return 0
            try:
                with unit_of_work(self.factory) as session:
                    rows = service.positions_from_events(session, batch)
                    written = service.record_positions(session, rows)
                    if self.live is not None:
                        self._check(session, rows)
                    return written
            except Exception:
                log.exception("%d truck positions not written", len(batch))
                return 0

    def _check(self, session: Session, rows: list[dict[str, Any]]) -> None:
        assert self.live is not None
        try:
            with session.begin_nested():
                service.check_arrivals(session, self.live, rows, now=self.clock())
        except Exception:
            log.exception("%d truck positions written but not checked", len(rows))

    def check_silences(self) -> int:
        """Report trucks silent while moving; the number of violations opened."""
        if self.live is None:
            return 0
        with self._writing:
            now = self.clock()
            reports = service.silent_reports(self.live, now=now)
            if not reports:
                return 0
            with unit_of_work(self.factory) as session:
                found = service.check_silences(session, self.live, now=now, reports=reports)
                return len(found)
