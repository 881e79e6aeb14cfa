"""Replies from other regions' departments: verified, then they complete the remote step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.services import engine
from twonets.services.models import Application, TaskStatus
from twonets.services.service import crossing, remote
from twonets.services.service.applications import check_data, finish
from twonets.services.service.records import audit, sync_tasks


def receive_reply(
    session: Session, root_secret: bytes, reply_jws: str, *, now: datetime
) -> Application:
    """Take a signed reply: verified against the trust store, it completes its step.

    This is the home region's inbox: the in-process transport calls it directly; an HTTP
    endpoint would call it with the JWS another region's deployment posts.
    """
    application, task, data, department = remote.take_reply(
        session, root_secret, reply_jws, now=now
    )
    check_data(data, where="reply.data")
    workflow, found = remote.workflow_task(application, task)
    engine.complete(workflow, found, data, now=now)
    task.status = TaskStatus.DONE
    task.department_code = department
    task.finished_at = now
    application.state = engine.dumps(workflow)
    application.updated_at = now
    audit(
        session,
        application,
        "remote-replied",
        actor=department or task.lane,
        department_code=department,
        from_status=application.status,
        to_status=application.status,
        activity=task.activity,
        now=now,
    )
    sync_tasks(session, application, workflow, now=now)
    if workflow.is_completed():
        finish(session, application, workflow, actor=remote.SYSTEM, now=now)
    return application


def answer_remote_request(
    session: Session,
    root_secret: bytes,
    principal: Principal,
    message_id: str,
    *,
    data: dict[str, Any],
    now: datetime,
) -> Application:
    """The other region's department answers a request; in one deployment the signed reply
    is delivered to the home region's inbox at once."""
    check_data(data)
    reply = remote.answer_request(session, root_secret, principal, message_id, data=data, now=now)
    return receive_reply(session, root_secret, reply, now=now)


def answer_remote(
    session: Session,
    root_secret: bytes,
    principal: Principal,
    message_id: str,
    *,
    data: dict[str, Any],
    now: datetime,
    post: crossing.Post = crossing.http_post,
) -> dict[str, Any]:
    """Answer a request from another region, wherever it came from: one posted by another
    deployment gets its signed reply posted back; one in this deployment's shared table is
    answered in process. Where the application is after the reply, as far as it is known."""
    check_data(data)
    row = crossing.received(session, message_id)
    if row is not None:
        return crossing.answer_received(
            session, root_secret, principal, row, data=data, now=now, post=post
        )
    application = answer_remote_request(
        session, root_secret, principal, message_id, data=data, now=now
    )
    return {"application_id": application.id, "status": application.status}
