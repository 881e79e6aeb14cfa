"""Open311 GeoReport v2 at /open311/v2: services, form-encoded reports, filters, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from requests_world import HUANGPU, NOW, World
from twonets.cli import app as cli
from twonets.core.db import unit_of_work
from twonets.requests import service

ROOT = "/open311/v2"


@pytest.fixture
def api_key(session_factory: sessionmaker[Session], world: World) -> str:
    with unit_of_work(session_factory) as session:
        return service.create_client(session, "street-app", now=NOW)[1]


@pytest.fixture
def frozen(app: FastAPI) -> FastAPI:
    app.state.clock = lambda: NOW
    return app


def post(client: TestClient, **form: Any) -> Any:
    # Open311 clients are programs, not our pages: they name no origin of ours.
    return client.post(f"{ROOT}/requests.json", data=form, headers={"Origin": ""})


def report(client: TestClient, key: str, **extra: Any) -> Any:
    form = {
        "api_key": key,
        "service_code": "E0102",
        "lat": str(HUANGPU[1]),
        "long": str(HUANGPU[0]),
        "address_string": "人民大道200号",
        "description": "路边垃圾堆积，已经三天没人清运",
        "first_name": "小明",
        "last_name": "李",
        "email": "li@example.org",
        "phone": "13800138000",
        "media_url": "https://photos.example.org/rubbish.jpg",
        **extra,
    }
    return post(client, **form)


def test_discovery_names_the_endpoint_and_its_format(client: TestClient) -> None:
    answer = client.get(f"{ROOT}/discovery.json")
    assert answer.status_code == 200
    endpoint = answer.json()["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]


def test_services_are_elements_residents_report_and_enterprise_categories(
    client: TestClient, world: World
) -> None:
    found = {s["service_code"]: s for s in client.get(f"{ROOT}/services.json").json()}
    assert found["E0102"]["service_name"] == "暴露垃圾"
    assert found["E0102"]["group"] == "市容环境"
    assert found["E0102"]["metadata"] is False
    assert found["E0102"]["type"] == "realtime"
    assert "E0450" not in found  # raised by the health early-warning system, not by residents
    assert found["ent-tax"]["group"] == "企业诉求"
    definition = client.get(f"{ROOT}/services/E0102.json")
    assert definition.json() == {"service_code": "E0102", "attributes": []}
    missing = client.get(f"{ROOT}/services/X9999.json")
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "service_code: no service 'X9999'"}]


def test_a_form_encoded_report_becomes_a_case_and_reads_back_without_personal_data(
    client: TestClient, frozen: FastAPI, api_key: str
) -> None:
    answer = report(client, api_key)
    assert answer.status_code == 201, answer.text
    [created] = answer.json()
    number, token = created["service_request_id"], created["token"]
    assert number.startswith("R20261130")
    assert created["account_id"] is None
    one = client.get(f"{ROOT}/requests/{number}.json")
    assert one.status_code == 200
    [shown] = one.json()
    assert shown["status"] == "open"
    assert shown["service_code"] == "E0102"
    assert shown["service_name"] == "暴露垃圾"
    assert shown["lat"] == pytest.approx(HUANGPU[1])
    assert shown["long"] == pytest.approx(HUANGPU[0])
    assert shown["address"] == "人民大道200号"
    assert shown["media_url"] == "https://photos.example.org/rubbish.jpg"
    assert shown["requested_datetime"] == "2026-11-30T02:00:00Z"
    assert "case" in shown["status_notes"]
    for personal in ("小明", "li@example.org", "13800138000"):
        assert personal not in one.text
        assert personal not in client.get(f"{ROOT}/requests.json").text
    by_token = client.get(f"{ROOT}/tokens/{token}.json").json()
    assert by_token == [{"service_request_id": number, "token": token}]


def test_the_list_takes_the_specifications_filters(
    client: TestClient, frozen: FastAPI, api_key: str
) -> None:
    first = report(client, api_key).json()[0]["service_request_id"]
    second = report(
        client,
        api_key,
        service_code="E0505",
        description="消防通道被车堵住",
        lat="31.2310",
        long="121.4745",
    ).json()[0]["service_request_id"]

    def numbers(**params: str) -> list[str]:
        answer = client.get(f"{ROOT}/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(r["service_request_id"] for r in answer.json())

    assert numbers() == sorted([first, second])
    assert numbers(service_code="E0505") == [second]
    assert numbers(service_code="E0505,E0102") == sorted([first, second])
    assert numbers(service_request_id=first) == [first]
    assert numbers(service_request_id=f"{first},{second}", status="closed") == sorted(
        [first, second]
    )  # ids override the other filters
    assert numbers(status="open") == sorted([first, second])
    assert numbers(status="closed") == []
    assert numbers(start_date="2026-12-01T00:00:00Z") == []
    assert numbers(
        start_date="2026-11-29T00:00:00Z", end_date="2026-11-30T10:00:00+08:00"
    ) == sorted([first, second])
    assert numbers(end_date="2026-11-29T00:00:00Z") == []


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"status": "pending"}, "status: should be open or closed, got pending"),
        ({"start_date": "yesterday"}, "start_date: should be like 2026-12-01T00:00:00Z"),
        ({"start_date": "2026-01-01T00:00:00"}, "start_date: needs a time zone (Z or +08:00)"),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "end_date: the range may span at most 90 days",
        ),
    ],
)
def test_bad_filters_answer_400_in_the_specifications_shape(
    client: TestClient, params: dict[str, str], detail: str
) -> None:
    answer = client.get(f"{ROOT}/requests.json", params=params)
    assert answer.status_code == 400
    assert answer.json() == [{"code": 400, "description": detail}]


def test_posting_needs_a_live_api_key(
    client: TestClient, session_factory: sessionmaker[Session], api_key: str
) -> None:
    for key in ("", "not-a-key"):
        answer = report(client, key)
        assert answer.status_code == 403
        assert answer.json()[0]["code"] == 403
        assert answer.json()[0]["description"].startswith("api_key:")
    with unit_of_work(session_factory) as session:
        service.revoke_client(session, "street-app", now=datetime.now(UTC))
    assert report(client, api_key).status_code == 403


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"service_code": ""}, "service_code: name the service being requested"),
        ({"service_code": "X9999"}, "category: no service 'X9999' to report"),
        (
            {"service_code": "ent-tax"},
            "category: ent-tax is for enterprises' requests",
        ),
        (
            {"lat": "", "long": "", "address_string": ""},
            "lat: give lat and long, or address_string (address_id is not kept here)",
        ),
        ({"lat": "north"}, "lat: lat and long should be decimal degrees"),
        ({"description": " "}, "description: describe the problem"),
        (
            {"lat": "", "long": ""},
            "lat: a city problem needs its position (latitude and longitude)",
        ),
    ],
)
def test_bad_reports_answer_400_and_write_nothing(
    client: TestClient, api_key: str, change: dict[str, str], detail: str
) -> None:
    answer = report(client, api_key, **change)
    assert answer.status_code == 400, answer.text
    assert answer.json() == [{"code": 400, "description": detail}]
    assert client.get(f"{ROOT}/requests.json").json() == []


def test_enterprise_requests_are_not_public(
    client: TestClient, session_factory: sessionmaker[Session], world: World, frozen: FastAPI
) -> None:
    from twonets.requests.schemas import NewRequest

    with unit_of_work(session_factory) as session:
        row = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(category="ent-tax", description="发票额度不够"),
            now=NOW,
        )
        number = row.number
    assert client.get(f"{ROOT}/requests.json").json() == []
    missing = client.get(f"{ROOT}/requests/{number}.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404


def test_keys_are_made_and_revoked_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"TWONETS_DATABASE_URL": f"sqlite:///{tmp_path}/keys.db"}
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    made = runner.invoke(cli, ["open311", "keys", "create", "street-app"], env=env)
    assert made.exit_code == 0, made.output
    key = made.output.splitlines()[-1]
    assert len(key) >= 32
    assert " " not in key
    again = runner.invoke(cli, ["open311", "keys", "create", "street-app"], env=env)
    assert again.exit_code == 1
    assert "exists already" in again.output
    revoked = runner.invoke(cli, ["open311", "keys", "revoke", "street-app"], env=env)
    assert revoked.exit_code == 0, revoked.output
    unknown = runner.invoke(cli, ["open311", "keys", "revoke", "nobody"], env=env)
    assert unknown.exit_code == 1
