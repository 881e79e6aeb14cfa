"""The vehicles map layer, the intake status, and ``twonets ops jt808 ...`` on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import PASSWORD, create_staff, create_terminal, next_credit_code
from twonets.cli import app as cli_app
from twonets.core.config import Settings
from twonets.core.errors import ConfigurationError
from twonets.core.geo import gcj02_to_wgs84, locate_district
from twonets.core.models import Role
from twonets.operations.devices import jt808
from twonets.operations.devices import service as device_service
from twonets.operations.devices.gateway import parse_listen
from twonets.operations.devices.models import Terminal
from twonets.operations.devices.mqtt_intake import parse_url
from twonets.operations.devices.simulator import SIMULATED_FLEET_CREDIT_CODE

runner = CliRunner()
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
FRAME = (
    "7E 02 00 00 26 12 34 56 78 90 12 00 7D 02 00 00 00 01 00 00 00 02 00 BA 7F 0E 07 E4 F1"
    " 1C 00 28 00 3C 00 00 18 10 15 10 10 10 01 04 00 00 00 64 02 02 00 7D 01 13 7E"
)


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def _seed(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        create_staff(session, username="clerk", roles=(Role.STAFF,))
        refs = [
            create_terminal(session, phone=f"1390000000{i}", plate=plate)
            for i, plate in enumerate(["沪D00001", "沪D00002"])
        ]
        device_service.record_positions(
            session,
            [
                device_service.Position(
                    refs[0], 121.4691, 31.2286, 30.0, 90, 4, NOW, alarm_flags=1
                ),
                device_service.Position(
                    refs[1], 121.80, 31.15, 0.0, 0, 4, NOW - timedelta(hours=1)
                ),
            ],
            now=NOW,
        )


def test_the_vehicles_layer_is_gcj02_geojson_for_operators(
    app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    app.state.clock = lambda: NOW + timedelta(seconds=30)
    assert client.get("/ops/layers/vehicles").status_code == 401
    clerk = _token(client, "clerk")
    assert client.get("/ops/layers/vehicles", headers=clerk).status_code == 403
    response = client.get("/ops/layers/vehicles", headers=_token(client, "watch"))
    assert response.status_code == 200
    layer = response.json()
    assert layer["type"] == "FeatureCollection"
    first, second = layer["features"]
    assert first["properties"]["plate"] == "沪D00001"
    assert first["properties"]["speed"] == 30.0
    assert first["properties"]["age_seconds"] == 30
    assert first["properties"]["alarm"] is True
    assert first["properties"]["alarms"] == ["emergency"]
    assert second["properties"]["age_seconds"] == 3630
    assert second["properties"]["alarm"] is False
    lon, lat = first["geometry"]["coordinates"]
    # Coordinates are GCJ-02: converting back gives the WGS-84 fix, inside Huangpu.
    back = gcj02_to_wgs84(lon, lat)
    assert abs(back[0] - 121.4691) < 1e-6
    assert abs(back[1] - 31.2286) < 1e-6
    assert locate_district(lon, lat, crs="gcj02") == locate_district(*back, crs="wgs84")
    assert (lon, lat) != (121.4691, 31.2286)


def test_the_intake_status_reports_nothing_running_by_default(client: TestClient) -> None:
    assert client.get("/ops/devices/status").status_code == 401


def test_the_gateway_runs_with_the_app_when_configured(
    settings: Settings, session_factory: sessionmaker[Session], engine: object
) -> None:
    from twonets.web import create_app

    _seed(session_factory)
    configured = settings.model_copy(update={"jt808_listen": "127.0.0.1:0"})
    application = create_app(configured, engine=engine)  # type: ignore[arg-type]
    with TestClient(application) as client:
        status = client.get("/ops/devices/status", headers=_token(client, "watch")).json()
    assert status["gateway"]["listen"].startswith("127.0.0.1:")
    assert status["gateway"]["listen"] != "127.0.0.1:0"
    assert status["mqtt"] is None


def test_decode_prints_the_frame_as_json() -> None:
    result = runner.invoke(cli_app, ["ops", "jt808", "decode", *FRAME.split()])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["message_id"] == "0x0200"
    assert out["message"] == "location"
    assert out["header"]["phone"] == "123456789012"
    assert out["body"]["latitude"] == 12.222222
    assert out["body"]["time"] == "2018-10-15T10:10:10+08:00"
    assert out["body"]["fuel"] == 125


def test_decode_says_what_is_wrong() -> None:
    bad = runner.invoke(cli_app, ["ops", "jt808", "decode", FRAME.replace("13 7E", "12 7E")])
    assert bad.exit_code == 1
    assert "frame.checksum: should be 0x13, got 0x12" in bad.output
    junk = runner.invoke(cli_app, ["ops", "jt808", "decode", "zz"])
    assert junk.exit_code == 1
    assert "not hexadecimal" in junk.output


def test_encode_gives_a_frame_decode_reads_back() -> None:
    result = runner.invoke(
        cli_app,
        [
            "ops", "jt808", "encode", "--phone", "13912345678", "--lon", "121.4691",
            "--lat", "31.2286", "--time", "2026-11-30T10:00:00+08:00", "--speed", "42.5",
            "--version", "2019",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = jt808.decode(bytes.fromhex(result.output.strip()))
    assert frame.header.is_2019
    assert isinstance(frame.body, jt808.Location)
    assert (frame.body.longitude, frame.body.latitude) == (121.4691, 31.2286)
    assert frame.body.speed_kmh == 42.5


@pytest.mark.parametrize("value", ["8808", "host:", ":8808", "host:port", "host:70000"])
def test_a_bad_listen_setting_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_listen(value)
    assert caught.value.detail.startswith("TWONETS_JT808_LISTEN: should be host:port")


def test_listen_and_broker_settings_are_parsed() -> None:
    assert parse_listen("0.0.0.0:8808") == ("0.0.0.0", 8808)
    assert parse_listen("[::1]:8808") == ("::1", 8808)
    assert parse_url("mqtt://broker.local") == ("broker.local", 1883)
    with pytest.raises(ConfigurationError) as caught:
        parse_url("http://broker.local:1883")
    assert "TWONETS_MQTT_URL" in caught.value.detail


def test_the_gateway_command_refuses_a_bad_listen_address() -> None:
    result = runner.invoke(cli_app, ["ops", "gateway", "--listen", "nowhere"])
    assert result.exit_code == 1
    assert "TWONETS_JT808_LISTEN: should be host:port, got 'nowhere'" in result.output


def test_simulate_says_when_no_gateway_listens() -> None:
    result = runner.invoke(
        cli_app, ["ops", "jt808", "simulate", "--to", "127.0.0.1:1", "--terminals", "2"]
    )
    assert result.exit_code == 1
    assert "0 of 2 trucks registered; 0 positions sent, 0 acknowledged" in result.output
    assert "cannot connect to 127.0.0.1:1" in result.output


def test_operators_enrol_and_reset_terminals_through_the_api(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        create_staff(session, username="field", roles=(Role.FIELD,))
        create_staff(session, username="clerk", roles=(Role.STAFF,))
    body = {"phone": "013912345678", "plate": "沪D12345", "credit_code": next_credit_code()}
    watch = _token(client, "watch")

    for who in ("field", "clerk"):
        refused = client.post("/api/v1/ops/terminals", json=body, headers=_token(client, who))
        assert refused.status_code == 403, who
    made = client.post("/api/v1/ops/terminals", json=body, headers=watch)
    twice = client.post("/api/v1/ops/terminals", json=body, headers=watch)
    bad = client.post("/api/v1/ops/terminals", json={**body, "phone": "139-1234"}, headers=watch)
    listed = client.get("/api/v1/ops/terminals", headers=_token(client, "field"))
    reset = client.post("/api/v1/ops/terminals/13912345678/reset", headers=watch)
    unknown = client.post("/api/v1/ops/terminals/1380000/reset", headers=watch)

    assert made.status_code == 201, made.text
    # The leading zero of the BCD header is not part of the number.
    assert made.json()["phone"] == "13912345678"
    assert made.json()["state"] == "waiting to register"
    assert made.json()["enrolled_by"] == "watch"
    assert "auth_code" not in made.text
    assert twice.status_code == 409
    assert twice.json()["rule"] == "enrolled-once"
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "phone"
    assert [t["plate"] for t in listed.json()] == ["沪D12345"]
    assert reset.status_code == 200
    assert unknown.status_code == 404


def test_terminals_are_enrolled_listed_and_reset_on_the_command_line(
    migrated_url: str, engine: object, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        create_staff(session, username="clerk", roles=(Role.STAFF,))
    env = {"TWONETS_DATABASE_URL": migrated_url}
    enrol = [
        "ops", "terminals", "enrol", "--phone", "13912345678", "--plate", "沪D12345",
        "--credit-code", SIMULATED_FLEET_CREDIT_CODE,
    ]  # fmt: skip

    refused = runner.invoke(cli_app, [*enrol, "--as", "clerk"], env=env)
    done = runner.invoke(cli_app, [*enrol, "--as", "watch"], env=env)
    listed = runner.invoke(cli_app, ["ops", "terminals", "list"], env=env)
    reset = runner.invoke(
        cli_app, ["ops", "terminals", "reset", "13912345678", "--as", "watch"], env=env
    )
    planned = runner.invoke(cli_app, ["ops", "jt808", "simulate", "--list", "--terminals", "2"])
    # --enrol-as enrols the simulated trucks before driving them (no gateway listens here).
    simulate = ["ops", "jt808", "simulate", "--to", "127.0.0.1:1", "--terminals", "2"]
    driven = runner.invoke(cli_app, [*simulate, "--enrol-as", "watch"], env=env)
    again = runner.invoke(cli_app, [*simulate, "--enrol-as", "watch"], env=env)

    assert refused.exit_code == 1
    assert "needs one of the roles: operator" in refused.output
    assert done.exit_code == 0, done.output
    assert "enrolled 13912345678 for 沪D12345" in done.output
    assert "waiting to register" in listed.output
    assert reset.exit_code == 0, reset.output
    assert planned.exit_code == 0
    assert planned.output.splitlines()[0].split() == [
        "14508080000",
        "沪E80000",
        SIMULATED_FLEET_CREDIT_CODE,
    ]
    assert "2 trucks enrolled, 0 reset" in driven.output
    assert "0 trucks enrolled, 2 reset" in again.output
    with session_factory() as session:
        rows = {t.phone: t for t in session.scalars(select(Terminal))}
    assert (rows["13912345678"].enrolled_by, rows["13912345678"].code_serial) == ("watch", 1)
    assert rows["14508080000"].credit_code == SIMULATED_FLEET_CREDIT_CODE
