"""HTTP route of the requests' figures (``GET /api/v1/requests/figures``), thin like api.py.

Kept beside ``api.py`` rather than in it so that the figures and the request routes grow
apart; the app includes this router before ``api.py``'s, whose ``/{id}`` would take the path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests.service import figures as figures_service

router = APIRouter(tags=["requests"])

Overseer = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]


@router.get("/api/v1/requests/figures")
def get_figures(
    caller: Overseer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=figures_service.MAX_DAYS)] = 30,
) -> dict[str, Any]:
    """Volume by category, district and department; answered at once; on time; handling
    time; reopen rate; satisfaction, over the last ``days`` (operators and supervisors)."""
    with uow() as session:
        found = figures_service.get_figures(session, caller, now=clock(), days=days)

    def breakdown(counts: list[Any]) -> list[dict[str, Any]]:
        return [{"code": c.code, "name": c.name, "count": c.count} for c in counts]

    return {
        "since": found.since,
        "until": found.until,
        "total": found.total,
        "enterprise": found.enterprise,
        "by_category": breakdown(found.by_category),
        "by_district": breakdown(found.by_district),
        "by_department": breakdown(found.by_department),
        "answered_at_once": {
            "count": found.answered_at_once,
            "share": found.answered_at_once_share,
        },
        "on_time": {"count": found.on_time, "due": found.due, "rate": found.on_time_rate},
        "handling_hours": {
            "count": found.handled,
            "median": found.median_hours,
            "p90": found.p90_hours,
        },
        "reopen": {"count": found.reopened, "answered": found.answered, "rate": found.reopen_rate},
        "satisfaction": {
            "rated": found.rated,
            "mean": found.mean_rating,
            "distribution": {str(k): v for k, v in found.ratings.items()},
        },
    }
