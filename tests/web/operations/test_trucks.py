"""The muck-trucks page: violations with their cases, companies with their counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff
from twonets.core.geo import wgs84_to_gcj02
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
    # Counts agree with their nouns: "1 permit", "4 permits".
    for noun, tail in (("truck", "registered,"), ("permit", "in force.")):
        said = re.search(rf"(\d+) ({noun}s?) {tail}", english.text)
        assert said is not None, noun
        assert (said[1] == "1") == (said[2] == noun), said[0]
    refused = client.get("/ops/trucks", headers=_login(client, "clerk", "en"))
    assert refused.status_code == 403


def test_positions_and_tracks_as_geojson_in_either_frame(
    app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    with session_factory() as session, session.begin():
        catalogue.ensure_elements(session)
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        create_staff(session, username="clerk", roles=(Role.STAFF,))
        demo.seed(DemoCity(session=session, seed=7, scale=1, now=NOW, root_secret=b"k"))
    watch = _login(client, "watch", "en") | {"accept": "application/json"}
    live = client.get("/api/v1/ops/trucks/positions", headers=watch)
    assert live.status_code == 200, live.text
    plates = [f["properties"]["plate"] for f in live.json()["features"]]
    assert plates == sorted(demo.PLATES)
    plate = demo.PLATES[demo.DETOUR]
    wgs = client.get(f"/api/v1/ops/trucks/{plate}/track", headers=watch).json()
    gcj = client.get(f"/api/v1/ops/trucks/{plate}/track?crs=gcj02", headers=watch).json()
    assert wgs["geometry"]["type"] == "LineString"
    assert len(wgs["geometry"]["coordinates"]) == len(wgs["properties"]["times"]) > 20
    (lon, lat), (glon, glat) = wgs["geometry"]["coordinates"][0], gcj["geometry"]["coordinates"][0]
    assert (glon, glat) == pytest.approx(wgs84_to_gcj02(lon, lat), abs=1e-6)
    assert abs(glon - lon) > 0.003  # GCJ-02 is a few hundred metres off in Shanghai
    bad = client.get(f"/api/v1/ops/trucks/{plate}/track?crs=bd09", headers=watch)
    assert bad.status_code == 422
    assert "crs" in bad.text
    clerk = _login(client, "clerk", "en") | {"accept": "application/json"}
    assert client.get("/api/v1/ops/trucks/positions", headers=clerk).status_code == 403
    assert client.get(f"/api/v1/ops/trucks/{plate}/track", headers=clerk).status_code == 403
    assert client.get("/api/v1/ops/trucks/alerts", headers=clerk).status_code == 403
    assert client.post("/api/v1/ops/trucks/alerts/1/read", headers=clerk).status_code == 403
    # The page's own routes for its map: the same shapes, the same refusals.
    page_layer = client.get("/ops/trucks/positions.geojson", headers=watch).json()
    assert page_layer == live.json()
    page_track = client.get(f"/ops/trucks/{plate}/track.geojson", headers=watch).json()
    assert page_track == wgs
    assert client.get("/ops/trucks/positions.geojson", headers=clerk).status_code == 403
    layers = client.get("/ops/trucks/permits.geojson", headers=watch).json()["features"]
    kinds = sorted(f["properties"].get("kind") or f["properties"]["layer"] for f in layers)
    assert kinds == ["construction_site", "disposal_site", "no_go", "permit"]
    assert client.get("/ops/trucks/permits.geojson", headers=clerk).status_code == 403
    assert client.get(f"/ops/trucks/{plate}/track.geojson", headers=clerk).status_code == 403


def test_the_company_reads_the_notices_about_its_trucks_and_no_one_elses(
    app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    from twonets.core import service as core_service
    from twonets.core.ids import make_credit_code
    from twonets.core.seeding import DEMO_PASSWORD

    app.state.clock = lambda: NOW
    with session_factory() as session, session.begin():
        catalogue.ensure_elements(session)
        create_staff(session, username="watch", roles=(Role.OPERATOR,))
        demo.seed(DemoCity(session=session, seed=7, scale=1, now=NOW, root_secret=b"k"))
        other = make_credit_code(kind="1", region_code="310101", organisation_body="PQRT0001")
        core_service.register_enterprise(
            session, credit_code=other, name="别家公司", password=PASSWORD, now=NOW
        )

    def login(username: str, password: str) -> dict[str, str]:
        body = {"username": username, "password": password}
        token = client.post("/api/v1/auth/token", json=body).json()["access_token"]
        return {
            "accept": "text/html",
            "accept-language": "zh-CN",
            "authorization": f"Bearer {token}",
        }

    company = login(demo.COMPANY, DEMO_PASSWORD)
    home = client.get("/", headers=company)
    page = client.get("/trucks/notices", headers=company)

    assert page.status_code == 200, page.text
    assert "车辆违规通知" in page.text
    assert demo.PLATES[demo.DUMPER] in page.text
    assert "条未读的车辆违规通知" in home.text
    unread = page.text.count('data-testid="mark-read"')
    assert unread >= 1
    first = int(page.text.split('action="/trucks/notices/')[1].split("/read")[0])
    marked = client.post(f"/trucks/notices/{first}/read", headers=company, follow_redirects=False)
    assert marked.status_code == 303
    again = client.get("/trucks/notices", headers=company)
    assert again.text.count('data-testid="mark-read"') == unread - 1

    stranger = login(other, PASSWORD)
    assert client.get("/trucks/notices", headers=stranger).status_code == 403
    assert (
        client.post(
            f"/trucks/notices/{first}/read", headers=stranger, follow_redirects=False
        ).status_code
        == 403
    )
    assert "车辆违规通知" not in client.get("/", headers=stranger).text
    assert client.get("/trucks/notices", headers=login("watch", PASSWORD)).status_code == 403
