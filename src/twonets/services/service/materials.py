"""Material an applicant uploads when a department returns a step for it: real files.

A file answers one item of what the returned step asks for (``charging_point_photo``,
...). It is checked as every upload of the platform is (``core.uploads``: at most 5 MiB, a
photo or a PDF by its content, not by its name) and kept in the database with the
application. The applicant sees their own files; staff see and download them when their
department works the step that asked (its lane, in its district); anyone else gets 403.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import uploads
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.services.models import (
    Application,
    ApplicationStatus,
    Material,
    ServiceTask,
    TaskStatus,
)
from twonets.services.service.applications import is_applicant, load
from twonets.services.service.records import audit
from twonets.services.service.tasks import authorised

MAX_BYTES = uploads.MAX_BYTES
# Files kept per item of one returned step (a retried upload of the same bytes is one).
MAX_PER_ITEM = 5


def _returned(session: Session, application: Application) -> ServiceTask:
    task = session.scalar(
        select(ServiceTask).where(  # governance: the returned step, for the applicant it asks
            ServiceTask.application_id == application.id,
            ServiceTask.status == TaskStatus.RETURNED,
        )
    )
    if application.status != ApplicationStatus.RETURNED or task is None:
        raise Conflict(f"application {application.id} is {application.status}: no material asked")
    return task


def upload(
    session: Session,
    principal: Principal,
    application_id: int,
    *,
    item: str,
    name: str | None,
    data: bytes,
    now: datetime,
) -> Material:
    """Keep a file for one item the returned step asks for; refused naming the item."""
    application = load(session, application_id)
    if not is_applicant(principal, application):
        raise Forbidden(f"material of application {application_id} is sent by its applicant")
    task = _returned(session, application)
    asked = json.loads(task.missing or "[]")
    if item not in asked:
        raise Invalid.field(item, "asked", f"is not what the department asked for ({asked})")
    content_type = uploads.check(data, field=item, max_bytes=MAX_BYTES)
    digest = hashlib.sha256(data).hexdigest()
    kept = session.scalars(
        select(Material).where(  # governance: the applicant's own files for this step
            Material.service_task_id == task.id, Material.item == item
        )
    ).all()
    for same in kept:
        if same.sha256 == digest:
            return same  # a retried upload: the file is there already
    if len(kept) >= MAX_PER_ITEM:
        raise Invalid.field(item, "count", f"at most {MAX_PER_ITEM} files for one item")
    material = Material(
        application_id=application.id,
        service_task_id=task.id,
        item=item,
        file_name=uploads.safe_name(name, fallback=item),
        content_type=content_type,
        size=len(data),
        sha256=digest,
        content=data,
        uploaded_by=principal.username,
        uploaded_at=now,
    )
    session.add(material)
    session.flush()
    audit(
        session,
        application,
        "material-uploaded",
        actor=principal.username,
        from_status=application.status,
        to_status=application.status,
        activity=task.activity,
        detail=f"{item}: {content_type}, {len(data)} bytes",
        now=now,
    )
    return material


def _may_see(session: Session, principal: Principal, material: Material) -> None:
    """The applicant, or staff whose department works the step that asked; else 403."""
    if is_applicant(principal, load(session, material.application_id)):
        return
    authorised(session, principal, material.service_task_id)


def material_json(material: Material) -> dict[str, Any]:
    """A kept file's description (its bytes are fetched apart)."""
    return {
        "id": material.id,
        "application_id": material.application_id,
        "task_id": material.service_task_id,
        "item": material.item,
        "file_name": material.file_name,
        "content_type": material.content_type,
        "size": material.size,
        "uploaded_at": material.uploaded_at,
    }


def list_materials(
    session: Session, principal: Principal, application_id: int
) -> list[dict[str, Any]]:
    """The files of an application the caller may see (each checked as ``open``)."""
    load(session, application_id)
    rows = session.scalars(
        select(Material)  # governance: the application's files, each checked next
        .where(Material.application_id == application_id)
        .order_by(Material.id)
    ).all()
    out = []
    for material in rows:
        _may_see(session, principal, material)
        out.append(material_json(material))
    return out


def open_material(session: Session, principal: Principal, material_id: int) -> Material:
    """One kept file with its bytes, for the applicant or the department that asked."""
    material = session.get(Material, material_id)  # governance: checked next
    if material is None:
        raise NotFound(f"material {material_id} does not exist")
    _may_see(session, principal, material)
    return material
