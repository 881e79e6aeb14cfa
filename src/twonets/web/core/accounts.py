"""The administrator's accounts page: lock-outs after failed logins, refused addresses."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from twonets.core import auth, logins, service
from twonets.core.config import Settings
from twonets.core.errors import TwonetsError
from twonets.core.http import (
    AppSettings,
    Caller,
    Clock,
    UnitOfWork,
    Uow,
    require,
)
from twonets.core.models import Role
from twonets.web import i18n
from twonets.web.i18n import N_
from twonets.web.pages import FormFields, local_time, render

router = APIRouter(include_in_schema=False)


@router.get("/accounts", response_class=HTMLResponse, dependencies=[Depends(require(Role.ADMIN))])
def accounts_page(
    request: Request, caller: Caller, uow: Uow, clock: Clock, settings: AppSettings
) -> HTMLResponse:
    """Lock-outs after failed logins, and the addresses refused now (administrators)."""
    return _accounts_page(request, caller, uow, clock(), settings)


def _accounts_page(
    request: Request,
    caller: auth.Principal,
    uow: UnitOfWork,
    now: datetime,
    settings: Settings,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    limits = logins.LoginLimits.of(settings)
    with uow() as session:
        locks = logins.list_lockouts(session, caller, now=now)
        refused = logins.list_refused_addresses(session, caller, limits=limits, now=now)
        counts = service.count_accounts(session)
    return render(
        request,
        "accounts.html",
        caller,
        status_code=status_code,
        locks=locks,
        refused=refused,
        counts=counts,
        limits=limits,
        notice=notice,
        error=error,
        values=values or {},
        when=local_time,
    )


@router.post(
    "/accounts/unlock", response_class=HTMLResponse, dependencies=[Depends(require(Role.ADMIN))]
)
def accounts_unlock(
    request: Request,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    form: FormFields,
) -> HTMLResponse:
    """Lift the lock on a user name and show the list again."""
    username = form.get("username", "")
    now = clock()
    try:
        with uow() as session:
            logins.unlock(session, caller, username=username, now=now)
    except TwonetsError as exc:
        return _accounts_page(
            request, caller, uow, now, settings, error=exc.detail, status_code=exc.status
        )
    unlocked = i18n.translate(i18n.language_of(request).code, N_("%(name)s is unlocked."))
    return _accounts_page(request, caller, uow, now, settings, notice=unlocked % {"name": username})


@router.post(
    "/accounts/state", response_class=HTMLResponse, dependencies=[Depends(require(Role.ADMIN))]
)
def accounts_state(
    request: Request,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    form: FormFields,
) -> HTMLResponse:
    """Disable an account (its logins end at once) or enable it again."""
    username = form.get("username", "")
    active = form.get("active") == "1"
    now = clock()
    try:
        with uow() as session:
            service.set_account_active(
                session,
                caller,
                username=username,
                active=active,
                reason=form.get("reason", ""),
                now=now,
            )
    except TwonetsError as exc:
        return _accounts_page(
            request,
            caller,
            uow,
            now,
            settings,
            error=exc.detail,
            status_code=exc.status,
            values=form,
        )
    words = N_("%(name)s is enabled.") if active else N_("%(name)s is disabled: its logins ended.")
    notice = i18n.translate(i18n.language_of(request).code, words) % {"name": username}
    return _accounts_page(request, caller, uow, now, settings, notice=notice)
