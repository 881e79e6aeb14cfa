"""HTTP adapters every domain's ``api.py`` shares: units of work, callers, access rules.

Every route declares who may call it by depending on exactly one of ``public``,
``authenticated`` or ``require(...)``; a test walks the app and fails on a route that
declares none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from twonets.core import auth
from twonets.core.config import Mode, Settings
from twonets.core.db import unit_of_work, utcnow
from twonets.core.errors import Unauthenticated
from twonets.core.models import Role
from twonets.core.sms import SmsSender, sms_sender

TOKEN_COOKIE = "twonets_token"
API_PREFIX = "/api/"
ACCESS_ATTRIBUTE = "__twonets_access__"

UnitOfWork = Callable[[], AbstractContextManager[Session]]


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_uow(request: Request) -> UnitOfWork:
    """A factory of units of work: ``with uow() as session`` is one transaction."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return lambda: unit_of_work(factory)


def get_clock(request: Request) -> Callable[[], datetime]:
    """The clock of the app (tests may freeze it)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock


def bearer_token(request: Request) -> str | None:
    """The caller's token: the ``Authorization: Bearer`` header, else (pages only) the cookie.

    The API under ``/api/`` takes only the header: a browser attaches the page cookie to any
    request it makes, including one another site makes it send, so a cookie there would
    open every API route to cross-site requests.
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization header should be 'Bearer <token>'")
        return value.strip()
    if request.url.path.startswith(API_PREFIX):
        return None
    return request.cookies.get(TOKEN_COOKIE)


def client_address(request: Request) -> str:
    """The caller's network address (the proxy's client when proxy headers are trusted)."""
    return request.client.host if request.client else "unknown"


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Whether cookies set on this response carry ``Secure``: over TLS, and always in production."""
    return request.url.scheme == "https" or settings.mode is Mode.PRODUCTION


def get_sms(request: Request) -> SmsSender:
    """The text-message adapter the settings name (built once per app)."""
    sender: SmsSender | None = getattr(request.app.state, "sms", None)
    if sender is None:
        sender = sms_sender(get_settings(request))
        request.app.state.sms = sender
    return sender


_NO_LOGIN = "log in first: no bearer token (API) or session cookie (pages) came with the request"


def _remembered(request: Request) -> auth.Principal | None:
    """The caller as this request or this process's cache of logins already knows it, or None
    (then only the database can tell); never a database read, so never a wait."""
    cached: auth.Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principals: auth.PrincipalCache | None = getattr(request.app.state, "principals", None)
    token = bearer_token(request)
    if principals is None or token is None:
        return None
    principal = principals.get(token, now=get_clock(request)())
    if principal is not None:
        request.state.principal = principal
    return principal


def _principal(request: Request, *, fresh: bool = False) -> auth.Principal | None:
    """The caller, from this process's cache of logins unless ``fresh`` (then the database)."""
    if not fresh:
        remembered = _remembered(request)
        if remembered is not None:
            return remembered
    token = bearer_token(request)
    if token is None:
        return None
    principals: auth.PrincipalCache | None = getattr(request.app.state, "principals", None)
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        principal, expires_at = auth.resolve_token_until(session, token, now=get_clock(request)())
    if principals is not None:
        principals.put(token, principal, expires_at=expires_at)
    request.state.principal = principal
    return principal


def login_check(request: Request, *roles: Role) -> auth.LoginCheck:
    """The caller's login, to confirm in the route's own transaction (``Unauthenticated`` if
    no token came): with the use case's first statement (``auth.LoginCheck``), or alone
    (``confirmed``)."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(_NO_LOGIN)
    principals: auth.PrincipalCache | None = getattr(request.app.state, "principals", None)
    return auth.LoginCheck(token, roles, principals)


def confirmed(request: Request, session: Session, *roles: Role) -> auth.Principal:
    """The caller as the database has it now, read in the route's own transaction.

    For routes that must see at once a logout elsewhere, a deactivated account or a removed
    role (the principal of ``require`` may be a few seconds old): one statement on the
    route's connection, the principal reused while nothing about the login changed. Raises
    ``Unauthenticated`` (401) or ``Forbidden`` (403) naming ``roles``.
    """
    principal = login_check(request, *roles).principal(session, now=get_clock(request)())
    request.state.principal = principal
    return principal


def forget_token(request: Request, token: str) -> None:
    """Drop a logged-out token from this process's cache of principals."""
    principals: auth.PrincipalCache | None = getattr(request.app.state, "principals", None)
    if principals is not None:
        principals.drop(token)


F = TypeVar("F", bound=Callable[..., Any])


def _declare(kind: str) -> Callable[[F], F]:
    def mark(func: F) -> F:
        setattr(func, ACCESS_ATTRIBUTE, kind)
        return func

    return mark


@_declare("public")
def public(request: Request) -> auth.Principal | None:
    """Anyone may call; the principal is given when the caller did log in."""
    try:
        return _principal(request)
    except Unauthenticated:
        return None


@_declare("authenticated")
def authenticated(request: Request) -> auth.Principal:
    """Any logged-in account may call."""
    principal = _principal(request)
    if principal is None:
        raise Unauthenticated(_NO_LOGIN)
    return principal


def require(*roles: Role) -> Callable[[Request], Awaitable[auth.Principal]]:
    """Only accounts holding one of ``roles`` may call (no role implies another)."""
    if not roles:
        raise ValueError("require() needs at least one role")

    def check(request: Request) -> auth.Principal:
        principal = authenticated(request)
        if not principal.has_any(roles):
            # Refused only on what the database says now: a role granted moments ago counts.
            principal = _principal(request, fresh=True) or principal
        principal.require(*roles)
        return principal

    # A coroutine: FastAPI runs a plain function dependency in its thread pool, a hop that
    # costs more than the check itself. A login this process already knows, holding one of
    # the roles, passes here; anything that needs the database (a login not yet known, a
    # role missing) is checked in the thread pool, as before.
    @_declare("roles:" + ",".join(sorted(r.value for r in roles)))
    async def dependency(request: Request) -> auth.Principal:
        principal = _remembered(request)
        if principal is not None and principal.has_any(roles):
            return principal
        return await run_in_threadpool(check, request)

    return dependency


def access_of(dependency: Callable[..., Any]) -> str | None:
    """The access declaration of a dependency callable, if it is one."""
    value = getattr(dependency, ACCESS_ATTRIBUTE, None)
    return value if isinstance(value, str) else None


def iter_calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    """Every callable in a FastAPI dependant tree."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from iter_calls(sub)


# The dependencies that only read the app's state, as coroutines: FastAPI runs a plain
# function dependency in its thread pool, a hop that costs more than what they do.


async def _settings(request: Request) -> Settings:
    return get_settings(request)


async def _uow(request: Request) -> UnitOfWork:
    return get_uow(request)


async def _clock(request: Request) -> Callable[[], datetime]:
    return get_clock(request)


Caller = Annotated[auth.Principal, Depends(authenticated)]
MaybeCaller = Annotated[auth.Principal | None, Depends(public)]
Uow = Annotated[UnitOfWork, Depends(_uow)]
Clock = Annotated[Callable[[], datetime], Depends(_clock)]
AppSettings = Annotated[Settings, Depends(_settings)]
Sms = Annotated[SmsSender, Depends(get_sms)]
ClientAddress = Annotated[str, Depends(client_address)]
# A client's key for a write it may retry (core.idempotency.once): the retry gets the first answer.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def media_response(media_type: str, description: str) -> dict[str, Any]:
    """Route arguments documenting a success answered in ``media_type`` (not JSON).

    ``@router.get(path, **media_response("application/geo+json", "..."))``: the OpenAPI
    document then names the content type the route sends, and clients and the API fuzzing
    (tests/test_api_fuzz.py) hold it to that.
    """
    schema: dict[str, Any] = (
        {"type": "object"} if media_type.endswith("json") else {"type": "string"}
    )
    content = {media_type: {"schema": schema}}
    return {
        "response_class": Response,
        "responses": {200: {"description": description, "content": content}},
    }
