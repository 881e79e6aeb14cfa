"""The start page of each role: its own work first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from twonets.codes import service as codes
from twonets.codes.api import Ctx as CodingCtx
from twonets.codes.context import Coding
from twonets.core import service
from twonets.core.auth import Principal
from twonets.core.http import (
    Caller,
    Uow,
)
from twonets.core.models import Role
from twonets.governance import break_glass
from twonets.health import service as health
from twonets.operations.cases import figures as case_figures
from twonets.operations.cases import queries as case_queries
from twonets.operations.cases.states import CaseState
from twonets.operations.trucks import service as truck_service
from twonets.requests import service as requests_service
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


@dataclass(frozen=True)
class Waiting:
    """One figure of the caller's own work on their start page, with where to do it."""

    number: int
    label: str
    href: str


def waiting_work(session: Session, caller: Principal, coding: Coding) -> list[Waiting]:
    """What waits for the caller, role by role, counted by each domain's service."""
    work: list[Waiting] = []
    roles = caller.roles
    if Role.OPERATOR in roles:
        states = case_figures.state_counts(session)
        work.append(Waiting(states.get(CaseState.REPORTED, 0), N_("reports to file"), "/ops"))
        work.append(Waiting(states.get(CaseState.FILED, 0), N_("cases to dispatch"), "/ops"))
    if Role.FIELD in roles:
        tasks = case_queries.count_my_tasks(session, caller)
        work.append(Waiting(tasks, N_("tasks for your department"), "/ops/tasks"))
    if Role.SUPERVISOR in roles:
        to_verify = case_queries.count_to_verify(session, caller)
        work.append(Waiting(to_verify, N_("cases to verify on site"), "/ops/verification"))
    if Role.CODES_AUTHORITY in roles and codes.may_decide_appeals(session, coding, caller):
        pending = codes.count_pending_appeals(session, coding, caller)
        work.append(Waiting(pending, N_("health-code appeals to decide"), "/codes/appeals"))
    if Role.HEALTH_PLANNER in roles:
        opened = health.count_open_mobilisations(session)
        work.append(Waiting(opened, N_("open mobilisations"), "/health"))
    if Role.ENTERPRISE in roles:
        notices = truck_service.company_notices_waiting(session, caller)
        if notices is not None:  # a transport company with muck trucks registered
            work.append(Waiting(notices, N_("unread notices about your trucks"), "/trucks/notices"))
    unread = requests_service.count_unread(session, caller)
    if unread:
        work.append(Waiting(unread, N_("unread notices about requests"), "/requests/inbox"))
    if Role.DPO in roles:
        unreviewed = break_glass.count_unreviewed(session)
        work.append(Waiting(unreviewed, N_("break-glass reads to review"), "/governance"))
    return work


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: Caller, uow: Uow, coding: CodingCtx) -> HTMLResponse:
    """The start page of the caller's role: what they can do, where to go."""
    facts: dict[str, Any] = {}
    with uow() as session:
        if Role.ADMIN in caller.roles:
            facts["accounts"] = service.count_accounts(session)
            facts["departments"] = len(service.list_departments(session))
        facts["waiting"] = waiting_work(session, caller, coding)
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
