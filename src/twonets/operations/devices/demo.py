"""Devices in the demo city: muck-truck terminals and a few hours of their tracks.

Each truck's terminal is enrolled by the operations operator (plate, phone number, the
transport enterprise's credit code), registers and authenticates through the same use cases
as the gateway's, and drives from a point in its district at urban speeds, turning back at
the city's edge; its positions go through the gateway's use case too (one
``ops.device.location`` event each, and its last position for the map). A few trucks report
overspeed, one rolls over (its alarm opens a case in the operations centre), a few stopped
reporting an hour or more ago. The codes the trucks were given are not kept: a real terminal
would hold its own.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import select

from twonets.core import auth
from twonets.core.auth import Principal
from twonets.core.geo import locate_district, random_point_in_district
from twonets.core.ids import make_credit_code
from twonets.core.models import Account, AccountKind, Role
from twonets.core.places import DISTRICTS
from twonets.core.seeding import DemoCity
from twonets.operations.devices import enrolment, jt808, service

TRUCKS_PER_SCALE = 40
TRACK_HOURS = 3
STEP_MINUTES = 2
# Muck trucks work mostly in the outer districts, where the building sites are.
_DISTRICT_WEIGHTS = {d.code: (1 if d.kind == "central" else 3) for d in DISTRICTS}
_METRES_PER_DEGREE_LAT = 111_320.0
_OVERSPEED_KMH = 60.0
ROLLED_OVER_TRUCK = 7
DEMO_CODE_TTL = timedelta(days=30)
# The transport enterprises holding the trucks (synthetic credit codes, registered in Minhang,
# Baoshan, Jiading and Pudong): truck i belongs to company i % 4.
FLEETS = tuple(
    make_credit_code(kind="1", region_code=region, organisation_body=f"MUCK{n:04d}")
    for n, region in enumerate(("310112", "310113", "310114", "310115"), 1)
)


def _operator(city: DemoCity) -> Principal:
    """The demo's operations operator, who enrols the trucks."""
    account = city.session.scalar(
        select(Account).where(Account.username == "operator")  # governance: a demo staff login
    )
    if account is not None:
        return auth.principal_of(account)
    # A trimmed demo (only this step): the enrolment still names who did it.
    return Principal(0, "operator", "城运值班员", AccountKind.STAFF, frozenset({Role.OPERATOR}))


def seed(city: DemoCity) -> None:
    """Enrol the muck-truck terminals, register them, and record their tracks."""
    rng = city.rng("60-devices")
    operator = _operator(city)
    codes = list(_DISTRICT_WEIGHTS)
    weights = list(_DISTRICT_WEIGHTS.values())
    steps = TRACK_HOURS * 60 // STEP_MINUTES
    start = city.now - timedelta(hours=TRACK_HOURS)
    positions: list[service.Position] = []
    count = TRUCKS_PER_SCALE * city.scale
    plates: set[str] = set()
    for i in city.track(range(count), "muck-truck tracks", total=count):
        district = rng.choices(codes, weights)[0]
        phone, plate = f"1440{i:07d}", f"沪D{rng.randrange(10_000, 100_000)}"
        while plate in plates:  # one terminal per vehicle
            plate = f"沪D{rng.randrange(10_000, 100_000)}"
        plates.add(plate)
        version = 1 if i % 3 == 0 else None
        enrolled_at = start - timedelta(days=rng.randint(30, 400))
        enrolment.enrol_terminal(
            city.session,
            operator,
            phone=phone,
            plate=plate,
            credit_code=FLEETS[i % len(FLEETS)],
            now=enrolled_at,
        )
        registration = jt808.Registration(31, 0, "SHMUC", "ZTE-808", f"MT{i:05d}", 2, plate)
        _, code = enrolment.register_terminal(
            city.session,
            phone=phone,
            protocol_version=version,
            registration=registration,
            now=start,
            code_ttl=DEMO_CODE_TTL,
        )
        ref = enrolment.authenticate_terminal(
            city.session, phone=phone, auth_code=code or "", now=start
        )
        assert ref is not None, "an enrolled truck authenticates with its code"
        lon, lat = random_point_in_district(district, rng)
        heading = rng.uniform(0, 360)
        # One in ten trucks went quiet (parked, terminal off) an hour or two ago.
        last_step = steps - (rng.randint(30, 60) if rng.random() < 0.1 else 0)
        speeder = rng.random() < 0.1
        # One truck rolls over at the end of its track: its terminal's alarm opens a case.
        rolled = i == ROLLED_OVER_TRUCK
        for step in range(last_step + 1):
            stopped = rng.random() < 0.2
            speed = 0.0 if stopped else rng.uniform(15, 45)
            if speeder and step == last_step:
                speed = rng.uniform(_OVERSPEED_KMH + 5, _OVERSPEED_KMH + 25)
            heading = (heading + rng.gauss(0, 25)) % 360
            metres = speed * 1000 * STEP_MINUTES / 60
            d_lat = metres * math.cos(math.radians(heading)) / _METRES_PER_DEGREE_LAT
            d_lon = (
                metres
                * math.sin(math.radians(heading))
                / (_METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
            )
            if locate_district(lon + d_lon, lat + d_lat) is None:
                heading = (heading + 180) % 360  # the edge of the city: turn back
            else:
                lon, lat = lon + d_lon, lat + d_lat
            alarm = 1 << 1 if speed > _OVERSPEED_KMH else 0
            if rolled and step == last_step:
                speed, alarm = 0.0, 1 << 30
            positions.append(
                service.Position(
                    terminal=ref,
                    lon=round(lon, 6),
                    lat=round(lat, 6),
                    speed_kmh=round(speed, 1),
                    heading=round(heading) % 360,
                    altitude_m=rng.randint(2, 12),
                    time=start + timedelta(minutes=step * STEP_MINUTES),
                    alarm_flags=alarm,
                    status_flags=0b11 if speed else 0b10,
                    satellites=rng.randint(6, 18),
                )
            )
    service.record_positions(city.session, positions, now=city.now)
