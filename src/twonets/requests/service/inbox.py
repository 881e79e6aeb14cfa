"""The other side hears of it: an in-app inbox per account, e-mail and SMS to the filer.

Every status change and every message notifies each party that did not act: the filer's
accounts, the department holding the request (each of its staff), and a supervising
department it was escalated to. When a member of staff acted, the filer is also written to
by e-mail and text message: a delivery waits, and is sent by the scheduled work, which reads
the address through governance under that member of staff's grant (purpose
``requests.notify``) and records what became of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden
from twonets.core.models import Account, Role
from twonets.requests.models import Delivery, Notification, Request, RequestContact

# The purpose under which a filer's address is read to send them what happened.
NOTIFY_PURPOSE = "requests.notify"
CHANNELS = ("email", "sms")

ACTION_TEXTS = {
    "submit": "已提交 (filed)",
    "route": "已派单 (routed to a department)",
    "assign": "已派单 (routed by a dispatcher)",
    "accept": "办理中 (accepted by the department)",
    "decline": "被退回 (declined as not theirs)",
    "answer": "已答复 (answered)",
    "kb-answer": "已由政策知识库即时答复 (answered at once from the knowledge base)",
    "ask-department": "已请求部门办理 (the filer asked for a department)",
    "confirm": "已办结 (confirmed by the filer)",
    "reopen": "已重新办理 (reopened: not fixed)",
    "case": "已转城运案件 (handled as a city operations case)",
    "remind": "临近办理时限 (the time limit is near)",
    "escalate": "已超过办理时限，升级督办 (past its time limit: escalated)",
    "message": "新留言 (new message)",
}


def _filer_accounts(session: Session, row: Request) -> list[int]:
    if row.enterprise_id is not None:
        query = select(Account.id).where(Account.enterprise_id == row.enterprise_id)
    else:
        query = select(Account.id).join(
            RequestContact, RequestContact.citizen_id == Account.citizen_id
        )
        query = query.where(RequestContact.request_id == row.id)
    return list(session.scalars(query.where(Account.active.is_(True))))


def _department_accounts(session: Session, department_id: int | None) -> list[int]:
    if department_id is None:
        return []
    return list(
        session.scalars(
            select(Account.id).where(
                Account.department_id == department_id, Account.active.is_(True)
            )
        )
    )


def notify(
    session: Session,
    row: Request,
    *,
    action: str,
    now: datetime,
    actor: Principal | None,
    actor_is_filer: bool,
    note: str | None = None,
    kind: str = "status",
    also_departments: Iterable[int] = (),
) -> int:
    """Tell every party of ``row`` that did not act; returns the notices written."""
    label = ACTION_TEXTS.get(action, action)
    text = f"{row.number} {label}" + (f"：{note}" if note else "")
    recipients: set[int] = set()
    filer_told = False
    if not actor_is_filer:
        filer = _filer_accounts(session, row)
        recipients.update(filer)
        filer_told = bool(filer) or row.open311_client_id is not None
    staff_of_holder = actor is not None and actor.department_id == row.department_id
    if not staff_of_holder:
        recipients.update(_department_accounts(session, row.department_id))
    for department_id in also_departments:
        recipients.update(_department_accounts(session, department_id))
    if actor is not None:
        recipients.discard(actor.account_id)
    for account_id in sorted(recipients):
        session.add(
            Notification(
                account_id=account_id,
                request_id=row.id,
                kind=kind,
                action=action,
                text=text,
                at=now,
            )
        )
    staff = actor is not None and actor.department_id is not None and Role.STAFF in actor.roles
    if filer_told and staff and actor is not None and _has_contact(session, row.id):
        for channel in CHANNELS:
            session.add(
                Delivery(
                    request_id=row.id,
                    channel=channel,
                    subject=f"您的诉求 {row.number}：{label}",
                    text=text,
                    reader_account_id=actor.account_id,
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
            )
    return len(recipients)


def _has_contact(session: Session, request_id: int) -> bool:
    found = session.scalar(select(RequestContact.id).where(RequestContact.request_id == request_id))
    return found is not None


def list_inbox(
    session: Session, caller: Principal, *, unread_only: bool = False, limit: int = 100
) -> Sequence[Notification]:
    """The caller's own notices, newest first."""
    query = select(Notification).where(Notification.account_id == caller.account_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return session.scalars(
        query.order_by(Notification.at.desc(), Notification.id.desc()).limit(limit)
    ).all()


def count_unread(session: Session, caller: Principal) -> int:
    """How many of the caller's notices wait to be read."""
    query = select(func.count()).where(
        Notification.account_id == caller.account_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def mark_read(
    session: Session, caller: Principal, ids: Sequence[int] | None, *, now: datetime
) -> int:
    """Mark the caller's notices read (``ids``, or all when None); another's are refused."""
    if ids is not None and not ids:
        return 0
    if ids:
        owners = set(
            session.scalars(select(Notification.account_id).where(Notification.id.in_(list(ids))))
        )
        if owners - {caller.account_id}:
            raise Forbidden(
                "notices belong to the account they were written to",
                extra={"rule": "own-inbox"},
            )
    query = update(Notification).where(
        Notification.account_id == caller.account_id, Notification.read_at.is_(None)
    )
    if ids:
        query = query.where(Notification.id.in_(list(ids)))
    result = session.execute(query.values(read_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def list_deliveries(session: Session, request_id: int) -> Sequence[Delivery]:
    """The e-mails and text messages of a request with their status (callers check)."""
    return session.scalars(
        select(Delivery).where(Delivery.request_id == request_id).order_by(Delivery.id)
    ).all()
