"""What the filer's and the staff's pages of one request share: its context and the acts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Uow
from twonets.requests import categories, service


def category_of(code: str) -> Any:
    """The enterprise category of a code, or None for a city problem's category."""
    return categories.get_category(code) if categories.is_enterprise_category(code) else None


def request_context(session: Session, caller: Principal, request_id: int) -> dict[str, Any]:
    """One request as its pages show it: itself, its category and department, its history
    and its dialogue (each read through the service, which checks the caller may)."""
    row = service.get_request(session, caller, request_id)
    return {
        "row": row,
        "category": category_of(row.category_code),
        "department": service.department_of(session, row.department_id),
        "steps": service.history(session, caller, request_id),
        "messages": service.list_messages(session, caller, request_id),
    }


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
