"""Use cases of logging in: passwords checked, failures counted, lock-outs, the audit of both.

Failed logins are limited twice over a sliding window: per user name (``failures_per_account``
failures lock the name for ``lock``) and per client address (``failures_per_address``
failures and the address is refused until the window moves on). A user name is counted and
locked as typed, whether or not it names an account, so the answers to an unknown name and
to a real one are the same: the lock says nothing about who has an account. A successful
login costs two small counting queries and is never delayed. Every failure, every refusal
and every success that ends a run of failures is a row of ``login_attempt``; an
administrator sees recent lock-outs and lifts one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from twonets.core import auth
from twonets.core.config import Settings
from twonets.core.errors import NotFound, Refusable, TooManyAttempts, Unauthenticated
from twonets.core.models import Account, LoginAttempt, LoginLock, LoginOutcome, Role

USERNAME_LENGTH = 64
ADDRESS_LENGTH = 64
WRONG = "username or password is wrong"


@dataclass(frozen=True)
class LoginLimits:
    """How many failures a user name and an address may have, and for how long it counts."""

    failures_per_account: int = 5
    failures_per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    @classmethod
    def of(cls, settings: Settings) -> LoginLimits:
        """The limits a deployment's settings give."""
        return cls(
            failures_per_account=settings.login_failures_per_account,
            failures_per_address=settings.login_failures_per_address,
            window=timedelta(minutes=settings.login_window_minutes),
            lock=timedelta(minutes=settings.login_lock_minutes),
        )


@dataclass(frozen=True)
class Login:
    """A successful login: the bearer token and whom it speaks for."""

    token: str
    principal: auth.Principal


@dataclass(frozen=True)
class Lockout:
    """A lock on a user name, as an administrator sees it."""

    id: int
    username: str
    account_id: int | None
    address: str
    locked_at: datetime
    locked_until: datetime
    unlocked_at: datetime | None
    active: bool


@dataclass(frozen=True)
class RefusedAddress:
    """A client address refused now because of its failed logins."""

    address: str
    failures: int
    last_at: datetime


def _minutes(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() // 60))


def locked_refusal(limits: LoginLimits) -> TooManyAttempts:
    """The answer to a locked user name (the same whether or not it names an account)."""
    return TooManyAttempts(
        "too many failed logins for this user name: try again in "
        f"{_minutes(limits.lock)} minutes, or ask an administrator to unlock it",
        extra={"rule": "user-name-locked", "minutes": _minutes(limits.lock)},
    )


def address_refusal(limits: LoginLimits) -> TooManyAttempts:
    """The answer to a client address with too many failed logins."""
    return TooManyAttempts(
        "too many failed logins from your network address: try again in "
        f"{_minutes(limits.window)} minutes",
        extra={"rule": "address-refused", "minutes": _minutes(limits.window)},
    )


def _record(
    session: Session,
    *,
    username: str,
    address: str,
    outcome: LoginOutcome,
    now: datetime,
    account_id: int | None = None,
) -> None:
    session.add(
        LoginAttempt(
            username=username,
            account_id=account_id,
            address=address,
            at=now,
            outcome=outcome,
        )
    )
    session.flush()


def _active_lock(session: Session, username: str, now: datetime) -> LoginLock | None:
    return session.scalar(
        select(LoginLock)  # governance: the lock on the user name being tried
        .where(
            LoginLock.username == username,
            LoginLock.unlocked_at.is_(None),
            LoginLock.locked_until > now,
        )
        .order_by(LoginLock.locked_until.desc())
        .limit(1)
    )


def _run_start(session: Session, username: str, limits: LoginLimits, now: datetime) -> datetime:
    """Where the current run of failures of ``username`` begins: the window, or its last reset.

    A lock, an administrator's unlock and a success after failures each start a new run.
    """
    start = now - limits.window
    resets = [
        session.scalar(select(func.max(LoginLock.locked_at)).where(LoginLock.username == username)),
        session.scalar(
            select(func.max(LoginLock.unlocked_at)).where(LoginLock.username == username)
        ),
        session.scalar(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username,
                LoginAttempt.outcome == LoginOutcome.SUCCESS_AFTER_FAILURES,
            )
        ),
    ]
    return max([start, *(r for r in resets if r is not None)])


def _failures(session: Session, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(LoginAttempt).where(*where)) or 0)


def _address_failures(session: Session, address: str, limits: LoginLimits, now: datetime) -> int:
    return _failures(
        session,
        LoginAttempt.address == address,
        LoginAttempt.at > now - limits.window,
        LoginAttempt.outcome.in_([LoginOutcome.FAILURE, LoginOutcome.LOCKED]),
    )


def log_in(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    limits: LoginLimits,
    now: datetime,
    ttl: timedelta,
) -> Refusable[Login]:
    """Check a user name and password and issue a bearer token, within the failure limits.

    Returns the refusal instead of raising it, so that the failure it records is committed:
    the caller raises it with ``unwrap()`` after its unit of work.
    """
    username = username.strip()[:USERNAME_LENGTH]
    address = (address or "unknown")[:ADDRESS_LENGTH]
    if _address_failures(session, address, limits, now) >= limits.failures_per_address:
        _record(session, username=username, address=address, outcome=LoginOutcome.REFUSED, now=now)
        return Refusable(refusal=address_refusal(limits))
    if _active_lock(session, username, now) is not None:
        _record(session, username=username, address=address, outcome=LoginOutcome.LOCKED, now=now)
        return Refusable(refusal=locked_refusal(limits))
    try:
        account = auth.authenticate(session, username, password)
    except Unauthenticated:
        account_id = session.scalar(select(Account.id).where(Account.username == username))
        _record(
            session,
            username=username,
            address=address,
            outcome=LoginOutcome.FAILURE,
            now=now,
            account_id=account_id,
        )
        since = _run_start(session, username, limits, now)
        run = _failures(
            session,
            LoginAttempt.username == username,
            LoginAttempt.at > since,
            LoginAttempt.outcome == LoginOutcome.FAILURE,
        )
        if run >= limits.failures_per_account:
            session.add(
                LoginLock(
                    username=username,
                    account_id=account_id,
                    address=address,
                    locked_at=now,
                    locked_until=now + limits.lock,
                )
            )
            session.flush()
            return Refusable(refusal=locked_refusal(limits))
        return Refusable(refusal=Unauthenticated(WRONG))
    failed = LoginAttempt.outcome.in_([LoginOutcome.FAILURE, LoginOutcome.LOCKED])
    by_name = LoginAttempt.username == username
    # The common case (no failure in the window) costs one count and nothing more.
    if _failures(session, by_name, LoginAttempt.at > now - limits.window, failed) and _failures(
        session, by_name, LoginAttempt.at > _run_start(session, username, limits, now), failed
    ):
        _record(
            session,
            username=username,
            address=address,
            outcome=LoginOutcome.SUCCESS_AFTER_FAILURES,
            now=now,
            account_id=account.id,
        )
    token = auth.issue_token(session, account, now=now, ttl=ttl)
    return Refusable(value=Login(token, auth.principal_of(account)))


def _lockout(lock: LoginLock, now: datetime) -> Lockout:
    return Lockout(
        id=lock.id,
        username=lock.username,
        account_id=lock.account_id,
        address=lock.address,
        locked_at=lock.locked_at,
        locked_until=lock.locked_until,
        unlocked_at=lock.unlocked_at,
        active=lock.unlocked_at is None and lock.locked_until > now,
    )


def list_lockouts(
    session: Session,
    principal: auth.Principal,
    *,
    now: datetime,
    since: timedelta = timedelta(days=1),
    limit: int = 200,
) -> list[Lockout]:
    """Lock-outs of the last ``since`` (and any still active), newest first (administrators)."""
    principal.require(Role.ADMIN)
    locks = session.scalars(
        # governance: administrators see which user names are locked, to lift a lock
        select(LoginLock)
        .where((LoginLock.locked_at > now - since) | (LoginLock.locked_until > now))
        .order_by(LoginLock.locked_at.desc(), LoginLock.id.desc())
        .limit(limit)
    ).all()
    return [_lockout(lock, now) for lock in locks]


def list_refused_addresses(
    session: Session, principal: auth.Principal, *, limits: LoginLimits, now: datetime
) -> list[RefusedAddress]:
    """Client addresses refused now for their failed logins, most failures first."""
    principal.require(Role.ADMIN)
    rows = session.execute(
        # governance: administrators see which addresses are refused and why
        select(LoginAttempt.address, func.count(), func.max(LoginAttempt.at))
        .where(
            LoginAttempt.at > now - limits.window,
            LoginAttempt.outcome.in_([LoginOutcome.FAILURE, LoginOutcome.LOCKED]),
        )
        .group_by(LoginAttempt.address)
        .having(func.count() >= limits.failures_per_address)
        .order_by(func.count().desc(), LoginAttempt.address)
    ).all()
    return [RefusedAddress(address=a, failures=int(n), last_at=at) for a, n, at in rows]


def unlock(session: Session, principal: auth.Principal, *, username: str, now: datetime) -> Lockout:
    """Lift the active lock on ``username`` (administrators); its run of failures restarts."""
    principal.require(Role.ADMIN)
    lock = _active_lock(session, username.strip(), now)
    if lock is None:
        raise NotFound(f"user name {username.strip()!r} is not locked")
    lock.unlocked_at = now
    lock.unlocked_by = principal.account_id
    session.flush()
    return _lockout(lock, now)
