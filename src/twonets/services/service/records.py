"""What every use case of services writes alongside a step: the tasks' rows and the audit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.services import engine
from twonets.services.models import (
    Application,
    ApplicationEvent,
    ProcessDefinition,
    ServiceTask,
    TaskStatus,
)
from twonets.services.service import remote

LIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RETURNED)


def version_of(session: Session, application: Application) -> int:
    """The process version the application runs under."""
    definition = session.get(ProcessDefinition, application.definition_id)
    return definition.version if definition is not None else 0


def audit(
    session: Session,
    application: Application,
    action: str,
    *,
    actor: str,
    to_status: str,
    from_status: str | None = None,
    activity: str | None = None,
    department_code: str | None = None,
    detail: str | None = None,
    version: int | None = None,
    now: datetime,
) -> None:
    """Keep one state change of an application: what, who, when, from which version."""
    session.add(
        ApplicationEvent(
            application_id=application.id,
            action=action,
            activity=activity,
            from_status=from_status,
            to_status=to_status,
            process_version=version if version is not None else version_of(session, application),
            actor=actor,
            department_code=department_code,
            detail=detail,
            at=now,
        )
    )


def sync_tasks(
    session: Session, application: Application, workflow: engine.Workflow, *, now: datetime
) -> list[ServiceTask]:
    """Make the application's task rows match the workflow's ready person's tasks.

    A ready task without a row gets one (open, due after its SLA); a live row whose task is
    no longer ready (done, or reset by a migration) is closed. The application's next timer
    (when the scheduled work should advance it) is kept in step with the workflow.
    """
    application.next_timer_at = engine.next_timer(workflow)
    ready = {info["task_id"]: info for info in map(engine.task_info, engine.user_tasks(workflow))}
    rows = session.scalars(
        select(ServiceTask).where(
            ServiceTask.application_id == application.id
        )  # governance: the engine keeps its steps' rows in line
    ).all()
    known = {row.task_id for row in rows}
    for row in rows:
        if row.status in LIVE and row.task_id not in ready:
            row.status = TaskStatus.CLOSED
            row.finished_at = now
            remote.close_timed_out(session, row, now=now)
    created = []
    remote_steps = []
    for task_id, info in ready.items():
        if task_id in known:
            continue
        lane = info["lane"] or "applicant"
        if info.get("remote_region"):
            lane = remote.remote_lane(str(info["remote_region"]), lane)
        row = ServiceTask(
            application_id=application.id,
            task_id=task_id,
            activity=info["activity"],
            name=str(info["name"])[:200],
            lane=lane,
            form=",".join(info["form"])[:500],
            district_code=application.district_code,
            status=TaskStatus.OPEN,
            created_at=now,
            due_at=now + timedelta(hours=info["sla_hours"]),
        )
        session.add(row)
        created.append(row)
        if info.get("remote_region"):
            remote_steps.append((row, info))
    session.flush()
    for row, info in remote_steps:
        remote.open_request(session, application, row, info, now=now)
    return created
