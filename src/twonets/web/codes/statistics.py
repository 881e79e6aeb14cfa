"""Code statistics for staff: scans per scenario per day, unique holders, the peak minute."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from twonets.codes import service
from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.web.codes.shared import Words
from twonets.web.i18n import N_
from twonets.web.pages import local_date, local_time, render

router = APIRouter(include_in_schema=False)

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR))]


@router.get("/codes/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=366)] = 28,
) -> HTMLResponse:
    """Scans per scenario per day, unique holders and the peak minute."""
    today = clock().date()
    words = Words.of(request)
    chinese = words.chinese
    since = today - timedelta(days=days - 1)
    with uow() as session:
        stats = service.statistics(session, since=since, until=today)
        names = {s.code: s.name if chinese else s.name_en for s in service.list_scenarios(session)}
    busiest = max((d["scans"] for d in stats["days"]), default=0)
    return render(
        request,
        "codes/stats.html",
        caller,
        stats=stats,
        names=names,
        busiest=busiest,
        days=days,
        day_label=lambda iso: local_date(iso + "T12:00:00+08:00"),
        when=local_time,
        weekday=lambda iso: words(WEEKDAYS[date.fromisoformat(iso).weekday()]),
    )
