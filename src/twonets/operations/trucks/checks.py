"""Checks on a truck's track, pure: what a permit allows and where the truck went.

A track is a truck's fixes in time order. Each check marks the fixes that break a rule and
turns runs of marked fixes into *episodes* (one per violation, never one per fix):

- ``off_route``: outside every corridor of the truck's permits valid that day (the route line
  buffered by ``corridor_m``) and outside the permits' origin and destination sites;
- ``out_of_hours``: moving while no permit of that day allows the hour;
- ``no_permit``: moving on a day no permit of the truck is valid;
- ``speeding``: faster than ``Rules.speed_limit_kmh``;
- ``no_go_zone``: inside a no-go zone while its hours apply (always, when it has none);
- ``suspected_dumping``: a stop (below) outside every construction and disposal site;
- ``silent``: no fix for longer than ``Rules.silent_seconds`` while the truck was moving.

**Hysteresis.** A run opens an episode only with at least ``Rules.min_fixes`` fixes over at
least ``Rules.min_seconds``; marked runs broken by fewer than ``min_fixes`` unmarked fixes
are one run. So one noisy fix never raises an alert, and a truck wavering at a corridor's
edge raises one, not many.

**Stops.** A stop is a maximal stretch of fixes each within ``stop_diameter_m / 2`` of the
stretch's first fix, lasting at least ``stop_minutes`` (the stay-point rule of Li et al.,
2008, with the diameter bounding the stretch's spread).

Times are aware datetimes; permit dates and hours are read in ``Rules.timezone`` (the city's
local time). Hours may cross midnight (``22:00-05:00``); ``00:00-24:00`` is the whole day.
A night's fixes after midnight are checked against the permits valid on their own date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from twonets.operations.trucks.geometry import LocalFrame


class Kind(StrEnum):
    """The kinds of violation episode (the batch command's ``kind``)."""

    OFF_ROUTE = "off_route"
    OUT_OF_HOURS = "out_of_hours"
    SPEEDING = "speeding"
    SUSPECTED_DUMPING = "suspected_dumping"
    NO_PERMIT = "no_permit"
    SILENT = "silent"
    NO_GO_ZONE = "no_go_zone"


class ZoneKind(StrEnum):
    """What a zone is."""

    CONSTRUCTION_SITE = "construction_site"
    DISPOSAL_SITE = "disposal_site"
    NO_GO = "no_go"


SITE_KINDS = frozenset({ZoneKind.CONSTRUCTION_SITE, ZoneKind.DISPOSAL_SITE})


@dataclass(frozen=True)
class Hours:
    """Allowed hours of a day, ``start`` to ``end`` local time; may cross midnight."""

    start: time
    end: time | None  # None: up to midnight ("24:00")

    @classmethod
    def parse(cls, text: str) -> Hours:
        """``"22:00-05:00"`` and the like; ValueError naming what is wrong."""
        parts = text.strip().split("-")
        if len(parts) != 2:
            raise ValueError(f"hours {text!r} are not HH:MM-HH:MM")
        start = _clock(parts[0], text)
        if start is None:
            raise ValueError(f"hours {text!r} cannot start at 24:00")
        end = _clock(parts[1], text)
        if end is not None and end == start:
            raise ValueError(f"hours {text!r} are empty (use 00:00-24:00 for the whole day)")
        return cls(start, end)

    def allows(self, moment: time) -> bool:
        """Whether a local clock time lies inside the hours (start inclusive, end exclusive)."""
        if self.end is None:
            return moment >= self.start
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end is None else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


def _clock(text: str, whole: str) -> time | None:
    try:
        hh, mm = text.strip().split(":")
        hour, minute = int(hh), int(mm)
    except ValueError:
        raise ValueError(f"hours {whole!r} are not HH:MM-HH:MM") from None
    if (hour, minute) == (24, 0):
        return None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"hours {whole!r}: {text.strip()} is not a time of day")
    return time(hour, minute)


@dataclass(frozen=True)
class Fix:
    """One position of a truck (WGS-84 degrees, km/h, aware time)."""

    plate: str
    time: datetime
    lon: float
    lat: float
    speed_kmh: float = 0.0


@dataclass(frozen=True)
class Zone:
    """A construction site, a disposal site or a no-go zone (polygon in WGS-84)."""

    name: str
    kind: ZoneKind
    polygon: Polygon
    hours: Hours | None = None


@dataclass(frozen=True)
class Permit:
    """What a permit allows a truck: a route corridor between two sites, hours, dates."""

    plate: str
    origin: str
    destination: str
    route: LineString
    corridor_m: float
    valid_from: date
    valid_to: date
    hours: Hours

    def valid_on(self, day: date) -> bool:
        """Whether the permit is valid on a local date."""
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Rules:
    """The thresholds of the checks."""

    min_fixes: int = 3
    min_seconds: float = 60.0
    moving_kmh: float = 5.0
    speed_limit_kmh: float = 60.0
    stop_diameter_m: float = 60.0
    stop_minutes: float = 5.0
    silent_seconds: float = 300.0
    timezone: str = "Asia/Shanghai"


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Episode:
    """One violation: which truck, what kind, from when to when, where it began, why."""

    plate: str
    kind: Kind
    start: datetime
    end: datetime
    lon: float
    lat: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The batch command's JSON line."""
        return {
            "plate": self.plate,
            "kind": self.kind.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Stop:
    """A stretch of fixes where the truck stayed put: first and last index, centre, times."""

    first: int
    last: int
    lon: float
    lat: float
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        """How long the stop lasted."""
        return (self.end - self.start).total_seconds() / 60


# --- runs and stops --------------------------------------------------------------------------


def runs(
    marked: Sequence[bool], times: Sequence[datetime], *, min_fixes: int, min_seconds: float
) -> list[tuple[int, int]]:
    """Episodes as ``(first, last)`` fix indices from per-fix marks, with hysteresis."""
    if not any(marked):
        return []
    raw: list[list[int]] = []
    i, n = 0, len(marked)
    while i < n:
        if not marked[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and marked[j + 1]:
            j += 1
        if raw and i - raw[-1][1] - 1 < min_fixes:
            raw[-1][1] = j  # a short unmarked gap is noise inside one episode
        else:
            raw.append([i, j])
        i = j + 1
    out = []
    for first, last in raw:
        count = sum(1 for k in range(first, last + 1) if marked[k])
        seconds = (times[last] - times[first]).total_seconds()
        if count >= min_fixes and seconds >= min_seconds:
            out.append((first, last))
    return out


def find_stops(
    fixes: Sequence[Fix], frame: LocalFrame, *, diameter_m: float, minutes: float
) -> list[Stop]:
    """Stops along a track (fixes of one truck in time order)."""
    if not fixes:
        return []
    x, y = frame.xy(
        np.array([f.lon for f in fixes], dtype=np.float64),
        np.array([f.lat for f in fixes], dtype=np.float64),
    )
    radius2 = (diameter_m / 2) ** 2
    xs, ys = x.tolist(), y.tolist()  # plain floats: the loop below is Python's
    stops: list[Stop] = []
    i, n = 0, len(fixes)
    while i < n:
        j = i
        while j + 1 < n and (xs[j + 1] - xs[i]) ** 2 + (ys[j + 1] - ys[i]) ** 2 <= radius2:
            j += 1
        if j > i and (fixes[j].time - fixes[i].time).total_seconds() >= minutes * 60:
            cx, cy = frame.lonlat(np.array([x[i : j + 1].mean()]), np.array([y[i : j + 1].mean()]))
            stops.append(Stop(i, j, float(cx[0]), float(cy[0]), fixes[i].time, fixes[j].time))
            i = j + 1
        else:
            i += 1
    return stops


# --- the checks ------------------------------------------------------------------------------


@dataclass
class Scene:
    """Permits and zones in one metric frame, ready to check tracks against."""

    permits: Sequence[Permit]
    zones: Sequence[Zone]
    rules: Rules = DEFAULT_RULES
    frame: LocalFrame = field(init=False)

    def __post_init__(self) -> None:
        shapes: list[BaseGeometry] = [p.route for p in self.permits]
        shapes += [z.polygon for z in self.zones]
        self.frame = LocalFrame.around(shapes)
        self._tz = ZoneInfo(self.rules.timezone)
        self._corridors = [self.frame.to_metres(p.route).buffer(p.corridor_m) for p in self.permits]
        for corridor in self._corridors:
            shapely.prepare(corridor)
        self._zones_m = [self.frame.to_metres(z.polygon) for z in self.zones]
        self._zone_tree = shapely.STRtree(self._zones_m)
        self._zone_by_name = {z.name: i for i, z in enumerate(self.zones)}
        self._by_plate: dict[str, list[int]] = {}
        for i, permit in enumerate(self.permits):
            self._by_plate.setdefault(permit.plate, []).append(i)

    @property
    def corridors(self) -> list[BaseGeometry]:
        """Each permit's corridor in the metric frame (prepared), in the permits' order."""
        return self._corridors

    @property
    def zones_m(self) -> list[BaseGeometry]:
        """The zones in the metric frame, in the zones' order."""
        return self._zones_m

    @property
    def zone_tree(self) -> shapely.STRtree:
        """The zones in the metric frame, indexed in the zones' order."""
        return self._zone_tree

    @property
    def tz(self) -> ZoneInfo:
        """The city's time zone, in which dates and hours are read."""
        return self._tz

    def zone_index(self, name: str) -> int | None:
        """The index of the zone of that name, if any."""
        return self._zone_by_name.get(name)

    def permits_of_plate(self, plate: str) -> list[int]:
        """The indices of a truck's permits (any date)."""
        return self._by_plate.get(plate, [])

    def check(self, fixes: Sequence[Fix]) -> list[Episode]:
        """Every violation episode of one truck's track (fixes in any order)."""
        track = sorted(fixes, key=lambda f: f.time)
        if not track:
            return []
        plate = track[0].plate
        rules = self.rules
        x, y = self.frame.xy(
            np.array([f.lon for f in track], dtype=np.float64),
            np.array([f.lat for f in track], dtype=np.float64),
        )
        local = [f.time.astimezone(self._tz) for f in track]
        times = [f.time for f in track]
        moving = [f.speed_kmh >= rules.moving_kmh for f in track]
        mine = self._by_plate.get(plate, [])
        # Which of the truck's permits hold on each fix's local date.
        valid = [[i for i in mine if self.permits[i].valid_on(t.date())] for t in local]
        inside_corridor = {i: shapely.contains_xy(self._corridors[i], x, y) for i in set(mine)}
        inside_zone = self._inside_zones(x, y)

        def off_route(k: int) -> bool:
            if not valid[k]:
                return False
            for i in valid[k]:
                permit = self.permits[i]
                if inside_corridor[i][k]:
                    return False
                for name in (permit.origin, permit.destination):
                    zone = self._zone_by_name.get(name)
                    if zone is not None and zone in inside_zone and inside_zone[zone][k]:
                        return False
            return True

        marks: dict[Kind, Callable[[int], bool]] = {
            Kind.NO_PERMIT: lambda k: moving[k] and not valid[k],
            Kind.OUT_OF_HOURS: lambda k: (
                moving[k]
                and bool(valid[k])
                and not any(self.permits[i].hours.allows(local[k].time()) for i in valid[k])
            ),
            Kind.OFF_ROUTE: off_route,
            Kind.SPEEDING: lambda k: track[k].speed_kmh > rules.speed_limit_kmh,
        }
        episodes: list[Episode] = []
        for kind, mark in marks.items():
            flags = [mark(k) for k in range(len(track))]
            for first, last in runs(
                flags, times, min_fixes=rules.min_fixes, min_seconds=rules.min_seconds
            ):
                episodes.append(self._episode(track, kind, first, last, flags))
        for z, inside in sorted(inside_zone.items()):
            zone = self.zones[z]
            if zone.kind is not ZoneKind.NO_GO:
                continue
            hours = zone.hours
            flags = [
                bool(inside[k]) and (hours is None or hours.allows(local[k].time()))
                for k in range(len(track))
            ]
            for first, last in runs(flags, times, min_fixes=rules.min_fixes, min_seconds=0):
                episodes.append(
                    self._episode(track, Kind.NO_GO_ZONE, first, last, flags, zone=zone.name)
                )
        episodes += self._dumping(track, inside_zone)
        episodes += self._silences(track, moving)
        episodes.sort(key=lambda e: (e.start, e.kind.value))
        return episodes

    def _inside_zones(self, x: Any, y: Any) -> dict[int, Any]:
        """For each zone some fix lies in: a boolean array over the fixes (an STRtree query,
        so zones far from the track cost nothing)."""
        hits = self._zone_tree.query(shapely.points(x, y), predicate="intersects")
        out: dict[int, Any] = {}
        for z in np.unique(hits[1]):
            inside = np.zeros(len(x), dtype=bool)
            inside[hits[0][hits[1] == z]] = True
            out[int(z)] = inside
        return out

    def check_all(self, fixes: Iterable[Fix]) -> list[Episode]:
        """Every episode of every truck in ``fixes``, by plate then time."""
        tracks: dict[str, list[Fix]] = {}
        for fix in fixes:
            tracks.setdefault(fix.plate, []).append(fix)
        out: list[Episode] = []
        for plate in sorted(tracks):
            out += self.check(tracks[plate])
        return out

    def _episode(
        self,
        track: Sequence[Fix],
        kind: Kind,
        first: int,
        last: int,
        flags: Sequence[bool],
        **evidence: Any,
    ) -> Episode:
        start = track[first]
        info: dict[str, Any] = {
            "fixes": sum(1 for k in range(first, last + 1) if flags[k]),
            **evidence,
        }
        if kind is Kind.SPEEDING:
            info["max_speed_kmh"] = max(f.speed_kmh for f in track[first : last + 1])
            info["limit_kmh"] = self.rules.speed_limit_kmh
        if kind is Kind.OFF_ROUTE:
            info["permits"] = sorted(
                {f"{p.origin}->{p.destination}" for p in self._permits_of(start)}
            )
        if kind is Kind.OUT_OF_HOURS:
            info["hours"] = sorted({str(p.hours) for p in self._permits_of(start)})
        return Episode(start.plate, kind, start.time, track[last].time, start.lon, start.lat, info)

    def _permits_of(self, fix: Fix) -> list[Permit]:
        day = fix.time.astimezone(self._tz).date()
        return [
            self.permits[i]
            for i in self._by_plate.get(fix.plate, [])
            if self.permits[i].valid_on(day)
        ]

    def _dumping(self, track: Sequence[Fix], inside_zone: dict[int, Any]) -> list[Episode]:
        rules = self.rules
        sites = [z for z in inside_zone if self.zones[z].kind in SITE_KINDS]
        out = []
        for stop in find_stops(
            track, self.frame, diameter_m=rules.stop_diameter_m, minutes=rules.stop_minutes
        ):
            at_site = any(
                inside_zone[z][k] for z in sites for k in range(stop.first, stop.last + 1)
            )
            if not at_site:
                out.append(
                    Episode(
                        track[0].plate,
                        Kind.SUSPECTED_DUMPING,
                        stop.start,
                        stop.end,
                        stop.lon,
                        stop.lat,
                        {"minutes": round(stop.minutes, 1), "fixes": stop.last - stop.first + 1},
                    )
                )
        return out

    def _silences(self, track: Sequence[Fix], moving: Sequence[bool]) -> list[Episode]:
        limit = timedelta(seconds=self.rules.silent_seconds)
        out = []
        for k in range(1, len(track)):
            before, after = track[k - 1], track[k]
            if after.time - before.time > limit and (moving[k - 1] or moving[k]):
                out.append(
                    Episode(
                        before.plate,
                        Kind.SILENT,
                        before.time,
                        after.time,
                        before.lon,
                        before.lat,
                        {
                            "seconds": round((after.time - before.time).total_seconds()),
                            "speed_kmh": before.speed_kmh,
                        },
                    )
                )
        return out
