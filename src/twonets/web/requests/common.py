"""What the filer's and the staff's pages of one request share: its context and the acts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, TwonetsError
from twonets.core.http import Uow
from twonets.requests import categories, service
from twonets.web.pages import local_time, render
from twonets.web.requests.words import (
    ACTIONS,
    CHANNELS,
    DELIVERY_STATUS,
    STATUS,
    delivery_reason,
    worded,
)


def category_of(code: str) -> Any:
    """The enterprise category of a code, or None for a city problem's category."""
    return categories.get_category(code) if categories.is_enterprise_category(code) else None


def request_context(session: Session, caller: Principal, request_id: int) -> dict[str, Any]:
    """One request as its pages show it: itself, its category and department, its history
    and its dialogue (each read through the service, which checks the caller may)."""
    row = service.get_request(session, caller, request_id)
    try:
        service.check_may_download(session, caller, row)
        may_download = True
    except Forbidden:
        may_download = False
    return {
        "row": row,
        "category": category_of(row.category_code),
        "department": service.department_of(session, row.department_id),
        "steps": service.history(session, caller, request_id),
        "messages": service.list_messages(session, caller, request_id),
        "attachments": service.list_attachments(session, caller, request_id),
        "deliveries": service.list_request_deliveries(session, caller, request_id),
        "may_download": may_download,
        "escalated_to": service.department_of(session, row.escalated_to_id),
    }


def request_page(
    request: Request,
    template: str,
    caller: Principal,
    uow: Uow,
    request_id: int,
    *,
    form: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
    field_words: dict[str, str] | None = None,
    **extra: Any,
) -> HTMLResponse:
    """One request's page: its context, a refused form's message beside its field, and
    ``extra`` (a callable of the context, or a value) for the page's own needs."""
    with uow() as session:
        context = request_context(session, caller, request_id)
    message, field = worded(error, field_words) if error else (None, None)
    own = {k: v(context) if callable(v) else v for k, v in extra.items()}
    return render(
        request,
        template,
        caller,
        status_code=error.status if error else 200,
        status=STATUS,
        actions=ACTIONS,
        channels=CHANNELS,
        delivery_status=DELIVERY_STATUS,
        delivery_reason=delivery_reason,
        form=form or {},
        error=message,
        error_field=field,
        local_time=local_time,
        **own,
        **context,
    )


def attempt(
    uow: Uow,
    act: Callable[[Session], object],
    *,
    done: str,
    refused: Callable[[TwonetsError], Response],
) -> Response:
    """Run one act in a transaction: to ``done`` when it is taken, else the refusal's page."""
    try:
        with uow() as session:
            act(session)
    except TwonetsError as exc:
        return refused(exc)
    return RedirectResponse(done, status_code=303)
