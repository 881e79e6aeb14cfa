"""Steps worked by another region's department: a signed request, a signed reply, a time-out.

A person's step whose process names ``remote_region`` (and whose lane names the function)
is not queued for the city's staff: it becomes a request to that region's department. The
request is written in the step's own transaction (pending), then signed with the home
region's issuing key and handed to the transport by the scheduled work. The other region's
department answers with a reply signed by its region's key; the reply is verified against
the trust store (the region must be the one asked) and completes the step. The step's
time-out is a BPMN timer on it: when it fires first, the request is marked timed out and a
reply that comes later is refused, naming when the time-out fired.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.models import Role
from twonets.governance import ledger
from twonets.services import engine
from twonets.services.models import (
    Application,
    ApplicationStatus,
    RemoteMessage,
    RemoteStatus,
    ServiceTask,
    TaskStatus,
)
from twonets.services.remote import MEDIA_TYPE, Envelope, Transport
from twonets.services.service import prefill
from twonets.trust import service as trust
from twonets.trust.jws import (
    MalformedJws,
    b64url_decode,
    b64url_encode,
    parse_compact,
    sign_with_key,
)

log = logging.getLogger(__name__)

HOME_REGION = "SH"
REQUEST = "request"
REPLY = "reply"
SYSTEM = "system"
# How long a signing key must stay valid for a message signed now.
KEY_VALIDITY = timedelta(days=1)


class RemoteRefused(Conflict):
    """A reply that cannot be taken: late (after the time-out), answered already, unknown."""

    slug = "remote-reply-refused"
    title = "Reply refused"


def remote_lane(region: str, function: str) -> str:
    """The lane of a step worked in another region: no home department's function."""
    return f"{region}:{function}"


def open_request(
    session: Session,
    application: Application,
    task: ServiceTask,
    info: dict[str, Any],
    *,
    now: datetime,
) -> RemoteMessage:
    """Write the request for a remote step (pending: the scheduled work signs and sends it)."""
    message = RemoteMessage(
        message_id=str(uuid.uuid4()),
        kind=REQUEST,
        application_id=application.id,
        service_task_id=task.id,
        activity=task.activity,
        from_region=HOME_REGION,
        to_region=str(info["remote_region"]),
        function=str(info["lane"]),
        status=RemoteStatus.PENDING,
        created_at=now,
    )
    session.add(message)
    return message


def close_timed_out(session: Session, task: ServiceTask, *, now: datetime) -> None:
    """A remote step closed without a reply (its time-out fired): its request timed out."""
    for message in session.scalars(
        select(RemoteMessage).where(  # governance: the request's state, no payload read
            RemoteMessage.service_task_id == task.id,
            RemoteMessage.kind == REQUEST,
            RemoteMessage.status.in_([RemoteStatus.PENDING, RemoteStatus.SENT]),
        )
    ):
        message.status = RemoteStatus.TIMED_OUT
        message.answered_at = now


def sign(
    session: Session, root_secret: bytes, region: str, payload: dict[str, Any], now: datetime
) -> str:
    key = trust.signing_key(
        session, region=region, root_secret=root_secret, now=now, valid_for=KEY_VALIDITY
    )
    assert key.private_key is not None
    header = {"typ": MEDIA_TYPE, "kid": b64url_encode(key.kid)}
    return sign_with_key(header, payload, key.private_key)


_sign = sign  # its earlier name


def verify(
    session: Session, root_secret: bytes, jws_text: str, *, region: str, now: datetime
) -> dict[str, Any]:
    """The payload of a message signed by ``region``'s key; ``Forbidden`` otherwise."""
    try:
        jws = parse_compact(jws_text)
        if jws.header.get("typ") != MEDIA_TYPE:
            raise Invalid.field("jws", "typ", f"should be a {MEDIA_TYPE}")
        kid = b64url_decode(str(jws.header.get("kid", "")))
        payload = jws.payload_json()
    except (MalformedJws, ValueError) as exc:
        raise Invalid.field("jws", "compact-jws", str(exc)) from None
    store = trust.trust_store(session, now=now, root_secret=root_secret)
    signer, _ = store.verify(kid, jws.signing_input, jws.signature, now)
    if signer != region:
        raise Forbidden(f"the message is signed by {signer}, not by {region}, which was asked")
    return payload


def _applicant_of(application: Application) -> dict[str, Any]:
    form = json.loads(application.form or "{}")
    return {k: form.get(k) for k in ("applicant_name", "applicant_id_number")}


def send_pending(
    session: Session,
    transport: Transport,
    root_secret: bytes,
    *,
    now: datetime,
    post: Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]] | None = None,
) -> int:
    """Sign every pending request with the home region's key and send it: POSTed to the
    asked region's inbox when that region runs its own deployment (``crossing``), else
    handed to the transport. One that cannot be posted now stays pending (tried again).
    Returns how many were sent."""
    from twonets.services.service import crossing

    sent = 0
    rows = session.scalars(
        select(RemoteMessage).where(  # governance: the outbox of requests; sent as signed
            RemoteMessage.kind == REQUEST, RemoteMessage.status == RemoteStatus.PENDING
        )
    ).all()
    for message in rows:
        # The applicant's name and ID number go to the asked department, signed; the
        # disclosure is recorded in the ledger below, under the service's purpose.
        application = session.get(
            Application, message.application_id
        )  # governance: disclosed to the asked department, recorded in the ledger below
        task = session.get(ServiceTask, message.service_task_id)  # governance: its form names
        assert application is not None
        assert task is not None
        payload = {
            "kind": REQUEST,
            "id": message.message_id,
            "from": message.from_region,
            "to": message.to_region,
            "function": message.function,
            "application": application.id,
            "activity": message.activity,
            "asks": [f for f in task.form.split(",") if f],
            "subject": _applicant_of(application),
            "reply_by": task.due_at.isoformat(),
            "iat": int(now.timestamp()),
        }
        if message.jws is None:  # else signed, its disclosure recorded, on an earlier try
            message.jws = sign(session, root_secret, message.from_region, payload, now)
            _record_disclosure(session, message, application, now)
        if crossing.inbox_url(session, message.to_region) is not None:
            why = crossing.post_request(
                session, message.to_region, message.jws, post=post or crossing.http_post
            )
            if why is not None:
                log.warning("request %s not delivered yet: %s", message.message_id, why)
                continue
        else:
            transport.deliver(
                Envelope(
                    message.message_id, REQUEST, message.to_region, message.function, message.jws
                )
            )
        message.status = RemoteStatus.SENT
        message.sent_at = now
        sent += 1
    return sent


def _record_disclosure(
    session: Session, message: RemoteMessage, application: Application, now: datetime
) -> None:
    """The applicant's name and ID number go to the asked department: in the ledger."""
    if application.citizen_id is not None:
        ledger.record_reads(
            session,
            [
                {
                    "read_at": now,
                    "actor": remote_lane(message.to_region, message.function),
                    "department_code": None,
                    "purpose_code": prefill.purpose_of(application.process_id),
                    "dataset": prefill.APPLICATIONS,
                    "subject_kind": "citizen",
                    "subject_ids": [application.citizen_id],
                    "fields": ["applicant_name", "applicant_id_number"],
                    "request_id": message.message_id,
                    "kind": "read",
                }
            ],
        )


def remote_staff(principal: Principal) -> tuple[str, str]:
    if (
        Role.STAFF not in principal.roles
        or principal.department_function is None
        or principal.region_code is None
    ):
        raise Forbidden("requests from other regions are answered by a department's staff")
    return principal.region_code, principal.department_function


def list_inbox(
    session: Session, root_secret: bytes, principal: Principal, *, now: datetime
) -> list[dict[str, Any]]:
    """The requests waiting for the caller's department (its region and function), verified."""
    region, function = remote_staff(principal)
    rows = session.scalars(
        select(RemoteMessage)  # governance: requests addressed to this department
        .where(
            RemoteMessage.kind == REQUEST,
            RemoteMessage.to_region == region,
            RemoteMessage.function == function,
            RemoteMessage.status == RemoteStatus.SENT,
        )
        .order_by(RemoteMessage.sent_at, RemoteMessage.id)
    ).all()
    out = []
    for message in rows:
        assert message.jws is not None
        payload = verify(session, root_secret, message.jws, region=message.from_region, now=now)
        out.append({"message_id": message.message_id, "jws": message.jws, "request": payload})
    # And those posted by other regions' own deployments to this platform's inbox.
    from twonets.services.service import crossing

    return out + crossing.waiting_for(session, root_secret, principal, now=now)


def answer_request(
    session: Session,
    root_secret: bytes,
    principal: Principal,
    message_id: str,
    *,
    data: dict[str, Any],
    now: datetime,
) -> str:
    """The other region's department answers: its reply, signed with its region's key.

    In one deployment the reply goes straight to ``receive_reply``; with an HTTP transport
    the other region would send this JWS to the home region's inbox.
    """
    region, function = remote_staff(principal)
    request = _request(session, message_id)
    if (request.to_region, request.function) != (region, function):
        raise Forbidden(
            f"the request is for {request.function} of {request.to_region}, "
            f"not for {principal.department_code}"
        )
    assert request.jws is not None
    verify(session, root_secret, request.jws, region=request.from_region, now=now)
    payload = {
        "kind": REPLY,
        "id": str(uuid.uuid4()),
        "in_reply_to": request.message_id,
        "from": region,
        "to": request.from_region,
        "department": principal.department_code,
        "data": data,
        "iat": int(now.timestamp()),
    }
    return sign(session, root_secret, region, payload, now)


def _request(session: Session, message_id: str) -> RemoteMessage:
    found = session.scalar(
        select(RemoteMessage).where(  # governance: the request a reply names
            RemoteMessage.message_id == message_id, RemoteMessage.kind == REQUEST
        )
    )
    if found is None:
        raise NotFound(f"request {message_id} does not exist")
    return found


def take_reply(
    session: Session, root_secret: bytes, reply_jws: str, *, now: datetime
) -> tuple[Application, ServiceTask, dict[str, Any], str | None]:
    """Verify a reply and match it to its request; refuse one that comes after the time-out."""
    try:
        unverified = parse_compact(reply_jws).payload_json()
    except (MalformedJws, ValueError) as exc:
        raise Invalid.field("jws", "compact-jws", str(exc)) from None
    request = _request(session, str(unverified.get("in_reply_to", "")))
    payload = verify(session, root_secret, reply_jws, region=request.to_region, now=now)
    task = session.get(ServiceTask, request.service_task_id)  # governance: the step answered
    application = session.get(
        Application, request.application_id
    )  # governance: the engine's own state, to take the reply into the step; never shown
    assert task is not None
    assert application is not None
    if request.status == RemoteStatus.TIMED_OUT:
        when = request.answered_at
        raise RemoteRefused(
            f"the reply to request {request.message_id} came at {now.isoformat()}, after the "
            f"time-out at {when.isoformat() if when else '?'}: the process went on without it"
        )
    if application.status != ApplicationStatus.RUNNING:
        raise RemoteRefused(f"application {application.id} is {application.status}")
    if request.status != RemoteStatus.SENT or task.status != TaskStatus.OPEN:
        raise RemoteRefused(f"request {request.message_id} is {request.status}: not waiting")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Invalid.field("jws", "data", "the reply should carry its data as an object")
    request.status = RemoteStatus.ANSWERED
    request.answered_at = now
    session.add(
        RemoteMessage(
            message_id=str(payload.get("id") or uuid.uuid4())[:36],
            in_reply_to=request.message_id,
            kind=REPLY,
            application_id=application.id,
            service_task_id=task.id,
            activity=request.activity,
            from_region=request.to_region,
            to_region=request.from_region,
            function=request.function,
            jws=reply_jws,
            status=RemoteStatus.ACCEPTED,
            department_code=str(payload.get("department") or "")[:64] or None,
            created_at=now,
            answered_at=now,
        )
    )
    department = payload.get("department")
    return application, task, data, str(department) if department else None


def workflow_task(application: Application, task: ServiceTask) -> tuple[Any, Any]:
    """The workflow and its waiting task of a remote step."""
    workflow = engine.loads(application.state)
    found = engine.find_task(workflow, task.task_id)
    if found is None:
        raise RemoteRefused(f"the step {task.activity} is no longer waiting")
    return workflow, found
