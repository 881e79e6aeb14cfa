"""The devices page: vehicle terminals, their enrolment and last reports, the intake's counters.

``/ops/devices`` shows operations staff what the JT/T 808 gateway and the MQTT subscriber
running with this server have seen (connections, positions, malformed frames per reason,
refusals, the latest refused registrations, rejected readings), and every terminal with
where it stands and its last report: trucks in alarm first, then the most recently heard
from. Operators enrol terminals here (the gateway answers no other) and reset a terminal's
code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.core.places import DISTRICTS
from twonets.operations.devices import api as device_api
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import service as device_service
from twonets.web.i18n import N_
from twonets.web.operations.common import LABELLED, Gettext, gettext_of
from twonets.web.pages import FormFields, local_time, render

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.FIELD))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
STALE_SECONDS = 15 * 60
_DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}
# The enrolment form's labels, so that an error names what the person sees.
LABELS = {
    "phone": N_("Terminal phone number"),
    "plate": N_("Plate"),
    "credit_code": N_("Enterprise credit code"),
    "plate_colour": N_("Plate colour"),
}
# Words for what the gateway and the enrolment record, as the page shows them.
TERMINAL_STATES = {
    "not enrolled": N_("not enrolled"),
    "waiting to register": N_("waiting to register"),
    "registered": N_("registered"),
    "code expired": N_("code expired"),
}
REFUSAL_REASONS = {
    "vehicle-registered": N_("the vehicle is registered with another terminal"),
    "unknown-vehicle": N_("no such vehicle enrolled"),
    "terminal-registered": N_("the terminal is registered already"),
    "unknown-terminal": N_("the terminal is not enrolled"),
}
PLATE_COLOUR_NAMES = (
    N_("blue"),
    N_("yellow"),
    N_("black"),
    N_("white"),
    N_("green"),
    N_("other"),
)


def _age(seconds: int | None, gettext: Gettext = str) -> str:
    if seconds is None:
        return gettext(N_("never"))
    if seconds < 120:
        return gettext(N_("%(n)s s ago")) % {"n": seconds}
    if seconds < 2 * 3600:
        return gettext(N_("%(n)s min ago")) % {"n": seconds // 60}
    if seconds < 2 * 86400:
        return gettext(N_("%(n)s h ago")) % {"n": seconds // 3600}
    return gettext(N_("%(n)s days ago")) % {"n": seconds // 86400}


def _worded(error: TwonetsError, gettext: Gettext = str) -> tuple[str, dict[str, str]]:
    """The error in the form's words: a message, and one per field it names."""

    def said(field: str, detail: str) -> str:
        label = gettext(LABELS[field]) if field in LABELS else field
        return gettext(LABELLED) % {"label": label, "detail": detail}

    fields = {p.field: said(p.field, p.detail) for p in error.errors}
    field = error.extra.get("field")
    if not fields and isinstance(field, str) and field in LABELS:
        # A conflict names its field in ``extra``; its detail starts with that field's name.
        detail = error.detail.removeprefix(f"{field}: ")
        fields[field] = said(field, detail)
    message = next(iter(fields.values()), error.detail)
    return message, fields


def _page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    status: dict[str, Any],
    *,
    form: dict[str, str] | None = None,
    error: TwonetsError | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        terminals = device_service.list_terminals(session, now=clock())
    gettext = gettext_of(request)
    message, errors = _worded(error, gettext) if error else (None, {})
    return render(
        request,
        "operations/devices.html",
        caller,
        status_code=status_code,
        terminals=terminals,
        status=status,
        district_names=_DISTRICT_NAMES,
        stale_seconds=STALE_SECONDS,
        age=lambda seconds: _age(seconds, gettext),
        terminal_states=TERMINAL_STATES,
        reasons=REFUSAL_REASONS,
        local_time=local_time,
        in_alarm=sum(1 for t in terminals if t.alarms),
        silent=sum(
            1
            for t in terminals
            if t.state is not device_service.TerminalState.NOT_ENROLLED
            and (t.age_seconds is None or t.age_seconds > STALE_SECONDS)
        ),
        may_enrol=caller.has_any({Role.OPERATOR}),
        colours=device_enrolment.PLATE_COLOURS,
        form=form or {"plate_colour": str(device_enrolment.YELLOW)},
        error=message,
        errors=errors,
        done=done.partition(":") if done else None,
    )


@router.get("/ops/devices", response_class=HTMLResponse)
def devices_page(
    request: Request,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    status: device_api.IntakeStatus,
    done: str | None = None,
) -> HTMLResponse:
    """Terminals, their enrolment, and the intake's counters."""
    return _page(request, caller, uow, clock, status, done=done)


@router.post("/ops/devices/terminals", response_class=HTMLResponse)
def enrol_terminal(
    request: Request,
    form: FormFields,
    caller: Operator,
    uow: Uow,
    clock: Clock,
    status: device_api.IntakeStatus,
) -> Response:
    """Enrol a terminal from the page's form."""
    colour = form.get("plate_colour") or str(device_enrolment.YELLOW)
    try:
        with uow() as session:
            row = device_enrolment.enrol_terminal(
                session,
                caller,
                phone=form.get("phone", ""),
                plate=form.get("plate", ""),
                credit_code=form.get("credit_code", ""),
                plate_colour=int(colour) if colour.isdigit() else -1,
                now=clock(),
            )
            phone = row.phone
    except TwonetsError as exc:
        return _page(
            request, caller, uow, clock, status, form=form, error=exc, status_code=exc.status
        )
    return RedirectResponse(f"/ops/devices?done=enrolled:{phone}", status_code=303)


@router.post("/ops/devices/terminals/{phone}/reset", response_class=HTMLResponse)
def reset_terminal(
    request: Request,
    phone: str,
    caller: Operator,
    uow: Uow,
    clock: Clock,
    status: device_api.IntakeStatus,
) -> Response:
    """Void a terminal's code so that it registers again."""
    try:
        with uow() as session:
            device_enrolment.reset_enrolment(session, caller, phone=phone, now=clock())
    except TwonetsError as exc:
        return _page(request, caller, uow, clock, status, error=exc, status_code=exc.status)
    return RedirectResponse(f"/ops/devices?done=reset:{phone}", status_code=303)
