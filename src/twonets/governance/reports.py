"""Oversight use cases: a citizen's report and data copy, the officer's views of reads.

Retention lives in ``retention``, dataset keys in ``keys`` and the officer's figures over all
reads (the summary, unusual readers) in ``oversight``; their names are re-exported here so
that callers written before the split keep working.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid
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
from twonets.governance.oversight import ReadsTotals as ReadsTotals
from twonets.governance.oversight import UnusualReader as UnusualReader
from twonets.governance.oversight import reads_summary as reads_summary
from twonets.governance.oversight import reads_totals as reads_totals
from twonets.governance.oversight import unusual_readers as unusual_readers
from twonets.governance.retention import RetentionOutcome as RetentionOutcome
from twonets.governance.retention import run_retention as run_retention
from twonets.governance.service import (
    SUBJECT_ACCESS,
    Governance,
    check_officer,
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


@dataclass(frozen=True)
class _Entry:
    """A read of one subject: a sealed ledger entry, or one still waiting to be sequenced."""

    read_at: datetime
    actor: str
    department_code: str | None
    purpose_code: str
    dataset: str
    subject_kind: str
    subject_id: int
    fields: list[str]
    kind: str
    request_id: str
    seq: int | None


def _from_ledger(entry: LedgerEntry) -> _Entry:
    return _Entry(
        entry.read_at,
        entry.actor,
        entry.department_code,
        entry.purpose_code,
        entry.dataset,
        entry.subject_kind,
        int(entry.subject_id),
        list(entry.fields),
        entry.kind,
        entry.request_id,
        int(entry.seq),
    )


def _from_pending(pending: PendingAccess, subject_id: int) -> _Entry:
    return _Entry(
        pending.read_at,
        pending.actor,
        pending.department_code,
        pending.purpose_code,
        pending.dataset,
        pending.subject_kind,
        subject_id,
        list(pending.fields),
        pending.kind,
        pending.request_id,
        None,
    )


def _entry_page(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    waiting: Sequence[_Entry],
    *,
    offset: int,
    limit: int,
) -> tuple[int, list[_Entry]]:
    """One page of reads, newest first: ledger entries matching ``where`` merged with ``waiting``.

    Waiting reads are few (the sequencer runs every few seconds), so they are merged here
    rather than in SQL: a ledger entry's place is its place among entries plus the waiting
    reads newer than it, and a waiting read's is its place among them plus the entries at
    least as new. Only the entries that can fall on the page are fetched.
    """
    waiting = sorted(waiting, key=lambda e: e.read_at, reverse=True)
    recorded = int(session.scalar(select(func.count()).select_from(LedgerEntry).where(*where)) or 0)
    start = max(0, offset - len(waiting))
    fetched = session.scalars(
        select(LedgerEntry)
        .where(*where)
        .order_by(LedgerEntry.read_at.desc(), LedgerEntry.seq.desc())
        .offset(start)
        .limit(offset + limit - start)
    ).all()
    placed: list[tuple[int, _Entry]] = []
    for i, recorded_entry in enumerate(fetched, start=start):
        newer = sum(1 for w in waiting if w.read_at > recorded_entry.read_at)
        placed.append((i + newer, _from_ledger(recorded_entry)))
    for j, read in enumerate(waiting):
        at_least_as_new = int(
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(*where, LedgerEntry.read_at >= read.read_at)
            )
            or 0
        )
        placed.append((j + at_least_as_new, read))
    page = sorted((p for p in placed if offset <= p[0] < offset + limit), key=lambda p: p[0])
    return recorded + len(waiting), [entry for _, entry in page]


def _waiting_of_subject(session: Session, subject_kind: str, subject_id: int) -> list[_Entry]:
    # The subject ids of a waiting read are a JSON list: filtered here, not in SQL.
    return [
        _from_pending(p, subject_id)
        for p in session.scalars(
            select(PendingAccess).where(PendingAccess.subject_kind == subject_kind)
        )
        if subject_id in p.subject_ids
    ]


class _Names:
    """Departments and purposes by code, to name them for a person."""

    def __init__(self, session: Session) -> None:
        self.departments = {d.code: d for d in session.scalars(select(Department))}
        self.purposes = {p.code: p for p in session.scalars(select(Purpose))}

    def row(self, entry: _Entry) -> dict[str, Any]:
        department = self.departments.get(entry.department_code or "")
        purpose = self.purposes.get(entry.purpose_code)
        return {
            "read_at": entry.read_at.isoformat(),
            "actor": entry.actor,
            "department_code": entry.department_code,
            "department": department.name if department else None,
            "department_en": department.name_en if department else None,
            "purpose_code": entry.purpose_code,
            "purpose": purpose.name
            if purpose
            else ("your own request" if entry.purpose_code == SUBJECT_ACCESS else None),
            "legal_basis": str(purpose.legal_basis) if purpose else None,
            "dataset": entry.dataset,
            "subject_kind": entry.subject_kind,
            "subject_id": entry.subject_id,
            "fields": entry.fields,
            "kind": entry.kind,
            "request_id": entry.request_id,
            "seq": entry.seq,
            "in_ledger": entry.seq is not None,
        }


def reads_of_subject(
    session: Session, *, subject_kind: str, subject_id: int, limit: int = 500
) -> list[dict[str, Any]]:
    """Every recorded read of one data subject, newest first, with names to show a person."""
    where = [LedgerEntry.subject_kind == subject_kind, LedgerEntry.subject_id == subject_id]
    waiting = _waiting_of_subject(session, subject_kind, subject_id)
    _, entries = _entry_page(session, where, waiting, offset=0, limit=limit)
    names = _Names(session)
    return [names.row(e) for e in entries]


def my_reads(session: Session, principal: Principal, *, limit: int = 500) -> list[dict[str, Any]]:
    """The caller's own report: who read their data, when, for what, which fields."""
    kind, subject = _subject_of(principal)
    return reads_of_subject(session, subject_kind=kind, subject_id=subject, limit=limit)


REPORT_PAGE = 50


@dataclass
class MyReport:
    """A resident's report: figures, who read, the filters' choices, and one page of reads."""

    counts: dict[str, int]
    # Departments that read, most reads first: code, names, reads, latest read.
    readers: list[dict[str, Any]]
    # What the filters offer: (code, name, English name) and (code, name).
    departments: list[tuple[str, str, str]]
    purposes: list[tuple[str, str]]
    # Reads matching the filter: how many, and this page of them.
    matching: int
    reads: list[dict[str, Any]]
    page: int
    pages: int
    per_page: int


def my_report(
    session: Session,
    principal: Principal,
    *,
    department: str = "",
    purpose: str = "",
    page: int = 1,
    per_page: int = REPORT_PAGE,
) -> MyReport:
    """The caller's report of reads, filtered by department and purpose, one page at a time."""
    kind, subject = _subject_of(principal)
    if page < 1:
        raise Invalid.field("page", "minimum", "pages are numbered from 1")
    if not 1 <= per_page <= 100:
        raise Invalid.field("per_page", "range", "should be between 1 and 100")
    own = [LedgerEntry.subject_kind == kind, LedgerEntry.subject_id == subject]
    waiting = _waiting_of_subject(session, kind, subject)
    names = _Names(session)
    # Figures over every read, not only the page: counted in SQL, plus the waiting reads.
    reads: dict[str | None, int] = defaultdict(int)
    latest: dict[str | None, datetime] = {}
    purposes_read: set[str] = set()
    copies = 0
    grouped = session.execute(
        select(
            LedgerEntry.department_code,
            LedgerEntry.purpose_code,
            func.count(),
            func.max(LedgerEntry.read_at),
        )
        .where(*own)
        .group_by(LedgerEntry.department_code, LedgerEntry.purpose_code)
    ).all()
    tallies = [(d, p, int(n), t) for d, p, n, t in grouped]
    tallies += [(w.department_code, w.purpose_code, 1, w.read_at) for w in waiting]
    seen_departments: set[str] = set()
    seen_purposes: set[str] = set()
    for department_code, purpose_code, n, last in tallies:
        seen_purposes.add(purpose_code)
        if department_code:
            seen_departments.add(department_code)
        if purpose_code == SUBJECT_ACCESS:
            copies += n
            continue
        purposes_read.add(purpose_code)
        reads[department_code] += n
        if department_code not in latest or last > latest[department_code]:
            latest[department_code] = last
    readers = []
    for code, n in sorted(reads.items(), key=lambda item: -item[1]):
        if not code:
            continue
        found = names.departments.get(code)
        readers.append(
            {
                "department_code": code,
                "department": found.name if found else code,
                "department_en": found.name_en if found else "",
                "count": n,
                "read_at": latest[code].isoformat(),
            }
        )
    departments = sorted(
        (
            (
                code,
                names.departments[code].name if code in names.departments else code,
                names.departments[code].name_en if code in names.departments else "",
            )
            for code in seen_departments
        ),
        key=lambda d: d[2] or d[1],
    )
    purposes = sorted(
        (
            (
                code,
                names.purposes[code].name
                if code in names.purposes
                else ("your own request" if code == SUBJECT_ACCESS else code),
            )
            for code in seen_purposes
        ),
        key=lambda p: (p[0] == SUBJECT_ACCESS, p[1]),
    )
    where = list(own)
    if department:
        where.append(LedgerEntry.department_code == department)
        waiting = [w for w in waiting if w.department_code == department]
    if purpose:
        where.append(LedgerEntry.purpose_code == purpose)
        waiting = [w for w in waiting if w.purpose_code == purpose]
    matching, entries = _entry_page(
        session, where, waiting, offset=(page - 1) * per_page, limit=per_page
    )
    return MyReport(
        counts={
            "reads": sum(reads.values()),
            "departments": len([c for c in reads if c]),
            "purposes": len(purposes_read),
            "copies": copies,
        },
        readers=readers,
        departments=departments,
        purposes=purposes,
        matching=matching,
        reads=[names.row(e) for e in entries],
        page=page,
        pages=max(1, -(-matching // per_page)),
        per_page=per_page,
    )


@dataclass
class ReaderReads:
    """What one member of staff read since a moment: figures by purpose, and one page of reads."""

    actor: str
    department_code: str | None
    since: datetime
    matching: int
    subjects: int
    # (purpose code, purpose name, subject reads), most first.
    by_purpose: list[tuple[str, str, int]]
    reads: list[dict[str, Any]]
    page: int
    pages: int
    per_page: int


def reads_of_reader(
    session: Session,
    principal: Principal,
    *,
    actor: str,
    since: datetime,
    page: int = 1,
    per_page: int = 50,
) -> ReaderReads:
    """Every read one member of staff made since ``since``, for the officer to open (paged).

    The officer sees which subjects (by number), which fields and under which purpose, never
    the data itself: reviewing reads is not reading personal data.
    """
    check_officer(principal)
    if page < 1:
        raise Invalid.field("page", "minimum", "pages are numbered from 1")
    if not 1 <= per_page <= 200:
        raise Invalid.field("per_page", "range", "should be between 1 and 200")
    where = [LedgerEntry.actor == actor, LedgerEntry.read_at >= since]
    waiting = [
        _from_pending(p, int(subject))
        for p in session.scalars(
            select(PendingAccess).where(
                PendingAccess.actor == actor, PendingAccess.read_at >= since
            )
        )
        for subject in p.subject_ids
    ]
    names = _Names(session)
    counted: dict[str, int] = defaultdict(int)
    for purpose_code, n in session.execute(
        select(LedgerEntry.purpose_code, func.count())
        .where(*where)
        .group_by(LedgerEntry.purpose_code)
    ).all():
        counted[purpose_code] += int(n)
    for w in waiting:
        counted[w.purpose_code] += 1
    subjects = {
        (str(kind), int(subject))
        for kind, subject in session.execute(
            select(LedgerEntry.subject_kind, LedgerEntry.subject_id).where(*where).distinct()
        ).all()
    } | {(w.subject_kind, w.subject_id) for w in waiting}
    matching, entries = _entry_page(
        session, where, waiting, offset=(page - 1) * per_page, limit=per_page
    )
    department = entries[0].department_code if entries else None
    if department is None:
        department = session.scalar(
            select(LedgerEntry.department_code).where(*where).limit(1)
        ) or next((w.department_code for w in waiting), None)
    return ReaderReads(
        actor=actor,
        department_code=department,
        since=since,
        matching=matching,
        subjects=len(subjects),
        by_purpose=[
            (code, names.purposes[code].name if code in names.purposes else code, n)
            for code, n in sorted(counted.items(), key=lambda item: -item[1])
        ],
        reads=[names.row(e) for e in entries],
        page=page,
        pages=max(1, -(-matching // per_page)),
        per_page=per_page,
    )


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
