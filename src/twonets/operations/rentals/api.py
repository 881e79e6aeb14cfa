"""Group rentals over HTTP: import files, detect, the housing department's leads.

Only staff reach these routes; the service decides the rest (a housing department, its
district). A broken file is a 422 problem+json whose ``file``, ``row`` and ``column`` say where.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.governance.service import Governance
from twonets.operations.rentals import service

router = APIRouter(tags=["operations"])

Staff = Annotated[Principal, Depends(require(Role.STAFF))]


def get_governance(request: Request) -> Governance:
    """The governance door the app was built with."""
    gov: Governance = request.app.state.governance
    return gov


Gov = Annotated[Governance, Depends(get_governance)]


class Decision(BaseModel):
    """A note on referring a lead, or the reason for setting it aside."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


def lead_json(view: service.LeadView) -> dict[str, Any]:
    """A lead as the API gives it."""
    return {
        "id": view.id,
        "score": view.score,
        "reasons": view.reasons,
        "state": view.state,
        "label": view.label,
        "period": view.period,
        "district_code": view.district_code,
        "case_id": view.case_id,
        "household": view.household,
    }


async def _upload(file: UploadFile | None) -> service.Upload | None:
    if file is None:
        return None
    return (file.filename or "upload.csv", await file.read())


@router.post("/api/v1/ops/rentals/import")
async def import_readings(
    caller: Staff,
    uow: Uow,
    clock: Clock,
    households: Annotated[UploadFile | None, File()] = None,
    readings: Annotated[UploadFile | None, File()] = None,
) -> dict[str, int]:
    """Households and monthly readings as CSV or Parquet; all or nothing."""
    homes, rows = await _upload(households), await _upload(readings)
    with uow() as session:
        done = service.import_uploads(session, caller, households=homes, readings=rows, now=clock())
    return {"households": done.households, "readings": done.readings}


@router.post("/api/v1/ops/rentals/detect")
def detect(caller: Staff, uow: Uow, clock: Clock) -> dict[str, int]:
    """Score the stored households into leads (the caller's district's, for a district)."""
    with uow() as session:
        return {"leads": len(service.detect_leads(session, caller, now=clock()))}


@router.get("/api/v1/ops/rentals/leads")
def leads(
    caller: Staff, uow: Uow, clock: Clock, gov: Gov, state: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The caller's leads, best first, with the households' figures and addresses."""
    with uow() as session:
        return [
            lead_json(v)
            for v in service.list_leads(session, gov, caller, now=clock(), state=state, limit=limit)
        ]


@router.post("/api/v1/ops/rentals/leads/{lead_id}/refer")
def refer(lead_id: int, body: Decision, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Send a lead for inspection: it becomes a case of the operations centre."""
    with uow() as session:
        lead = service.refer_lead(session, caller, lead_id, now=clock(), note=body.note)
        return {"id": lead.id, "state": lead.state, "case_id": lead.case_id}


@router.post("/api/v1/ops/rentals/leads/{lead_id}/dismiss")
def dismiss(lead_id: int, body: Decision, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Set a lead aside without inspection; the note is the reason."""
    with uow() as session:
        lead = service.dismiss_lead(session, caller, lead_id, now=clock(), reason=body.note)
        return {"id": lead.id, "state": lead.state}
