"""Group rentals over HTTP and the import command: broken files named, 403 outside housing."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from builders import PASSWORD
from twonets.cli import app as cli_app

from .conftest import Housing

runner = CliRunner()
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


def test_the_import_command_imports_detects_and_refuses_broken_files(
    tmp_path: Path, migrated_url: str, housing: Housing
) -> None:
    env = {"TWONETS_DATABASE_URL": migrated_url}
    households = tmp_path / "households.csv"
    households.write_text(HEADER + "P1,B9,310115,70,2,2,residential\n")
    readings = tmp_path / "readings.csv"
    readings.write_text("household_id,month,water_m3,electricity_kwh,gas_m3\nP1,2026-01,7,200,12\n")
    args = ["ops", "rentals", "import", "--as", housing.pudong.username]
    done = runner.invoke(
        cli_app, [*args, "--households", str(households), "--readings", str(readings)], env=env
    )
    assert done.exit_code == 0, done.output
    assert "1 households, 1 readings" in done.output
    readings.write_text("household_id,month,water_m3,electricity_kwh,gas_m3\nP9,2026-01,7,2,1\n")
    broken = runner.invoke(cli_app, [*args, "--readings", str(readings)], env=env)
    assert broken.exit_code == 2
    assert "row 2, column household_id: unknown household 'P9'" in broken.stderr
    other = runner.invoke(
        cli_app,
        [
            "ops",
            "rentals",
            "import",
            "--as",
            housing.other.username,
            "--households",
            str(households),
        ],
        env=env,
    )
    assert other.exit_code == 1
    assert runner.invoke(cli_app, ["ops", "rentals", "outcomes"], env=env).exit_code == 0


def test_the_loop_over_http_caps_thresholds_precision_and_403_outside(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    pudong = _token(client, housing.pudong.username)
    cap = client.put(
        "/api/v1/ops/rentals/teams/310115005",
        headers=pudong,
        json={"district": "310115", "daily_cap": 3},
    )
    assert cap.status_code == 200, cap.text
    assert cap.json() == {"team": "310115005", "district": "310115", "daily_cap": 3}
    bad = client.put(
        "/api/v1/ops/rentals/teams/310115005",
        headers=pudong,
        json={"district": "310115", "daily_cap": -2},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "daily_cap"
    proposed = client.get("/api/v1/ops/rentals/thresholds", headers=pudong)
    assert proposed.status_code == 200
    current = [e for e in proposed.json() if e["current"]]
    assert current[0]["thresholds"] == {"high": 2.0, "agreement": 2, "min_score": 0.0}
    applied = client.post(
        "/api/v1/ops/rentals/thresholds",
        headers=pudong,
        json={"high": 2.5, "agreement": 3, "min_score": 0.0},
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["district_code"] == "310115"
    counts = client.get("/api/v1/ops/rentals/districts", headers=pudong).json()
    assert set(counts) == {"310115"}
    figures = client.get("/api/v1/ops/rentals/precision", headers=pudong).json()
    assert figures == {"districts": [], "months": []}
    xuhui = _token(client, housing.xuhui.username)
    wrong_district = client.put(
        "/api/v1/ops/rentals/teams/310115005",
        headers=xuhui,
        json={"district": "310115", "daily_cap": 9},
    )
    assert wrong_district.status_code == 403
    other = _token(client, housing.other.username)
    for method, path in (
        ("GET", "/api/v1/ops/rentals/thresholds"),
        ("GET", "/api/v1/ops/rentals/districts"),
        ("GET", "/api/v1/ops/rentals/precision"),
        ("GET", f"/api/v1/ops/rentals/leads/{leads[0]}/history"),
    ):
        assert client.request(method, path, headers=other).status_code == 403, path
    field = _token(client, housing.field.username)
    refused = client.post(
        "/api/v1/ops/rentals/thresholds",
        headers=field,
        json={"high": 2.5, "agreement": 3, "min_score": 0.0},
    )
    assert refused.status_code == 403
