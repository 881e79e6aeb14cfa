"""The operations pages, served: dashboard, fragments, a case's next step, tasks, reporting."""

from __future__ import annotations

import io

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from builders import PASSWORD
from operations.conftest import BUND, Login
from operations.test_api import PNG, patrol


@pytest.fixture(autouse=True)
def _frozen(frozen_app: FastAPI) -> None:
    """Every page test runs on Monday 10:00 Shanghai."""


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the cookie."""
    client.cookies.clear()
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/ops"},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_dashboard_shows_map_layers_cases_and_figures(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    # The API takes the bearer token, never the page cookie.
    client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator"))

    page = client.get("/ops")
    rows = client.get("/ops/fragments/cases", params={"open": "1", "district": "310101"})
    none = client.get("/ops/fragments/cases", params={"district": "310115"})
    bad = client.get("/ops/fragments/cases", params={"state": "lost"})
    table = client.get("/ops/fragments/figures", params={"by": "department"})

    assert page.status_code == 200
    assert 'id="ops-map"' in page.text
    assert 'data-url="/ops/layers/vehicles"' in page.text
    assert rows.text.count('data-testid="case-row"') == 1
    assert "E0501" in rows.text
    assert "No case matches." in none.text
    assert "state: one of reported" in bad.text
    assert "Department" in table.text


def test_residents_do_not_see_the_dashboard(client: TestClient, people: dict[str, str]) -> None:
    log_in(client, people["resident"])

    assert client.get("/ops").status_code == 403
    assert client.get("/ops/tasks").status_code == 403


def test_operator_moves_a_case_from_its_page(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    case = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator")).json()
    cid = case["id"]

    page = client.get(f"/ops/cases/{cid}")
    assert "File the case" in page.text
    rejected = client.post(f"/ops/cases/{cid}/reject", data={"note": ""})
    assert rejected.status_code == 422
    assert "say why the report is not filed" in rejected.text
    filed = client.post(f"/ops/cases/{cid}/file", data={"note": ""})
    assert filed.status_code == 200  # followed the redirect back to the case
    assert "Dispatch" in filed.text
    dispatched = client.post(f"/ops/cases/{cid}/dispatch", data={"department_code": ""})
    assert "a.310101.urban" in dispatched.text
    wrong = client.post(f"/ops/cases/{cid}/close", data={})
    assert wrong.status_code == 409
    assert "is dispatched: &#39;close&#39; needs state verified" in wrong.text


def test_field_staff_report_handling_with_a_photo(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    cid = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator")).json()["id"]
    client.post(f"/ops/cases/{cid}/file", data={})
    client.post(f"/ops/cases/{cid}/dispatch", data={})

    log_in(client, people["field"])
    tasks = client.get("/ops/tasks")
    assert tasks.text.count('data-testid="task"') == 1
    assert client.post(f"/ops/tasks/{cid}/accept").status_code == 200
    too_big = client.post(
        f"/ops/tasks/{cid}/feedback",
        data={"note": "done"},
        files=[
            (
                "photos",
                ("big.jpg", io.BytesIO(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024)), "image/jpeg"),
            )
        ],
    )
    assert too_big.status_code == 422
    assert "at most 5,242,880" in too_big.text
    done = client.post(
        f"/ops/tasks/{cid}/feedback",
        data={"note": "cleared"},
        files=[("photos", ("after.png", io.BytesIO(PNG), "image/png"))],
    )
    assert done.status_code == 200
    assert "reported handled" in done.text
    assert 'data-testid="no-tasks"' in done.text


def test_a_resident_reports_from_the_map(client: TestClient, people: dict[str, str]) -> None:
    log_in(client, people["resident"])

    missing = client.post(
        "/ops/report", data={"category": "E0102", "description": "rubbish", "lon": "", "lat": ""}
    )
    sent = client.post(
        "/ops/report",
        data={
            "category": "E0102",
            "description": "rubbish",
            "lon": str(BUND[0]),
            "lat": str(BUND[1]),
        },
    )

    assert missing.status_code == 422
    assert "click the map" in missing.text
    assert sent.status_code == 200
    assert "暴露垃圾" in sent.text
    assert "Reported 上报" in sent.text
