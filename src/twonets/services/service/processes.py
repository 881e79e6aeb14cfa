"""Process definitions: deploy a file as a new version, read versions, move applications."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.errors import NotFound
from twonets.services import engine
from twonets.services.models import Application, ApplicationStatus, ProcessDefinition
from twonets.services.service.records import audit, sync_tasks

BUILTIN = Path(__file__).resolve().parents[1] / "processes"
# The platform's processes that applicants can use.
BUILTIN_FILES = ("nev_plate.bpmn", "retirement.bpmn", "tax_and_fees.bpmn")
# Parsed processes by (definition id, checksum): a version never changes once deployed.
_PARSED: dict[tuple[int, str], engine.Process] = {}


@dataclass(frozen=True)
class Deployed:
    """What deploying a file did for one of its processes."""

    process_id: str
    version: int
    created: bool


def deploy_process(
    session: Session, source: engine.ProcessSource, *, actor: str, now: datetime
) -> list[Deployed]:
    """Add each process of ``source`` as its next version (unchanged text adds none)."""
    out = []
    for process_id in engine.process_ids(source):
        process = engine.parse(source, process_id)
        latest = _latest(session, process_id)
        if latest is not None and latest.checksum == source.checksum:
            out.append(Deployed(process_id, latest.version, created=False))
            continue
        version = 1 + (latest.version if latest is not None else 0)
        session.add(
            ProcessDefinition(
                process_id=process_id,
                version=version,
                name=process.name[:200],
                file_name=source.name[-200:],
                bpmn=source.bpmn,
                dmn=json.dumps(dict(source.dmn), ensure_ascii=False),
                checksum=source.checksum,
                deployed_at=now,
                deployed_by=actor,
            )
        )
        out.append(Deployed(process_id, version, created=True))
    session.flush()
    return out


def deploy_builtin(session: Session, *, now: datetime) -> list[Deployed]:
    """Deploy the platform's own process files (``services/processes/``) where they changed."""
    out = []
    for path in (BUILTIN / name for name in BUILTIN_FILES):
        dmn = {p.name: p.read_text(encoding="utf-8") for p in sorted(BUILTIN.glob("*.dmn"))}
        source = engine.ProcessSource(
            bpmn=path.read_text(encoding="utf-8"), name=path.name, dmn=dmn
        )
        out.extend(deploy_process(session, source, actor="platform", now=now))
    return out


def _latest(session: Session, process_id: str) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


def get_definition(
    session: Session, process_id: str, version: int | None = None
) -> ProcessDefinition:
    """A deployed version of a process (the newest when ``version`` is None)."""
    if version is None:
        found = _latest(session, process_id)
    else:
        found = session.scalar(
            select(ProcessDefinition).where(
                ProcessDefinition.process_id == process_id, ProcessDefinition.version == version
            )
        )
    if found is None:
        what = f"process {process_id!r}" + (f" version {version}" if version else "")
        raise NotFound(f"{what} is not deployed")
    return found


def list_definitions(session: Session) -> list[dict[str, Any]]:
    """Every deployed process with its newest version and how many versions it has."""
    rows = session.execute(
        select(
            ProcessDefinition.process_id,
            func.max(ProcessDefinition.version),
        ).group_by(ProcessDefinition.process_id)
    ).all()
    out = []
    for process_id, newest in sorted(rows):
        definition = get_definition(session, process_id, newest)
        out.append(
            {
                "process_id": process_id,
                "name": definition.name,
                "version": newest,
                "deployed_at": definition.deployed_at,
            }
        )
    return out


def source_of(definition: ProcessDefinition) -> engine.ProcessSource:
    """The files of a deployed version."""
    return engine.ProcessSource(
        bpmn=definition.bpmn, name=definition.file_name, dmn=json.loads(definition.dmn)
    )


def process_of(definition: ProcessDefinition) -> engine.Process:
    """The parsed process of a deployed version (parsed once per process)."""
    key = (definition.id, definition.checksum)
    if key not in _PARSED:
        _PARSED[key] = engine.parse(source_of(definition), definition.process_id)
    return _PARSED[key]


@dataclass
class MigrationReport:
    """Which in-flight applications moved to the version, and which could not, and why."""

    process_id: str
    version: int
    moved: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def migrate_applications(
    session: Session, process_id: str, *, to_version: int, actor: str, now: datetime
) -> MigrationReport:
    """Move the in-flight applications of ``process_id`` to ``to_version`` where possible."""
    target = get_definition(session, process_id, to_version)
    process = process_of(target)
    report = MigrationReport(process_id, to_version)
    rows = session.scalars(
        select(Application)  # governance: the engine moves the state; no one reads it here
        .where(
            Application.process_id == process_id,
            Application.status.in_([ApplicationStatus.RUNNING, ApplicationStatus.RETURNED]),
            Application.definition_id != target.id,
        )
        .order_by(Application.id)
    ).all()
    for application in rows:
        workflow = engine.loads(application.state)
        check = engine.check_migration(workflow, process)
        if not check.possible:
            report.refused.append((application.id, check.reason))
            continue
        old = session.get(ProcessDefinition, application.definition_id)
        engine.migrate(workflow, process)
        engine.advance(workflow, now=now)
        application.definition_id = target.id
        application.state = engine.dumps(workflow)
        application.updated_at = now
        sync_tasks(session, application, workflow, now=now)
        audit(
            session,
            application,
            "migrated",
            actor=actor,
            to_status=application.status,
            from_status=application.status,
            version=to_version,
            detail=f"from version {old.version if old else '?'}",
            now=now,
        )
        report.moved.append(application.id)
    return report
