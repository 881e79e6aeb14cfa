"""Oversight use cases: a citizen's report and data copy, the officer's views of reads.

Retention lives in ``retention`` and dataset keys in ``keys``; their names are re-exported
here so that callers written before the split keep working.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden
from twonets.core.models import Department, Role
from twonets.governance import ledger
from twonets.governance.keys import rewrap_dataset as rewrap_dataset
from twonets.governance.keys import rotate_dataset_key as rotate_dataset_key
from twonets.governance.models import (
    LedgerEntry,
    PendingAccess,
    Policy,
    Purpose,
)
from twonets.governance.retention import RetentionOutcome as RetentionOutcome
from twonets.governance.retention import run_retention as run_retention
from twonets.governance.service import (
    SUBJECT_ACCESS,
    Governance,
    purpose_state,
    subject_access_entry,
)


def _subject_of(principal: Principal) -> tuple[str, int]:
    if principal.subject is None:
        raise Forbidden("only residents and enterprises have a report of reads of their data")
    return principal.subject


def inclusion_for(
    session: Session, principal: Principal, *, seq: int, tree_size: int | None = None
) -> dict[str, Any]:
    """An inclusion proof of one ledger entry, for its data subject or a protection officer."""
    proof = ledger.inclusion(session, seq, tree_size)
    entry = proof["entry"]
    own = principal.subject == (entry["subject_kind"], entry["subject_id"])
    if not own and Role.DPO not in principal.roles:
        raise Forbidden("only the entry's data subject or a data protection officer")
    return proof


def reads_of_subject(
    session: Session, *, subject_kind: str, subject_id: int, limit: int = 500
) -> list[dict[str, Any]]:
    """Every recorded read of one data subject, newest first, with names to show a person."""
    departments = {d.code: d for d in session.scalars(select(Department))}
    purposes = {p.code: p for p in session.scalars(select(Purpose))}
    rows: list[dict[str, Any]] = []
    recorded: Sequence[Any] = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.subject_kind == subject_kind, LedgerEntry.subject_id == subject_id)
        .order_by(LedgerEntry.read_at.desc())
        .limit(limit)
    ).all()
    waiting = [
        p
        for p in session.scalars(
            select(PendingAccess).where(PendingAccess.subject_kind == subject_kind)
        )
        if subject_id in p.subject_ids
    ]
    for entry in [*recorded, *waiting]:
        department = departments.get(entry.department_code or "")
        purpose = purposes.get(entry.purpose_code)
        rows.append(
            {
                "read_at": entry.read_at.isoformat(),
                "department_code": entry.department_code,
                "department": department.name if department else None,
                "department_en": department.name_en if department else None,
                "purpose_code": entry.purpose_code,
                "purpose": purpose.name
                if purpose
                else ("your own request" if entry.purpose_code == SUBJECT_ACCESS else None),
                "legal_basis": str(purpose.legal_basis) if purpose else None,
                "dataset": entry.dataset,
                "fields": list(entry.fields),
                "kind": entry.kind,
                "request_id": entry.request_id,
                "seq": entry.seq if isinstance(entry, LedgerEntry) else None,
                "in_ledger": isinstance(entry, LedgerEntry),
            }
        )
    rows.sort(key=lambda r: r["read_at"], reverse=True)
    return rows[:limit]


def my_reads(session: Session, principal: Principal, *, limit: int = 500) -> list[dict[str, Any]]:
    """The caller's own report: who read their data, when, for what, which fields."""
    kind, subject = _subject_of(principal)
    return reads_of_subject(session, subject_kind=kind, subject_id=subject, limit=limit)


def my_data(
    session: Session, gov: Governance, principal: Principal, *, now: datetime
) -> dict[str, Any]:
    """A machine-readable copy of the caller's data and the purposes that hold it (PIPL 45, 48).

    The copy is itself a read of personal data, recorded in the ledger under ``subject.access``.
    """
    kind, subject = _subject_of(principal)
    keyring = gov.keyring(session)
    copy: dict[str, Any] = {}
    recorded: list[dict[str, Any]] = []
    for name, target in sorted(gov.catalogue.datasets().items()):
        if target.subject_kind != kind:
            continue
        table = target.table
        rows = (
            session.execute(select(table).where(table.c[target.subject_field] == subject))
            .mappings()
            .all()
        )
        if not rows:
            continue
        items = []
        for row in rows:
            item: dict[str, Any] = {}
            for field_name, spec in target.fields.items():
                value = row[field_name]
                if spec.sealed and value is not None:
                    value = keyring.unseal(name, field_name, value)
                if hasattr(value, "isoformat"):
                    value = value.isoformat()
                item[field_name] = value
            items.append(item)
        copy[name] = {
            "records": items,
            "fields": {n: f.data_class.value for n, f in target.fields.items()},
            "held_for": _purposes_holding(session, name, now),
        }
        recorded.append(
            subject_access_entry(
                principal,
                subject_kind=kind,
                subject_id=subject,
                dataset=name,
                fields=target.personal_fields,
                now=now,
                request_id=f"copy-{now.timestamp():.0f}-{subject}",
            )
        )
    ledger.record_reads(session, recorded)
    return {"generated_at": now.isoformat(), "subject_kind": kind, "datasets": copy}


def _purposes_holding(session: Session, dataset: str, now: datetime) -> list[dict[str, Any]]:
    policies = session.scalars(
        select(Policy).where(
            Policy.dataset == dataset,
            Policy.superseded_at.is_(None),
            Policy.revoked.is_(False),
        )
    ).all()
    by_purpose: dict[str, list[Policy]] = defaultdict(list)
    for policy in policies:
        by_purpose[policy.purpose_code].append(policy)
    out = []
    for code, granted in sorted(by_purpose.items()):
        purpose = session.get(Purpose, code)
        if purpose is None:
            continue
        out.append(
            {
                "purpose": code,
                "name": purpose.name,
                "legal_basis": str(purpose.legal_basis),
                "owner_department": purpose.owner_department_code,
                "state": str(purpose_state(purpose, now)),
                "retention_days": purpose.retention_days,
                "readers": [
                    {"grantee": f"{p.grantee_kind}:{p.grantee}", "fields": sorted(p.fields)}
                    for p in granted
                ],
            }
        )
    return out


def _pending_since(session: Session, since: datetime) -> Sequence[PendingAccess]:
    return session.scalars(select(PendingAccess).where(PendingAccess.read_at >= since)).all()


def reads_summary(session: Session, *, since: datetime) -> list[dict[str, Any]]:
    """Subject reads and distinct subjects by department and purpose (officer's view)."""
    subjects: dict[tuple[str | None, str], set[int]] = defaultdict(set)
    reads: dict[tuple[str | None, str], int] = defaultdict(int)
    rows = session.execute(
        select(LedgerEntry.department_code, LedgerEntry.purpose_code, LedgerEntry.subject_id).where(
            LedgerEntry.read_at >= since
        )
    ).all()
    for department, purpose, subject in rows:
        reads[(department, purpose)] += 1
        subjects[(department, purpose)].add(int(subject))
    for pending in _pending_since(session, since):
        key = (pending.department_code, pending.purpose_code)
        reads[key] += len(pending.subject_ids)
        subjects[key].update(int(i) for i in pending.subject_ids)
    out = [
        {
            "department_code": department,
            "purpose_code": purpose,
            "reads": n,
            "subjects": len(subjects[(department, purpose)]),
        }
        for (department, purpose), n in reads.items()
    ]
    return sorted(out, key=lambda r: (-r["reads"], r["purpose_code"]))


@dataclass(frozen=True)
class UnusualReader:
    """A member of staff who read far more subjects than peers of the same function."""

    actor: str
    department_code: str | None
    function: str | None
    subjects: int
    peer_median: float
    ratio: float


def unusual_readers(
    session: Session, *, since: datetime, factor: float = 3.0, min_subjects: int = 30
) -> list[UnusualReader]:
    """Readers whose distinct subjects exceed ``factor`` times their peers' median."""
    functions = {d.code: d.function for d in session.scalars(select(Department))}
    counts: dict[tuple[str, str | None], set[int]] = defaultdict(set)
    rows = session.execute(
        select(LedgerEntry.actor, LedgerEntry.department_code, LedgerEntry.subject_id)
        .where(LedgerEntry.read_at >= since, LedgerEntry.purpose_code != SUBJECT_ACCESS)
        .distinct()
    ).all()
    for actor, department, subject in rows:
        counts[(actor, department)].add(int(subject))
    for pending in _pending_since(session, since):
        if pending.purpose_code != SUBJECT_ACCESS:
            counts[(pending.actor, pending.department_code)].update(pending.subject_ids)
    by_function: dict[str | None, list[tuple[str, str | None, int]]] = defaultdict(list)
    for (actor, department), subjects in counts.items():
        by_function[functions.get(department or "")].append((actor, department, len(subjects)))
    flagged = []
    for function, readers in by_function.items():
        for actor, department, n in readers:
            peers = [m for a, _, m in readers if a != actor]
            if not peers:
                continue
            median = statistics.median(peers)
            ratio = n / median if median else float("inf")
            if n >= min_subjects and ratio >= factor:
                flagged.append(UnusualReader(actor, department, function, n, median, ratio))
    return sorted(flagged, key=lambda u: -u.ratio)
