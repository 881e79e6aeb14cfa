"""The checks on a track, pure: hours, hysteresis, each kind of violation, stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from shapely.geometry import LineString, Polygon

from twonets.operations.trucks.checks import (
    Fix,
    Hours,
    Kind,
    Permit,
    Rules,
    Scene,
    Zone,
    ZoneKind,
    runs,
)
from twonets.operations.trucks.geometry import LocalFrame

PLATE = "沪D12345"
# 23:00 on Monday 30 November 2026 in Shanghai.
NIGHT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
# A road running east in Pudong (WGS-84), from a construction site to a disposal site.
WEST, EAST, LAT = 121.540, 121.580, 31.220
ROUTE = LineString([(WEST, LAT), (EAST, LAT)])
M_LAT = LocalFrame(121.56, LAT).m_per_deg_lat
M_LON = LocalFrame(121.56, LAT).m_per_deg_lon


def _box(lon: float, lat: float, half_m: float) -> Polygon:
    dx, dy = half_m / M_LON, half_m / M_LAT
    return Polygon(
        [(lon - dx, lat - dy), (lon + dx, lat - dy), (lon + dx, lat + dy), (lon - dx, lat + dy)]
    )


SITE = Zone("site A", ZoneKind.CONSTRUCTION_SITE, _box(WEST, LAT, 150))
DUMP = Zone("disposal B", ZoneKind.DISPOSAL_SITE, _box(EAST, LAT, 150))
SCHOOL = Zone(
    "school", ZoneKind.NO_GO, _box(121.560, LAT + 600 / M_LAT, 150), Hours.parse("07:00-17:00")
)
PERMIT = Permit(
    PLATE,
    "site A",
    "disposal B",
    ROUTE,
    50.0,
    date(2026, 11, 1),
    date(2026, 12, 31),
    Hours.parse("22:00-05:00"),
)


def _drive(
    lons: list[float],
    *,
    north_m: list[float] | None = None,
    start: datetime = NIGHT,
    step_s: int = 30,
    speed: float = 30.0,
    plate: str = PLATE,
) -> list[Fix]:
    north = north_m or [0.0] * len(lons)
    return [
        Fix(plate, start + timedelta(seconds=step_s * i), lon, LAT + n / M_LAT, speed)
        for i, (lon, n) in enumerate(zip(lons, north, strict=True))
    ]


def _along(n: int) -> list[float]:
    return [WEST + (EAST - WEST) * i / (n - 1) for i in range(n)]


def _kinds(fixes: list[Fix], scene: Scene | None = None) -> list[Kind]:
    return [e.kind for e in (scene or Scene([PERMIT], [SITE, DUMP, SCHOOL])).check(fixes)]


def test_hours_may_cross_midnight() -> None:
    night = Hours.parse("22:00-05:00")
    assert night.allows(time(23, 30))
    assert night.allows(time(4, 59))
    assert not night.allows(time(5, 0))
    assert not night.allows(time(12, 0))
    day = Hours.parse("00:00-24:00")
    assert day.allows(time(0, 0))
    assert day.allows(time(23, 59))
    assert str(night) == "22:00-05:00"
    assert str(day) == "00:00-24:00"
    for bad in ("22:00", "25:00-01:00", "ten-eleven", "05:00-05:00"):
        with pytest.raises(ValueError, match="hours"):
            Hours.parse(bad)


def test_runs_need_enough_fixes_and_time_and_bridge_short_gaps() -> None:
    t = [NIGHT + timedelta(seconds=30 * i) for i in range(12)]
    assert runs([False, True, False] + [False] * 9, t, min_fixes=3, min_seconds=60) == []
    marks = [False, True, True, True, False, True, True, False, False, False, False, False]
    # One unmarked fix inside is noise: one episode from 1 to 6.
    assert runs(marks, t, min_fixes=3, min_seconds=60) == [(1, 6)]


def test_a_trip_along_its_permit_raises_nothing() -> None:
    assert _kinds(_drive(_along(60))) == []


def test_one_noisy_fix_off_the_corridor_is_not_a_violation() -> None:
    north = [0.0] * 60
    north[30] = 400.0  # one wild fix
    north[40] = north[41] = 120.0  # two fixes off: still under three
    assert _kinds(_drive(_along(60), north_m=north)) == []


def test_a_detour_is_one_off_route_episode() -> None:
    north = [0.0] * 60
    for i in range(20, 30):
        north[i] = 300.0 if i % 3 else 30.0  # wavering at the edge stays one episode
    episodes = Scene([PERMIT], [SITE, DUMP]).check(_drive(_along(60), north_m=north))
    (episode,) = episodes
    assert episode.kind is Kind.OFF_ROUTE
    assert episode.start == NIGHT + timedelta(seconds=30 * 20)
    assert episode.end == NIGHT + timedelta(seconds=30 * 29)
    assert episode.evidence["permits"] == ["site A->disposal B"]


def test_driving_in_the_afternoon_is_out_of_hours() -> None:
    afternoon = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    assert _kinds(_drive(_along(20), start=afternoon)) == [Kind.OUT_OF_HOURS]


def test_a_truck_without_a_valid_permit() -> None:
    later = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)  # after valid_to
    assert _kinds(_drive(_along(20), start=later)) == [Kind.NO_PERMIT]
    assert _kinds(_drive(_along(20), plate="沪D99999")) == [Kind.NO_PERMIT]


def test_speeding() -> None:
    fixes = _drive(_along(30))
    fixes[10:15] = [Fix(f.plate, f.time, f.lon, f.lat, 85.0) for f in fixes[10:15]]
    episodes = Scene([PERMIT], [SITE, DUMP]).check(fixes)
    assert [e.kind for e in episodes] == [Kind.SPEEDING]
    assert episodes[0].evidence["max_speed_kmh"] == 85.0


def test_a_no_go_zone_counts_only_in_its_hours() -> None:
    school_lat_m = 600.0
    lons = [121.558 + 0.0002 * i for i in range(20)]
    crossing = _drive(lons, north_m=[school_lat_m] * 20, speed=20.0)
    rules = Rules(min_fixes=3)
    wide = Permit(
        PLATE,
        "site A",
        "disposal B",
        ROUTE,
        1000.0,
        date(2026, 11, 1),
        date(2026, 12, 31),
        Hours.parse("00:00-24:00"),
    )
    scene = Scene([wide], [SITE, DUMP, SCHOOL], rules)
    assert _kinds(crossing, scene) == []  # 23:00: the school zone's hours are over
    morning = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    episodes = scene.check(_drive(lons, north_m=[school_lat_m] * 20, start=morning))
    assert [(e.kind, e.evidence["zone"]) for e in episodes] == [(Kind.NO_GO_ZONE, "school")]


def test_a_long_stop_outside_the_sites_is_suspected_dumping() -> None:
    lons = _along(40)
    parked = lons[:20] + [lons[19]] * 15 + lons[20:]  # 7.5 minutes halfway
    speeds = [30.0] * 20 + [0.0] * 15 + [30.0] * 20
    fixes = [
        Fix(PLATE, NIGHT + timedelta(seconds=30 * i), lon, LAT + (i % 2) * 3 / M_LAT, s)
        for i, (lon, s) in enumerate(zip(parked, speeds, strict=True))
    ]
    episodes = Scene([PERMIT], [SITE, DUMP]).check(fixes)
    (episode,) = episodes
    assert episode.kind is Kind.SUSPECTED_DUMPING
    assert episode.evidence["minutes"] >= 7.0
    assert episode.lon == pytest.approx(lons[19], abs=1e-4)


def test_a_long_stop_inside_a_site_is_loading_not_dumping() -> None:
    fixes = _drive([WEST] * 30, speed=0.0) + _drive(_along(30), start=NIGHT + timedelta(minutes=15))
    assert _kinds(fixes) == []


def test_silence_while_moving() -> None:
    fixes = _drive(_along(30))
    gap = fixes[:10] + [
        Fix(f.plate, f.time + timedelta(minutes=10), f.lon, f.lat, f.speed_kmh) for f in fixes[10:]
    ]
    episodes = Scene([PERMIT], [SITE, DUMP]).check(gap)
    assert [e.kind for e in episodes] == [Kind.SILENT]
    assert episodes[0].evidence["seconds"] == 630


def test_an_episode_as_a_json_line() -> None:
    north = [0.0] * 30
    north[10:20] = [500.0] * 10
    (episode,) = Scene([PERMIT], [SITE, DUMP]).check(_drive(_along(30), north_m=north))
    line = episode.as_json()
    assert set(line) >= {"plate", "kind", "start", "end", "lat", "lon", "evidence"}
    assert line["kind"] == "off_route"
    assert line["start"].endswith("+00:00")


def test_the_local_frame_measures_metres() -> None:
    frame = LocalFrame(121.5, 31.2)
    # 0.01° of latitude is about 1109 m; of longitude at 31.2° about 952 m.
    assert frame.m_per_deg_lat * 0.01 == pytest.approx(1109, abs=2)
    assert frame.m_per_deg_lon * 0.01 == pytest.approx(953, abs=2)
    box = frame.to_degrees(frame.to_metres(_box(121.5, 31.2, 100)))
    assert box.equals_exact(_box(121.5, 31.2, 100), 1e-9)
