"""The officer's figures over all reads: reads and subjects by department and purpose, and
the readers who reach far more people than their peers of the same function."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.models import Department
from twonets.governance.models import LedgerEntry, PendingAccess
from twonets.governance.service import SUBJECT_ACCESS


def _pending_since(session: Session, since: datetime) -> Sequence[PendingAccess]:
    return session.scalars(select(PendingAccess).where(PendingAccess.read_at >= since)).all()


def reads_summary(session: Session, *, since: datetime) -> list[dict[str, Any]]:
    """Subject reads and distinct subjects by department and purpose (officer's view).

    Counted in SQL over the ledger; the few reads still waiting to be sequenced are added,
    and only for the groups they touch are the ledger's subjects fetched to count them once.
    """
    recent = LedgerEntry.read_at >= since
    reads: dict[tuple[str | None, str], int] = {}
    subjects: dict[tuple[str | None, str], int] = {}
    for department, purpose, n, distinct in session.execute(
        select(
            LedgerEntry.department_code,
            LedgerEntry.purpose_code,
            func.count(),
            func.count(LedgerEntry.subject_id.distinct()),
        )
        .where(recent)
        .group_by(LedgerEntry.department_code, LedgerEntry.purpose_code)
    ).all():
        reads[(department, purpose)] = int(n)
        subjects[(department, purpose)] = int(distinct)
    waiting: dict[tuple[str | None, str], set[int]] = defaultdict(set)
    for pending in _pending_since(session, since):
        key = (pending.department_code, pending.purpose_code)
        reads[key] = reads.get(key, 0) + len(pending.subject_ids)
        waiting[key].update(int(i) for i in pending.subject_ids)
    for (department, purpose), extra in waiting.items():
        same_department = (
            LedgerEntry.department_code.is_(None)
            if department is None
            else LedgerEntry.department_code == department
        )
        known = session.scalars(
            select(LedgerEntry.subject_id)
            .where(recent, same_department, LedgerEntry.purpose_code == purpose)
            .distinct()
        ).all()
        subjects[(department, purpose)] = len(extra | {int(s) for s in known})
    out = [
        {
            "department_code": department,
            "purpose_code": purpose,
            "reads": n,
            "subjects": subjects[(department, purpose)],
        }
        for (department, purpose), n in reads.items()
    ]
    return sorted(out, key=lambda r: (-r["reads"], r["purpose_code"]))


@dataclass(frozen=True)
class ReadsTotals:
    """The figures above the officer's table: reads, departments and purposes, the busiest row."""

    reads: int
    departments: int
    purposes: int
    busiest: int


def reads_totals(summary: Sequence[dict[str, Any]]) -> ReadsTotals:
    """What a summary of reads adds up to (departments and purposes each counted once)."""
    return ReadsTotals(
        reads=sum(int(r["reads"]) for r in summary),
        departments=len({r["department_code"] for r in summary if r["department_code"]}),
        purposes=len({r["purpose_code"] for r in summary}),
        busiest=max((int(r["reads"]) for r in summary), default=0),
    )


@dataclass(frozen=True)
class UnusualReader:
    """A member of staff who read far more subjects than peers of the same function."""

    actor: str
    department_code: str | None
    function: str | None
    subjects: int
    peer_median: float
    ratio: float


MIN_PEERS = 2


def unusual_readers(
    session: Session, *, since: datetime, factor: float = 3.0, min_subjects: int = 30
) -> list[UnusualReader]:
    """Readers whose distinct subjects exceed ``factor`` times their peers' median."""
    functions = {d.code: d.function for d in session.scalars(select(Department))}
    where = [LedgerEntry.read_at >= since, LedgerEntry.purpose_code != SUBJECT_ACCESS]
    # Distinct subjects per reader, counted in SQL; waiting reads are merged per reader.
    counted: dict[tuple[str, str | None], int] = {
        (str(actor), department): int(n)
        for actor, department, n in session.execute(
            select(
                LedgerEntry.actor,
                LedgerEntry.department_code,
                func.count(LedgerEntry.subject_id.distinct()),
            )
            .where(*where)
            .group_by(LedgerEntry.actor, LedgerEntry.department_code)
        ).all()
    }
    waiting: dict[tuple[str, str | None], set[int]] = defaultdict(set)
    for pending in _pending_since(session, since):
        if pending.purpose_code != SUBJECT_ACCESS:
            waiting[(pending.actor, pending.department_code)].update(
                int(i) for i in pending.subject_ids
            )
    for (actor, department), extra in waiting.items():
        same_department = (
            LedgerEntry.department_code.is_(None)
            if department is None
            else LedgerEntry.department_code == department
        )
        known = session.scalars(
            select(LedgerEntry.subject_id)
            .where(*where, LedgerEntry.actor == actor, same_department)
            .distinct()
        ).all()
        counted[(actor, department)] = len(extra | {int(s) for s in known})
    by_function: dict[str | None, list[tuple[str, str | None, int]]] = defaultdict(list)
    for (actor, department), n in counted.items():
        by_function[functions.get(department or "")].append((actor, department, n))
    flagged = []
    for function, readers in by_function.items():
        for actor, department, n in readers:
            peers = [m for a, _, m in readers if a != actor]
            # One peer is no yardstick: a colleague who barely reads would make any reader
            # look unusual. Compare only where the function has at least MIN_PEERS others.
            if len(peers) < MIN_PEERS:
                continue
            median = statistics.median(peers)
            ratio = n / median if median else float("inf")
            if n >= min_subjects and ratio >= factor:
                flagged.append(UnusualReader(actor, department, function, n, median, ratio))
    return sorted(flagged, key=lambda u: -u.ratio)
