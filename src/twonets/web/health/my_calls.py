"""A reservist's own call-ups (``/health/my-calls``).

A resident in the clinical reserve sees the call-ups sent to them and accepts or refuses each
with a plain form (post, then redirect back with a notice).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.health import service
from twonets.web import i18n
from twonets.web.health.labels import SPECIALTY_LABELS
from twonets.web.i18n import N_
from twonets.web.pages import FormFields, local_time, render

router = APIRouter(include_in_schema=False)

Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]

ANSWERS = {"accept": True, "refuse": False}
ANSWER_NOTICES = {
    "accepted": N_("You accepted the call to %(centre)s. Thank you: you are expected there."),
    "refused": N_(
        "You refused the call to %(centre)s. Your post will be offered to another "
        "reservist; you will not be called again for this mobilisation."
    ),
}
CHOOSE_AN_ANSWER = N_("Choose Accept or Refuse.")


def _my_calls_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    answered: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        mine = service.my_calls(session, caller, now=clock())
    notice = None
    call = next((c for c in mine["calls"] if c["id"] == answered), None)
    if call is not None and call["status"] in ANSWER_NOTICES:
        text = i18n.translate(i18n.language_of(request).code, ANSWER_NOTICES[call["status"]])
        notice = text % {"centre": call["centre"]}
    return render(
        request,
        "health/my_calls.html",
        caller,
        status_code=status_code,
        in_reserve=mine["in_reserve"],
        calls=mine["calls"],
        specialties=SPECIALTY_LABELS,
        notice=notice,
        error=error,
        local_time=local_time,
    )


@router.get("/health/my-calls", response_class=HTMLResponse)
def my_calls_page(
    request: Request,
    caller: Resident,
    uow: Uow,
    clock: Clock,
    answered: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """A reservist's call-ups, with Accept / Refuse for those waiting for an answer."""
    return _my_calls_page(request, caller, uow, clock, answered=answered)


@router.post("/health/my-calls/{call_id}/answer")
def answer_my_call(
    request: Request,
    call_id: int,
    form: FormFields,
    caller: Resident,
    uow: Uow,
    clock: Clock,
) -> Response:
    """Accept or refuse a call-up from the page, then go back to the list."""
    answer = form.get("answer", "")
    if answer not in ANSWERS:
        return _my_calls_page(
            request,
            caller,
            uow,
            clock,
            error=i18n.translate(i18n.language_of(request).code, CHOOSE_AN_ANSWER),
            status_code=422,
        )
    try:
        with uow() as session:
            service.answer_my_call(
                session, caller, call_id=call_id, accept=ANSWERS[answer], now=clock()
            )
    except TwonetsError as exc:
        return _my_calls_page(request, caller, uow, clock, error=exc.detail, status_code=exc.status)
    return RedirectResponse(f"/health/my-calls?answered={call_id}", status_code=303)
