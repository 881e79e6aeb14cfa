"""The start page of each role: its own work first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from twonets.core import service
from twonets.core.http import (
    Caller,
    Uow,
)
from twonets.core.models import Role
from twonets.health import service as health
from twonets.web.i18n import N_
from twonets.web.navigation import nav_for
from twonets.web.pages import render

router = APIRouter(include_in_schema=False)


ROLE_TITLES = {
    Role.CITIZEN: N_("Resident"),
    Role.ENTERPRISE: N_("Enterprise"),
    Role.STAFF: N_("Department staff"),
    Role.OPERATOR: N_("City operations operator"),
    Role.FIELD: N_("Field staff"),
    Role.VERIFIER: N_("Verifier"),
    Role.CODES_AUTHORITY: N_("Codes authority"),
    Role.SUPERVISOR: N_("Operations supervisor"),
    Role.HEALTH_PLANNER: N_("Health planner"),
    Role.DPO: N_("Data protection officer"),
    Role.ADMIN: N_("Administrator"),
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: Caller, uow: Uow) -> HTMLResponse:
    """The start page of the caller's role: what they can do, where to go."""
    facts: dict[str, Any] = {}
    with uow() as session:
        if Role.ADMIN in caller.roles:
            facts["accounts"] = service.count_accounts(session)
            facts["departments"] = len(service.list_departments(session))
        if Role.CITIZEN in caller.roles:
            # Only a reservist has call-ups: the card shows for them alone.
            facts["calls_waiting"] = health.pending_call_count(session, caller)
        if caller.department_code:
            department = service.get_department(session, caller.department_code)
            facts["department"] = department
    roles = sorted(caller.roles, key=lambda r: list(Role).index(r))
    return render(
        request,
        "home.html",
        caller,
        role_titles=[ROLE_TITLES[r] for r in roles],
        facts=facts,
        menu=nav_for(caller),
    )
