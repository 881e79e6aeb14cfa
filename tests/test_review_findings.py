"""The review's findings (issue 11), tried again in the demo city as its own accounts.

The access matrix checks every route against the roles it declares; these are the cases where
the resource decides (whose licence, which scenario, which field, which region), each tried
over the API exactly as the review tried it, as the demo account it named. Every one must be
a 403 problem+json, and nothing may have changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from demo_city import copy_of_demo
from twonets.core.config import Settings
from twonets.core.models import Citizen
from twonets.licences.models import Licence
from twonets.web import create_app

DEMO_PASSWORD = "twonets-demo"


@dataclass
class City:
    """The seeded demo city and a client of its API."""

    client: TestClient
    settings: Settings

    def token(self, username: str) -> dict[str, str]:
        response = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, f"{username}: {response.text}"
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    folder: Path = tmp_path_factory.mktemp("review")
    url, var = copy_of_demo(tmp_path_factory, folder)
    settings = Settings(var_dir=var, database_url=url, events_url=None)
    app = create_app(settings, relay=False)
    with TestClient(app, headers={"Origin": "http://testserver"}) as client:
        yield City(client, settings)
    app.state.engine.dispose()


def _refused(response: object) -> None:
    status = getattr(response, "status_code", None)
    assert status == 403, getattr(response, "text", "")
    assert getattr(response, "headers", {})["content-type"] == "application/problem+json"


def _shanghai_id_card(city: City) -> Licence:
    factory = city.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        licence = session.scalar(
            select(Licence)
            .where(Licence.type_code == "ID", Licence.region_code == "SH")
            .where(Licence.status == "active")
            .limit(1)
        )
        assert licence is not None
        return licence


@pytest.mark.parametrize("action", ["suspend", "resume", "revoke"])
def test_a_jiangsu_police_clerk_cannot_change_a_shanghai_id_card(city: City, action: str) -> None:
    licence = _shanghai_id_card(city)

    response = city.client.post(
        f"/api/v1/licences/{licence.id}/status",
        json={"action": action, "reason": "review finding"},
        headers=city.token("js.police.clerk"),
    )

    _refused(response)
    assert "claims" not in response.text
    assert _shanghai_id_card(city).status == "active" or action == "resume"


def test_an_administrator_issues_no_licence(city: City) -> None:
    response = city.client.post(
        "/api/v1/licences",
        json={"type_code": "ID", "claims": {}, "valid_from": "2026-12-01"},
        headers=city.token("admin"),
    )

    _refused(response)


def test_staff_without_the_codes_authority_revoke_no_code(city: City) -> None:
    factory = city.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        id_number = session.scalar(select(Citizen.id_number).limit(1))

    for username in ("housing.officer", "codes.culture", "health.planner"):
        response = city.client.post(
            "/api/v1/codes/holders/status",
            json={
                "scenario": "health",
                "id_number": id_number,
                "revoke": True,
                "reason": "review finding",
            },
            headers=city.token(username),
        )
        _refused(response)


def test_a_masked_phone_cannot_be_tested_for_equality(city: City) -> None:
    response = city.client.post(
        "/api/v1/governance/read",
        json={
            "purpose": "public-security.investigation",
            "dataset": "core.citizen",
            "where": {"phone": "13800000000"},
        },
        headers=city.token("police.officer"),
    )

    _refused(response)
    assert "phone" in response.json()["detail"]


@pytest.mark.parametrize("username", ["dpo", "admin"])
def test_neither_the_officer_nor_the_administrator_reads_personal_data(
    city: City, username: str
) -> None:
    response = city.client.post(
        "/api/v1/governance/read",
        json={"purpose": "public-security.investigation", "dataset": "core.citizen"},
        headers=city.token(username),
    )

    _refused(response)


def test_the_administrator_does_not_define_access(city: City) -> None:
    response = city.client.post(
        "/api/v1/governance/policies",
        json={
            "grantee_kind": "department",
            "grantee": "sh.housing",
            "purpose": "public-security.investigation",
            "dataset": "core.citizen",
            "fields": {"name": "keep"},
            "reason": "review finding",
        },
        headers=city.token("admin"),
    )

    _refused(response)


def test_the_api_does_not_take_the_page_cookie(city: City) -> None:
    login = city.client.post(
        "/login",
        data={"username": "police.officer", "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303

    response = city.client.get("/api/v1/me")

    assert response.status_code == 401
    city.client.cookies.clear()
