"""The officer's purposes: every purpose with its state, a form to declare one, and changes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow
from twonets.governance import service
from twonets.governance.models import LegalBasis, PurposeStatus
from twonets.web.governance.words import BASIS_LABELS, PURPOSE_ACTIONS, Officer, Words, render_page
from twonets.web.i18n import N_
from twonets.web.pages import SHANGHAI, FormFields

router = APIRouter(include_in_schema=False)


def _purposes_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    *,
    form: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
    change: tuple[str, TwonetsError, Mapping[str, str]] | None = None,
    notice: str | None = None,
    highlight: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    words = Words.of(request)
    with uow() as session:
        purposes = list(service.list_purposes(session))
        departments = {d.code: d for d in core_service.list_departments(session)}
    states = {p.code: str(service.purpose_state(p, now)) for p in purposes}
    today = now.astimezone(SHANGHAI).date().isoformat()
    return render_page(
        request,
        "governance/purposes.html",
        caller,
        status_code=status_code,
        purposes=purposes,
        states=states,
        departments=departments,
        legal_bases=[(b.value, words._(BASIS_LABELS[b])) for b in LegalBasis],
        actions_words={k: words._(v[0]) for k, v in PURPOSE_ACTIONS.items()},
        rules={
            # The browser's hints; the service checks the same rules again.
            "code_pattern": service.PURPOSE_CODE_PATTERN.replace("-]", "\\-]"),
            "code_max": service.PURPOSE_CODE_MAX,
            "name_max": service.PURPOSE_NAME_MAX,
            "retention_max": service.RETENTION_MAX_DAYS,
            "reason_max": service.REASON_MAX,
        },
        form=form or {"valid_from": today, "retention_days": "365"},
        error=error,
        errors=words.field_errors(error),
        change=change,
        notice=notice,
        highlight=highlight,
        now=now,
    )


@router.get("/governance/purposes", response_class=HTMLResponse)
def purposes_page(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    declared: Annotated[str, Query(max_length=64)] = "",
    changed: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Every purpose with its state, basis, owner, window and retention; forms to change them."""
    words = Words.of(request)
    notice = None
    if declared:
        notice = words._(N_("Purpose %(code)s declared.")) % {"code": declared}
    elif changed and action in PURPOSE_ACTIONS:
        notice = words._(PURPOSE_ACTIONS[action][1]) % {"code": changed}
    return _purposes_page(
        request, caller, uow, clock(), notice=notice, highlight=declared or changed
    )


def _local_day(value: str, field: str, *, required: bool) -> datetime | None:
    if not value:
        if required:
            raise Invalid.field(field, "required", "give a date")
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(field, "date", "should be a date such as 2026-12-01") from None
    return datetime.combine(day, time(0, 0), SHANGHAI).astimezone(UTC)


def _purpose_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's values as the service takes them: dates and numbers parsed, nothing judged."""
    retention = form.get("retention_days", "")
    try:
        retention_days = int(retention)
    except ValueError:
        raise Invalid.field(
            "retention_days", "integer", "should be a whole number of days"
        ) from None
    valid_from = _local_day(form.get("valid_from", ""), "valid_from", required=True)
    assert valid_from is not None
    return {
        "code": form.get("code", ""),
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "legal_basis": form.get("legal_basis", ""),
        "owner_department_code": form.get("owner_department_code", ""),
        "valid_from": valid_from,
        "valid_until": _local_day(form.get("valid_until", ""), "valid_until", required=False),
        "retention_days": retention_days,
    }


@router.post("/governance/purposes", response_class=HTMLResponse)
def declare_purpose(
    request: Request, caller: Officer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Declare a purpose; on a problem, the form comes back with its values and the reason."""
    now = clock()
    try:
        values = _purpose_values(form)
        with uow() as session:
            service.create_purpose(session, actor=caller.username, now=now, **values)
    except TwonetsError as exc:
        return _purposes_page(
            request, caller, uow, now, form=form, error=exc, status_code=exc.status
        )
    code = values["code"]
    return RedirectResponse(
        f"/governance/purposes?{urlencode({'declared': code})}#purpose-{code}", status_code=303
    )


@router.post("/governance/purposes/{code}/change", response_class=HTMLResponse)
def change_purpose(
    request: Request, code: str, caller: Officer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Suspend, resume or end a purpose, with a reason (logged)."""
    now = clock()
    action = form.get("action", "")
    try:
        if action not in PURPOSE_ACTIONS:
            raise Invalid.field("action", "known", "choose suspend, resume or end")
        with uow() as session:
            service.change_purpose(
                session,
                actor=caller.username,
                code=code,
                status={"suspend": PurposeStatus.SUSPENDED, "resume": PurposeStatus.ACTIVE}.get(
                    action
                ),
                end_now=action == "end",
                reason=form.get("reason", ""),
                now=now,
            )
    except TwonetsError as exc:
        return _purposes_page(
            request, caller, uow, now, change=(code, exc, form), status_code=exc.status
        )
    query = urlencode({"changed": code, "action": action})
    return RedirectResponse(f"/governance/purposes?{query}#purpose-{code}", status_code=303)
