"""Sending the e-mails and text messages that wait, and recording what became of each."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import auth
from twonets.core.errors import Forbidden, NotFound
from twonets.core.models import Account
from twonets.governance.service import Governance, ReadQuery, read
from twonets.requests.models import Delivery
from twonets.requests.outlets import Outlets
from twonets.requests.service.common import CONTACT_DATASET
from twonets.requests.service.inbox import NOTIFY_PURPOSE

log = logging.getLogger(__name__)
# A delivery that failed this many times is given up (status failed).
MAX_ATTEMPTS = 3
_FIELD = {"email": "email", "sms": "phone"}


def deliver_pending(
    session: Session, gov: Governance, outlets: Outlets, *, now: datetime, limit: int = 50
) -> int:
    """Send waiting deliveries; returns how many were sent.

    The address is read through governance as the member of staff whose action the message
    reports (their grant for ``requests.notify``; the read lands in the ledger). No grant, or
    no address, and the delivery is ``skipped`` with the reason; a refusing server counts an
    attempt, and after ``MAX_ATTEMPTS`` it is ``failed``.
    """
    waiting = session.scalars(
        select(Delivery).where(Delivery.status == "pending").order_by(Delivery.id).limit(limit)
    ).all()
    sent = 0
    for delivery in waiting:
        field = _FIELD[delivery.channel]
        account = (
            session.get(
                Account, delivery.reader_account_id
            )  # governance: the acting staff's own login, to read as them
            if delivery.reader_account_id is not None
            else None
        )
        if account is None or not account.active:
            _finish(delivery, "skipped", "no member of staff to read the address as")
            continue
        try:
            found = read(
                session,
                gov,
                auth.principal_of(account),
                purpose=NOTIFY_PURPOSE,
                dataset=CONTACT_DATASET,
                query=ReadQuery(fields=[field], where={"request_id": delivery.request_id}, limit=1),
                now=now,
            )
        except (Forbidden, NotFound) as exc:
            _finish(delivery, "skipped", f"address not readable: {exc}"[:500])
            continue
        address = str(found.rows[0].get(field) or "") if found.rows else ""
        if not address:
            _finish(delivery, "skipped", f"no {field} given")
            continue
        delivery.attempts += 1
        try:
            if delivery.channel == "email":
                outlets.mail.send(address, delivery.subject, delivery.text, now=now)
            else:
                outlets.sms.send(address, delivery.text, now=now)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("delivery %d failed: %s", delivery.id, exc)
            delivery.detail = f"{type(exc).__name__}: {exc}"[:500]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
            continue
        delivery.status = "sent"
        delivery.sent_at = now
        delivery.detail = None
        sent += 1
    return sent


def _finish(delivery: Delivery, status: str, detail: str) -> None:
    delivery.status = status
    delivery.detail = detail
