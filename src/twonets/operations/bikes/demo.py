"""Shared bikes in the demo city: two weeks of trips around metro exits, and parked bikes.

Three operators' bikes ride between residential compounds and the exits of sixteen metro
stations (their coordinates are WGS-84 approximations of the real stations): to the exits in
the morning peak, home in the evening peak, and leisure rides between nearby places by day
(more of them at weekends, fewer commuters). The trips cover the 14 whole local days before
today and today up to the current hour; parked-bike snapshots are taken each hour of the
last day (each bike where its latest trip ended). The register of zones holds every
station's exit (its racks' capacity) and two no-parking areas; the check over the last
hours opens the over-supply cases of the morning's piles.

``trips_of`` and ``snapshots_of`` are pure: the tests recount the demo city from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from twonets.core.seeding import DemoCity
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.operations.bikes import service
from twonets.operations.bikes.trips import CITY_TIMEZONE

STEP = "63-bikes"
RESOLUTION = 8
DAYS = 14
TRIPS_PER_DAY = 1_600  # at scale 1, a working day
OPERATORS = (("hello", 0.45, 900), ("meituan", 0.35, 700), ("qingju", 0.20, 400))
SPEED_MS = 3.6  # about 13 km/h


@dataclass(frozen=True)
class Station:
    """A metro station: its name, where its main exit is, how busy it is, and the bikes its
    exit's racks hold."""

    name: str
    lat: float
    lon: float
    weight: float
    racks: int = 60


STATIONS = (
    Station("人民广场", 31.2326, 121.4752, 3.0, racks=38),
    Station("陆家嘴", 31.2381, 121.5027, 2.6),
    Station("静安寺", 31.2231, 121.4456, 2.0, racks=30),
    Station("徐家汇", 31.1946, 121.4372, 2.4),
    Station("中山公园", 31.2196, 121.4178, 1.8),
    Station("南京东路", 31.2379, 121.4844, 2.0),
    Station("上海火车站", 31.2498, 121.4556, 2.2),
    Station("世纪大道", 31.2296, 121.5265, 2.2, racks=40),
    Station("五角场", 31.2988, 121.5142, 1.6),
    Station("虹桥火车站", 31.1946, 121.3207, 1.2),
    Station("张江高科", 31.2019, 121.5907, 1.8),
    Station("漕河泾开发区", 31.1701, 121.3975, 1.5),
    Station("龙阳路", 31.2034, 121.5573, 1.4),
    Station("打浦桥", 31.2059, 121.4686, 1.2),
    Station("曹杨路", 31.2369, 121.4221, 1.0),
    Station("莘庄", 31.1117, 121.3855, 1.3),
)
# Two places where no bike may stand; visitors leave a few there each day anyway.
NO_PARKING = (
    service.ParkingZone("外滩观景平台（禁停）", 31.2400, 121.4905, 0, radius_m=30),
    service.ParkingZone("南京路步行街世纪广场（禁停）", 31.2358, 121.4785, 0, radius_m=30),
)
STRAY_PER_DAY = 3  # rides a day ending in each no-parking area
HOMES_PER_STATION = 10


def zones() -> list[service.ParkingZone]:
    """The register of the demo city: each station's exit and the no-parking areas."""
    exits = [
        service.ParkingZone(f"{s.name}地铁站出口", s.lat, s.lon, s.racks, radius_m=50)
        for s in STATIONS
    ]
    return [*exits, *NO_PARKING]


def _offset(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``low``–``high`` metres from the given ones in random directions."""
    n = len(lat)
    metres = rng.uniform(low, high, n)
    angle = rng.uniform(0, 2 * math.pi, n)
    dlat = metres * np.cos(angle) / 111_320
    dlon = metres * np.sin(angle) / (111_320 * np.cos(np.radians(lat)))
    return np.round(lat + dlat, 6), np.round(lon + dlon, 6)


def _local_midnight(now: datetime) -> pd.Timestamp:
    return pd.Timestamp(now).tz_convert(CITY_TIMEZONE).normalize()


def trips_of(seed: int, now: datetime, *, scale: int = 1) -> pd.DataFrame:
    """The demo city's trips: our trip columns, times aware (UTC), started before ``now``."""
    rng = np.random.default_rng([seed, 63])
    weights = np.array([s.weight for s in STATIONS])
    s_lat = np.array([s.lat for s in STATIONS])
    s_lon = np.array([s.lon for s in STATIONS])
    # Fixed residential compounds around each station, 500 m to 2 km from it.
    h_lat, h_lon = _offset(
        rng,
        np.repeat(s_lat, HOMES_PER_STATION),
        np.repeat(s_lon, HOMES_PER_STATION),
        500,
        2_000,
    )
    today = _local_midnight(now)
    parts = []
    for back in range(DAYS, -1, -1):
        day = today - pd.Timedelta(days=back)
        weekend = day.day_of_week >= 5
        per_day = TRIPS_PER_DAY * scale
        kinds = {
            "morning": int(per_day * (0.12 if weekend else 0.38)),
            "evening": int(per_day * (0.12 if weekend else 0.34)),
            "leisure": int(per_day * (0.55 if weekend else 0.28)),
            "stray": STRAY_PER_DAY * len(NO_PARKING),
        }
        for kind, n in kinds.items():
            station = rng.choice(len(STATIONS), n, p=weights / weights.sum())
            home = station * HOMES_PER_STATION + rng.integers(0, HOMES_PER_STATION, n)
            # Each compound's door and each exit's racks spread over some 100 m.
            a_lat, a_lon = _offset(rng, h_lat[home], h_lon[home], 0, 100)
            b_lat, b_lon = _offset(rng, s_lat[station], s_lon[station], 0, 80)
            if kind == "morning":
                hours = rng.normal(8.0, 0.7, n).clip(6.0, 10.5)
                src, dst = (a_lat, a_lon), (b_lat, b_lon)
            elif kind == "evening":
                hours = rng.normal(18.3, 0.9, n).clip(16.0, 21.5)
                src, dst = (b_lat, b_lon), (a_lat, a_lon)
            elif kind == "stray":
                hours = rng.uniform(9.0, 21.0, n)
                spot = np.arange(n) % len(NO_PARKING)
                src = (b_lat, b_lon)
                dst = _offset(
                    rng,
                    np.array([NO_PARKING[i].lat for i in spot]),
                    np.array([NO_PARKING[i].lon for i in spot]),
                    0,
                    20,
                )
            else:
                hours = rng.uniform(9.0, 22.0, n)
                src = (a_lat, a_lon)
                dst = _offset(rng, h_lat[home], h_lon[home], 300, 1_500)
            distance = np.hypot(
                (dst[0] - src[0]) * 111_320,
                (dst[1] - src[1]) * 111_320 * np.cos(np.radians(src[0])),
            )
            started = day + pd.to_timedelta(np.round(hours * 3600), unit="s")
            ride = pd.to_timedelta(np.round(distance / SPEED_MS + rng.uniform(60, 240, n)), "s")
            parts.append(
                pd.DataFrame(
                    {
                        "started_at": started,
                        "start_lat": src[0],
                        "start_lon": src[1],
                        "ended_at": started + ride,
                        "end_lat": dst[0],
                        "end_lon": dst[1],
                    }
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    frame["started_at"] = frame["started_at"].dt.tz_convert("UTC")
    frame["ended_at"] = frame["ended_at"].dt.tz_convert("UTC")
    frame = frame[frame["ended_at"] <= pd.Timestamp(now)]
    names = [o for o, _, _ in OPERATORS]
    share = np.array([w for _, w, _ in OPERATORS])
    which = rng.choice(len(names), len(frame), p=share / share.sum())
    fleet = np.array([n for _, _, n in OPERATORS]) * scale
    bike = rng.integers(0, fleet[which])
    frame.insert(0, "operator", np.array(names, dtype=object)[which])
    frame.insert(
        0, "bike_id", [f"{names[w][:2].upper()}{b:05d}" for w, b in zip(which, bike, strict=True)]
    )
    frame = frame.sort_values("started_at", kind="stable").reset_index(drop=True)
    return frame[
        [
            "bike_id",
            "operator",
            "started_at",
            "start_lat",
            "start_lon",
            "ended_at",
            "end_lat",
            "end_lon",
        ]
    ]


def snapshots_of(trips: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Each bike seen parked where its latest trip ended, five minutes past each hour of the
    last 24 (those not after ``now``), bikes riding at that moment left out."""
    last = pd.Timestamp(now).floor("h")
    moments = [
        m
        for m in (last - pd.Timedelta(hours=h) + pd.Timedelta(minutes=5) for h in range(24))
        if m <= pd.Timestamp(now)
    ]
    ended = trips.sort_values("ended_at")
    parts = []
    for moment in sorted(moments):
        done = ended[ended["ended_at"] <= moment]
        latest = done.groupby(["operator", "bike_id"], sort=False).tail(1)
        riding = trips[(trips["started_at"] <= moment) & (trips["ended_at"] > moment)]
        busy = set(zip(riding["operator"], riding["bike_id"], strict=True))
        keep = [
            (o, b) not in busy for o, b in zip(latest["operator"], latest["bike_id"], strict=True)
        ]
        parked = latest[keep]
        parts.append(
            pd.DataFrame(
                {
                    "bike_id": parked["bike_id"].to_numpy(),
                    "operator": parked["operator"].to_numpy(),
                    "seen_at": moment,
                    "lat": parked["end_lat"].to_numpy(),
                    "lon": parked["end_lon"].to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def seed(city: DemoCity) -> None:
    """Import the trips and snapshots, register the zones, check the last hours."""
    session, now = city.session, city.now
    operator = city.operator()
    trips = trips_of(city.seed, now, scale=city.scale)
    keyring = Governance(Catalogue(), city.root_secret).keyring(session)
    service.import_trips(session, operator, trips, keyring=keyring, resolution=RESOLUTION, now=now)
    service.import_snapshots(
        session, operator, snapshots_of(trips, now), resolution=RESOLUTION, now=now
    )
    service.register_zones(session, operator, zones(), now=now)
    last = pd.Timestamp(now).floor("h")
    for back in range(23, -1, -1):
        hour = (last - pd.Timedelta(hours=back)).to_pydatetime()
        service.check_zones(session, hour=hour, resolution=RESOLUTION, now=now)
