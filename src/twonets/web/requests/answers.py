"""The knowledge base's editor, for the staff who keep it: list, search, add, change, retire.

Who may edit is decided by ``twonets.requests.service.answers`` (the government services
office); another department's staff get 403 from the service, and so from these pages.
A saved answer answers matching requests from the next filing on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import categories, service
from twonets.web.pages import local_time, render
from twonets.web.requests.words import ANSWER_FIELD_WORDS, VERSION_ACTIONS, worded

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
BASE = "/requests/answers"


async def _form(request: Request) -> tuple[dict[str, str], list[str]]:
    """The form's fields, and the further categories ticked (a repeated field)."""
    submitted = await request.form()
    fields = {k: v.strip() for k, v in submitted.items() if isinstance(v, str)}
    also = [v for v in submitted.getlist("also_categories") if isinstance(v, str)]
    return fields, also


@router.get(BASE, response_class=HTMLResponse)
def answers_page(
    request: Request,
    caller: Staff,
    uow: Uow,
    q: Annotated[str, Query(max_length=100)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    withdrawn: bool = False,
) -> HTMLResponse:
    """The answers, searched by words and category, retired ones on request."""
    service.check_knowledge_owner(caller)
    with uow() as session:
        rows = service.list_answers(
            session, category=category or None, include_withdrawn=withdrawn, text=q
        )
    return render(
        request,
        "requests/answers.html",
        caller,
        rows=rows,
        q=q,
        category=category,
        withdrawn=withdrawn,
        categories=categories.ENTERPRISE_CATEGORIES,
        named_category=_named,
        local_time=local_time,
    )


def _named(code: str) -> Any:
    """The category of a code, to be named in the page's language."""
    if categories.is_enterprise_category(code):
        return categories.get_category(code)
    return SimpleNamespace(name=code)


def _editor(
    request: Request,
    caller: Principal,
    uow: Uow,
    code: str | None,
    *,
    form: Mapping[str, str] | None = None,
    also: list[str] | None = None,
    error: TwonetsError | None = None,
) -> HTMLResponse:
    """The form of a new answer (``code`` None) or of an answer with its versions."""
    service.check_knowledge_owner(caller)
    answer = versions = None
    with uow() as session:
        if code is not None:
            answer = service.get_answer(session, code)
            versions = service.answer_versions(session, caller, code)
    message, field = worded(error, ANSWER_FIELD_WORDS) if error else (None, None)
    if form is None and answer is not None:
        form = {
            "code": answer.code,
            "category": answer.category_code,
            "question": answer.question,
            "answer": answer.answer,
            "source": answer.source or "",
        }
        also = list(answer.also_categories or [])
    return render(
        request,
        "requests/answer_edit.html",
        caller,
        status_code=error.status if error else 200,
        answer=answer,
        versions=versions or [],
        form=form or {},
        also=also or [],
        error=message,
        error_field=field,
        categories=categories.ENTERPRISE_CATEGORIES,
        named_category=_named,
        version_actions=VERSION_ACTIONS,
        local_time=local_time,
    )


def _attempt(
    uow: Uow, act: Callable[[Session], str], refused: Callable[[TwonetsError], Response]
) -> Response:
    try:
        with uow() as session:
            code = act(session)
    except TwonetsError as exc:
        return refused(exc)
    return RedirectResponse(f"{BASE}/{code}", status_code=303)


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_answer_page(request: Request, caller: Staff, uow: Uow) -> HTMLResponse:
    """An empty answer to write."""
    return _editor(request, caller, uow, None)


@router.post(BASE + "/new", response_class=HTMLResponse)
async def new_answer(request: Request, caller: Staff, uow: Uow, clock: Clock) -> Response:
    """Add the answer; it answers matching requests at once from now on."""
    form, also = await _form(request)
    return _attempt(
        uow,
        lambda s: (
            service.create_answer(
                s,
                caller,
                code=form.get("code", ""),
                category=form.get("category", ""),
                question=form.get("question", ""),
                answer=form.get("answer", ""),
                source=form.get("source"),
                also_categories=also,
                now=clock(),
            ).code
        ),
        lambda exc: _editor(request, caller, uow, None, form=form, also=also, error=exc),
    )


@router.get(BASE + "/{code}", response_class=HTMLResponse)
def answer_page(request: Request, code: str, caller: Staff, uow: Uow) -> HTMLResponse:
    """One answer: its form, retire or restore, and its versions (who changed what, when)."""
    return _editor(request, caller, uow, code)


@router.post(BASE + "/{code}", response_class=HTMLResponse)
async def change_answer(
    request: Request, code: str, caller: Staff, uow: Uow, clock: Clock
) -> Response:
    """Save a change: a new version."""
    form, also = await _form(request)
    return _attempt(
        uow,
        lambda s: (
            service.change_answer(
                s,
                caller,
                code,
                now=clock(),
                category=form.get("category", ""),
                also_categories=also,
                question=form.get("question", ""),
                answer=form.get("answer", ""),
                source=form.get("source", ""),
            ).code
        ),
        lambda exc: _editor(request, caller, uow, code, form=form, also=also, error=exc),
    )


@router.post(BASE + "/{code}/retire", response_class=HTMLResponse)
def retire_answer(request: Request, code: str, caller: Staff, uow: Uow, clock: Clock) -> Response:
    """Retire the answer: it answers no request from now on (its versions stay)."""
    return _attempt(
        uow,
        lambda s: service.change_answer(s, caller, code, now=clock(), active=False).code,
        lambda exc: _editor(request, caller, uow, code, error=exc),
    )


@router.post(BASE + "/{code}/restore", response_class=HTMLResponse)
def restore_answer(request: Request, code: str, caller: Staff, uow: Uow, clock: Clock) -> Response:
    """Put a retired answer back in use."""
    return _attempt(
        uow,
        lambda s: service.change_answer(s, caller, code, now=clock(), active=True).code,
        lambda exc: _editor(request, caller, uow, code, error=exc),
    )
