"""Principals, password hashing and bearer tokens: who is calling, and with which roles."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from twonets.core.errors import Forbidden, Unauthenticated
from twonets.core.models import Account, AccountKind, AccountRole, AuthToken, Department, Role
from twonets.core.prepared import Prepared

_hasher = PasswordHasher()
_dummy: tuple[PasswordHasher, str] | None = None


def dummy_hash() -> str:
    """A hash to verify when the username (or a sign-up code) is unknown.

    Made by the hasher in force, so that checking it costs what checking a real one does and
    timing does not tell whether an account (or a code) exists.
    """
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("twonets-no-such-account"))
    return _dummy[1]


@dataclass(frozen=True)
class Principal:
    """The caller of a use case, as the services see it (never an ORM object)."""

    account_id: int
    username: str
    display_name: str
    kind: AccountKind
    roles: frozenset[Role]
    department_id: int | None = None
    department_code: str | None = None
    department_function: str | None = None
    department_level: str | None = None
    region_code: str | None = None
    district_code: str | None = None
    citizen_id: int | None = None
    enterprise_id: int | None = None

    @property
    def subject(self) -> tuple[str, int] | None:
        """The data subject this caller is (``("citizen", id)`` or ``("enterprise", id)``)."""
        if self.citizen_id is not None:
            return "citizen", self.citizen_id
        if self.enterprise_id is not None:
            return "enterprise", self.enterprise_id
        return None

    def has_any(self, roles: Iterable[Role]) -> bool:
        """Whether the principal holds at least one of ``roles``.

        No role implies another: an administrator passes only checks that name ``admin``,
        so administration never brings data protection or a department's work with it.
        """
        return bool(self.roles & set(roles))

    def require(self, *roles: Role) -> None:
        """Raise ``Forbidden`` naming the roles if the principal holds none of them."""
        if not self.has_any(roles):
            names = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"this action needs one of the roles: {names}")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(account: Account) -> Principal:
    """The principal an account speaks as."""
    department = account.department
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=AccountKind(account.kind),
        roles=frozenset(Role(r.role) for r in account.roles),
        department_id=department.id if department else None,
        department_code=department.code if department else None,
        department_function=department.function if department else None,
        department_level=department.level if department else None,
        region_code=department.region_code if department else None,
        district_code=department.district_code if department else None,
        citizen_id=account.citizen_id,
        enterprise_id=account.enterprise_id,
    )


def authenticate(session: Session, username: str, password: str) -> Account:
    """The active account with this username and password, or ``Unauthenticated``."""
    by_name = select(Account).where(Account.username == username)  # governance: login
    account = session.scalar(by_name)
    if account is None:
        verify_password(dummy_hash(), password)
        raise Unauthenticated("username or password is wrong")
    if not verify_password(account.password_hash, password) or not account.active:
        raise Unauthenticated("username or password is wrong")
    return account


def issue_token(session: Session, account: Account, *, now: datetime, ttl: timedelta) -> str:
    """A new bearer token for ``account``; the caller's transaction stores its digest."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthToken(
            token_hash=_token_digest(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def resolve_token(session: Session, token: str, *, now: datetime) -> Principal:
    """The principal a bearer token stands for, or ``Unauthenticated`` with the reason."""
    return resolve_token_until(session, token, now=now)[0]


def resolve_token_until(
    session: Session, token: str, *, now: datetime
) -> tuple[Principal, datetime]:
    """The principal a bearer token stands for and when the token expires."""
    return resolve_token_state(session, token, now=now)


# The token, its account, the account's department and roles in one statement (one row per
# role): what a principal is built from.
_TOKEN_STATE = (
    select(  # governance: the caller's own token and account
        AuthToken.expires_at,
        AuthToken.revoked_at,
        Account.id.label("account_id"),
        Account.username,
        Account.display_name,
        Account.kind,
        Account.active,
        Account.citizen_id,
        Account.enterprise_id,
        Department.id.label("department_id"),
        Department.code,
        Department.function,
        Department.level,
        Department.region_code,
        Department.district_code,
        AccountRole.role,
    )
    .select_from(AuthToken)
    .outerjoin(Account, Account.id == AuthToken.account_id)
    .outerjoin(Department, Department.id == Account.department_id)
    .outerjoin(AccountRole, AccountRole.account_id == Account.id)
    .where(AuthToken.token_hash == bindparam("digest"))
)

# The cheap check of a remembered principal: is the token still good, and do the account's
# department and roles still read the same (five narrow columns, one row per role). A use
# case may fold it into its own first statement (``LoginCheck``): these columns first, in
# this order, with outer joins of its own after them.
TOKEN_CHECK = (
    select(
        AuthToken.expires_at,
        AuthToken.revoked_at,
        Account.id.label("account_id"),
        Account.active,
        Account.department_id,
        AccountRole.role,
    )
    .select_from(AuthToken)
    .outerjoin(Account, Account.id == AuthToken.account_id)
    .outerjoin(AccountRole, AccountRole.account_id == Account.id)
    .where(AuthToken.token_hash == bindparam("digest"))
)
_TOKEN_CHECK = Prepared(TOKEN_CHECK)


def _checked(rows: Sequence[Any], now: datetime) -> datetime:
    """The token's expiry, after the checks of ``resolve_token`` (``Unauthenticated``)."""
    if not rows:
        raise Unauthenticated("the token is not known")
    first = rows[0]
    if first.revoked_at is not None:
        raise Unauthenticated("the token was revoked (logged out)")
    expires_at: datetime = first.expires_at
    if expires_at <= now:
        raise Unauthenticated("the token has expired; log in again")
    if first.account_id is None or not first.active:
        raise Unauthenticated("the account is no longer active")
    return expires_at


def resolve_token_state(
    session: Session, token: str, *, now: datetime
) -> tuple[Principal, datetime]:
    """The principal of a bearer token and its expiry, read by one Core statement.

    Token, account, department and roles come in one statement (one row per role), checked
    as ``resolve_token`` says.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    # On the connection: a Core statement needs none of the ORM's result processing.
    rows = session.connection().execute(_TOKEN_STATE, {"digest": _token_digest(token)}).all()
    expires_at = _checked(rows, now)
    first = rows[0]
    principal = Principal(
        account_id=first.account_id,
        username=first.username,
        display_name=first.display_name,
        kind=AccountKind(first.kind),
        roles=frozenset(Role(row.role) for row in rows if row.role is not None),
        department_id=first.department_id,
        department_code=first.code,
        department_function=first.function,
        department_level=first.level,
        region_code=first.region_code,
        district_code=first.district_code,
        citizen_id=first.citizen_id,
        enterprise_id=first.enterprise_id,
    )
    return principal, expires_at


class PrincipalCache:
    """Principals of recently resolved tokens, kept for a few seconds of wall-clock time.

    A busy endpoint (a gate scanning codes) would otherwise spend a database round trip per
    request on the same token. An entry lives at most ``ttl_seconds`` and never past its
    token's expiry; logging out on this process drops it at once, while a token revoked
    elsewhere (another process, an account deactivated) keeps working here for at most
    ``ttl_seconds``. A ``ttl_seconds`` of 0 turns the cache off.

    ``confirm`` is for routes that must see a revocation at once (a gate admitting on a
    scan): one statement in the route's own transaction, the principal built once per token
    and reused while its token, account, department and roles read the same.
    """

    def __init__(self, ttl_seconds: float, *, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, datetime, Principal]] = {}
        self._states: dict[str, tuple[tuple[int | None, frozenset[Role]], Principal]] = {}
        self._lock = threading.Lock()

    def confirm(
        self,
        session: Session,
        token: str,
        *,
        now: datetime,
        rows: Sequence[Any] | None = None,
    ) -> Principal:
        """The principal of ``token`` as the database has it now (``Unauthenticated`` if not).

        One narrow statement checks the token (revoked, expired), the account (active) and
        what a principal holds that an administrator changes (department, roles); the
        principal itself is built once per token and again only after such a change. A
        revoked token or a removed role is seen at once, here and (the remembered login
        dropped or replaced) on this process's other routes. ``rows`` are that statement's
        rows when the caller ran it as part of its own (``LoginCheck``).
        """
        key = _token_digest(token)
        if rows is None:
            rows = _TOKEN_CHECK.records(session, digest=key)
        try:
            _checked(rows, now)
        except Unauthenticated:
            self.drop(token)
            raise
        check = (rows[0].department_id, frozenset(Role(r.role) for r in rows if r.role))
        known = self._states.get(key)
        if known is not None and known[0] == check:
            return known[1]
        try:
            principal, expires_at = resolve_token_state(session, token, now=now)
        except Unauthenticated:
            self.drop(token)
            raise
        with self._lock:
            if len(self._states) >= self.max_entries:
                self._states.clear()
            self._states[key] = ((principal.department_id, principal.roles), principal)
        if key in self._entries:
            self.put(token, principal, expires_at=expires_at)
        return principal

    def get(self, token: str, *, now: datetime) -> Principal | None:
        """The cached principal of ``token``, if it is fresh and the token has not expired."""
        if self.ttl_seconds <= 0:
            return None
        key = _token_digest(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        fresh_until, expires_at, principal = entry
        if time.monotonic() >= fresh_until or expires_at <= now:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return principal

    def put(self, token: str, principal: Principal, *, expires_at: datetime) -> None:
        """Remember ``principal`` for ``token`` (expiring with the token at the latest)."""
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[_token_digest(token)] = (
                time.monotonic() + self.ttl_seconds,
                expires_at,
                principal,
            )

    def drop(self, token: str) -> None:
        """Forget ``token`` (it was logged out)."""
        with self._lock:
            self._entries.pop(_token_digest(token), None)
            self._states.pop(_token_digest(token), None)


@dataclass(frozen=True)
class LoginCheck:
    """A caller's login to confirm in the database within the use case's own transaction.

    For a use case that must see at once a logout elsewhere, a deactivated account or a
    removed role, and that would rather not spend a statement on it: it selects
    ``TOKEN_CHECK``'s columns first in its own first statement (``digest`` bound to
    ``self.digest``) and hands the rows to ``principal``.
    """

    token: str
    roles: tuple[Role, ...]
    principals: PrincipalCache | None = field(default=None, repr=False)

    @property
    def digest(self) -> str:
        """The token as stored (what ``TOKEN_CHECK``'s ``digest`` is bound to)."""
        return _token_digest(self.token)

    def principal(
        self, session: Session, *, now: datetime, rows: Sequence[Any] | None = None
    ) -> Principal:
        """The caller as ``rows`` (or, without them, ``TOKEN_CHECK`` now) say, holding one of
        ``roles``: ``Unauthenticated`` (401) or ``Forbidden`` (403) naming the roles if not."""
        if self.principals is None:
            if rows is not None:
                _checked(rows, now)
            principal = resolve_token(session, self.token, now=now)
        else:
            principal = self.principals.confirm(session, self.token, now=now, rows=rows)
        principal.require(*self.roles)
        return principal


def revoke_token(session: Session, token: str, *, now: datetime) -> None:
    """Revoke a bearer token (logout); unknown tokens are ignored."""
    record = session.get(AuthToken, _token_digest(token))  # governance: the caller's own token
    if record is not None and record.revoked_at is None:
        record.revoked_at = now


def revoke_all_tokens(session: Session, account_id: int, *, now: datetime) -> int:
    """Revoke every live token of an account (it was disabled); returns how many."""
    result = session.execute(
        update(AuthToken)
        .where(AuthToken.account_id == account_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
