"""Logging in and out, and the language the pages speak."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import auth, logins
from twonets.core.errors import TwonetsError
from twonets.core.http import (
    TOKEN_COOKIE,
    AppSettings,
    ClientAddress,
    Clock,
    MaybeCaller,
    Uow,
    authenticated,
    bearer_token,
    forget_token,
    public,
    secure_cookies,
)
from twonets.web import i18n
from twonets.web.i18n import N_
from twonets.web.pages import render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/language/{code}", dependencies=[Depends(public)])
def choose_language(code: str, request: Request, next: str = "/") -> RedirectResponse:
    """Show the pages in another language from now on (a cookie remembers the choice)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in i18n.BY_CODE:
        response.set_cookie(
            i18n.LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(request: Request, caller: MaybeCaller, next: str | None = None) -> Response:
    """The login form."""
    if caller is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_submit(
    request: Request,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    address: ClientAddress,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials, set the session cookie and go on."""
    ttl = timedelta(hours=settings.token_ttl_hours)
    with uow() as session:
        attempt = logins.log_in(
            session,
            username=username,
            password=password,
            address=address,
            limits=logins.LoginLimits.of(settings),
            now=clock(),
            ttl=ttl,
        )
    if attempt.refusal is not None or attempt.value is None:
        refusal = attempt.refusal
        return render(
            request,
            "login.html",
            None,
            status_code=refusal.status if refusal else 401,
            next=safe_next(next),
            error=_refusal_words(request, refusal),
            username=username,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        attempt.value.token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
    )
    return response


LOGIN_REFUSALS = {
    "user-name-locked": N_(
        "Too many failed logins for this user name. Try again in %(minutes)s minutes, or ask "
        "an administrator to unlock it."
    ),
    "address-refused": N_(
        "Too many failed logins from your network. Try again in %(minutes)s minutes."
    ),
}
WRONG_LOGIN = N_("The user name or the password is wrong.")


def _refusal_words(request: Request, refusal: TwonetsError | None) -> str:
    """Why the login failed, in the page's language (the rule decides the words)."""
    language = i18n.language_of(request).code
    if refusal is None:
        return i18n.translate(language, WRONG_LOGIN)
    words = LOGIN_REFUSALS.get(str(refusal.extra.get("rule")))
    if words is None:  # a wrong user name or password: the same words for both
        return i18n.translate(language, WRONG_LOGIN)
    return i18n.translate(language, words) % {"minutes": refusal.extra.get("minutes", "")}


@router.post("/logout", dependencies=[Depends(authenticated)])
def logout(request: Request, uow: Uow, clock: Clock) -> Response:
    """Revoke the session and return to the login page."""
    token = bearer_token(request)
    if token:
        with uow() as session:
            auth.revoke_token(session, token, now=clock())
        forget_token(request, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="lax")
    return response
