"""BPMN timers fired by the server's scheduled work: reminders, escalations, time-outs.

A process's timer events (a boundary timer on a step, an intermediate wait, the time-out
of another region's reply) are SpiffWorkflow's; the engine runs them at the platform's
clock. Each application keeps when its earliest timer is due (``next_timer_at``); the
scheduled work loads the applications whose timer has come, advances each workflow at the
time of the run, and stores the state, the steps' rows and an audit entry per fired timer
in that application's own transaction step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.events import record_event
from twonets.services import engine
from twonets.services.models import Application, ApplicationStatus
from twonets.services.service.applications import finish
from twonets.services.service.records import audit, sync_tasks

SYSTEM = "system"
# Applications advanced per run at most (the next run takes the rest).
BATCH = 500


def fire_timers(session: Session, *, now: datetime) -> int:
    """Advance every application whose next timer is due at ``now``; how many timers fired."""
    rows = session.scalars(
        select(Application)  # governance: the engine runs due timers; it reads no one
        .where(
            Application.status.in_([ApplicationStatus.RUNNING, ApplicationStatus.RETURNED]),
            Application.next_timer_at.is_not(None),
            Application.next_timer_at <= now,
        )
        .order_by(Application.next_timer_at, Application.id)
        .limit(BATCH)
    ).all()
    fired = 0
    for application in rows:
        fired += fire_application_timers(session, application, now=now)
    return fired


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
