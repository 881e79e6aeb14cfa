"""A resident's or enterprise's report of who read their data, and the copy of their data."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import service as core_service
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.governance import reports
from twonets.governance.api import Gov
from twonets.web.governance.words import Subject, Words, page_links, render_page

router = APIRouter(include_in_schema=False)


@router.get("/my-data", response_class=HTMLResponse)
def my_data_page(
    request: Request,
    caller: Subject,
    uow: Uow,
    department: Annotated[str, Query(max_length=64)] = "",
    purpose: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Who read my data, when, for which purpose and which fields; filtered and paged."""
    with uow() as session:
        report = reports.my_report(
            session, caller, department=department, purpose=purpose, page=page
        )
    selected = {"department": department, "purpose": purpose}
    return render_page(
        request,
        "governance/my_data.html",
        caller,
        report=report,
        reads=report.reads,
        counts=report.counts,
        readers=report.readers,
        departments=report.departments,
        purposes=report.purposes,
        total=report.counts["reads"] + report.counts["copies"],
        selected=selected,
        paging=page_links("/my-data", selected, report.page, report.pages),
    )


@router.get("/my-data/copy", dependencies=[Depends(require(Role.CITIZEN, Role.ENTERPRISE))])
def my_data_copy_get() -> Response:
    """The copy is made on request only (it is itself a recorded read): back to the report."""
    return RedirectResponse("/my-data#copy", status_code=303)


@router.post("/my-data/copy", response_class=HTMLResponse)
def my_data_copy(
    request: Request, caller: Subject, uow: Uow, clock: Clock, gov: Gov
) -> HTMLResponse:
    """A copy of my data and the purposes that hold each dataset (recorded in the ledger)."""
    with uow() as session:
        copy = reports.my_data(session, gov, caller, now=clock())
        departments = {d.code: d for d in core_service.list_departments(session)}
        districts = {d.code: f"{d.name} {d.name_en}" for d in core_service.list_districts(session)}
    download = json.dumps(copy, ensure_ascii=False, indent=2, default=str)
    return render_page(
        request,
        "governance/my_data_copy.html",
        caller,
        copy=copy,
        departments=departments,
        districts=districts,
        download=download,
        grantee_text=lambda grantee: Words.of(request).grantee_text_of(grantee, departments),
    )


@router.get("/my-data/download", dependencies=[Depends(require(Role.CITIZEN, Role.ENTERPRISE))])
def my_data_download_get() -> Response:
    """A download is made on request only (it is itself a recorded read): back to the report."""
    return RedirectResponse("/my-data#copy", status_code=303)


@router.post("/my-data/download")
def my_data_download(caller: Subject, uow: Uow, clock: Clock, gov: Gov) -> Response:
    """The copy of my data as a JSON file, the same as the API's ``/me/data`` (recorded)."""
    with uow() as session:
        copy = reports.my_data(session, gov, caller, now=clock())
    return Response(
        json.dumps(copy, ensure_ascii=False, indent=2, default=str),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@router.get("/my-data/proofs/{seq}")
def my_data_proof(
    caller: Subject,
    uow: Uow,
    seq: Annotated[int, Path(ge=0)],
) -> dict[str, Any]:
    """The inclusion proof of one ledger entry about me (JSON), as the API gives it."""
    with uow() as session:
        return reports.inclusion_for(session, caller, seq=seq)
