"""The devices page: vehicle terminals, their last reports, and the intake's counters.

``/ops/devices`` shows operations staff what the JT/T 808 gateway and the MQTT subscriber
running with this server have seen (connections, positions, malformed frames per reason,
refusals, rejected readings), and every registered terminal with its last report: trucks in
alarm first, then the most recently heard from.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.core.places import DISTRICTS
from twonets.operations import device_api, device_service
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.FIELD))]
STALE_SECONDS = 15 * 60
_DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


@router.get("/ops/devices", response_class=HTMLResponse)
def devices_page(request: Request, caller: Watcher, uow: Uow, clock: Clock) -> HTMLResponse:
    """Terminals and the intake's counters."""
    with uow() as session:
        terminals = device_service.list_terminals(session, now=clock())
    return render(
        request,
        "devices/terminals.html",
        caller,
        terminals=terminals,
        status=device_api.status_of(request.app),
        district_names=_DISTRICT_NAMES,
        stale_seconds=STALE_SECONDS,
        age=_age,
        local_time=local_time,
        in_alarm=sum(1 for t in terminals if t.alarms),
        silent=sum(1 for t in terminals if t.age_seconds is None or t.age_seconds > STALE_SECONDS),
    )
