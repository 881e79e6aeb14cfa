"""BPMN timers fired by the server's scheduled work: reminders, escalations, time-outs.

A process's timer events (a boundary timer on a step, an intermediate wait, the time-out
of another region's reply) are SpiffWorkflow's; the engine runs them at the platform's
clock. Each application keeps when its earliest timer is due (``next_timer_at``); the
scheduled work loads the applications whose timer has come, advances each workflow at the
time of the run, and stores the state, the steps' rows and an audit entry per fired timer
in that application's own savepoint.

One application's failure (a follow-on script that fails, a state that cannot be read)
rolls back that application's savepoint only: the batch goes on. The failure is kept on the
application (``timer_attempts``, ``timer_error``) and retried with back-off (1, 2, 4, 8
minutes); after ``MAX_ATTEMPTS`` it is parked (``timer_parked_at``), shown to staff on the
figures page, where the desk or an operator retries it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden
from twonets.core.events import record_event
from twonets.core.models import Role
from twonets.services import engine
from twonets.services.models import Application, ApplicationStatus
from twonets.services.service.applications import finish, load
from twonets.services.service.records import audit, sync_tasks

log = logging.getLogger(__name__)

SYSTEM = "system"
# Applications advanced per run at most (the next run takes the rest).
BATCH = 500
# Failed runs of one application's timers before it is parked, and the first back-off.
MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=1)
# Who retries a parked application: the one-thing services' desk (its function), operators.
DESK_FUNCTION = "government-services"


def fire_timers(session: Session, *, now: datetime) -> int:
    """Advance every application whose next timer is due at ``now``; how many timers fired."""
    rows = session.scalars(
        select(Application)  # governance: the engine runs due timers; it reads no one
        .where(
            Application.status.in_([ApplicationStatus.RUNNING, ApplicationStatus.RETURNED]),
            Application.next_timer_at.is_not(None),
            Application.next_timer_at <= now,
            Application.timer_parked_at.is_(None),
        )
        .order_by(Application.next_timer_at, Application.id)
        .limit(BATCH)
    ).all()
    fired = 0
    for application in rows:
        try:
            with session.begin_nested():
                fired += fire_application_timers(session, application, now=now)
                application.timer_attempts = 0
                application.timer_error = None
        except Exception as exc:  # one application's failure stops neither the batch nor others
            log.warning("services: timers of application %s failed: %r", application.id, exc)
            _failed(session, application, exc, now=now)
    return fired


def _failed(session: Session, application: Application, exc: Exception, *, now: datetime) -> None:
    """Keep the failure; retry after a back-off, or park after ``MAX_ATTEMPTS``."""
    application.timer_attempts = (application.timer_attempts or 0) + 1
    application.timer_error = f"{type(exc).__name__}: {exc}"[:500]
    application.updated_at = now
    if application.timer_attempts < MAX_ATTEMPTS:
        application.next_timer_at = now + FIRST_BACKOFF * 2 ** (application.timer_attempts - 1)
        return
    application.timer_parked_at = now
    audit(
        session,
        application,
        "timer-parked",
        actor=SYSTEM,
        from_status=application.status,
        to_status=application.status,
        detail=application.timer_error,
        now=now,
    )
    record_event(
        session,
        "services.timer.parked",
        {"application_id": application.id, "attempts": application.timer_attempts},
        now=now,
    )


def list_parked(session: Session) -> list[dict[str, Any]]:
    """Applications whose timers failed ``MAX_ATTEMPTS`` times: the last error, the count."""
    rows = session.scalars(
        select(Application)  # governance: the engine's failures; no form or state is read
        .where(Application.timer_parked_at.is_not(None))
        .order_by(Application.timer_parked_at, Application.id)
    ).all()
    return [
        {
            "application_id": a.id,
            "process_id": a.process_id,
            "attempts": a.timer_attempts,
            "error": a.timer_error,
            "parked_at": a.timer_parked_at,
        }
        for a in rows
    ]


def may_retry_timers(principal: Principal) -> bool:
    """Operators and staff of the one-thing services' desk retry a parked application."""
    return Role.OPERATOR in principal.roles or (
        Role.STAFF in principal.roles and principal.department_function == DESK_FUNCTION
    )


def retry_timers(
    session: Session, principal: Principal, application_id: int, *, now: datetime
) -> Application:
    """Take a parked application back into the scheduled work's next run, attempts anew."""
    if not may_retry_timers(principal):
        raise Forbidden("parked timers are retried by the services' desk or an operator")
    application = load(session, application_id)
    if application.timer_parked_at is None:
        raise Conflict(f"application {application_id} has no parked timer")
    audit(
        session,
        application,
        "timer-retried",
        actor=principal.username,
        department_code=principal.department_code,
        from_status=application.status,
        to_status=application.status,
        detail=application.timer_error,
        now=now,
    )
    application.timer_parked_at = None
    application.timer_attempts = 0
    application.next_timer_at = now
    application.updated_at = now
    return application


def fire_application_timers(session: Session, application: Application, *, now: datetime) -> int:
    """Advance one application at ``now``: its due timers fire, what follows them runs."""
    workflow = engine.loads(application.state)
    before = engine.waiting_timers(workflow)
    engine.advance(workflow, now=now)
    after = engine.waiting_timers(workflow)
    fired = [(activity, due) for task_id, (activity, due) in before.items() if task_id not in after]
    for activity, due in fired:
        audit(
            session,
            application,
            "timer-fired",
            actor=SYSTEM,
            from_status=application.status,
            to_status=application.status,
            activity=activity,
            detail=f"due {due.isoformat()}" if due else None,
            now=now,
        )
        record_event(
            session,
            "services.timer.fired",
            {"application_id": application.id, "activity": activity},
            now=now,
        )
    application.state = engine.dumps(workflow)
    application.updated_at = now
    sync_tasks(session, application, workflow, now=now)
    if workflow.is_completed():
        finish(session, application, workflow, actor=SYSTEM, now=now)
    return len(fired)
