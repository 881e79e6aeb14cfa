"""The workbench: a department's queue; claim, complete, return for material, reject; SLA."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.models import Role
from twonets.licences import service as licences
from twonets.services import engine
from twonets.services.models import (
    Application,
    ApplicationStatus,
    Material,
    ServiceTask,
    TaskStatus,
)
from twonets.services.service.applications import (
    ENTERPRISE_LANES,
    check_data,
    finish,
    in_scope,
    load,
    task_json,
    waiting_on,
)
from twonets.services.service.records import audit, sync_tasks

SYSTEM = "system"


def _staff(principal: Principal) -> str:
    if Role.STAFF not in principal.roles or principal.department_function is None:
        raise Forbidden("steps of services are worked by staff of a department (role staff)")
    return principal.department_function


def _enterprise(principal: Principal) -> int | None:
    """The enterprise an enterprise's account acts for (None for anyone else)."""
    if Role.ENTERPRISE in principal.roles and principal.enterprise_id is not None:
        return principal.enterprise_id
    return None


def _task(session: Session, task_pk: int) -> ServiceTask:
    task = session.get(
        ServiceTask, task_pk
    )  # governance: a step of the workbench, checked for authority next
    if task is None:
        raise NotFound(f"task {task_pk} does not exist")
    return task


def authorised(session: Session, principal: Principal, task_pk: int) -> ServiceTask:
    """The task, if the caller's department works its lane in its district; else 403.

    A lane of an enterprise (the employer) is worked by the account of the enterprise the
    application names, and by no one else.
    """
    enterprise = _enterprise(principal)
    if enterprise is not None:
        task = _task(session, task_pk)
        if task.lane not in ENTERPRISE_LANES:
            raise Forbidden(f"step {task.activity} is worked by {task.lane} departments")
        if load(session, task.application_id).enterprise_id != enterprise:
            raise Forbidden(f"step {task.activity} is worked by the enterprise the form names")
        return task
    function = _staff(principal)
    task = _task(session, task_pk)
    if task.lane != function:
        raise Forbidden(
            f"step {task.activity} is worked by {task.lane} departments, "
            f"not by {principal.department_code}"
        )
    if not in_scope(principal, task.district_code):
        raise Forbidden(
            f"step {task.activity} of district {task.district_code} is not in the reach "
            f"of {principal.department_code}"
        )
    return task


def _mine(session: Session, principal: Principal, task_pk: int) -> ServiceTask:
    task = authorised(session, principal, task_pk)
    if task.status != TaskStatus.CLAIMED:
        raise Conflict(f"task {task_pk} is {task.status}: claim it first")
    if task.assignee != principal.username:
        raise Conflict(f"task {task_pk} is claimed by another member of staff")
    return task


def list_queue(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The live steps of the caller's department's lane (and district), oldest due first."""
    live = [TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RETURNED]
    enterprise = _enterprise(principal)
    if enterprise is not None:
        rows = session.scalars(
            select(ServiceTask)  # governance: the enterprise's own steps as employer
            .join(Application, Application.id == ServiceTask.application_id)
            .where(
                ServiceTask.lane.in_(sorted(ENTERPRISE_LANES)),
                ServiceTask.status.in_(live),
                Application.enterprise_id == enterprise,
            )
            .order_by(ServiceTask.due_at, ServiceTask.id)
        ).all()
        return _with_parallel(session, rows)
    function = _staff(principal)
    if not in_scope(principal, principal.district_code):
        return []  # a department of another region works none of the city's steps
    query = select(ServiceTask).where(  # governance: the department's own queue
        ServiceTask.lane == function,
        ServiceTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RETURNED]),
    )
    if principal.district_code is not None:
        query = query.where(ServiceTask.district_code == principal.district_code)
    rows = session.scalars(query.order_by(ServiceTask.due_at, ServiceTask.id)).all()
    return _with_parallel(session, rows)


def _with_parallel(session: Session, rows: Sequence[ServiceTask]) -> list[dict[str, Any]]:
    """Each step with the other live steps of its application: who else it waits on."""
    ids = sorted({t.application_id for t in rows})
    others: dict[int, list[ServiceTask]] = {}
    processes: dict[int, str] = {}
    if ids:
        found = session.execute(  # governance: which service each step belongs to
            select(Application.id, Application.process_id).where(Application.id.in_(ids))
        )
        processes = {int(row[0]): str(row[1]) for row in found}
        for other in session.scalars(
            select(ServiceTask).where(  # governance: the steps beside the queue's, no one read
                ServiceTask.application_id.in_(ids),
                ServiceTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RETURNED]),
            )
        ):
            others.setdefault(other.application_id, []).append(other)
    files: dict[int, list[dict[str, Any]]] = {}
    for material in session.scalars(
        select(Material)  # governance: file names for the department working these steps
        .where(Material.service_task_id.in_([t.id for t in rows]))
        .order_by(Material.id)
    ):
        files.setdefault(material.service_task_id, []).append(
            {
                "id": material.id,
                "item": material.item,
                "file_name": material.file_name,
                "size": material.size,
            }
        )
    out = []
    for task in rows:
        entry = task_json(task)
        entry["process_id"] = processes.get(task.application_id)
        entry["materials"] = files.get(task.id, [])
        entry["parallel"] = [
            {"activity": o.activity, "waiting_on": waiting_on(o), "due_at": o.due_at}
            for o in others.get(task.application_id, [])
            if o.id != task.id
        ]
        out.append(entry)
    return out


def claim_task(
    session: Session, principal: Principal, task_pk: int, *, now: datetime
) -> ServiceTask:
    """Take an open step into one's own hands (claiming one's own claim again is a no-op)."""
    task = authorised(session, principal, task_pk)
    if task.status == TaskStatus.CLAIMED and task.assignee == principal.username:
        return task
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task {task_pk} is {task.status}: only an open task can be claimed")
    task.status = TaskStatus.CLAIMED
    task.assignee = principal.username
    task.department_code = principal.department_code
    application = load(session, task.application_id)
    audit(
        session,
        application,
        "claimed",
        actor=principal.username,
        department_code=principal.department_code,
        from_status=application.status,
        to_status=application.status,
        activity=task.activity,
        now=now,
    )
    return task


def complete_task(
    session: Session,
    ctx: licences.Licensing,
    principal: Principal,
    task_pk: int,
    *,
    data: dict[str, Any],
    now: datetime,
) -> Application:
    """Complete one's claimed step with its form's data; the workflow runs on.

    A step whose process names a licence type (``licence_type`` and ``licence_claims``
    properties) issues that licence to the applicant through ``licences.service``, signed
    by the completing member of staff's department, in the same transaction.
    """
    task = _mine(session, principal, task_pk)
    check_data(data)
    application = load(session, task.application_id)
    if application.status != ApplicationStatus.RUNNING:
        raise Conflict(f"application {application.id} is {application.status}")
    workflow = engine.loads(application.state)
    found = engine.find_task(workflow, task.task_id)
    if found is None:
        raise Conflict(f"the step {task.activity} is no longer waiting")
    properties = (getattr(found.task_spec, "extensions", None) or {}).get("properties") or {}
    missing = [f for f in engine.task_info(found)["form"] if data.get(f) in (None, "")]
    if missing:
        raise Invalid.field(f"data.{missing[0]}", "required", f"is needed to complete {task.name}")
    if properties.get("licence_type"):
        merged = {**found.data, **data}
        licence = _issue(session, ctx, principal, properties, merged, now=now)
        application.licence_identifier = licence.identifier
        data = {**data, "licence_identifier": licence.identifier}
    engine.complete(workflow, found, data, now=now)
    task.status = TaskStatus.DONE
    task.finished_at = now
    application.state = engine.dumps(workflow)
    application.updated_at = now
    audit(
        session,
        application,
        "step-completed",
        actor=principal.username,
        department_code=principal.department_code,
        from_status=application.status,
        to_status=application.status,
        activity=task.activity,
        now=now,
    )
    sync_tasks(session, application, workflow, now=now)
    if workflow.is_completed():
        finish(session, application, workflow, actor=principal.username, now=now)
    return application


def _issue(
    session: Session,
    ctx: licences.Licensing,
    principal: Principal,
    properties: dict[str, str],
    data: dict[str, Any],
    *,
    now: datetime,
) -> Any:
    claims: dict[str, Any] = {}
    for pair in properties.get("licence_claims", "").split(","):
        claim, _, key = pair.strip().partition("=")
        if claim:
            value = data.get(key.strip() or claim)
            claims[claim] = None if value is None else str(value)
    return licences.issue_licence(
        session,
        ctx,
        principal,
        type_code=properties["licence_type"],
        claims=claims,
        valid_from=now.date(),
        now=now,
    )


def return_task(
    session: Session,
    principal: Principal,
    task_pk: int,
    *,
    missing: list[str],
    reason: str,
    now: datetime,
) -> Application:
    """Ask the applicant for more material: exactly what is missing, and why."""
    task = _mine(session, principal, task_pk)
    if not missing:
        raise Invalid.field("missing", "required", "name at least one piece of material")
    for name in missing:
        if not name.isidentifier() or name.startswith("_"):
            raise Invalid.field("missing", "name", f"{name!r} is not a field name")
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why the material is needed")
    application = load(session, task.application_id)
    if application.status != ApplicationStatus.RUNNING:
        raise Conflict(f"application {application.id} is {application.status}")
    task.status = TaskStatus.RETURNED
    task.missing = json.dumps(missing)
    task.note = reason.strip()
    application.status = ApplicationStatus.RETURNED
    application.updated_at = now
    audit(
        session,
        application,
        "returned",
        actor=principal.username,
        department_code=principal.department_code,
        from_status=ApplicationStatus.RUNNING,
        to_status=ApplicationStatus.RETURNED,
        activity=task.activity,
        detail=f"{', '.join(missing)}: {reason.strip()}",
        now=now,
    )
    return application


def reject_task(
    session: Session, principal: Principal, task_pk: int, *, reason: str, now: datetime
) -> Application:
    """Refuse the application at this step, with the reason the applicant will read."""
    task = _mine(session, principal, task_pk)
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why the application is refused")
    application = load(session, task.application_id)
    if application.status not in (ApplicationStatus.RUNNING, ApplicationStatus.RETURNED):
        raise Conflict(f"application {application.id} is {application.status}")
    workflow = engine.loads(application.state)
    engine.cancel(workflow)
    before = application.status
    application.state = engine.dumps(workflow)
    application.status = ApplicationStatus.REJECTED
    application.next_timer_at = None
    application.reason = reason.strip()
    application.outcome = "rejected"
    application.completed_at = now
    application.updated_at = now
    for other in session.scalars(
        select(ServiceTask).where(  # governance: closing an application's steps
            ServiceTask.application_id == application.id,
            or_(
                ServiceTask.status == TaskStatus.OPEN,
                ServiceTask.status == TaskStatus.CLAIMED,
                ServiceTask.status == TaskStatus.RETURNED,
            ),
        )
    ):
        other.status = TaskStatus.CLOSED
        other.finished_at = now
    task.status = TaskStatus.REJECTED
    audit(
        session,
        application,
        "rejected",
        actor=principal.username,
        department_code=principal.department_code,
        from_status=before,
        to_status=ApplicationStatus.REJECTED,
        activity=task.activity,
        detail=reason.strip(),
        now=now,
    )
    return application


def escalate_overdue(session: Session, *, now: datetime) -> int:
    """Escalate every live step past its due time, once; a step waiting on the applicant waits."""
    rows = session.scalars(
        select(ServiceTask).where(  # governance: the SLA job escalates steps, it reads no one
            ServiceTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]),
            ServiceTask.due_at < now,
            ServiceTask.escalated_at.is_(None),
        )
    ).all()
    for task in rows:
        task.escalated_at = now
        application = load(session, task.application_id)
        audit(
            session,
            application,
            "escalated",
            actor=SYSTEM,
            from_status=application.status,
            to_status=application.status,
            activity=task.activity,
            detail=f"due {task.due_at.isoformat()}",
            now=now,
        )
        record_event(
            session,
            "services.task.escalated",
            {"task_id": task.id, "application_id": task.application_id, "lane": task.lane},
            now=now,
        )
    return len(rows)
