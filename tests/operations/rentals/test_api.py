"""Group rentals over HTTP: problem+json for broken files, 403 outside housing, the lead list."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from builders import PASSWORD

from .conftest import Housing

HEADER = "household_id,building_id,district,area_m2,rooms,registered_occupants,use\n"


def _token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_broken_file_is_problem_json_naming_file_row_and_column(
    client: TestClient, frozen_app: FastAPI, housing: Housing
) -> None:
    headers = _token(client, housing.pudong.username)
    text = HEADER + "H1,B1,310115,60,2,2,residential\nH2,B1,310115,60,2,2,hotel\n"
    answer = client.post(
        "/api/v1/ops/rentals/import",
        headers=headers,
        files={"households": ("pudong.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert (problem["file"], problem["row"], problem["column"]) == ("pudong.csv", 3, "use")
    assert problem["detail"] == "pudong.csv: row 3, column use: should be residential or commercial"


def test_housing_imports_detects_and_lists_its_leads(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    headers = _token(client, housing.pudong.username)
    text = HEADER + "P1,B9,310115,70,2,2,residential\n"
    answer = client.post(
        "/api/v1/ops/rentals/import",
        headers=headers,
        files={"households": ("pudong.csv", text.encode(), "text/csv")},
    )
    assert answer.json() == {"households": 1, "readings": 0}
    assert client.post("/api/v1/ops/rentals/detect", headers=headers).status_code == 200
    listed = client.get("/api/v1/ops/rentals/leads", headers=headers).json()
    assert listed
    assert {lead["district_code"] for lead in listed} == {"310115"}
    assert "address" in listed[0]["household"]


def test_other_departments_get_403(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    headers = _token(client, housing.other.username)
    assert client.get("/api/v1/ops/rentals/leads", headers=headers).status_code == 403
    assert client.post("/api/v1/ops/rentals/detect", headers=headers).status_code == 403
    refer = client.post(f"/api/v1/ops/rentals/leads/{leads[0]}/refer", json={}, headers=headers)
    assert refer.status_code == 403
    xuhui = _token(client, housing.xuhui.username)
    listed = client.get("/api/v1/ops/rentals/leads", headers=xuhui).json()
    assert {lead["district_code"] for lead in listed} <= {"310104"}
