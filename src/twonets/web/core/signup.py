"""Sign-up: a resident or an enterprise opens its account with a code sent to its phone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import service, signup
from twonets.core.errors import Invalid
from twonets.core.http import (
    AppSettings,
    Clock,
    MaybeCaller,
    Sms,
    Uow,
    public,
)
from twonets.web import i18n
from twonets.web.i18n import N_
from twonets.web.pages import FormFields, render

router = APIRouter(include_in_schema=False)


SIGNUP_KINDS = {
    signup.SubjectKind.CITIZEN: {
        "identifier": N_("ID number"),
        "name": N_("Your name as registered"),
        "hint": N_("The 18-character resident ID number (居民身份证号码)."),
        "answer": N_(
            "If these details match a resident without an account, a code was sent to the "
            "phone on record. Enter it within %(minutes)s minutes. If an account already "
            "exists, the message says so instead."
        ),
        "invalid": N_("This is not a valid ID number: %(reason)s"),
    },
    signup.SubjectKind.ENTERPRISE: {
        "identifier": N_("Unified social credit code"),
        "name": N_("The enterprise's name as registered"),
        "hint": N_("The 18-character code on the business licence (统一社会信用代码)."),
        "answer": N_(
            "If these details match an enterprise without an account, a code was sent to the "
            "phone on record. Enter it within %(minutes)s minutes. If an account already "
            "exists, the message says so instead."
        ),
        "invalid": N_("This is not a valid credit code: %(reason)s"),
    },
}
# What a refused field says, by its rule (the service's own words where none is here).
FIELD_WORDS = {
    ("code", "signup-code"): N_(
        "The code is wrong, has expired or was already used: check it, or ask for a new one."
    ),
    ("code", "code-format"): N_("Enter the 6 digits of the text message."),
    ("password", "min-length"): N_("The password needs at least %(n)s characters."),
    ("name", "required"): N_("Enter the name as registered."),
}


def _errors(request: Request, kind: signup.SubjectKind, error: Invalid) -> dict[str, str]:
    """Each refused field's message in the page's language, keyed by the form's field."""
    language = i18n.language_of(request).code
    words: dict[str, str] = {}
    for problem in error.errors:
        if problem.field in {"id_number", "credit_code"}:
            text = i18n.translate(language, SIGNUP_KINDS[kind]["invalid"])
            words["identifier"] = text % {"reason": problem.detail}
            continue
        known = FIELD_WORDS.get((problem.field, problem.rule))
        text = i18n.translate(language, known) if known else problem.detail
        words[problem.field] = text % {"n": service.MIN_PASSWORD_LENGTH} if known else text
    return words


def _signup_kind(value: str | None) -> signup.SubjectKind:
    return (
        signup.SubjectKind.ENTERPRISE
        if value == signup.SubjectKind.ENTERPRISE.value
        else signup.SubjectKind.CITIZEN
    )


def _signup_page(
    request: Request,
    kind: signup.SubjectKind,
    *,
    step: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(
        request,
        "signup.html",
        None,
        status_code=status_code,
        kind=kind.value,
        labels=SIGNUP_KINDS[kind],
        step=step,
        **context,
    )


@router.get("/signup", response_class=HTMLResponse, dependencies=[Depends(public)])
def signup_page(request: Request, caller: MaybeCaller, kind: str | None = None) -> Response:
    """Sign up, step one: the identifier and the name on record."""
    if caller is not None:
        return RedirectResponse("/", status_code=303)
    return _signup_page(request, _signup_kind(kind), step="start", errors={}, values={})


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(public)])
def signup_start(
    request: Request,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    sms: Sms,
    form: FormFields,
) -> HTMLResponse:
    """Ask for a code; step two shows the same words whatever the register holds."""
    kind = _signup_kind(form.get("kind"))
    values = {"identifier": form.get("identifier", ""), "name": form.get("name", "")}
    limits = signup.SignupLimits.of(settings)
    try:
        with uow() as session:
            if kind is signup.SubjectKind.CITIZEN:
                answer = signup.start_citizen_signup(
                    session,
                    id_number=values["identifier"],
                    name=values["name"],
                    sms=sms,
                    limits=limits,
                    now=clock(),
                )
            else:
                answer = signup.start_enterprise_signup(
                    session,
                    credit_code=values["identifier"],
                    name=values["name"],
                    sms=sms,
                    limits=limits,
                    now=clock(),
                )
    except Invalid as exc:
        errors = _errors(request, kind, exc)
        return _signup_page(
            request, kind, step="start", status_code=422, errors=errors, values=values
        )
    # The service's answer is the same whatever the register holds; so is the page's.
    del answer
    minutes = int(limits.code_life.total_seconds() // 60)
    words = i18n.translate(i18n.language_of(request).code, SIGNUP_KINDS[kind]["answer"])
    return _signup_page(
        request,
        kind,
        step="confirm",
        status_code=202,
        answer=words % {"minutes": minutes},
        errors={},
        values=values,
    )


@router.post("/signup/confirm", response_class=HTMLResponse, dependencies=[Depends(public)])
def signup_confirm(
    request: Request, uow: Uow, clock: Clock, settings: AppSettings, form: FormFields
) -> HTMLResponse:
    """Confirm the code and choose a password; then log in with them."""
    kind = _signup_kind(form.get("kind"))
    values = {"identifier": form.get("identifier", ""), "name": form.get("name", "")}
    limits = signup.SignupLimits.of(settings)
    try:
        with uow() as session:
            if kind is signup.SubjectKind.CITIZEN:
                attempt = signup.confirm_citizen_signup(
                    session,
                    id_number=values["identifier"],
                    code=form.get("code", ""),
                    password=form.get("password", ""),
                    limits=limits,
                    now=clock(),
                )
            else:
                attempt = signup.confirm_enterprise_signup(
                    session,
                    credit_code=values["identifier"],
                    code=form.get("code", ""),
                    password=form.get("password", ""),
                    limits=limits,
                    now=clock(),
                )
        account = attempt.unwrap()
    except Invalid as exc:
        errors = _errors(request, kind, exc)
        return _signup_page(
            request, kind, step="confirm", status_code=422, errors=errors, values=values
        )
    return render(
        request,
        "login.html",
        None,
        next="/",
        error=None,
        notice=i18n.translate(
            i18n.language_of(request).code,
            N_("Your account is ready. Log in with the password you chose."),
        ),
        username=account.username,
    )
