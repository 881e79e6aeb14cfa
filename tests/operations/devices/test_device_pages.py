"""The devices page: terminals with their last reports, and the intake's counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff
from twonets.core.models import Role
from twonets.operations import device_service
from twonets.operations.device_models import Terminal
from twonets.operations.gateway import Gateway, MemoryBackend

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
HTML = {"accept": "text/html"}


def _login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {**HTML, "authorization": f"Bearer {response.json()['access_token']}"}


def _seed(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        create_staff(session, username="clerk", roles=(Role.STAFF,))
        refs = []
        for i, plate in enumerate(["沪D00001", "沪D00002", "沪D00003"]):
            terminal = Terminal(
                phone=f"1390000000{i}", terminal_id=f"T{i}", plate=plate, manufacturer="SHMUC",
                model="M1", auth_code="x", protocol_version=1 if i else None,
            )  # fmt: skip
            session.add(terminal)
            session.flush()
            refs.append(device_service.TerminalRef(terminal.id, terminal.phone, plate))
        device_service.record_positions(
            session,
            [
                device_service.Position(refs[0], 121.4691, 31.2286, 30.0, 90, 4, NOW),
                device_service.Position(
                    refs[1], 121.80, 31.15, 0.0, 0, 4, NOW - timedelta(hours=3), alarm_flags=1
                ),
            ],
            now=NOW,
        )


def test_operators_see_terminals_alarms_first(
    app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    app.state.clock = lambda: NOW + timedelta(seconds=40)
    with TestClient(app) as client:
        assert client.get("/ops/devices", headers=_login(client, "clerk")).status_code == 403
        response = client.get("/ops/devices", headers=_login(client, "watch"))
    assert response.status_code == 200
    page = response.text
    # In alarm first (沪D00002, emergency, heard from 3 h ago), then the most recent, then never.
    assert page.index("沪D00002") < page.index("沪D00001") < page.index("沪D00003")
    assert "emergency" in page
    assert "40 s ago" in page
    assert "3 h ago" in page
    assert "never" in page
    assert "黄浦区" in page  # the People's Square lies in Huangpu
    assert "1 in alarm" in page
    assert "2 silent for more than 15 minutes" in page
    assert "Not running in this server" in page


def test_the_page_shows_the_gateway_counters(
    app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    gateway = Gateway(MemoryBackend(), host="127.0.0.1", port=8808)
    gateway.stats.frames = 1234
    gateway.stats.malformed["checksum"] = 7
    app.state.jt808_gateway = gateway
    with TestClient(app) as client:
        page = client.get("/ops/devices", headers=_login(client, "watch")).text
    assert "127.0.0.1:8808" in page
    assert "1234" in page
    assert "checksum 7" in page
