"""The one place where errors become responses: problem+json for the API, pages for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from twonets.core.errors import (
    PROBLEM_BASE,
    FieldProblem,
    Invalid,
    TwonetsError,
    Unauthenticated,
    Unavailable,
)
from twonets.core.http import public
from twonets.web.i18n import N_
from twonets.web.navigation import nav_for

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# The titles problems carry, for the catalogue: an error page shows its title translated.
PROBLEM_TITLES = (
    N_("Internal error"),
    N_("Invalid input"),
    N_("Not found"),
    N_("Conflict"),
    N_("Authentication required"),
    N_("Forbidden"),
    N_("Service unavailable"),
    N_("Configuration error"),
    N_("Cross-site request refused"),
    N_("Method Not Allowed"),
)


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _problem_response(request: Request, body: dict[str, Any], status: int) -> Response:
    if _wants_page(request):
        try:
            principal = public(request)  # already known after a 403; None when logged out
        except Exception:  # the error page must render even when the database is down
            principal = None
        templates = request.app.state.templates
        page: Response = templates.TemplateResponse(
            request,
            "error.html",
            {
                "problem": body,
                "principal": principal,
                "nav": nav_for(principal),
                "path": request.url.path,
            },
            status_code=status,
        )
        return page
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # Drop where the value came from ("body", "query"); keep the path inside it.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "query", "path"} else []
    if loc and loc[0] == "header":
        parts = [str(p) for p in loc[1:]]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


def validation_problem(exc: RequestValidationError) -> Invalid:
    """Turn pydantic's errors into one ``Invalid`` that names each field and rule."""
    problems = []
    for error in exc.errors():
        field = _field_path(tuple(error.get("loc", ())))
        message = str(error.get("msg", "is invalid"))
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(FieldProblem(field, str(error.get("type", "invalid")), message))
    first = problems[0] if problems else FieldProblem("body", "invalid", "is invalid")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Invalid(f"{first.field}: {first.detail}{more}", errors=problems)


DATABASE_RETRY_SECONDS = 5


def out_of_range_problem(request: Request, exc: Exception) -> Invalid | None:
    """The path or query parameters holding a whole number the database cannot store.

    SQLite's integers are 64-bit (Python raises OverflowError beyond them); PostgreSQL's
    identifiers are 32- or 64-bit columns (it answers "out of range"). Either way no row can
    carry such a number: the caller learns which parameter, not a server error.
    """
    if isinstance(exc, OverflowError):
        low, high = -(2**63), 2**63 - 1
    elif isinstance(exc, DataError) and "out of range" in str(exc.orig):
        low, high = -(2**31), 2**31 - 1
    else:
        return None
    problems = []
    params = [("path", request.path_params.items()), ("query", request.query_params.items())]
    for where, items in params:
        for name, value in items:
            try:
                number = int(str(value))
            except ValueError:
                continue
            if not low <= number <= high:
                detail = f"{number} is beyond the numbers this platform stores"
                problems.append(FieldProblem(f"{where}.{name}", "range", detail))
    if not problems:
        return None
    first = problems[0]
    return Invalid(f"{first.field}: {first.detail}", errors=problems)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that render every error the same way."""

    async def on_twonets_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TwonetsError)
        if isinstance(exc, Unauthenticated) and _wants_page(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc.detail)
        return _problem_response(request, exc.to_problem(instance=request.url.path), exc.status)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problem = validation_problem(exc)
        return _problem_response(
            request, problem.to_problem(instance=request.url.path), problem.status
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        body = {
            "type": PROBLEM_BASE + slug,
            "title": str(exc.detail) if exc.status_code != 404 else "Not found",
            "status": exc.status_code,
            "detail": str(exc.detail) if exc.status_code != 404 else f"no route {request.url.path}",
            "instance": request.url.path,
        }
        return _problem_response(request, body, exc.status_code)

    async def on_out_of_range(request: Request, exc: Exception) -> Response:
        # A number the request carries that no column can hold (SQLite's and PostgreSQL's
        # integers are 64-bit): no row can have it, and the caller learns which field.
        problem = out_of_range_problem(request, exc)
        if problem is None:
            return await on_unexpected(request, exc)
        return _problem_response(
            request, problem.to_problem(instance=request.url.path), problem.status
        )

    async def on_database_away(request: Request, exc: Exception) -> Response:
        # The database refused the connection or dropped it (restarted, failed over, busy):
        # nothing was written, and the pool reconnects by itself once it answers again.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return _database_busy(request, "the database cannot be reached just now; try again shortly")

    async def on_connections_taken(request: Request, exc: Exception) -> Response:
        # Every connection of this process's pool stayed in use for the pool's whole wait:
        # nothing was written; /readyz shows the pool, the runbook what to change.
        log.warning("no database connection free on %s %s", request.method, request.url.path)
        return _database_busy(
            request, "the server is busy: every database connection is in use; try again shortly"
        )

    def _database_busy(request: Request, detail: str) -> Response:
        problem = Unavailable(detail)
        response = _problem_response(
            request, problem.to_problem(instance=request.url.path), problem.status
        )
        response.headers["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its trace for operators; the caller learns only that it failed.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {
            "type": PROBLEM_BASE + "internal",
            "title": "Internal error",
            "status": 500,
            "detail": "the request failed on our side; it has been logged",
            "instance": request.url.path,
        }
        return _problem_response(request, body, 500)

    app.add_exception_handler(TwonetsError, on_twonets_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(OperationalError, on_database_away)
    app.add_exception_handler(InterfaceError, on_database_away)
    app.add_exception_handler(PoolTimeout, on_connections_taken)
    app.add_exception_handler(OverflowError, on_out_of_range)
    app.add_exception_handler(DataError, on_out_of_range)
    app.add_exception_handler(Exception, on_unexpected)
