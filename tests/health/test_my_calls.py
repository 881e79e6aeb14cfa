"""A reservist's own call-ups: seen only by them, answered once, refusers never called again."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_citizen
from health.health_world import NOW, World, enrol
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, NotFound
from twonets.core.models import Account
from twonets.governance.models import PendingAccess
from twonets.health import service
from twonets.health.models import Reservist


def _login_of(session: Session, reservist_id: int) -> Principal:
    citizen_id = session.scalar(select(Reservist.citizen_id).where(Reservist.id == reservist_id))
    account = session.scalars(select(Account).where(Account.citizen_id == citizen_id)).one()
    return principal_of(account)


def _drill(session: Session, world: World, posts: int, name: str = "drill") -> int:
    m = service.create_mobilisation(
        session,
        world.planner,
        name=name,
        demand=[service.DemandLine("Jinshan", 121.34, 30.74, "nursing", posts)],
        max_share=0.5,
        now=NOW,
    )
    return m.id


@pytest.fixture
def called(world: World, session_factory: sessionmaker[Session]) -> tuple[list[Principal], int]:
    """Four nurses in the reserve, two of them called to a drill; (logins by reservist, id)."""
    with unit_of_work(session_factory) as session:
        ids = [enrol(session, world) for _ in range(4)]
        mobilisation_id = _drill(session, world, 2)
        logins = [_login_of(session, rid) for rid in ids]
    return logins, mobilisation_id


def _called_and_not(
    session: Session, logins: list[Principal]
) -> tuple[list[Principal], list[Principal]]:
    yes, no = [], []
    for login in logins:
        (yes if service.my_calls(session, login, now=NOW)["calls"] else no).append(login)
    return yes, no


def test_a_reservist_sees_only_their_own_calls_and_the_copy_is_logged(
    world: World, called: tuple[list[Principal], int], session_factory: sessionmaker[Session]
) -> None:
    logins, mobilisation_id = called
    with unit_of_work(session_factory) as session:
        body = service.mobilisation_json(
            session, service.get_mobilisation(session, mobilisation_id)
        )
        mine = {
            login.citizen_id: service.my_calls(session, login, now=NOW)["calls"] for login in logins
        }
        outsider = create_citizen(session)
        theirs = service.my_calls(session, principal_of(outsider), now=NOW)
    assigned = {a["id"] for a in body["assignments"]}
    seen = [call for calls in mine.values() for call in calls]
    assert len(assigned) == 2
    assert sorted(c["id"] for c in seen) == sorted(assigned)  # each call to exactly one person
    assert sum(1 for calls in mine.values() if calls) == 2
    for call in seen:
        assert call["status"] == "pending"
        assert call["answerable"]
        assert call["centre"] == "Jinshan"
        assert call["specialty"] == "nursing"
        assert (call["lon"], call["lat"]) == (121.34, 30.74)
    assert theirs == {"in_reserve": False, "calls": []}
    with session_factory() as session:
        reads = session.scalars(
            select(PendingAccess).where(PendingAccess.dataset == service.RESERVIST_DATASET)
        ).all()
    copies = [r for r in reads if r.purpose_code == "subject.access"]
    assert sorted(r.subject_ids[0] for r in copies) == sorted(
        cid for cid, calls in mine.items() if calls
    )


def test_accepting_and_refusing_then_replanning_never_calls_the_refuser(
    world: World, called: tuple[list[Principal], int], session_factory: sessionmaker[Session]
) -> None:
    logins, mobilisation_id = called
    with unit_of_work(session_factory) as session:
        (yes, accepter), waiting = _called_and_not(session, logins)
        accept_id = service.my_calls(session, yes, now=NOW)["calls"][0]["id"]
        refuse_id = service.my_calls(session, accepter, now=NOW)["calls"][0]["id"]
        accepted = service.answer_my_call(session, yes, call_id=accept_id, accept=True, now=NOW)
        refused = service.answer_my_call(
            session, accepter, call_id=refuse_id, accept=False, now=NOW
        )
        newly = service.replan(session, mobilisation_id=mobilisation_id, now=NOW)
    assert accepted["status"] == "accepted"
    assert not accepted["answerable"]
    assert refused["status"] == "refused"
    assert refused["responded_at"] == NOW.isoformat()
    assert newly == 1
    with unit_of_work(session_factory) as session:
        after = {
            login.citizen_id: [
                c["status"] for c in service.my_calls(session, login, now=NOW)["calls"]
            ]
            for login in logins
        }
        body = service.mobilisation_json(
            session, service.get_mobilisation(session, mobilisation_id)
        )
        again = service.replan(session, mobilisation_id=mobilisation_id, now=NOW)
    assert after[yes.citizen_id] == ["accepted"]
    assert after[accepter.citizen_id] == ["refused"]  # called once, never again
    assert sorted(s for w in waiting for s in after[w.citizen_id]) == ["pending"]
    assert body["totals"] == {
        "count": 2,
        "accepted": 1,
        "notified": 1,
        "refused": 1,
        "open": 0,
    }
    assert again == 0


def test_another_resident_cannot_answer_and_twice_is_a_conflict(
    world: World, called: tuple[list[Principal], int], session_factory: sessionmaker[Session]
) -> None:
    logins, _ = called
    with unit_of_work(session_factory) as session:
        (first, _), (bystander, _) = _called_and_not(session, logins)
        call_id = service.my_calls(session, first, now=NOW)["calls"][0]["id"]
        stranger = principal_of(create_citizen(session))
    for intruder in (bystander, stranger, world.planner):
        with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
            service.answer_my_call(session, intruder, call_id=call_id, accept=False, now=NOW)
    with pytest.raises(NotFound), unit_of_work(session_factory) as session:
        service.answer_my_call(session, first, call_id=call_id + 1000, accept=True, now=NOW)
    with unit_of_work(session_factory) as session:
        service.answer_my_call(session, first, call_id=call_id, accept=True, now=NOW)
    for accept in (True, False):
        with (
            pytest.raises(Conflict, match="already answered: accepted") as raised,
            unit_of_work(session_factory) as session,
        ):
            service.answer_my_call(session, first, call_id=call_id, accept=accept, now=NOW)
        assert raised.value.extra == {"state": "accepted"}


def test_a_call_of_a_closed_mobilisation_is_withdrawn(
    world: World, called: tuple[list[Principal], int], session_factory: sessionmaker[Session]
) -> None:
    logins, mobilisation_id = called
    with unit_of_work(session_factory) as session:
        (first, _), _ = _called_and_not(session, logins)
        service.close_mobilisation(session, mobilisation_id=mobilisation_id)
        (call,) = service.my_calls(session, first, now=NOW)["calls"]
    assert call["status"] == "withdrawn"
    assert not call["answerable"]
    with pytest.raises(Conflict, match="withdrawn"), unit_of_work(session_factory) as session:
        service.answer_my_call(session, first, call_id=call["id"], accept=True, now=NOW)


# --- over HTTP ------------------------------------------------------------------------------


def _token(client: TestClient, username: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_the_api_lists_and_answers_for_residents_only(
    world: World,
    called: tuple[list[Principal], int],
    app: FastAPI,
    client: TestClient,
    session_factory: sessionmaker[Session],
) -> None:
    app.state.clock = lambda: NOW
    logins, _ = called
    with session_factory() as session:
        (first, second), _ = _called_and_not(session, logins)
    auth = {"Authorization": f"Bearer {_token(client, first.username)}"}
    listed = client.get("/api/v1/health/my-calls", headers=auth)
    assert listed.status_code == 200, listed.text
    (call,) = listed.json()["calls"]
    url = f"/api/v1/health/my-calls/{call['id']}/answer"
    assert client.post(url, json={"accept": "maybe"}, headers=auth).status_code == 422
    answered = client.post(url, json={"accept": False}, headers=auth)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "refused"
    twice = client.post(url, json={"accept": False}, headers=auth)
    assert twice.status_code == 409
    assert twice.headers["content-type"].startswith("application/problem+json")
    assert "already answered: refused" in twice.json()["detail"]
    other = {"Authorization": f"Bearer {_token(client, second.username)}"}
    assert client.post(url, json={"accept": True}, headers=other).status_code == 403
    planner = {"Authorization": f"Bearer {_token(client, world.planner.username)}"}
    assert client.get("/api/v1/health/my-calls", headers=planner).status_code == 403
    assert client.get("/api/v1/health/my-calls").status_code == 401


def test_the_page_shows_the_call_with_buttons_and_records_the_answer(
    world: World,
    called: tuple[list[Principal], int],
    client: TestClient,
    app: FastAPI,
    session_factory: sessionmaker[Session],
) -> None:
    app.state.clock = lambda: NOW
    logins, _ = called
    with session_factory() as session:
        (first, _), _ = _called_and_not(session, logins)
        call_id = service.my_calls(session, first, now=NOW)["calls"][0]["id"]
    client.cookies.set("twonets_token", _token(client, first.username))
    page = client.get("/health/my-calls")
    assert page.status_code == 200
    html = page.text
    assert "Jinshan" in html
    assert "Nursing" in html
    assert "Pending" in html
    assert f'action="/health/my-calls/{call_id}/answer"' in html
    assert 'data-testid="accept"' in html
    assert 'data-testid="refuse"' in html
    posted = client.post(
        f"/health/my-calls/{call_id}/answer", data={"answer": "accept"}, follow_redirects=False
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/health/my-calls?answered={call_id}"
    after = client.get(posted.headers["location"]).text
    assert 'data-testid="notice"' in after
    assert "You accepted the call to Jinshan" in after
    assert "Accepted" in after
    assert 'data-testid="accept"' not in after
    again = client.post(f"/health/my-calls/{call_id}/answer", data={"answer": "refuse"})
    assert again.status_code == 409
    assert "already answered: accepted" in again.text
    bad = client.post(f"/health/my-calls/{call_id}/answer", data={"answer": "later"})
    assert bad.status_code == 422
    assert "Choose Accept or Refuse" in bad.text


def test_the_page_tells_a_resident_outside_the_reserve(
    world: World, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        resident = create_citizen(session).username
    client.cookies.set("twonets_token", _token(client, resident))
    page = client.get("/health/my-calls")
    assert page.status_code == 200
    assert 'data-testid="not-in-reserve"' in page.text
    assert 'data-testid="accept"' not in page.text
