"""Street teams' caps on the page, and the leads on the operations centre's map."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from builders import PASSWORD

from ..conftest import OpsWorld
from .conftest import Housing


def _log_in(client: TestClient, username: str, to: str = "/ops/rentals") -> None:
    client.cookies.clear()
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": to},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_the_district_sets_a_street_teams_daily_cap_on_the_page(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    _log_in(client, housing.pudong.username)
    client.headers["Accept-Language"] = "zh-CN"
    page = client.get("/ops/rentals")
    assert "街道队伍每日核查上限" in page.text
    teams = re.findall(r'<tr data-team="(\d+)">', page.text)
    assert teams
    assert all(t.startswith("310115") for t in teams)
    team = teams[0]
    assert 'value="5"' in page.text  # the default cap until one is set
    done = client.post(
        f"/ops/rentals/teams/{team}",
        data={"district": "310115", "daily_cap": "2"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert f"街道队伍 {team}：每日上限已设定" in done.text
    row = re.search(rf'<tr data-team="{team}">(.*?)</tr>', done.text, re.S)
    assert row is not None
    assert 'value="2"' in row[1]
    assert "默认值" not in row[1]
    refused = client.post(
        f"/ops/rentals/teams/{team}", data={"district": "310115", "daily_cap": "many"}
    )
    assert refused.status_code == 422
    assert "daily_cap" in refused.text


def test_another_districts_housing_department_gets_403_setting_a_cap(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    _log_in(client, housing.xuhui.username)
    answer = client.post(
        "/ops/rentals/teams/310115001", data={"district": "310115", "daily_cap": "9"}
    )
    assert answer.status_code == 403
    _log_in(client, housing.other.username)
    answer = client.post(
        "/ops/rentals/teams/310115001", data={"district": "310115", "daily_cap": "9"}
    )
    assert answer.status_code == 403


def test_the_operations_map_has_a_layer_of_leads_per_building(
    client: TestClient,
    frozen_app: FastAPI,
    housing: Housing,
    leads: list[int],
    ops_world: OpsWorld,
) -> None:
    _log_in(client, ops_world.operator.username, to="/ops")
    client.headers["Accept-Language"] = "zh-CN"
    page = client.get("/ops")
    assert 'value="rentals" data-url="/ops/layers/rentals"' in page.text
    assert "群租线索" in page.text
    assert "data-leads=" in page.text
    layer = client.get("/ops/layers/rentals").json()
    features = layer["features"]
    assert features
    assert {f["properties"]["district"] for f in features} == {"310115", "310104", "310112"}
    assert sum(f["properties"]["leads"] for f in features) == len(leads)
    for f in features:  # buildings only: no household, address or reading leaves
        assert set(f["properties"]) == {"building", "district", "leads", "open", "score"}
        lon, lat = f["geometry"]["coordinates"]
        assert 120.8 < lon < 122.2
        assert 30.6 < lat < 31.9
    _log_in(client, housing.pudong.username)
    own = client.get("/ops/layers/rentals").json()["features"]
    assert own
    assert {f["properties"]["district"] for f in own} == {"310115"}
    _log_in(client, housing.other.username)
    assert client.get("/ops/layers/rentals").status_code == 403
