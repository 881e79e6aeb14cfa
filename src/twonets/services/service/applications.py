"""Applications: an applicant applies once; the workflow runs; the applicant follows it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import places
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.models import Enterprise, Role
from twonets.governance.service import Governance
from twonets.services import engine, figures, forms
from twonets.services.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Material,
    ServiceTask,
    TaskStatus,
)
from twonets.services.service import prefill
from twonets.services.service.processes import get_definition, list_definitions, process_of
from twonets.services.service.records import audit, sync_tasks, version_of

CHANNELS = ("online", "app", "counter")
# A form field naming the applicant's employer: its lane ("employer") is worked by that
# enterprise's own account.
EMPLOYER_FIELD = "employer_credit_code"
# Lanes worked by the enterprise an application names, not by a department.
ENTERPRISE_LANES = frozenset({"employer", "enterprise"})
# Services an enterprise applies for itself (it is the applicant, and it pays).
ENTERPRISE_PROCESSES = frozenset({"tax_and_fees"})
# Keys the platform puts in an application's data itself; an applicant cannot set them.
PLATFORM_KEYS = frozenset({"applicant_name", "applicant_id_number", "district"})
MAX_FIELDS = 50
# The message a process waits on for the payment, and the data key of the amount due.
PAYMENT_MESSAGE = "payment"
AMOUNT_DUE = "total_due"


def check_data(data: dict[str, Any], *, where: str = "data") -> dict[str, Any]:
    """Form data: at most 50 fields of plain values, named without a leading underscore."""
    if len(data) > MAX_FIELDS:
        raise Invalid.field(where, "size", f"should have at most {MAX_FIELDS} fields")
    for key, value in data.items():
        if not key.isidentifier() or key.startswith("_"):
            raise Invalid.field(
                f"{where}.{key}",
                "name",
                "should be a name of letters, digits and _, not starting with _",
            )
        if key in PLATFORM_KEYS:
            raise Invalid.field(f"{where}.{key}", "platform", "is filled in by the platform")
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise Invalid.field(f"{where}.{key}", "plain", "should be text, a number or true/false")
        if isinstance(value, str) and len(value) > 500:
            raise Invalid.field(f"{where}.{key}", "length", "should be at most 500 characters")
    return data


def _applicant(principal: Principal) -> int:
    if Role.CITIZEN not in principal.roles or principal.citizen_id is None:
        raise Forbidden("applications for these services are made by residents")
    return principal.citizen_id


def _enterprise_applicant(principal: Principal) -> int | None:
    """The enterprise an enterprise's account applies for (None for anyone else)."""
    if Role.ENTERPRISE in principal.roles and principal.enterprise_id is not None:
        return principal.enterprise_id
    return None


def _who_applies(principal: Principal, process_id: str) -> tuple[int | None, int | None]:
    """(citizen, enterprise) applying: enterprises apply for their own services only."""
    enterprise = _enterprise_applicant(principal)
    if process_id in ENTERPRISE_PROCESSES:
        if enterprise is None:
            raise Forbidden(f"{process_id} is applied for by an enterprise's own account")
        return None, enterprise
    return _applicant(principal), None


def may_apply(principal: Principal, process_id: str) -> bool:
    """Whether the caller applies for ``process_id``: enterprises for theirs, residents else."""
    if process_id in ENTERPRISE_PROCESSES:
        return _enterprise_applicant(principal) is not None
    return Role.CITIZEN in principal.roles and principal.citizen_id is not None


def processes_for(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The services the caller may apply for (each process's newest version)."""
    return [p for p in list_definitions(session) if may_apply(principal, p["process_id"])]


def is_applicant(principal: Principal, application: Application) -> bool:
    """Whether the caller made the application (a resident, or an enterprise for itself)."""
    if principal.citizen_id is not None and principal.citizen_id == application.citizen_id:
        return True
    return (
        application.citizen_id is None
        and _enterprise_applicant(principal) is not None
        and principal.enterprise_id == application.enterprise_id
    )


def apply(
    session: Session,
    principal: Principal,
    *,
    process_id: str,
    district_code: str,
    data: dict[str, Any],
    channel: str = "online",
    now: datetime,
    gov: Governance | None = None,
    consent: bool = False,
) -> Application:
    """Apply for a service: the newest version of its process starts with the form's data.

    With ``consent`` (and ``gov``), what the government holds for the form is read through
    governance under the service's purpose: a field the applicant left out is filled from
    it (verified), one they changed is kept as they wrote it and marked declared.
    """
    citizen_id, enterprise_id = _who_applies(principal, process_id)
    try:
        places.get_district(district_code)
    except KeyError:
        raise Invalid.field("district_code", "district", "is not a district of the city") from None
    if channel not in CHANNELS:
        raise Invalid.field("channel", "choice", f"should be one of {', '.join(CHANNELS)}")
    check_data(data)
    definition = get_definition(session, process_id)
    process = process_of(definition)
    held = None
    if consent:
        if gov is None:
            raise Invalid.field("consent", "available", "prefilling is not available here")
        held = prefill.read_held(session, gov, principal, process_id, now=now)
        data = {**held.values, **data}
    field_origins = prefill.origins(held, data)
    employer = enterprise_id or _employer(session, data.get(EMPLOYER_FIELD))
    start = {
        **data,
        # From the applicant's own account: the government already holds these.
        "applicant_name": principal.display_name,
        "applicant_id_number": principal.username,
        "district": district_code,
    }
    workflow = engine.start(process, start)
    engine.advance(workflow, now=now)
    application = Application(
        process_id=process_id,
        definition_id=definition.id,
        citizen_id=citizen_id,
        enterprise_id=employer,
        district_code=district_code,
        status=ApplicationStatus.RUNNING,
        channel=channel,
        in_person=channel == "counter",
        state=engine.dumps(workflow),
        form=json.dumps(start, ensure_ascii=False),
        field_origins=json.dumps(
            {**field_origins, **dict.fromkeys(PLATFORM_KEYS, prefill.ACCOUNT)}, ensure_ascii=False
        ),
        purpose_code=held.purpose if held is not None else None,
        consented_at=now if held is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    session.flush()
    if held is not None:
        audit(
            session,
            application,
            "consented",
            actor=principal.username,
            to_status=ApplicationStatus.RUNNING,
            version=definition.version,
            detail=f"{held.purpose}: {', '.join(sorted(set(held.sources.values())))}",
            now=now,
        )
    audit(
        session,
        application,
        "applied",
        actor=principal.username,
        to_status=ApplicationStatus.RUNNING,
        version=definition.version,
        now=now,
    )
    sync_tasks(session, application, workflow, now=now)
    if workflow.is_completed():
        finish(session, application, workflow, actor="system", now=now)
    return application


def _employer(session: Session, credit_code: object) -> int | None:
    """The enterprise a form names as the employer (by credit code), or None when none."""
    if credit_code in (None, ""):
        return None
    found = session.scalar(select(Enterprise.id).where(Enterprise.credit_code == str(credit_code)))
    if found is None:
        raise Invalid.field(
            f"data.{EMPLOYER_FIELD}", "registered", "is not an enterprise in the register"
        )
    return found


def finish(
    session: Session, application: Application, workflow: Any, *, actor: str, now: datetime
) -> None:
    """Mark an application whose workflow ended as completed, with its outcome."""
    data = engine.data_of(workflow)
    before = application.status
    application.status = ApplicationStatus.COMPLETED
    application.outcome = str(data.get("outcome") or "done")[:64]
    reason = data.get("reason")
    application.reason = str(reason) if reason else None
    application.completed_at = now
    application.updated_at = now
    audit(
        session,
        application,
        "completed",
        actor=actor,
        from_status=before,
        to_status=application.status,
        detail=application.outcome,
        now=now,
    )


def load(session: Session, application_id: int) -> Application:
    """An application by id, or ``NotFound``."""
    application = session.get(
        Application, application_id
    )  # governance: the engine's own state, to run a step; never shown
    if application is None:
        raise NotFound(f"application {application_id} does not exist")
    return application


def may_see(session: Session, principal: Principal, application: Application) -> bool:
    """The applicant, the enterprise it names, or staff of a department working one of its steps."""
    if principal.citizen_id is not None and principal.citizen_id == application.citizen_id:
        return True
    if principal.enterprise_id is not None and principal.enterprise_id == application.enterprise_id:
        return True
    if Role.STAFF not in principal.roles or principal.department_function is None:
        return False
    lanes = set(
        session.scalars(
            select(ServiceTask.lane).where(ServiceTask.application_id == application.id)
        )
    )
    return principal.department_function in lanes and in_scope(principal, application.district_code)


def in_scope(principal: Principal, district_code: str | None) -> bool:
    """A department of the home region; a district's department only for its district."""
    region = places.get_region(principal.region_code) if principal.region_code else None
    if region is None or not region.home:
        return False
    if principal.district_code is not None:
        return principal.district_code == district_code
    return True


def get_application(session: Session, principal: Principal, application_id: int) -> dict[str, Any]:
    """One application as its applicant or a working department sees it: steps, history."""
    application = load(session, application_id)
    if not may_see(session, principal, application):
        raise NotFound(f"application {application_id} does not exist")
    return {
        **application_json(session, application),
        **outputs(application),
        "mine": is_applicant(principal, application),
    }


def outputs(application: Application) -> dict[str, Any]:
    """What the process computed for the applicant (pension, amounts due, the receipt), and
    the amount awaiting payment when the process waits for it (else None)."""
    workflow = engine.loads(application.state)  # governance: the application's own result
    data = engine.data_of(workflow)
    results = {
        key: data[key]
        for key in forms.RESULTS.get(application.process_id, ())
        if data.get(key) not in (None, "")
    }
    waits = application.status == ApplicationStatus.RUNNING and any(
        w.get("message") == PAYMENT_MESSAGE for w in engine.waiting_on(workflow)
    )
    due = float(data.get(AMOUNT_DUE) or 0) if waits else None
    return {"results": results, "payment_due": due}


def read_application_form(
    session: Session, gov: Governance, principal: Principal, application_id: int, *, now: datetime
) -> dict[str, Any]:
    """An application's form for staff working one of its steps, read under its purpose."""
    application = load(session, application_id)
    if Role.STAFF not in principal.roles or not may_see(session, principal, application):
        raise NotFound(f"application {application_id} does not exist")
    return prefill.read_form(
        session,
        gov,
        principal,
        application.id,
        application.citizen_id,
        application.process_id,
        now=now,
    )


def prefill_form(
    session: Session, gov: Governance, principal: Principal, process_id: str, *, now: datetime
) -> dict[str, Any]:
    """What the government holds for the form of ``process_id``, read with consent."""
    get_definition(session, process_id)
    held = prefill.read_held(session, gov, principal, process_id, now=now)
    return {
        "purpose": held.purpose,
        "values": held.values,
        "sources": held.sources,
        "licences": held.licences,
        "district_code": held.district_code,
    }


def list_my_applications(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The caller's own applications, newest first."""
    enterprise = _enterprise_applicant(principal)
    mine = (
        (Application.citizen_id.is_(None)) & (Application.enterprise_id == enterprise)
        if enterprise is not None
        else Application.citizen_id == _applicant(principal)
    )
    rows = session.scalars(
        select(Application)  # governance: the applicant's own applications, for the applicant
        .where(mine)
        .order_by(Application.created_at.desc(), Application.id.desc())
    ).all()
    return [application_json(session, a) for a in rows]


def application_json(session: Session, application: Application) -> dict[str, Any]:
    """An application's public face: status, steps with due times, history (no state)."""
    tasks = session.scalars(
        select(
            ServiceTask
        )  # governance: the steps of an application, for its applicant or working staff
        .where(ServiceTask.application_id == application.id)
        .order_by(ServiceTask.id)
    ).all()
    events = session.scalars(
        select(ApplicationEvent)  # governance: the application's own history, for its viewers
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.at, ApplicationEvent.id)
    ).all()
    return {
        "id": application.id,
        "process_id": application.process_id,
        "version": version_of(session, application),
        "district_code": application.district_code,
        "status": application.status,
        "channel": application.channel,
        "in_person": application.in_person,
        "outcome": application.outcome,
        "reason": application.reason,
        "licence_identifier": application.licence_identifier,
        "created_at": application.created_at,
        "completed_at": application.completed_at,
        "steps": [task_json(t) for t in tasks],
        "waiting": waiting_messages(tasks),
        "purpose_code": application.purpose_code,
        "consented_at": application.consented_at,
        "field_origins": json.loads(application.field_origins or "{}"),
        "history": [
            {
                "action": e.action,
                "activity": e.activity,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "version": e.process_version,
                "department_code": e.department_code,
                "detail": e.detail,
                "at": e.at,
            }
            for e in events
        ],
    }


def waiting_on(task: ServiceTask) -> str:
    """Whom a live step waits on: the applicant (material), a department's lane, a region's."""
    return "applicant" if task.status == TaskStatus.RETURNED else task.lane


def waiting_messages(tasks: Sequence[ServiceTask]) -> list[dict[str, Any]]:
    """The applicant's messages: each live step, whom it waits on, since when, expected by.

    Steps in parallel appear together, so the applicant sees every department at work.
    """
    return [
        {
            "activity": t.activity,
            "name": t.name,
            "waiting_on": waiting_on(t),
            "since": t.created_at,
            "expected_by": t.due_at,
            "overdue": t.escalated_at is not None,
            "missing": json.loads(t.missing) if t.missing else [],
            "note": t.note if t.status == TaskStatus.RETURNED else None,
        }
        for t in tasks
        if t.status in (TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RETURNED)
    ]


def task_json(task: ServiceTask) -> dict[str, Any]:
    """A step as the workbench and the applicant see it."""
    return {
        "id": task.id,
        "application_id": task.application_id,
        "activity": task.activity,
        "name": task.name,
        "lane": task.lane,
        "form": [f for f in task.form.split(",") if f],
        "district_code": task.district_code,
        "status": task.status,
        "department_code": task.department_code,
        "missing": json.loads(task.missing) if task.missing else [],
        "note": task.note,
        "due_at": task.due_at,
        "escalated": task.escalated_at is not None,
        "finished_at": task.finished_at,
    }


def supply_material(
    session: Session,
    principal: Principal,
    application_id: int,
    *,
    data: dict[str, Any],
    now: datetime,
) -> Application:
    """The applicant supplies what a department asked for; the step goes back to its queue."""
    application = load(session, application_id)
    if not is_applicant(principal, application):
        raise NotFound(f"application {application_id} does not exist")
    if application.status != ApplicationStatus.RETURNED:
        raise Conflict(
            f"application {application_id} is {application.status}: no material is asked for"
        )
    check_data(data)
    task = session.scalar(
        select(ServiceTask).where(  # governance: the returned step, for the applicant it asks
            ServiceTask.application_id == application.id,
            ServiceTask.status == TaskStatus.RETURNED,
        )
    )
    assert task is not None
    missing = json.loads(task.missing or "[]")
    # Items answered by an uploaded file carry a reference to it (the newest per item).
    uploaded = {
        m.item: f"material:{m.id}"
        for m in session.scalars(
            select(Material)  # governance: which items have files; no content read
            .where(Material.service_task_id == task.id)
            .order_by(Material.id)
        )
    }
    data = {**{k: v for k, v in uploaded.items() if k in missing}, **data}
    absent = [name for name in missing if data.get(name) in (None, "")]
    if absent:
        raise Invalid.field(f"data.{absent[0]}", "required", "is asked for by the department")
    workflow = engine.loads(application.state)
    found = engine.find_task(workflow, task.task_id)
    if found is None:
        raise Conflict(f"the step {task.activity} is no longer waiting")
    found.data.update(data)
    application.state = engine.dumps(workflow)
    application.status = ApplicationStatus.RUNNING
    application.updated_at = now
    task.status = TaskStatus.CLAIMED if task.assignee else TaskStatus.OPEN
    task.due_at = now + (task.due_at - task.created_at)
    task.created_at = now
    audit(
        session,
        application,
        "material-supplied",
        actor=principal.username,
        from_status=ApplicationStatus.RETURNED,
        to_status=ApplicationStatus.RUNNING,
        activity=task.activity,
        detail=", ".join(sorted(data)),
        now=now,
    )
    return application


def contactless_figures(session: Session) -> list[dict[str, Any]]:
    """Per service and month: applications, contactless rate, handling time, overdue count."""
    overdue = set(
        session.scalars(
            select(ServiceTask.application_id).where(ServiceTask.escalated_at.is_not(None))
        )
    )
    rows = session.execute(
        select(
            Application.id,
            Application.process_id,
            Application.created_at,
            Application.completed_at,
            Application.in_person,
        )
    ).all()
    handled = [
        figures.Handled(
            process_id=process_id,
            created_at=created_at,
            ended_at=completed_at,
            in_person=in_person,
            overdue=application_id in overdue,
        )
        for application_id, process_id, created_at, completed_at, in_person in rows
    ]
    return [asdict(f) for f in figures.month_figures(handled)]
