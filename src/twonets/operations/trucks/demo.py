"""Muck trucks in the demo city: a Pudong fleet with permits and its last three nights.

One transport enterprise of Pudong with six trucks, a construction site near Zhangjiang, a
disposal yard to the south-east, a night permit for the whole fleet along a route between
them (a polyline through three points: real road geometry is not part of the repository),
and a school as a no-go zone by day. On each of the last ``NIGHTS`` nights each truck drove
the route once, a fix every 30 seconds with a few metres of GPS noise. Planted violations:
truck 2 takes a detour 400 m off the corridor every night (on the third it is a repeat
offender, and its alert is escalated to the city's inspectors); last night truck 4 stops ten
minutes on the way (suspected dumping) and truck 6 leaves after the permit's hours. Since
its last trip each truck stands at the yard, its terminal reporting every half hour, so the
map shows the whole fleet at whatever hour the demo is seeded.

The positions arrive as device intake's location events would, in time order across the
fleet, and take the position consumer's path: ``positions_from_events``, ``record_positions``
and the live checks (``check_arrivals``), so each violation is found, alerted and opened as a
case as it happens. A patrol drone and a road camera report two sightings last night,
matched to the trucks there. The sweep over the nights then finds nothing new.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.ids import make_credit_code
from twonets.core.seeding import DEMO_PASSWORD, DemoCity
from twonets.operations.trucks import service
from twonets.operations.trucks.checks import Hours, Permit, Zone, ZoneKind
from twonets.operations.trucks.geometry import LocalFrame
from twonets.operations.trucks.models import Truck, TruckPosition

SHANGHAI_OFFSET = timedelta(hours=8)
COMPANY = make_credit_code(kind="1", region_code="310115", organisation_body="MUCK6201")
PLATES = tuple(f"沪D6{n:04d}" for n in range(1, 7))
# WGS-84 points in Pudong: site, bend, yard.
SITE, BEND, YARD = (121.590, 31.205), (121.620, 31.190), (121.650, 31.150)
SCHOOL = (121.612, 31.2005)  # about 600 m off the route's first leg
FRAME = LocalFrame(121.62, 31.18)
STEP = timedelta(seconds=30)
SPEED_MS = 10.0  # 36 km/h
DETOUR, DUMPER, LATE = 1, 3, 5  # trucks 2, 4 and 6
NIGHTS = 3
BATCH = 50  # positions per consumer batch
PARKED_EVERY = timedelta(minutes=30)


def _circle(lonlat: tuple[float, float], radius_m: float) -> Polygon:
    polygon = FRAME.to_degrees(FRAME.to_metres(Point(lonlat)).buffer(radius_m))
    assert isinstance(polygon, Polygon)
    return polygon


def last_night(now: datetime) -> datetime:
    """22:30 in Shanghai of the latest night whose trips (the last leaves 05:30) are over."""
    local = now + SHANGHAI_OFFSET
    day = local.date() - timedelta(days=1 if local.time() >= time(7) else 2)
    return datetime.combine(day, time(22, 30), tzinfo=UTC) - SHANGHAI_OFFSET


def _trip(
    route: LineString,
    start: datetime,
    *,
    truck: int,
    rng_noise: np.random.Generator,
    last: bool = True,
) -> list[dict[str, object]]:
    metres = FRAME.to_metres(route)
    steps = int(metres.length / (SPEED_MS * STEP.total_seconds()))
    rows: list[dict[str, object]] = []
    moment = start
    for k in range(steps + 1):
        point = metres.interpolate(k * SPEED_MS * STEP.total_seconds())
        x, y = point.x + rng_noise.normal(0, 6), point.y + rng_noise.normal(0, 6)
        if truck == DETOUR and steps * 0.4 < k < steps * 0.6:
            y += 400.0
        speed = 0.0 if k in (0, steps) else 36.0  # standing at the site and at the yard
        if truck == DUMPER and last and k == steps // 2:
            for _ in range(20):  # ten minutes standing, outside any site
                lon, lat = FRAME.lonlat(np.array([x]), np.array([y]))
                rows.append(_row(lon[0], lat[0], moment, 0.0))
                moment += STEP
        lon, lat = FRAME.lonlat(np.array([x]), np.array([y]))
        rows.append(_row(lon[0], lat[0], moment, speed))
        moment += STEP
    return rows


def _row(lon: float, lat: float, moment: datetime, speed: float) -> dict[str, object]:
    return {
        "lon": round(float(lon), 6),
        "lat": round(float(lat), 6),
        "time": moment,
        "speed_kmh": speed,
    }


def seed(city: DemoCity) -> None:
    """Register the Pudong fleet, its sites, permit and no-go zone; drive last night; check."""
    session = city.session
    operator = city.operator()
    registered = city.now - timedelta(days=60)
    service.register_company(
        session,
        operator,
        credit_code=COMPANY,
        name="上海浦东示范渣土运输有限公司",
        now=registered,
    )
    # The company's own login: it reads the notices about its trucks (/trucks/notices).
    core_service.register_enterprise(
        session,
        credit_code=COMPANY,
        name="上海浦东示范渣土运输有限公司",
        password=DEMO_PASSWORD,
        phone="13916200001",
        district_code="310115",
        industry="道路货物运输",
        now=registered,
    )
    city.add_account(COMPANY, "muck-truck company (notices about its trucks)")
    trucks = [
        service.register_truck(
            session,
            operator,
            plate=plate,
            credit_code=COMPANY,
            terminal_phone=f"146200000{n:02d}",
            now=registered,
        )
        for n, plate in enumerate(PLATES, 1)
    ]
    service.register_zones(
        session,
        operator,
        [
            Zone("张江示范工地", ZoneKind.CONSTRUCTION_SITE, _circle(SITE, 200)),
            Zone("浦东示范消纳场", ZoneKind.DISPOSAL_SITE, _circle(YARD, 250)),
            Zone("示范小学", ZoneKind.NO_GO, _circle(SCHOOL, 150), Hours.parse("07:00-17:00")),
        ],
        now=registered,
    )
    route = LineString([SITE, BEND, YARD])
    night = last_night(city.now)
    today = (city.now + SHANGHAI_OFFSET).date()
    permit = Permit(
        "",
        "张江示范工地",
        "浦东示范消纳场",
        route,
        60.0,
        today - timedelta(days=30),
        today + timedelta(days=60),
        Hours.parse("22:00-05:00"),
    )
    service.register_permits(
        session,
        operator,
        [service.PermitIn(permit, company=COMPANY, number="PD-DEMO-0001")],
        now=registered,
    )
    noise = np.random.default_rng(city.rng("62-trucks").randrange(2**32))
    live = service.LiveSupervision()
    ended: dict[str, dict[str, object]] = {}  # each truck's last fix of its last trip
    for back in range(NIGHTS - 1, -1, -1):
        evening = night - timedelta(days=back)
        payloads = []
        for i, truck in enumerate(trucks):
            start = evening + timedelta(minutes=25 * i)
            if i == LATE and back == 0:
                start = evening + timedelta(hours=7)  # 05:30: after the permit's hours
            for row in _trip(route, start, truck=i, rng_noise=noise, last=back == 0):
                payloads.append(_event(truck.terminal_phone or "", truck.plate, row))
            ended[truck.plate] = row
        _arrive(session, live, payloads)
    _parked(session, live, trucks, ended, city.now)
    service.check_positions(
        session,
        since=night - timedelta(days=NIGHTS, hours=1),
        until=night + timedelta(hours=9),
        now=city.now,
    )
    _sightings(city, night)


def _parked(
    session: Session,
    live: service.LiveSupervision,
    trucks: list[Truck],
    ended: dict[str, dict[str, object]],
    now: datetime,
) -> None:
    """Since its last trip (``ended``: its last fix) each truck stands where it ended, its
    terminal reporting every ``PARKED_EVERY`` (as terminals do with the engine off), so every
    truck has a recent position on the map at any hour the demo is seeded."""
    payloads = []
    for truck in trucks:
        last = ended[truck.plate]
        moment = last["time"]
        assert isinstance(moment, datetime)
        moment += PARKED_EVERY
        while moment <= now:
            row = {**last, "time": moment, "speed_kmh": 0.0}
            payloads.append(_event(truck.terminal_phone or "", truck.plate, row))
            moment += PARKED_EVERY
    _arrive(session, live, payloads)


def _arrive(
    session: Session, live: service.LiveSupervision, payloads: list[dict[str, object]]
) -> None:
    """The positions through the consumer's path, in time order across the fleet, in batches."""
    payloads.sort(key=lambda p: str(p["time"]))
    for k in range(0, len(payloads), BATCH):
        batch = payloads[k : k + BATCH]
        rows = service.positions_from_events(session, batch)
        service.record_positions(session, rows)
        arrived = datetime.fromisoformat(str(batch[-1]["time"]))
        service.check_arrivals(session, live, rows, now=arrived)


def _event(phone: str, plate: str, row: dict[str, object]) -> dict[str, object]:
    """A position as device intake's location event carries it."""
    moment = row["time"]
    assert isinstance(moment, datetime)
    return {
        "terminal": phone,
        "plate": plate,
        "wgs84": {"lon": row["lon"], "lat": row["lat"]},
        "speed_kmh": row["speed_kmh"],
        "time": moment.isoformat(),
    }


def _sightings(city: DemoCity, night: datetime) -> None:
    """A drone over truck 4's stop and a camera on truck 1's way out, last night."""
    session = city.session
    events = []
    for i, (source, device, kind, minutes) in enumerate(
        (
            ("drone", "UAV-PD-01", "spilled_material", 25 * DUMPER + 10),
            ("camera", "CAM-PD-17", "uncovered_load", 4),
        )
    ):
        at = night + timedelta(minutes=minutes)
        fix = session.execute(
            select(TruckPosition.lon, TruckPosition.lat, TruckPosition.time)
            .join(Truck, Truck.id == TruckPosition.truck_id)
            .where(Truck.plate == PLATES[DUMPER if i == 0 else 0], TruckPosition.time <= at)
            .order_by(TruckPosition.time.desc())
            .limit(1)
        ).first()
        if fix is None:
            continue
        lon, lat, when = fix
        events.append(
            service.SightingIn(
                source=source,
                device=device,
                event_id=f"{device}-{when:%Y%m%d%H%M}",
                kind=kind,
                time=when + timedelta(seconds=10),
                lon=lon + 0.0002,
                lat=lat,
                image_ref=f"patrol://{device}/{when:%Y%m%d}/{when:%H%M%S}.jpg",
            )
        )
    service.record_sightings(session, events, now=city.now)
