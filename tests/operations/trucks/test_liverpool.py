"""Stop detection and corridor checks on real GPS noise: a Liverpool bus, route 14 outbound.

``../shared/data/liverpool_bus_route14`` (see its SOURCE.txt): 1,533 fixes of 26 January
2026 from the UK Bus Open Data Service, 16 trips (``trip_id``; some overlap in time, so each
trip is a track of its own), sampled about every 5–35 s. A bus stands in for a muck truck:
its dwell at the Queen Square bus station (the origin every trip names) must be found as a
stop, and its own route, taken as a permitted corridor, must raise no off-route episode
where the bus followed it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from shapely import affinity
from shapely.geometry import LineString, Point

from shared_data import shared_data
from twonets.core.geo import haversine_m
from twonets.operations.trucks.checks import (
    Fix,
    Hours,
    Kind,
    Permit,
    Rules,
    Scene,
    Zone,
    ZoneKind,
    find_stops,
)
from twonets.operations.trucks.geometry import LocalFrame

# Queen Square bus station, Liverpool (WGS-84), the origin of route 14 outbound.
QUEEN_SQUARE = (-2.9821, 53.4076)
# The outer end of the route, near Petherick Road, Croxteth.
OUTER_END = (-2.8950, 53.4620)
RULES = Rules(
    timezone="Europe/London",
    speed_limit_kmh=1000.0,  # the file has no speeds
    silent_seconds=10**6,
    stop_minutes=10**6,  # stops are tested on their own
)


@pytest.fixture(scope="module")
def trips() -> dict[str, list[Fix]]:
    path: Path = shared_data("liverpool_bus_route14", "route14_outbound.csv")
    found: dict[str, list[Fix]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            when = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=UTC)
            lon, lat = float(row["longitude"]), float(row["latitude"])
            # A moving speed so that every fix is checked as driving.
            found[row["trip_id"]].append(Fix("T" + row["trip_id"], when, lon, lat, 20.0))
    for fixes in found.values():
        fixes.sort(key=lambda f: f.time)
    assert sum(len(f) for f in found.values()) == 1533
    assert len(found) == 16
    return dict(found)


def _zone(name: str, kind: ZoneKind, lonlat: tuple[float, float], radius_m: float) -> Zone:
    frame = LocalFrame(*lonlat)
    return Zone(name, kind, frame.to_degrees(frame.to_metres(Point(lonlat)).buffer(radius_m)))


STATION = _zone("Queen Square", ZoneKind.CONSTRUCTION_SITE, QUEEN_SQUARE, 250)
END = _zone("Petherick Road", ZoneKind.DISPOSAL_SITE, OUTER_END, 250)


def _permits(trips: dict[str, list[Fix]], route: LineString, corridor_m: float) -> list[Permit]:
    return [
        Permit(
            "T" + trip,
            "Queen Square",
            "Petherick Road",
            route,
            corridor_m,
            date(2026, 1, 1),
            date(2026, 12, 31),
            Hours.parse("00:00-24:00"),
        )
        for trip in trips
    ]


def _route(fixes: list[Fix]) -> LineString:
    return LineString([(f.lon, f.lat) for f in fixes])


def test_the_bus_stops_are_found_at_its_station(trips: dict[str, list[Fix]]) -> None:
    frame = LocalFrame(*QUEEN_SQUARE)
    starting_there = dwelt = 0
    for fixes in trips.values():
        stops = find_stops(fixes, frame, diameter_m=60, minutes=2)
        for stop in stops:
            assert 2 <= stop.minutes < 10  # a dwell, not a whole trip
        first = fixes[0]
        if haversine_m(first.lon, first.lat, *QUEEN_SQUARE) < 300 and len(fixes) > 80:
            starting_there += 1
            # The departure dwell, when the bus waited 2 minutes or more, is the first stop.
            if stops and haversine_m(stops[0].lon, stops[0].lat, *QUEEN_SQUARE) < 100:
                dwelt += 1
        for stop in stops:  # a stop near the station is at the station, not beside it
            if haversine_m(stop.lon, stop.lat, *QUEEN_SQUARE) < 300:
                assert haversine_m(stop.lon, stop.lat, *QUEEN_SQUARE) < 100
    # 11 trips start there; 8 waited 2 minutes or more (3 left at once, or nearly).
    assert (starting_there, dwelt) == (11, 8)
    # The same rule on the whole file finds the same few places again and again: every stop
    # lies within 150 m of one of four places (the station and three timing points).
    everywhere = [s for f in trips.values() for s in find_stops(f, frame, diameter_m=60, minutes=2)]
    places: list[tuple[float, float]] = []
    for stop in everywhere:
        if all(haversine_m(stop.lon, stop.lat, *p) > 150 for p in places):
            places.append((stop.lon, stop.lat))
    assert len(everywhere) == 19
    assert len(places) <= 4


def test_the_route_as_a_corridor_raises_no_alert_on_real_noise(
    trips: dict[str, list[Fix]],
) -> None:
    route = _route(trips["1105"])  # the longest trip, station to the outer end
    scene = Scene(_permits(trips, route, 50.0), [STATION, END], RULES)
    episodes = {trip: scene.check(fixes) for trip, fixes in trips.items()}
    frame = scene.frame
    corridor = frame.to_metres(route).buffer(50.0)
    outside = sum(
        1
        for fixes in trips.values()
        for f in fixes
        if not corridor.contains(frame.to_metres(Point(f.lon, f.lat)))
    )
    assert outside > 20  # the noise is real: single fixes do leave the corridor
    # Only trip 1103 raises anything: it left the centre by another street for three minutes
    # (fixes 200 m north of the others), and that is one episode, not one per fix.
    raised = {trip: [e.kind for e in found] for trip, found in episodes.items() if found}
    assert raised == {"1103": [Kind.OFF_ROUTE]}
    (detour,) = episodes["1103"]
    assert (detour.end - detour.start).total_seconds() < 300
    # Permitting that street too (a second permit along 1103's own way) clears it.
    both = _permits(trips, route, 50.0) + _permits(trips, _route(trips["1103"]), 50.0)
    assert Scene(both, [STATION, END], RULES).check(trips["1103"]) == []


def test_a_shifted_corridor_raises_violations(trips: dict[str, list[Fix]]) -> None:
    route = affinity.translate(_route(trips["1105"]), yoff=500 / 111_250)  # 500 m north
    scene = Scene(_permits(trips, route, 50.0), [STATION, END], RULES)
    long_trips = [t for t, fixes in trips.items() if len(fixes) >= 30]
    for trip in long_trips:
        kinds = [e.kind for e in scene.check(trips[trip])]
        assert Kind.OFF_ROUTE in kinds, trip
        assert len(kinds) <= 4  # episodes, not a storm of one alert per fix
