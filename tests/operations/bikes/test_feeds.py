"""GBFS feeds fetched over real HTTP (a local server serving the files), written as
snapshots, and the zones checked after each round: one case per episode."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.operations.bikes import service
from twonets.operations.bikes.models import BikeFeed, BikeOversupply, BikeSnapshot
from twonets.operations.cases.models import Case

LAT, LON = 31.2304, 121.4737  # People's Square
NOW = datetime(2026, 11, 30, 1, 20, tzinfo=UTC)
Login = Callable[[str], dict[str, str]]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gbfs_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path``; its base URL and the folder."""
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def _write(folder: Path, name: str, document: object) -> None:
    (folder / name).write_text(json.dumps(document), encoding="utf-8")


def _free_bikes(parked: int, moment: datetime) -> dict[str, object]:
    bikes = [
        {"bike_id": f"F{n}", "lat": LAT + n * 1e-5, "lon": LON, "is_reserved": False}
        for n in range(parked)
    ]
    bikes.append({"bike_id": "R1", "lat": LAT, "lon": LON, "is_reserved": True})
    bikes.append({"bike_id": "D1", "lat": LAT, "lon": LON, "is_disabled": True})
    return {"last_updated": int(moment.timestamp()), "ttl": 60, "data": {"bikes": bikes}}


def test_a_round_fetches_each_feed_and_opens_one_case_per_episode(
    session_factory: sessionmaker[Session], ops_world, gbfs_site: tuple[str, Path]
) -> None:
    base, folder = gbfs_site
    discovery = {
        "last_updated": int(NOW.timestamp()),
        "ttl": 60,
        "data": {"en": {"feeds": [{"name": "free_bike_status", "url": f"{base}/fbs.json"}]}},
    }
    _write(folder, "gbfs.json", discovery)
    _write(folder, "fbs.json", _free_bikes(8, NOW))
    _write(
        folder,
        "info.json",
        {
            "last_updated": 1,
            "data": {"stations": [{"station_id": "S1", "lat": 31.30, "lon": 121.50}]},
        },
    )
    _write(
        folder,
        "status.json",
        {
            "last_updated": int(NOW.timestamp()),
            "data": {"stations": [{"station_id": "S1", "num_bikes_available": 3}]},
        },
    )
    _write(
        folder,
        "docked.json",
        {
            "last_updated": 1,
            "data": {
                "zh": {
                    "feeds": [
                        {"name": "station_information", "url": f"{base}/info.json"},
                        {"name": "station_status", "url": f"{base}/status.json"},
                    ]
                }
            },
        },
    )
    with unit_of_work(session_factory) as session:
        service.register_feed(
            session, ops_world.operator, operator="hello", url=f"{base}/gbfs.json", now=NOW
        )
        service.register_feed(
            session, ops_world.operator, operator="dock", url=f"{base}/docked.json", now=NOW
        )
        service.register_feed(
            session, ops_world.operator, operator="gone", url=f"{base}/missing.json", now=NOW
        )
        service.register_zones(
            session,
            ops_world.operator,
            [service.ParkingZone("人民广场地铁站出口", LAT, LON, capacity=5)],
            now=NOW,
        )

    first = service.fetch_round(session_factory, resolution=8, now=NOW)
    assert first.fetched == {f"{base}/gbfs.json": 8, f"{base}/docked.json": 3}
    assert list(first.failed) == [f"{base}/missing.json"]
    assert "404" in first.failed[f"{base}/missing.json"]
    assert [(o.zone.name, o.parked) for o in first.opened] == [("人民广场地铁站出口", 8)]

    # Ten minutes later the pile is still there: the same episode, no new case.
    _write(folder, "fbs.json", _free_bikes(9, NOW + timedelta(minutes=10)))
    second = service.fetch_round(session_factory, resolution=8, now=NOW + timedelta(minutes=10))
    assert second.opened == []
    # Next hour it is cleared: the episode ends; the hour after, a new pile is a new case.
    later = NOW + timedelta(hours=1)
    _write(folder, "fbs.json", _free_bikes(2, later))
    assert service.fetch_round(session_factory, resolution=8, now=later).opened == []
    again = NOW + timedelta(hours=2)
    _write(folder, "fbs.json", _free_bikes(7, again))
    assert len(service.fetch_round(session_factory, resolution=8, now=again).opened) == 1

    with session_factory() as session:
        assert (
            session.scalar(select(func.count()).select_from(BikeSnapshot))
            == 8 + 3 + 9 + 3 + 2 + 3 + 7 + 3
        )
        episodes = session.scalars(select(BikeOversupply).order_by(BikeOversupply.id)).all()
        assert [(e.open, e.parked) for e in episodes] == [(False, 9), (True, 7)]
        cases = session.scalars(select(Case)).all()  # governance: the test reads its own cases
        assert sorted(c.number for c in cases) == sorted(e.case_number for e in episodes)
        gone = session.scalars(select(BikeFeed).where(BikeFeed.operator == "gone")).one()
        assert gone.last_error is not None
        assert gone.fetched_rows is None


def test_feeds_and_zones_are_registered_by_operations_operators_only(
    client: TestClient, login: Login
) -> None:
    feed = {"operator": "hello", "url": "http://127.0.0.1:9/gbfs.json"}
    zone = [{"name": "出口", "lat": LAT, "lon": LON, "capacity": 20}]
    for who in ("staff", "supervisor", "field"):
        headers = login(who)
        assert client.post("/api/v1/ops/bikes/feeds", json=feed, headers=headers).status_code == 403
        assert client.post("/api/v1/ops/bikes/zones", json=zone, headers=headers).status_code == 403
    operator = login("operator")
    assert client.post("/api/v1/ops/bikes/feeds", json=feed, headers=operator).status_code == 201
    bad = client.post(
        "/api/v1/ops/bikes/feeds", json={**feed, "url": "ftp://x/gbfs.json"}, headers=operator
    )
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("url: ")
    assert client.post("/api/v1/ops/bikes/zones", json=zone, headers=operator).status_code == 201
    listed = client.get("/api/v1/ops/bikes/zones", headers=login("supervisor"))
    assert listed.status_code == 200
    assert [(z["name"], z["kind"], z["case_number"]) for z in listed.json()] == [
        ("出口", "metro-exit", None)
    ]
    assert client.get("/api/v1/ops/bikes/zones", headers=login("field")).status_code == 403
