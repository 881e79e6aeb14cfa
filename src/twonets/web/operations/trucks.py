"""The muck-trucks page: violations of the last 30 days and each company's count of them.

``/ops/trucks`` shows operations staff what the checks found on the trucks' tracks (a
district's staff see their district's only: the service decides), each violation with its
case, and the transport companies with their fleets and violations, most first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.core.places import DISTRICTS
from twonets.operations.trucks import service as truck_service
from twonets.web.i18n import N_
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.FIELD))]
_DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}
# The words people read for each kind of violation.
KIND_LABELS = {
    "off_route": N_("Off the permitted route"),
    "out_of_hours": N_("Outside permitted hours"),
    "speeding": N_("Speeding"),
    "suspected_dumping": N_("Suspected illegal dumping"),
    "no_permit": N_("No valid permit"),
    "silent": N_("Terminal silent while moving"),
    "no_go_zone": N_("Entered a no-go zone"),
}


@router.get("/ops/trucks", response_class=HTMLResponse)
def trucks_page(request: Request, caller: Watcher, uow: Uow, clock: Clock) -> HTMLResponse:
    """Violations of muck trucks and the companies' counts."""
    with uow() as session:
        seen = truck_service.overview(session, caller, now=clock())
    return render(
        request,
        "operations/trucks.html",
        caller,
        overview=seen,
        kinds=KIND_LABELS,
        district_names=_DISTRICT_NAMES,
        local_time=local_time,
    )
