"""The licence API's authority: who may issue and change, what the answers carry (no claims),
the history, delegations, and the region a licence is signed under."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_citizen, create_staff, next_id_number
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.licences.models import Licence
from twonets.trust import service as trust

PROBLEM = "application/problem+json"


def department(session: Session, code: str, function: str, region: str, body: str | None) -> None:
    """A city-level department; with ``body``, a credit code to issue under."""
    core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function=function,
        level=DepartmentLevel.CITY,
        region_code=region,
        credit_code=make_credit_code(
            authority="1",
            kind="1",
            region_code="310000" if region == "SH" else "320000",
            organisation_body=body,
        )
        if body
        else None,
    )


@dataclass(frozen=True)
class People:
    """User names: clerks of three police departments in two regions, an admin, a resident."""

    police: str
    traffic: str
    js_police: str
    admin: str
    resident: str
    id_number: str


@pytest.fixture
def people(app: FastAPI, session_factory: sessionmaker[Session]) -> People:
    app.state.clock = lambda: NOW
    root = app.state.secret_key
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=root, now=NOW)
        trust.ensure_issuing_region(
            session, region="JS", root_secret=root, now=NOW, recognise=False
        )
        department(session, "sh.police", "police", "SH", "00240001")
        department(session, "sh.traffic", "police", "SH", "00240002")
        department(session, "js.police", "police", "JS", "00240003")
        department(session, "sh.platform", "platform", "SH", None)

        def account(code: str, username: str, role: Role = Role.STAFF) -> str:
            found = core_service.get_department(session, code)
            create_staff(session, username=username, department=found, roles=(role,))
            return username

        number = next_id_number(birth=date(1985, 3, 4))
        create_citizen(session, id_number=number, name="张三", password=PASSWORD)
        return People(
            account("sh.police", "sh.clerk"),
            account("sh.traffic", "traffic.clerk"),
            account("js.police", "js.police.clerk"),
            account("sh.platform", "sh.admin", Role.ADMIN),
            number,
            number,
        )


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def id_card(people: People, **overrides: str) -> dict[str, str]:
    return {
        "name": "张三",
        "id_number": people.id_number,
        "sex": "female" if int(people.id_number[16]) % 2 == 0 else "male",
        "birth_date": "1985-03-04",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(b"photo").hexdigest(),
        **overrides,
    }


def issue(client: TestClient, people: People, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/licences",
        json={"type_code": "ID", "claims": id_card(people), "valid_from": "2024-01-01", **body},
        headers=bearer(client, people.police),
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def act(client: TestClient, people: People, username: str, licence_id: int, action: str) -> Any:
    if action == "amend":
        return client.post(
            f"/api/v1/licences/{licence_id}/amend",
            json={"claims": id_card(people, address="上海市静安区"), "reason": "moved"},
            headers=bearer(client, username),
        )
    return client.post(
        f"/api/v1/licences/{licence_id}/status",
        json={"action": action, "reason": f"to {action}"},
        headers=bearer(client, username),
    )


@pytest.mark.parametrize("action", ["amend", "suspend", "resume", "revoke"])
def test_a_jiangsu_clerk_gets_403_on_a_shanghai_licence(
    client: TestClient, people: People, action: str
) -> None:
    licence = issue(client, people)
    if action == "resume":
        assert act(client, people, people.police, licence["id"], "suspend").status_code == 200

    response = act(client, people, people.js_police, licence["id"], action)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "region SH" in response.json()["detail"]


@pytest.mark.parametrize("action", ["amend", "suspend", "resume", "revoke"])
def test_another_shanghai_police_department_needs_the_regions_delegation(
    client: TestClient, people: People, action: str
) -> None:
    licence = issue(client, people)
    if action == "resume":
        assert act(client, people, people.police, licence["id"], "suspend").status_code == 200
    refused = act(client, people, people.traffic, licence["id"], action)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)

    delegated = client.post(
        "/api/v1/licences/delegations",
        json={
            "type_code": "ID",
            "issuer_department": "sh.police",
            "delegate_department": "sh.traffic",
            "actions": [action],
            "reason": "city policy 2026-7",
        },
        headers=bearer(client, people.admin),
    )
    assert delegated.status_code == 201, delegated.text
    assert delegated.json()["region"] == "SH"

    allowed = act(client, people, people.traffic, licence["id"], action)
    assert allowed.status_code in (200, 201), allowed.text


def test_delegations_are_managed_by_the_regions_administrator(
    client: TestClient, people: People
) -> None:
    body = {
        "type_code": "ID",
        "issuer_department": "sh.police",
        "delegate_department": "js.police",
        "actions": ["revoke"],
        "reason": "policy",
    }
    admin = bearer(client, people.admin)
    other_region = client.post("/api/v1/licences/delegations", json=body, headers=admin)
    assert other_region.status_code == 422
    assert other_region.json()["errors"][0]["field"] == "delegate_department"
    clerk = client.post(
        "/api/v1/licences/delegations",
        json={**body, "delegate_department": "sh.traffic"},
        headers=bearer(client, people.police),
    )
    assert clerk.status_code == 403
    made = client.post(
        "/api/v1/licences/delegations",
        json={**body, "delegate_department": "sh.traffic"},
        headers=admin,
    )
    assert made.status_code == 201
    listed = client.get("/api/v1/licences/delegations", headers=admin).json()
    assert [(d["delegate_department"], d["actions"]) for d in listed] == [
        ("sh.traffic", ["revoke"])
    ]
    gone = client.delete(f"/api/v1/licences/delegations/{made.json()['id']}", headers=admin)
    assert gone.status_code == 204
    assert client.get("/api/v1/licences/delegations", headers=admin).json() == []


def test_an_administrator_gets_403_issuing(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/licences",
        json={"type_code": "ID", "claims": id_card(people), "valid_from": "2024-01-01"},
        headers=bearer(client, people.admin),
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)


def test_change_answers_carry_no_claims(client: TestClient, people: People) -> None:
    licence = issue(client, people)
    headers = bearer(client, people.police)
    found = client.get(f"/api/v1/licences/by-identifier/{licence['identifier']}", headers=headers)
    suspended = act(client, people, people.police, licence["id"], "suspend")
    amended = act(client, people, people.police, licence["id"], "amend")

    for response in (found, suspended, amended):
        assert response.status_code in (200, 201), response.text
        assert "claims" not in response.json()
        assert "张三" not in response.text
        assert people.id_number not in response.text
    assert "claims" not in licence
    assert amended.json()["version"] == 2
    assert suspended.json()["status"] == "suspended"
    assert {"identifier", "type", "version", "status", "region", "issuer_department"} <= set(
        amended.json()
    )


def test_the_history_is_the_issuers_and_the_holders(client: TestClient, people: People) -> None:
    licence = issue(client, people)
    act(client, people, people.police, licence["id"], "suspend")
    act(client, people, people.police, licence["id"], "revoke")

    history = client.get(
        f"/api/v1/licences/{licence['id']}/history", headers=bearer(client, people.police)
    )
    assert history.status_code == 200
    assert [(h["action"], h["actor"], h["reason"]) for h in history.json()] == [
        ("issued", people.police, None),
        ("suspended", people.police, "to suspend"),
        ("revoked", people.police, "to revoke"),
    ]
    for outsider in (people.js_police, people.traffic):
        refused = client.get(
            f"/api/v1/licences/{licence['id']}/history", headers=bearer(client, outsider)
        )
        assert refused.status_code == 403
    held = client.get(
        f"/api/v1/wallet/{licence['id']}/history", headers=bearer(client, people.resident)
    )
    assert held.status_code == 200
    assert [(h["action"], h["reason"]) for h in held.json()][-1] == ("revoked", "to revoke")
    assert all("actor" not in h for h in held.json())


def test_the_region_is_the_issuing_departments(client: TestClient, people: People) -> None:
    claims = {
        "name": "张三",
        "id_number": people.id_number,
        "vehicle_classes": "C1",
        "first_issued": "2015-03-02",
        "photo_hash": "b" * 64,
    }
    headers = bearer(client, people.js_police)
    named = client.post(
        "/api/v1/licences",
        json={"type_code": "DL", "claims": claims, "valid_from": "2024-01-01", "region": "SH"},
        headers=headers,
    )
    assert named.status_code == 422
    assert named.json()["errors"][0]["field"] == "region"

    issued = client.post(
        "/api/v1/licences",
        json={"type_code": "DL", "claims": claims, "valid_from": "2024-01-01"},
        headers=headers,
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["region"] == "JS"
    qr = client.get(
        f"/api/v1/wallet/{issued.json()['id']}/qr", headers=bearer(client, people.resident)
    )
    assert qr.json()["text"].startswith("JS1:")


def test_a_retried_issue_with_the_same_idempotency_key_issues_one_licence(
    client: TestClient, people: People, session_factory: sessionmaker[Session]
) -> None:
    body = {"type_code": "ID", "claims": id_card(people), "valid_from": "2024-01-01"}
    headers = bearer(client, people.police) | {"Idempotency-Key": "issue-7f3a"}

    first = client.post("/api/v1/licences", json=body, headers=headers)
    again = client.post("/api/v1/licences", json=body, headers=headers)
    other = client.post(
        "/api/v1/licences", json=body | {"valid_from": "2024-02-01"}, headers=headers
    )

    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.json()["field"] == "Idempotency-Key"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Licence)) == 1
