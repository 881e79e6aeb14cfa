"""A resident's start page shows "My call-ups" to reservists only, with what waits for them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_citizen
from health.health_world import NOW, World, enrol
from twonets.core.auth import principal_of
from twonets.core.db import unit_of_work
from twonets.core.models import Account
from twonets.health import service
from twonets.health.models import Reservist


def _login(client: TestClient, username: str) -> None:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.set("twonets_token", str(response.json()["access_token"]))


def _username_of(session: Session, reservist_id: int) -> str:
    citizen_id = session.scalar(select(Reservist.citizen_id).where(Reservist.id == reservist_id))
    return session.scalars(select(Account.username).where(Account.citizen_id == citizen_id)).one()


def test_only_a_reservist_sees_the_card_and_it_counts_open_calls(
    world: World, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        enrolled = [_username_of(session, enrol(session, world)) for _ in range(2)]
        service.create_mobilisation(
            session,
            world.planner,
            name="drill",
            demand=[service.DemandLine("Jinshan", 121.34, 30.74, "nursing", 1)],
            max_share=0.5,
            now=NOW,
        )
        outsider = create_citizen(session)
        assert service.pending_call_count(session, principal_of(outsider)) is None
        assert service.pending_call_count(session, world.planner) is None
        waiting = {
            name: service.pending_call_count(
                session,
                principal_of(
                    session.scalars(select(Account).where(Account.username == name)).one()
                ),
            )
            for name in enrolled
        }
    assert sorted(waiting.values()) == [0, 1]  # type: ignore[type-var]
    called = next(name for name, n in waiting.items() if n == 1)
    idle = next(name for name, n in waiting.items() if n == 0)

    _login(client, called)
    page = client.get("/").text
    assert 'data-testid="my-calls-card"' in page
    assert "1 call-up waits for your answer" in page

    _login(client, idle)
    page = client.get("/").text
    assert 'data-testid="my-calls-card"' in page
    assert "no call-up waits for an answer" in page

    _login(client, outsider.username)
    page = client.get("/").text
    assert 'data-testid="your-work"' in page
    assert 'data-testid="my-calls-card"' not in page
