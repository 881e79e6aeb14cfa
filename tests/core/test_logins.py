"""Failed logins, on SQLite and PostgreSQL: lock-outs per user name, refusals per address, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import NOW, PASSWORD, create_staff
from twonets.core import auth, logins
from twonets.core.errors import Forbidden, NotFound, TooManyAttempts, TwonetsError
from twonets.core.models import LoginAttempt, LoginLock, LoginOutcome, Role

LIMITS = logins.LoginLimits(failures_per_account=5, failures_per_address=20)


def _try(
    session: Session,
    username: str,
    password: str,
    *,
    address: str = "192.0.2.1",
    at: timedelta = timedelta(0),
) -> tuple[int, str]:
    """Log in once; the status and detail the caller would get (200 and '' on success)."""
    attempt = logins.log_in(
        session,
        username=username,
        password=password,
        address=address,
        limits=LIMITS,
        now=NOW + at,
        ttl=timedelta(hours=1),
    )
    if attempt.refusal is not None:
        return attempt.refusal.status, attempt.refusal.detail
    return 200, ""


def _outcomes(session: Session, username: str) -> list[str]:
    rows = session.scalars(
        select(LoginAttempt.outcome)
        .where(LoginAttempt.username == username)
        .order_by(LoginAttempt.id)
    )
    return [str(o) for o in rows]


def test_a_user_name_locks_after_five_failures_whether_or_not_it_exists(session: Session) -> None:
    create_staff(session, username="real.user")
    answers = {}
    for name in ("real.user", "no.such.user"):
        answers[name] = [_try(session, name, "wrong-password") for _ in range(7)]
    assert answers["real.user"] == answers["no.such.user"]
    wrong = (401, logins.WRONG)
    locked = (429, logins.locked_refusal(LIMITS).detail)
    assert answers["real.user"] == [wrong] * 4 + [locked] * 3
    # Locked means locked: the right password does not get through either.
    assert _try(session, "real.user", PASSWORD) == locked
    assert _outcomes(session, "real.user") == ["failure"] * 5 + ["locked"] * 3
    assert _outcomes(session, "no.such.user") == ["failure"] * 5 + ["locked"] * 2


def test_the_lock_lasts_its_minutes_and_a_success_then_ends_the_run(session: Session) -> None:
    account = create_staff(session, username="patient")
    for _ in range(5):
        _try(session, "patient", "wrong-password")
    assert _try(session, "patient", PASSWORD, at=timedelta(minutes=14))[0] == 429
    assert _try(session, "patient", PASSWORD, at=timedelta(minutes=15, seconds=1)) == (200, "")
    last = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id.desc())).first()
    assert last is not None
    assert (last.outcome, last.account_id) == (LoginOutcome.SUCCESS_AFTER_FAILURES, account.id)
    # The run starts again: four new failures do not lock.
    for _ in range(4):
        assert _try(session, "patient", "wrong", at=timedelta(minutes=16))[0] == 401


def test_failures_outside_the_window_do_not_count(session: Session) -> None:
    create_staff(session, username="slow.typist")
    for n in range(8):
        status, _ = _try(session, "slow.typist", "wrong", at=timedelta(minutes=4 * n))
        assert status == 401
    assert session.scalars(select(LoginLock)).all() == []


def test_an_address_with_twenty_failures_is_refused_for_every_user_name(session: Session) -> None:
    create_staff(session, username="victim")
    for n in range(20):
        _try(session, f"guess{n % 5}.{n}", "wrong", address="198.51.100.7")
    refused = _try(session, "victim", PASSWORD, address="198.51.100.7")
    assert refused == (429, logins.address_refusal(LIMITS).detail)
    assert _outcomes(session, "victim") == ["refused"]
    # Another address is not refused, and a refusal is not a failure of the user name.
    assert _try(session, "victim", PASSWORD, address="203.0.113.9") == (200, "")
    assert _try(session, "victim", PASSWORD, address="198.51.100.7", at=timedelta(minutes=16)) == (
        200,
        "",
    )


def test_successful_logins_leave_no_trace_and_are_never_refused(session: Session) -> None:
    create_staff(session, username="regular")
    for n in range(30):
        assert _try(session, "regular", PASSWORD, at=timedelta(seconds=n)) == (200, "")
    assert session.scalars(select(LoginAttempt)).all() == []


def test_the_audit_records_who_from_where_when_and_how(session: Session) -> None:
    account = create_staff(session, username="audited")
    _try(session, "audited", "wrong", address="192.0.2.44", at=timedelta(seconds=5))
    _try(session, "audited", PASSWORD, address="192.0.2.45", at=timedelta(seconds=9))
    rows = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(r.username, r.account_id, r.address, r.at, r.outcome) for r in rows] == [
        ("audited", account.id, "192.0.2.44", NOW + timedelta(seconds=5), "failure"),
        (
            "audited",
            account.id,
            "192.0.2.45",
            NOW + timedelta(seconds=9),
            "success_after_failures",
        ),
    ]


def test_an_administrator_lists_and_lifts_locks(session: Session) -> None:
    create_staff(session, username="locked.out")
    admin = auth.principal_of(create_staff(session, roles=(Role.ADMIN,)))
    officer = auth.principal_of(create_staff(session, roles=(Role.DPO,)))
    for _ in range(5):
        _try(session, "locked.out", "wrong", address="192.0.2.8")
    locks = logins.list_lockouts(session, admin, now=NOW)
    assert [(lock.username, lock.address, lock.active) for lock in locks] == [
        ("locked.out", "192.0.2.8", True)
    ]
    with pytest.raises(Forbidden):
        logins.list_lockouts(session, officer, now=NOW)
    with pytest.raises(Forbidden):
        logins.unlock(session, officer, username="locked.out", now=NOW)

    lifted = logins.unlock(session, admin, username="locked.out", now=NOW + timedelta(minutes=1))

    assert not lifted.active
    assert _try(session, "locked.out", PASSWORD, at=timedelta(minutes=2)) == (200, "")
    lock = session.scalars(select(LoginLock)).one()
    assert lock.unlocked_by == admin.account_id
    with pytest.raises(NotFound, match="not locked"):
        logins.unlock(session, admin, username="locked.out", now=NOW + timedelta(minutes=3))


def test_refused_addresses_are_listed_for_administrators(session: Session) -> None:
    admin = auth.principal_of(create_staff(session, roles=(Role.ADMIN,)))
    for n in range(21):
        _try(session, f"spray{n}", "wrong", address="198.51.100.99")
    refused = logins.list_refused_addresses(session, admin, limits=LIMITS, now=NOW)
    assert [(a.address, a.failures) for a in refused] == [("198.51.100.99", 20)]


def test_the_refusals_are_429_problems() -> None:
    refusal: TwonetsError = logins.locked_refusal(LIMITS)
    assert isinstance(refusal, TooManyAttempts)
    body = refusal.to_problem()
    assert (body["status"], body["type"]) == (429, "https://twonets.dev/problems/too-many-attempts")
    assert "15 minutes" in body["detail"]
