"""Steps worked by another region's own deployment: signed messages posted between inboxes.

When the asked region is recognised here as a deployment of its own (``twonets.trust.remote``
knows its URL), the signed request is POSTed to that platform's inbox
(``/api/v1/services/remote/messages``) instead of waiting in the shared table. There it is
verified against that platform's trust store (the sender's region must be recognised),
kept as received, and listed to the asked department; the department's answer is signed
with that region's key, kept, and POSTed back to the asking platform's inbox, where it
completes the step as an in-process reply does.

Nothing is lost to an unreachable region: a request that cannot be delivered stays pending
and the scheduled work tries again; a reply that cannot be delivered likewise. The step's
time-out is the process's own (a BPMN timer): when it fires first, the request is closed,
and a reply that comes later is refused by the asking platform (HTTP 409), which the
answering platform records beside the reply it kept.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.error import HTTPError, URLError

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from twonets.core.events import record_event
from twonets.services.models import ReceivedRequest, ReceivedStatus
from twonets.services.service import remote
from twonets.trust import remote as regions
from twonets.trust import service as trust
from twonets.trust.jws import MalformedJws, parse_compact

INBOX_PATH = "/api/v1/services/remote/messages"
POST_TIMEOUT_SECONDS = 5.0
# A POST of a signed message: the HTTP status and the JSON answered; ``Unavailable`` when
# the other platform cannot be reached.
Post = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


def http_post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as JSON to ``url``; its status and JSON answer (``Unavailable`` if down)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as answer:
            return answer.status, _json(answer.read(1_000_000))
    except HTTPError as exc:
        return exc.code, _json(exc.read(1_000_000))
    except (URLError, TimeoutError, OSError) as exc:
        raise Unavailable(f"{url} cannot be reached: {exc}") from None


def _json(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        return {"detail": body[:500].decode("utf-8", "replace")}
    return found if isinstance(found, dict) else {"value": found}


def inbox_url(session: Session, region: str) -> str | None:
    """The inbox of ``region``'s own deployment, or None when it is no remote region here."""
    found = regions.remote_region(session, region)
    return found.base_url + INBOX_PATH if found is not None else None


def _peek(jws_text: str) -> dict[str, Any]:
    try:
        return parse_compact(jws_text).payload_json()
    except (MalformedJws, ValueError) as exc:
        raise Invalid.field("jws", "compact-jws", str(exc)) from None


def receive_request(
    session: Session, root_secret: bytes, jws_text: str, *, now: datetime
) -> ReceivedRequest:
    """Keep a signed request another region's platform posted: verified, for a region here."""
    claimed = _peek(jws_text)
    sender = str(claimed.get("from", ""))
    payload = remote.verify(session, root_secret, jws_text, region=sender, now=now)
    to_region = str(payload.get("to", ""))
    if not trust.holds_region(session, to_region):
        raise Forbidden(f"this platform is not the deployment of region {to_region!r}")
    message_id = str(payload.get("id", ""))[:36]
    if not message_id:
        raise Invalid.field("jws", "id", "the request should carry its id")
    held = session.scalar(
        select(ReceivedRequest).where(  # governance: the same request posted again
            ReceivedRequest.message_id == message_id
        )
    )
    if held is not None:
        return held
    row = ReceivedRequest(
        message_id=message_id,
        from_region=sender,
        to_region=to_region,
        function=str(payload.get("function", ""))[:64],
        jws=jws_text,
        status=ReceivedStatus.WAITING,
        received_at=now,
    )
    session.add(row)
    record_event(
        session,
        "services.remote.received",
        {"message_id": message_id, "from": sender, "function": row.function},
    )
    session.flush()
    return row


def waiting_for(
    session: Session, root_secret: bytes, principal: Principal, *, now: datetime
) -> list[dict[str, Any]]:
    """The requests from other deployments waiting for the caller's department, verified."""
    region, function = remote.remote_staff(principal)
    rows = session.scalars(
        select(ReceivedRequest)  # governance: requests addressed to this department
        .where(
            ReceivedRequest.to_region == region,
            ReceivedRequest.function == function,
            ReceivedRequest.status == ReceivedStatus.WAITING,
        )
        .order_by(ReceivedRequest.received_at, ReceivedRequest.id)
    ).all()
    out = []
    for row in rows:
        payload = remote.verify(session, root_secret, row.jws, region=row.from_region, now=now)
        out.append({"message_id": row.message_id, "jws": row.jws, "request": payload})
    return out


def received(session: Session, message_id: str) -> ReceivedRequest | None:
    """A request received from another deployment, if ``message_id`` names one."""
    found: ReceivedRequest | None = session.scalar(
        select(ReceivedRequest).where(  # governance: the request a reply answers
            ReceivedRequest.message_id == message_id
        )
    )
    return found


def answer_received(
    session: Session,
    root_secret: bytes,
    principal: Principal,
    row: ReceivedRequest,
    *,
    data: dict[str, Any],
    now: datetime,
    post: Post = http_post,
) -> dict[str, Any]:
    """The asked department answers: the reply is signed, kept, and posted back."""
    region, function = remote.remote_staff(principal)
    if (row.to_region, row.function) != (region, function):
        raise Forbidden(
            f"the request is for {row.function} of {row.to_region}, "
            f"not for {principal.department_code}"
        )
    if row.status != ReceivedStatus.WAITING:
        raise Conflict(f"request {row.message_id} is {row.status}: it was answered already")
    request = remote.verify(session, root_secret, row.jws, region=row.from_region, now=now)
    payload = {
        "kind": remote.REPLY,
        "id": str(uuid.uuid4()),
        "in_reply_to": row.message_id,
        "from": region,
        "to": row.from_region,
        "department": principal.department_code,
        "data": data,
        "iat": int(now.timestamp()),
    }
    row.reply_jws = remote.sign(session, root_secret, region, payload, now)
    row.status = ReceivedStatus.REPLY_PENDING
    row.department_code = principal.department_code
    row.answered_at = now
    answer = deliver_reply(session, row, now=now, post=post)
    # Delivered: where the application is now, as the asking platform says; else why not.
    status = answer.get("status") if row.status == ReceivedStatus.DELIVERED else None
    return {"application_id": request.get("application"), "status": str(status or row.status)}


def deliver_reply(
    session: Session, row: ReceivedRequest, *, now: datetime, post: Post = http_post
) -> dict[str, Any]:
    """Post a kept reply to the asking platform's inbox; note what it answered."""
    url = inbox_url(session, row.from_region)
    if url is None or row.reply_jws is None:
        row.detail = f"region {row.from_region} has no address here; recognise its deployment"
        return {}
    try:
        status, answer = post(url, {"jws": row.reply_jws})
    except Unavailable as exc:
        row.detail = exc.detail  # still pending: the scheduled work tries again
        return {}
    if status in (200, 201):
        row.status = ReceivedStatus.DELIVERED
        row.delivered_at = now
        row.detail = None
    elif status in (403, 404, 409, 422):
        row.status = ReceivedStatus.REFUSED
        row.detail = str(answer.get("detail") or f"HTTP {status}")[:2000]
    else:
        row.detail = f"{url} answered HTTP {status}"
    record_event(
        session,
        "services.remote.reply",
        {"message_id": row.message_id, "status": str(row.status)},
    )
    session.flush()
    return answer


def deliver_pending_replies(session: Session, *, now: datetime, post: Post = http_post) -> int:
    """Post again every reply the asking platform has not taken yet (the scheduled work)."""
    rows = session.scalars(
        select(ReceivedRequest).where(  # governance: the outbox of replies, sent as signed
            ReceivedRequest.status == ReceivedStatus.REPLY_PENDING
        )
    ).all()
    for row in rows:
        deliver_reply(session, row, now=now, post=post)
    return len(rows)


def post_request(session: Session, to_region: str, jws_text: str, *, post: Post) -> str | None:
    """Post a signed request to the asked region's deployment: None once it is taken, else
    why not (it stays pending and is tried again)."""
    url = inbox_url(session, to_region)
    if url is None:
        raise NotFound(f"region {to_region} has no deployment of its own here")
    try:
        status, answer = post(url, {"jws": jws_text})
    except Unavailable as exc:
        return exc.detail
    if status in (200, 201):
        return None
    return f"{url} answered HTTP {status}: {answer.get('detail', '')}"


def receive_message(
    session: Session, root_secret: bytes, jws_text: str, *, now: datetime
) -> dict[str, Any]:
    """This platform's inbox: a request for one of its departments, or a reply to one of its
    requests (which completes the step it answers)."""
    kind = _peek(jws_text).get("kind")
    if kind == remote.REQUEST:
        row = receive_request(session, root_secret, jws_text, now=now)
        return {"message_id": row.message_id, "status": str(row.status)}
    if kind == remote.REPLY:
        from twonets.services.service.inbox import receive_reply

        application = receive_reply(session, root_secret, jws_text, now=now)
        return {"application_id": application.id, "status": str(application.status)}
    raise Invalid.field("jws", "kind", "should be a request or a reply")
