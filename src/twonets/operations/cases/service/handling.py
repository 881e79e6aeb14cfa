"""Handling, verification, closure, evaluation and overdue marking."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.core.events import record_event
from twonets.core.models import Role
from twonets.operations.cases import catalogue
from twonets.operations.cases import photos as photos_mod
from twonets.operations.cases.models import (
    Case,
    CasePhoto,
    CaseReport,
)
from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains
from twonets.operations.cases.service.common import (
    DEFAULT_RULES,
    Rules,
    _check,
    _require_handler,
    _step,
)
from twonets.operations.cases.service.dispatch import _deadline
from twonets.operations.cases.service.intake import intake
from twonets.operations.cases.states import (
    CLOCK_STATES,
    CaseState,
    get_case,
)


def _checked_photos(photos: Sequence[photos_mod.Photo]) -> list[photos_mod.Photo]:
    """The photos if each passes the checks (count, type, size), before anything is written."""
    if len(photos) > photos_mod.MAX_PHOTOS:
        raise Invalid.field(
            "photos", "count", f"at most {photos_mod.MAX_PHOTOS} photos, got {len(photos)}"
        )
    for i, photo in enumerate(photos):
        photos_mod.check_photo(photo, i)
    return list(photos)


def _keep_photos(
    session: Session,
    case_id: int,
    photos: Sequence[photos_mod.Photo],
    *,
    caller: Principal,
    now: datetime,
    photo_dir: Path | None,
) -> None:
    if photos and photo_dir is None:
        raise ValueError("photos given without a folder to keep them")
    for photo in photos:
        digest = hashlib.sha256(photo.content).hexdigest()
        assert photo_dir is not None
        photos_mod.store_photo(photo_dir, photo, digest)
        session.add(
            CasePhoto(
                case_id=case_id,
                sha256=digest,
                content_type=photo.content_type,
                size=len(photo.content),
                uploaded_by=caller.account_id,
                uploaded_at=now,
            )
        )


def report_problem(
    session: Session,
    caller: Principal,
    report: IntakeReport,
    *,
    now: datetime,
    photos: Sequence[photos_mod.Photo] = (),
    photo_dir: Path | None = None,
    rules: Rules = DEFAULT_RULES,
) -> Case:
    """随手拍: a resident reports a problem, with up to five photos.

    The photos are checked before anything is written, and kept with the case the report
    became, or with the open case it was merged into (where the handlers will look).
    """
    caller.require(Role.CITIZEN)
    if report.source_kind is not SourceKind.CITIZEN:
        raise Invalid.field("source_kind", "citizen", "a resident's report is a citizen report")
    checked = _checked_photos(photos)
    row = intake(session, report, now=now, reporter=caller, rules=rules)
    target = row.merged_into_id or row.id
    _keep_photos(session, target, checked, caller=caller, now=now, photo_dir=photo_dir)
    session.flush()
    return row


def report_handling(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    now: datetime,
    note: str | None,
    photos: Sequence[photos_mod.Photo] = (),
    photo_dir: Path | None = None,
) -> Case:
    """反馈: the handler reports the problem solved, with photos; a late report is a breach."""
    row = get_case(session, case_id)
    _require_handler(caller, row)
    _check(row, "feedback")
    checked = _checked_photos(photos)
    _keep_photos(session, row.id, checked, caller=caller, now=now, photo_dir=photo_dir)
    row.handler_account_id = caller.account_id
    row.handled_at = now
    late = row.deadline_at is not None and now > row.deadline_at
    if late:
        row.breached = True
    _step(
        session,
        row,
        action="feedback",
        to_state=CaseState.HANDLED,
        now=now,
        actor=caller,
        note=note,
        photos=len(checked),
        late=late,
    )
    return row


def verify_case(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    passed: bool,
    now: datetime,
    note: str | None = None,
) -> Case:
    """核查: a supervisor, never the handler, confirms on site; a failure sends it back (返工).

    A supervisor of a district department verifies that district's cases; one of a city
    department, any case of the city.
    """
    caller.require(Role.SUPERVISOR)
    row = get_case(session, case_id)
    if caller.district_code is not None and caller.district_code != row.district_code:
        raise Forbidden(
            f"case {row.number} lies in another district than yours",
            extra={"rule": "own-district", "state": row.state},
        )
    _check(row, "verify")
    if row.handler_account_id == caller.account_id:
        raise Forbidden(
            f"case {row.number} was handled by you: someone else verifies it",
            extra={"rule": "verifier-not-handler", "state": row.state},
        )
    row.verifier_account_id = caller.account_id
    if passed:
        row.verified_at = now
        _step(
            session,
            row,
            action="verify",
            to_state=CaseState.VERIFIED,
            now=now,
            actor=caller,
            note=note,
        )
        return row
    if not note or not note.strip():
        raise Invalid.field("note", "required", "say what is still wrong, for the handlers")
    category = catalogue.get_category(session, row.category_code)
    row.rework_count += 1
    row.handled_at = None
    row.handler_account_id = None
    row.dispatched_at = now
    row.deadline_at = _deadline(session, row, category, now)
    _step(
        session,
        row,
        action="redispatch",
        to_state=CaseState.DISPATCHED,
        now=now,
        actor=caller,
        note=note,
        rework=row.rework_count,
        deadline=row.deadline_at.isoformat(),
    )
    return row


def close_case(
    session: Session, caller: Principal, case_id: int, *, now: datetime, note: str | None = None
) -> Case:
    """结案: close a verified case."""
    caller.require(Role.OPERATOR)
    row = get_case(session, case_id)
    _check(row, "close")
    row.closed_at = now
    _step(session, row, action="close", to_state=CaseState.CLOSED, now=now, actor=caller, note=note)
    return row


def evaluate_case(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    score: int,
    now: datetime,
    note: str | None = None,
) -> Case:
    """评价: a closed case's satisfaction score, by an operator or the resident who reported it."""
    row = get_case(session, case_id)
    _check(row, "evaluate")
    if not caller.has_any({Role.OPERATOR}):
        reported = caller.citizen_id is not None and session.scalar(
            select(CaseReport.id)
            .where(
                CaseReport.case_id == row.id, CaseReport.reporter_citizen_id == caller.citizen_id
            )
            .limit(1)
        )
        if not reported:
            raise Forbidden("only an operator or the resident who reported it evaluates a case")
    if row.evaluation is not None:
        raise Conflict(f"case {row.number} was evaluated already", extra={"rule": "evaluate-once"})
    if not 1 <= score <= 5:
        raise Invalid.field("score", "range", f"should be 1 to 5, got {score}")
    row.evaluation = score
    row.evaluation_note = note
    _step(
        session,
        row,
        action="evaluate",
        to_state=CaseState.CLOSED,
        now=now,
        actor=caller,
        note=note,
        score=score,
    )
    return row


def mark_overdue(session: Session, *, now: datetime) -> int:
    """Mark cases whose time limit passed while being handled; one event per breach."""
    rows = session.scalars(
        select(Case).where(
            Case.state.in_([s.value for s in CLOCK_STATES]),
            Case.deadline_at < now,
            Case.breached.is_(False),
        )
    ).all()
    for row in rows:
        row.breached = True
        row.updated_at = now
        record_event(
            session,
            "ops.case.overdue",
            {
                "case": row.number,
                "district": row.district_code,
                "deadline": row.deadline_at.isoformat() if row.deadline_at else None,
            },
            now=now,
        )
    return len(rows)
