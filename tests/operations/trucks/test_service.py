"""The registry, position history, violations as cases, and who may do what (403s)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from shapely.geometry import LineString, Point, Polygon, mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_department, create_staff, next_credit_code
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid
from twonets.core.events import Event
from twonets.core.models import DepartmentLevel, Role
from twonets.operations.cases import catalogue
from twonets.operations.cases.models import Case
from twonets.operations.devices.service import LOCATION_TOPIC
from twonets.operations.trucks import service
from twonets.operations.trucks.checks import DEFAULT_RULES, Hours, Permit, Zone, ZoneKind
from twonets.operations.trucks.consumer import PositionConsumer
from twonets.operations.trucks.geometry import LocalFrame
from twonets.operations.trucks.models import TruckPosition, TruckViolation

PLATE = "沪D12345"
PHONE = "13912345678"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
WEST, EAST, LAT = 121.540, 121.580, 31.220  # Pudong (310115)
FRAME = LocalFrame(121.56, LAT)


def _box(lon: float, lat: float, half_m: float) -> Polygon:
    return FRAME.to_degrees(FRAME.to_metres(Polygon([(lon, lat)] * 3)).buffer(half_m, cap_style=3))


def _site(name: str, kind: ZoneKind, lon: float) -> Zone:
    frame = LocalFrame(lon, LAT)
    return Zone(name, kind, frame.to_degrees(frame.to_metres(Point(lon, LAT)).buffer(150)))


@dataclass(frozen=True)
class World:
    city_operator: Principal
    pudong_operator: Principal
    pudong_inspector: Principal
    huangpu_inspector: Principal
    other_region_operator: Principal
    clerk: Principal
    pudong_department: str


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    with unit_of_work(session_factory) as session:
        catalogue.ensure_elements(session)
        centre = create_department(session, code="tr.ops", function="operations")
        pudong = create_department(
            session,
            code="tr.310115.urban",
            function="urban-management",
            level=DepartmentLevel.DISTRICT,
            district_code="310115",
        )
        huangpu = create_department(
            session,
            code="tr.310101.urban",
            function="urban-management",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        jiangsu = core_service.create_department(
            session,
            code="tr.js.ops",
            name="江苏运营",
            name_en="Jiangsu operations",
            function="operations",
            level=DepartmentLevel.CITY,
            region_code="JS",
        )
        people = [
            create_staff(session, roles=(Role.OPERATOR,), department=centre),
            create_staff(session, roles=(Role.OPERATOR,), department=pudong),
            create_staff(session, roles=(Role.FIELD,), department=pudong),
            create_staff(session, roles=(Role.FIELD,), department=huangpu),
            create_staff(session, roles=(Role.OPERATOR,), department=jiangsu),
            create_staff(session, roles=(Role.STAFF,), department=centre),
        ]
        principals = [principal_of(a) for a in people]
    return World(*principals, pudong.code)


def _register(session: Session, world: World) -> None:
    caller = world.city_operator
    code = next_credit_code(region="310115")
    service.register_company(
        session, caller, credit_code=code, name="浦东渣土运输有限公司", now=NOW
    )
    service.register_truck(
        session, caller, plate=PLATE, credit_code=code, terminal_phone=PHONE, now=NOW
    )
    service.register_zones(
        session,
        caller,
        [
            _site("site A", ZoneKind.CONSTRUCTION_SITE, WEST),
            _site("disposal B", ZoneKind.DISPOSAL_SITE, EAST),
        ],
        now=NOW,
    )
    permit = Permit(
        PLATE,
        "site A",
        "disposal B",
        LineString([(WEST, LAT), (EAST, LAT)]),
        50.0,
        date(2026, 11, 1),
        date(2026, 12, 31),
        Hours.parse("22:00-05:00"),
    )
    service.register_permits(session, caller, [service.PermitIn(permit)], now=NOW)


def _payload(i: int, *, north_m: float = 0.0, phone: str = PHONE) -> dict[str, object]:
    lon = WEST + (EAST - WEST) * i / 59
    lat = LAT + north_m / FRAME.m_per_deg_lat
    return {
        "terminal": phone,
        "plate": PLATE,
        "wgs84": {"lon": lon, "lat": lat},
        "speed_kmh": 30.0,
        "time": (NIGHT + timedelta(seconds=30 * i)).isoformat(),
    }


def _drive(factory: sessionmaker[Session], *, detour: bool) -> int:
    consumer = PositionConsumer(factory, batch_size=25)
    written = 0
    for i in range(60):
        written += consumer.add(_payload(i, north_m=400.0 if detour and 20 <= i < 30 else 0.0))
    written += consumer.add(_payload(5, phone="13000000000") | {"plate": "沪X00000"})  # unknown
    return written + consumer.flush()


def test_positions_from_location_events_are_kept_in_batches(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    assert _drive(session_factory, detour=False) == 60  # the unknown truck's fix is left out
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TruckPosition)) == 60
    with unit_of_work(session_factory) as session:
        later = NIGHT + timedelta(days=30, minutes=15)
        assert service.purge_positions(session, now=later, retention_days=30) == 30
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TruckPosition)) == 30


def test_a_detour_becomes_one_violation_and_one_case_for_the_district(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    _drive(session_factory, detour=True)
    for _ in range(2):  # checking the same night again opens nothing new
        with unit_of_work(session_factory) as session:
            service.check_positions(
                session,
                since=NIGHT - timedelta(hours=1),
                until=NIGHT + timedelta(hours=1),
                now=NOW,
            )
    with session_factory() as session:
        (violation,) = session.scalars(select(TruckViolation)).all()
        assert violation.kind == "off_route"
        assert violation.district_code == "310115"
        assert violation.department_code == world.pudong_department
        (case,) = session.scalars(select(Case)).all()
        assert case.number == violation.case_number
        assert case.category_code == "E0304"
        assert case.source_kind == "detector"
        assert case.state == "filed"
        assert PLATE in case.description
    # A later check over a window that cuts the episode extends it instead of opening another.
    with unit_of_work(session_factory) as session:
        service.check_positions(
            session,
            since=NIGHT + timedelta(minutes=12),
            until=NIGHT + timedelta(hours=1),
            now=NOW,
        )
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TruckViolation)) == 1
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_trip_on_its_permit_raises_nothing(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    _drive(session_factory, detour=False)
    with unit_of_work(session_factory) as session:
        found = service.check_positions(
            session, since=NIGHT - timedelta(hours=1), until=NIGHT + timedelta(hours=1), now=NOW
        )
    assert found == []


def test_tracks_are_shown_by_district(session_factory: sessionmaker[Session], world: World) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    _drive(session_factory, detour=False)
    span = {"since": NIGHT, "until": NIGHT + timedelta(hours=1)}
    with session_factory() as session:
        assert len(service.track(session, world.city_operator, PLATE, **span)) == 60
        assert len(service.track(session, world.pudong_inspector, PLATE, **span)) == 60
        # Huangpu's inspectors see none of a track that stays in Pudong.
        assert service.track(session, world.huangpu_inspector, PLATE, **span) == []


@pytest.mark.parametrize("who", ["other_region_operator", "clerk"])
def test_tracks_are_refused_outside_the_citys_supervision(
    session_factory: sessionmaker[Session], world: World, who: str
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    with session_factory() as session, pytest.raises(Forbidden):
        service.track(session, getattr(world, who), PLATE, since=NIGHT, until=NOW)


@pytest.mark.parametrize(
    "who", ["pudong_operator", "pudong_inspector", "other_region_operator", "clerk"]
)
def test_only_the_citys_operators_register_companies_trucks_and_permits(
    session_factory: sessionmaker[Session], world: World, who: str
) -> None:
    caller = getattr(world, who)
    with session_factory() as session:
        with pytest.raises(Forbidden):
            service.register_company(
                session, caller, credit_code=next_credit_code(), name="某公司", now=NOW
            )
        with pytest.raises(Forbidden):
            service.register_truck(
                session,
                caller,
                plate="沪D00001",
                credit_code=next_credit_code(),
                terminal_phone=None,
                now=NOW,
            )
        with pytest.raises(Forbidden):
            service.register_permits(session, caller, [], now=NOW)


def test_a_district_registers_zones_of_its_own_district_only(
    session_factory: sessionmaker[Session], world: World
) -> None:
    pudong_school = Zone(
        "school", ZoneKind.NO_GO, _box(121.56, LAT, 100), Hours.parse("07:00-17:00")
    )
    huangpu_square = Zone("square", ZoneKind.NO_GO, _box(121.4737, 31.2304, 100))
    with session_factory() as session:
        (row,) = service.register_zones(session, world.pudong_operator, [pudong_school], now=NOW)
        assert (row.district_code, row.hours) == ("310115", "07:00-17:00")
        with pytest.raises(Forbidden):
            service.register_zones(session, world.pudong_operator, [huangpu_square], now=NOW)
        with pytest.raises(Forbidden):
            service.register_zones(session, world.pudong_inspector, [huangpu_square], now=NOW)


def test_a_permit_must_name_registered_sites(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    permit = Permit(
        PLATE,
        "site A",
        "nowhere",
        LineString([(WEST, LAT), (EAST, LAT)]),
        50.0,
        date(2026, 11, 1),
        date(2026, 12, 31),
        Hours.parse("22:00-05:00"),
    )
    with (
        session_factory() as session,
        pytest.raises(Invalid, match="'nowhere' is not a registered site"),
    ):
        service.register_permits(session, world.city_operator, [service.PermitIn(permit)], now=NOW)


def test_the_app_keeps_positions_published_on_its_bus(
    app: FastAPI, session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    for i in range(3):
        event = Event(f"e{i}", LOCATION_TOPIC, _payload(i), NIGHT)
        asyncio.run(app.state.bus.publish(event))
    assert app.state.truck_positions.flush() == 3
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TruckPosition)) == 3


def test_the_registry_is_imported_from_files(
    session_factory: sessionmaker[Session], world: World, tmp_path: Path
) -> None:
    code = next_credit_code(region="310115")
    trucks = tmp_path / "trucks.csv"
    trucks.write_text(
        "credit_code,company,plate,terminal_phone\n"
        f"{code},浦东渣土运输有限公司,沪D11111,13900000001\n"
        f"{code},浦东渣土运输有限公司,沪D22222,13900000002\n"
    )
    zones = tmp_path / "zones.geojson"
    zones.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": mapping(z.polygon),
                        "properties": {"name": z.name, "kind": z.kind.value},
                    }
                    for z in (
                        _site("site A", ZoneKind.CONSTRUCTION_SITE, WEST),
                        _site("disposal B", ZoneKind.DISPOSAL_SITE, EAST),
                    )
                ],
            }
        )
    )
    permits = tmp_path / "permits.geojson"
    route = {"type": "LineString", "coordinates": [[WEST, LAT], [EAST, LAT]]}
    fleet = {
        "company": code,
        "origin": "site A",
        "destination": "disposal B",
        "corridor_m": 60,
        "valid_from": "2026-11-01",
        "valid_to": "2026-12-31",
        "hours": "22:00-05:00",
        "number": "PD-2026-0001",
    }
    permits.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "geometry": route, "properties": fleet}],
            }
        )
    )
    with unit_of_work(session_factory) as session:
        caller = world.city_operator
        assert len(service.import_trucks_file(session, caller, trucks, now=NOW)) == 2
        assert len(service.import_zones_file(session, caller, zones, now=NOW)) == 2
        (row,) = service.import_permits_file(session, caller, permits, now=NOW)
        assert (row.number, row.truck_id) == ("PD-2026-0001", None)  # the whole fleet's
    with session_factory() as session:
        scene = service.scene(
            session,
            first_day=date(2026, 11, 30),
            last_day=date(2026, 11, 30),
            rules=DEFAULT_RULES,
        )
        assert sorted(p.plate for p in scene.permits) == ["沪D11111", "沪D22222"]
    # A bad row is named with its file and row number.
    again = tmp_path / "again.csv"
    again.write_text(
        "credit_code,company,plate,terminal_phone\n"
        f"{code},浦东渣土运输有限公司,沪D33333,13900000003\n"
        f"{code},浦东渣土运输有限公司,沪D11111,13900000009\n"
    )
    with session_factory() as session, pytest.raises(Invalid) as caught:
        service.import_trucks_file(session, world.city_operator, again, now=NOW)
    assert f"{again}: row 3: truck 沪D11111 already holds" in caught.value.detail


def test_the_overview_shows_violations_by_district_and_scores_companies(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    _drive(session_factory, detour=True)
    with unit_of_work(session_factory) as session:
        service.check_positions(session, since=NIGHT, until=NOW, now=NOW)
    with session_factory() as session:
        seen = service.overview(session, world.city_operator, now=NOW)
        assert [(v.plate, v.kind, v.district_code) for v in seen.violations] == [
            (PLATE, "off_route", "310115")
        ]
        (company,) = seen.companies
        assert (company.trucks, company.violations, company.by_kind) == (1, 1, {"off_route": 1})
        assert (seen.trucks, seen.permits) == (1, 1)
        assert service.overview(session, world.pudong_inspector, now=NOW).violations != []
        huangpu = service.overview(session, world.huangpu_inspector, now=NOW)
        assert (huangpu.district, huangpu.violations) == ("310101", [])
        for who in (world.clerk, world.other_region_operator):
            with pytest.raises(Forbidden):
                service.overview(session, who, now=NOW)


def test_a_camera_sighting_is_matched_to_the_truck_that_was_there(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    _drive(session_factory, detour=False)
    fix = _payload(30)
    wgs84 = fix["wgs84"]
    assert isinstance(wgs84, dict)
    at = NIGHT + timedelta(seconds=30 * 30 + 12)
    with session_factory() as session:
        found = service.match_sighting(session, lon=wgs84["lon"], lat=wgs84["lat"] + 0.0002, at=at)
        assert found is not None
        assert (found.plate, found.time) == (PLATE, NIGHT + timedelta(seconds=900))
        assert 20 < found.distance_m < 25
        # Nobody there: a kilometre away, or an hour later.
        away = wgs84["lat"] + 0.01
        assert service.match_sighting(session, lon=wgs84["lon"], lat=away, at=at) is None
        later = at + timedelta(hours=1)
        assert service.match_sighting(session, lon=wgs84["lon"], lat=wgs84["lat"], at=later) is None
