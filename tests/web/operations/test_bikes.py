"""The shared-bikes page: a day's cells by hour for the map, the zones over capacity, the
forecast and plan fragment; refused outside operations and transport."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import h3
import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_department, create_staff
from twonets.core import auth
from twonets.core.db import unit_of_work
from twonets.core.models import Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.operations.bikes import service
from twonets.operations.cases import catalogue

NOW = datetime(2026, 12, 10, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
HOME, WORK = (31.2304, 121.4737), (31.2600, 121.5200)


def _headers(client: TestClient, username: str, language: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {
        "accept": "text/html",
        "accept-language": language,
        "authorization": f"Bearer {response.json()['access_token']}",
    }


def _trips() -> pd.DataFrame:
    rows = []
    for day in (7, 8, 9, 10):
        for n in range(5):
            start = pd.Timestamp(f"2026-12-{day:02d}T08:0{n}:00+08:00").tz_convert("UTC")
            rows.append(
                {
                    "bike_id": f"B{day}{n}",
                    "operator": "hello",
                    "started_at": start,
                    "start_lat": HOME[0],
                    "start_lon": HOME[1],
                    "ended_at": start + pd.Timedelta(minutes=25),
                    "end_lat": WORK[0],
                    "end_lon": WORK[1],
                }
            )
    return pd.DataFrame(rows)


def _parked() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bike_id": [f"P{n}" for n in range(12)],
            "operator": "hello",
            "seen_at": pd.Timestamp("2026-12-10T01:05:00Z"),
            "lat": WORK[0],
            "lon": WORK[1],
        }
    )


def test_the_page_draws_the_day_by_hour_and_lists_the_piles(
    app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        catalogue.ensure_elements(session)
        centre = create_department(session, code="w.bikes.ops", function="operations")
        operator = create_staff(
            session, username="bk.op", roles=(Role.OPERATOR,), department=centre
        )
        housing = create_department(session, code="w.bikes.housing", function="housing")
        create_staff(session, username="bk.housing", roles=(Role.STAFF,), department=housing)
        caller = auth.principal_of(operator)
        keyring = Governance(Catalogue(), b"k" * 32).keyring(session)
        service.import_trips(session, caller, _trips(), keyring=keyring, resolution=8, now=NOW)
        service.import_snapshots(session, caller, _parked(), resolution=8, now=NOW)
        service.register_zones(
            session, caller, [service.ParkingZone("示范地铁站出口", *WORK, capacity=5)], now=NOW
        )
        opened = service.check_zones(session, hour=NOW, resolution=8, now=NOW)
    assert len(opened) == 1

    page = client.get("/ops/bikes", headers=_headers(client, "bk.op", "zh-CN"))
    assert page.status_code == 200, page.text
    assert "共享单车" in page.text
    assert "示范地铁站出口" in page.text
    assert opened[0].case_number in page.text
    found = re.search(r'<script type="application/json" id="bikes-data">(.*?)</script>', page.text)
    assert found is not None
    data = json.loads(found.group(1))
    home, work = h3.latlng_to_cell(*HOME, 8), h3.latlng_to_cell(*WORK, 8)
    assert set(data["cells"]) == {home, work}
    assert len(data["hours"]) == 24
    # 08:00 of the day: five starts at home; 09:00: twelve bikes parked at work.
    assert [r[:2] for r in data["hours"][8] if r[0] == home] == [[home, 5]]
    assert [r[3] for r in data["hours"][9] if r[0] == work] == [12]
    assert data["hours"][3] == []

    plan = client.get(
        "/ops/bikes/plan",
        params={"trucks": 1, "capacity": 20},
        headers=_headers(client, "bk.op", "en"),
    )
    assert plan.status_code == 200, plan.text
    assert "Rebalancing plan" in plan.text
    assert plan.text.count('data-testid="bikes-move"') == 1
    assert work in plan.text
    refused_fleet = client.get(
        "/ops/bikes/plan", params={"trucks": -2}, headers=_headers(client, "bk.op", "en")
    )
    assert "trucks: should be 0 to 500" in refused_fleet.text

    housing_headers = _headers(client, "bk.housing", "en")
    assert client.get("/ops/bikes", headers=housing_headers).status_code == 403
    assert client.get("/ops/bikes/plan", headers=housing_headers).status_code == 403
