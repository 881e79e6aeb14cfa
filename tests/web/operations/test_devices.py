"""The devices page: terminals with their last reports, and the intake's counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff, create_terminal, next_credit_code
from twonets.core.models import Role
from twonets.operations.devices import service as device_service
from twonets.operations.devices.gateway import Gateway, MemoryBackend, RefusedRegistration

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
        create_staff(session, username="field", roles=(Role.FIELD,))
        refs = [
            create_terminal(session, phone=f"1390000000{i}", plate=plate, version=1 if i else None)
            for i, plate in enumerate(["沪D00001", "沪D00002", "沪D00003"])
        ]
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
    with TestClient(
        app, headers={"Origin": "http://testserver", "Accept-Language": "en"}
    ) as client:
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
    assert page.count("registered") >= 3
    assert "Not running in this server" in page


def test_the_page_shows_the_gateway_counters(
    app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    gateway = Gateway(MemoryBackend(), host="127.0.0.1", port=8808)
    gateway.stats.frames = 1234
    gateway.stats.malformed["checksum"] = 7
    gateway.stats.refused["unknown-terminal"] = 1
    gateway.stats.recent_refusals.append(
        RefusedRegistration(NOW, "13800000000", "沪D99999", "unknown-terminal", "10.0.0.9:4000")
    )
    app.state.jt808_gateway = gateway
    with TestClient(
        app, headers={"Origin": "http://testserver", "Accept-Language": "en"}
    ) as client:
        page = client.get("/ops/devices", headers=_login(client, "watch")).text
    assert "127.0.0.1:8808" in page
    assert "1234" in page
    assert "checksum 7" in page
    assert "unknown-terminal 1" in page
    refusals = page[page.index('data-testid="refusals"') :]
    assert "13800000000" in refusals
    assert "沪D99999" in refusals


def test_operators_enrol_a_terminal_on_the_page_and_mistakes_keep_the_form(
    app: FastAPI, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    company = next_credit_code()
    with TestClient(
        app, headers={"Origin": "http://testserver", "Accept-Language": "en"}
    ) as client:
        watch, field = _login(client, "watch"), _login(client, "field")
        form = {"phone": "13912340000", "plate": "沪D00001", "credit_code": company}
        seen_by_field = client.get("/ops/devices", headers=field).text
        forbidden = client.post("/ops/devices/terminals", data=form, headers=field)
        taken = client.post("/ops/devices/terminals", data=form, headers=watch)
        typo = client.post(
            "/ops/devices/terminals", data={**form, "credit_code": company[:-1]}, headers=watch
        )
        done = client.post(
            "/ops/devices/terminals", data={**form, "plate": "沪D77777"}, headers=watch
        )
        reset = client.post("/ops/devices/terminals/13900000000/reset", headers=watch)

    assert 'data-testid="enrol-form"' not in seen_by_field
    assert forbidden.status_code == 403
    assert taken.status_code == 409
    assert "Plate: 沪D00001 is enrolled with terminal 13900000000" in taken.text
    assert typo.status_code == 422
    assert "Enterprise credit code: " in typo.text
    assert "credit_code:" not in typo.text
    # What was typed is still there.
    assert 'value="13912340000"' in typo.text
    assert f'value="{company[:-1]}"' in typo.text
    assert done.status_code == 200
    assert "Terminal 13912340000 is enrolled: it may register" in done.text
    assert "waiting to register" in done.text
    assert "was reset: its old code no longer works" in reset.text
