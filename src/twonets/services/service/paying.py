"""The one payment of a filing: the enterprise pays what is due, the process gets the message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, NotFound
from twonets.services import engine
from twonets.services.models import Application, ApplicationStatus
from twonets.services.payments import PaymentProvider, PaymentRefused
from twonets.services.service.applications import (
    AMOUNT_DUE,
    PAYMENT_MESSAGE,
    finish,
    is_applicant,
    load,
)
from twonets.services.service.records import audit, sync_tasks


class PaymentFailed(Conflict):
    """The payment provider refused the charge."""

    slug = "payment-refused"
    title = "Payment refused"


def pay(
    session: Session,
    payments: PaymentProvider,
    principal: Principal,
    application_id: int,
    *,
    now: datetime,
) -> Application:
    """Pay everything the application's process computed as due, once; the process goes on."""
    application = load(session, application_id)
    if not is_applicant(principal, application):
        raise NotFound(f"application {application_id} does not exist")
    if application.status != ApplicationStatus.RUNNING:
        raise Conflict(f"application {application_id} is {application.status}")
    workflow = engine.loads(application.state)
    waits = [w for w in engine.waiting_on(workflow) if w.get("message") == PAYMENT_MESSAGE]
    if not waits:
        raise Conflict(f"application {application_id} is not waiting for a payment")
    amount = float(engine.data_of(workflow).get(AMOUNT_DUE) or 0)
    try:
        receipt = payments.charge(
            reference=f"services-{application.id}",
            payer=principal.username,
            amount=amount,
            now=now,
        )
    except PaymentRefused as exc:
        raise PaymentFailed(str(exc)) from None
    payload = {"payment_transaction": receipt.transaction_id, "paid_amount": receipt.amount}
    engine.deliver_message(workflow, PAYMENT_MESSAGE, payload, now=now)
    application.state = engine.dumps(workflow)
    application.updated_at = now
    audit(
        session,
        application,
        "paid",
        actor=principal.username,
        from_status=application.status,
        to_status=application.status,
        activity=waits[0]["activity"],
        detail=f"{receipt.amount:.2f} yuan, {receipt.transaction_id}",
        now=now,
    )
    sync_tasks(session, application, workflow, now=now)
    if workflow.is_completed():
        finish(session, application, workflow, actor=principal.username, now=now)
    return application
