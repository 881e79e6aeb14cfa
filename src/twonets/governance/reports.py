"""Oversight use cases: a citizen's report and data copy, the officer's views, retention, keys."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid, NotFound
from twonets.core.models import Department, Role
from twonets.core.privacy import DataClass
from twonets.governance import ledger
from twonets.governance.models import (
    DatasetKey,
    GovernanceChange,
    LedgerEntry,
    PendingAccess,
    Policy,
    Purpose,
)
from twonets.governance.service import (
    SUBJECT_ACCESS,
    Governance,
    PurposeState,
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
    if not own and not principal.has_any({Role.DPO}):
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


# --- retention --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionOutcome:
    """What one retention run did to one dataset."""

    dataset: str
    purpose: str
    action: str
    cutoff: str
    affected: int
    reason: str


def run_retention(
    session: Session, gov: Governance, *, actor: str, now: datetime
) -> list[RetentionOutcome]:
    """Delete or anonymise records whose purpose has expired or whose retention has run out.

    Safe to rerun: a second run finds nothing left to do.
    """
    outcomes = []
    for name, target in sorted(gov.catalogue.datasets().items()):
        rule = target.retention
        if rule is None:
            continue
        purpose = session.get(Purpose, rule.purpose)
        if purpose is None:
            raise NotFound(f"dataset {name} is kept under purpose {rule.purpose}, which is missing")
        state = purpose_state(purpose, now)
        if state is PurposeState.EXPIRED:
            cutoff, reason = now, f"purpose {purpose.code} has expired"
        else:
            cutoff = now - timedelta(days=purpose.retention_days)
            reason = f"older than the {purpose.retention_days}-day retention of {purpose.code}"
        table = target.table
        time_column = table.c[rule.time_field]
        if rule.action == "delete":
            done = session.execute(delete(table).where(time_column < cutoff))
            affected = int(getattr(done, "rowcount", 0))
        elif rule.action == "anonymise":
            personal = [
                n
                for n, f in target.fields.items()
                if f.data_class is not DataClass.PUBLIC and n != target.subject_field
            ]
            still = or_(*(table.c[n].is_not(None) for n in personal))
            done = session.execute(
                update(table)
                .where(and_(time_column < cutoff, still))
                .values(dict.fromkeys(personal))
            )
            affected = int(getattr(done, "rowcount", 0))
        else:
            raise Invalid.field("retention.action", "known", f"unknown action {rule.action!r}")
        outcomes.append(
            RetentionOutcome(name, purpose.code, rule.action, cutoff.isoformat(), affected, reason)
        )
    session.add(
        GovernanceChange(
            at=now,
            actor=actor,
            action="retention.run",
            target="*",
            before=None,
            after={o.dataset: o.affected for o in outcomes},
            reason="retention run",
        )
    )
    return outcomes


# --- keys -------------------------------------------------------------------------------------


def rotate_dataset_key(
    session: Session, gov: Governance, *, actor: str, dataset: str, now: datetime
) -> int:
    """Make a new key version current for a dataset's sealed fields; old values still open."""
    target = gov.catalogue.get(dataset)
    if not target.sealed_fields:
        raise Invalid.field("dataset", "has-sealed-fields", f"{dataset} has no sealed fields")
    record = session.get(DatasetKey, dataset)
    before = record.version if record else 1
    if record is None:
        record = DatasetKey(dataset=dataset, version=before + 1, rotated_at=now)
        session.add(record)
    else:
        record.version = before + 1
        record.rotated_at = now
    session.add(
        GovernanceChange(
            at=now,
            actor=actor,
            action="key.rotated",
            target=dataset,
            before={"version": before},
            after={"version": before + 1},
            reason="key rotation",
        )
    )
    session.flush()
    return before + 1


def rewrap_dataset(
    session: Session, gov: Governance, *, dataset: str, batch_size: int = 1000
) -> int:
    """Re-seal up to ``batch_size`` rows still under an older key; returns how many changed."""
    target = gov.catalogue.get(dataset)
    keyring = gov.keyring(session)
    table = target.table
    keys = list(table.primary_key.columns)
    current = keyring.current_version(dataset)
    prefix_current = f"gcm1:{current}:"
    sealed = target.sealed_fields
    stale = or_(
        *(and_(table.c[n].is_not(None), ~table.c[n].startswith(prefix_current)) for n in sealed)
    )
    rows = session.execute(
        select(*keys, *(table.c[n] for n in sealed)).where(stale).limit(batch_size)
    ).all()
    for row in rows:
        values = {
            n: keyring.rewrap(dataset, n, row[i]) if row[i] is not None else None
            for i, n in enumerate(sealed, start=len(keys))
        }
        match = and_(*(k == row[j] for j, k in enumerate(keys)))
        session.execute(update(table).where(match).values(values))
    return len(rows)
