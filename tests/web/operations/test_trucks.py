"""The muck-trucks page: violations with their cases, companies with their counts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff
from twonets.core.models import Role
from twonets.core.seeding import DemoCity
from twonets.operations.cases import catalogue
from twonets.operations.trucks import demo

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _login(client: TestClient, username: str, language: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {
        "accept": "text/html",
        "accept-language": language,
        "authorization": f"Bearer {response.json()['access_token']}",
    }


def test_the_page_lists_violations_and_companies(
    app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    with session_factory() as session, session.begin():
        catalogue.ensure_elements(session)
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        create_staff(session, username="clerk", roles=(Role.STAFF,))
        demo.seed(DemoCity(session=session, seed=7, scale=1, now=NOW, root_secret=b"k"))
    page = client.get("/ops/trucks", headers=_login(client, "watch", "zh-CN"))
    assert page.status_code == 200, page.text
    assert "渣土车监管" in page.text
    assert "疑似偷倒乱倒" in page.text
    assert "偏离核准路线" in page.text
    assert demo.PLATES[demo.DUMPER] in page.text
    assert "上海浦东示范渣土运输有限公司" in page.text
    english = client.get("/ops/trucks", headers=_login(client, "watch", "en"))
    assert "Suspected illegal dumping" in english.text
    refused = client.get("/ops/trucks", headers=_login(client, "clerk", "en"))
    assert refused.status_code == 403
