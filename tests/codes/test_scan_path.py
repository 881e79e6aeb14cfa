"""The scan path's shortcuts keep every rule: the scanner confirmed at once, a code admitted once.

A gate's login is read in the scan's own transaction (one statement) and the principal built
from it reused while nothing changed: a token revoked elsewhere, a role removed or an account
deactivated counts at the next scan. The first scan of a code is one insert; of two scans of
one code at the same moment, one is admitted and the other answered as a repeat (same
checkpoint) or flagged as a replay (another checkpoint), as if they had come one after the
other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from codes.test_api import _auth, _code, api
from codes.world import T, World
from twonets.codes import service
from twonets.codes.models import ScanRecord
from twonets.codes.service.verdicts import ScanOutcome
from twonets.core import auth
from twonets.core.errors import Unauthenticated
from twonets.core.models import Account, AccountRole, AuthToken, Department, Role

__all__ = ["api"]


def _scan_api(client: TestClient, headers: dict[str, str], text: str, place: str = "east gate"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/codes/scans", json={"code": text, "place": place}, headers=headers)


def _library_account(world: World) -> int:
    return world.library.account_id


def test_a_token_revoked_elsewhere_stops_scanning_at_once(api: TestClient, world: World) -> None:
    library = _auth(api, world.library.username)
    assert _scan_api(api, library, _code(api, world.resident.username)).status_code == 200
    assert api.get("/api/v1/me", headers=library).status_code == 200  # the login is cached
    # Logged out on another process: only the database knows.
    with world.session() as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.account_id == _library_account(world))
            .values(revoked_at=T)
        )
    refused = _scan_api(api, library, _code(api, world.resident.username))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    # The scan dropped the remembered login: the process's other routes see it too.
    assert api.get("/api/v1/me", headers=library).status_code == 401


def test_a_removed_role_stops_scanning_at_once_and_a_restored_one_resumes(
    api: TestClient, world: World
) -> None:
    library = _auth(api, world.library.username)
    assert _scan_api(api, library, _code(api, world.resident.username)).status_code == 200
    with world.session() as session:
        session.execute(
            delete(AccountRole).where(AccountRole.account_id == _library_account(world))
        )
    refused = _scan_api(api, library, _code(api, world.resident.username), place="west gate")
    assert refused.status_code == 403
    assert "verifier" in refused.json()["detail"]
    with world.session() as session:
        session.add(AccountRole(account_id=_library_account(world), role=Role.VERIFIER))
    again = _scan_api(api, library, _code(api, world.resident.username), place="south gate")
    assert again.status_code == 200, again.text
    assert again.json()["admit"] is True


def test_a_deactivated_account_stops_scanning_at_once(api: TestClient, world: World) -> None:
    library = _auth(api, world.library.username)
    assert _scan_api(api, library, _code(api, world.resident.username)).status_code == 200
    with world.session() as session:
        session.execute(
            update(Account).where(Account.id == _library_account(world)).values(active=False)
        )
    refused = _scan_api(api, library, _code(api, world.resident.username), place="west gate")
    assert refused.status_code == 401
    assert "no longer active" in refused.json()["detail"]


def test_the_principal_is_built_once_per_token_and_again_after_a_change(world: World) -> None:
    with world.session() as session:
        account = session.get_one(Account, _library_account(world))
        token = auth.issue_token(session, account, now=T, ttl=timedelta(hours=1))
    cache = auth.PrincipalCache(5.0)
    with world.session() as session:
        first = cache.confirm(session, token, now=T)
    with world.session() as session:
        second = cache.confirm(session, token, now=T)
    assert second is first  # nothing changed: the remembered principal
    with world.session() as session:
        assert first == auth.resolve_token(session, token, now=T)
    with world.session() as session:
        session.add(AccountRole(account_id=_library_account(world), role=Role.STAFF))
    with world.session() as session:
        third = cache.confirm(session, token, now=T)
    assert third is not first
    assert third.roles == {Role.VERIFIER, Role.STAFF}
    with world.session() as session:
        health = session.scalar(select(Department.id).where(Department.code == "sh.health"))
        session.execute(
            update(Account)
            .where(Account.id == _library_account(world))
            .values(department_id=health)
        )
    with world.session() as session:
        moved = cache.confirm(session, token, now=T)
    assert moved.department_code == "sh.health"
    with world.session() as session, pytest.raises(Unauthenticated, match="expired"):
        cache.confirm(session, token, now=T + timedelta(hours=2))


def _at_once(*scans: Callable[[], ScanOutcome]) -> list[ScanOutcome]:
    """Run ``scans`` in threads released together; their outcomes in the same order."""
    barrier = threading.Barrier(len(scans))
    outcomes: list[ScanOutcome | BaseException | None] = [None] * len(scans)

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = scans[i]()
        except BaseException as exc:  # reported below, in the test's thread
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(scans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done: list[ScanOutcome] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        done.append(outcome)
    return done


def _scanner(world: World, text: str, place: str, at=T) -> Callable[[], ScanOutcome]:  # type: ignore[no-untyped-def]
    def scan() -> ScanOutcome:
        with world.session() as session:
            return service.scan(session, world.ctx, world.library, text=text, place=place, now=at)

    return scan


def _issued(world: World) -> str:
    with world.session() as session:
        return service.issue_code(
            session, world.ctx, world.resident, scenario="library", now=T
        ).text


def _results(world: World) -> list[str]:
    with world.session() as session:
        return sorted(session.scalars(select(ScanRecord.result)))


def test_two_scans_of_one_code_at_one_gate_at_once_make_one_entry(world: World) -> None:
    text = _issued(world)
    one, two = _at_once(_scanner(world, text, "east gate"), _scanner(world, text, "East  Gate"))
    assert one.admit
    assert two.admit
    assert sorted([one.recorded, two.recorded]) == [False, True]
    first, repeat = (one, two) if one.recorded else (two, one)
    assert repeat.repeat is not None
    assert repeat.scan_id == first.scan_id == repeat.repeat.scan_id
    assert _results(world) == ["admitted"]


def test_two_scans_of_one_code_at_two_gates_at_once_admit_one_and_flag_the_other(
    world: World,
) -> None:
    text = _issued(world)
    one, two = _at_once(_scanner(world, text, "east gate"), _scanner(world, text, "west gate"))
    assert sorted([one.admit, two.admit]) == [False, True]
    assert sorted([one.replay, two.replay]) == [False, True]
    assert one.recorded
    assert two.recorded
    flagged = one if one.replay else two
    assert flagged.reason is service.Reason.REPLAY
    assert _results(world) == ["admitted", "replayed"]


def test_a_scan_waiting_on_an_uncommitted_admission_is_decided_after_it(world: World) -> None:
    text = _issued(world)
    # The first scan is written but not yet committed when the second one arrives.
    with world.session() as first_session:
        first = service.scan(
            first_session, world.ctx, world.library, text=text, place="east gate", now=T
        )
        waiting: list[ScanOutcome] = []
        second = threading.Thread(
            target=lambda: waiting.append(
                _scanner(world, text, "west gate", at=T + timedelta(seconds=1))()
            )
        )
        second.start()
        second.join(timeout=0.5)
    second.join(timeout=60)
    assert first.admit
    assert first.recorded
    [later] = waiting
    assert later.replay
    assert not later.admit
    assert later.recorded
    assert _results(world) == ["admitted", "replayed"]


def test_many_first_scans_on_one_connection_are_each_admitted(world: World) -> None:
    # PostgreSQL prepares a statement after a few runs on one connection; the admission's
    # conflict target must still name the index it was written for.
    texts = []
    with world.session() as session:
        for minute in range(8):
            texts.append(
                service.issue_code(
                    session,
                    world.ctx,
                    world.resident,
                    scenario="library",
                    now=T + timedelta(minutes=minute),
                ).text
            )
    with world.session() as session:
        outcomes = [
            service.scan(
                session,
                world.ctx,
                world.library,
                text=text,
                place="east gate",
                now=T + timedelta(minutes=minute, seconds=1),
            )
            for minute, text in enumerate(texts)
        ]
    assert all(o.admit and o.recorded for o in outcomes)
    with world.session() as session:
        count = session.scalar(select(func.count()).select_from(ScanRecord))
    assert count == 8
