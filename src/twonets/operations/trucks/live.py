"""Checks as positions arrive, pure: per-truck state, one report per episode and trip.

``Scene.check`` looks at a whole stored track; ``LiveChecker`` looks at each fix once, as it
arrives, and keeps for each truck only what the checks need: its last fix, the open run of
each kind (the same hysteresis as ``checks.runs``: at least ``min_fixes`` marked fixes over
``min_seconds``, runs broken by fewer than ``min_fixes`` unmarked fixes are one), the fixes
of a stop in the making and its trip.

A batch of fixes (any trucks, any order) is checked in one go: the fixes go to the scene's
metric frame together and are looked up in one STRtree query for corridors and one for
zones; then each truck's fixes pass through its state in time order. A fix older than the
truck's last one (a terminal's blind-area upload arriving late) is not checked again.

**Trips.** A truck's trip starts with its first fix, after a silence of ``trip_gap_s``
(30 min), and when a stop at a site ends (loaded or unloaded, it sets off again). The first
episode of a kind in a trip is *opened*: the one that gets an alert and a case; later
episodes of the same kind in the same trip are *repeats*, folded into the first (no alert
storm from a truck that keeps wandering off its corridor).

**Silence** is counted when the truck was moving at its last fix (the whole-track check
also counts a gap before a fix at speed; live, a truck setting off after a night parked would
raise it every evening). ``silences`` reports a silence while it lasts; the next fix ends it.

Local dates and hours are read with the time zone's offset at the batch's first fix: right
for the city's zone (Asia/Shanghai has had no daylight saving since 1991).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

import numpy as np
import shapely

from twonets.operations.trucks.checks import SITE_KINDS, Episode, Fix, Hours, Kind, Scene, ZoneKind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86_400
_BY_TIME = attrgetter("time")
_NO_PERMIT = (Kind.NO_PERMIT, "")
_OUT_OF_HOURS = (Kind.OUT_OF_HOURS, "")
_OFF_ROUTE = (Kind.OFF_ROUTE, "")
_SPEEDING = (Kind.SPEEDING, "")


class Change(StrEnum):
    """What a report says of an episode."""

    OPENED = "opened"  # the first episode of its kind in the truck's trip: alert it
    REPEAT = "repeat"  # another episode of the same kind in the same trip: fold it in
    CLOSED = "closed"  # an episode reported before ended (its final ``end``)


@dataclass(frozen=True)
class Report:
    """A change to a truck's episodes: which, in which trip (the trip's first fix time)."""

    change: Change
    episode: Episode
    trip: datetime


def _seconds(hours: Hours) -> tuple[int, int]:
    start = hours.start.hour * 3600 + hours.start.minute * 60
    end = _DAY if hours.end is None else hours.end.hour * 3600 + hours.end.minute * 60
    return start, end


def _allows(span: tuple[int, int], second: int) -> bool:
    start, end = span
    if start < end:
        return start <= second < end
    return second >= start or second < end


@dataclass
class _Run:
    """An open run of marked fixes of one kind (or one no-go zone)."""

    first: Fix
    last: Fix
    count: int
    first_t: float
    last_t: float
    gap: int = 0
    reported: bool = False
    repeat: bool = False


@dataclass
class _Truck:
    """What the live checks keep of one truck."""

    last: Fix | None = None
    last_t: float = 0.0
    last_moving: bool = False
    valid_day: int = -1
    valid: list[int] = field(default_factory=list)
    trip: datetime | None = None
    runs: dict[tuple[Kind, str], _Run] = field(default_factory=dict)
    opened: set[tuple[Kind, str]] = field(default_factory=set)  # kinds alerted in this trip
    stop: list[tuple[Fix, float, float, bool, float]] = field(default_factory=list)
    stop_reported: bool = False
    silent_reported: bool = False


class LiveChecker:
    """Per-truck state over a scene; ``feed`` a batch of fixes, get what changed."""

    def __init__(self, scene: Scene, *, trip_gap_s: float = 1800.0) -> None:
        self.trucks: dict[str, _Truck] = {}
        self.trip_gap_s = trip_gap_s
        self.use(scene)

    def use(self, scene: Scene) -> None:
        """Check from now on against another scene (permits and zones reloaded); the trucks'
        state is kept."""
        self.scene = scene
        permits = scene.permits
        base = _EPOCH.date().toordinal()
        self._valid = [
            (p.valid_from.toordinal() - base, p.valid_to.toordinal() - base) for p in permits
        ]
        self._hours = [_seconds(p.hours) for p in permits]
        self._zone_hours = [None if z.hours is None else _seconds(z.hours) for z in scene.zones]
        # One tree of every corridor and zone (zones after the corridors), as the bare
        # point-in-polygon floor has: one query a batch.
        corridors = scene.corridors
        self._corridor_count = len(corridors)
        self._tree = shapely.STRtree([*corridors, *scene.zones_m])
        self._plate_ids: dict[str, int] = {}
        for p in permits:
            self._plate_ids.setdefault(p.plate, len(self._plate_ids))
        self._permit_plate = np.array([self._plate_ids[p.plate] for p in permits], np.int64)
        self._valid_from = np.array([v[0] for v in self._valid], np.int64)
        self._valid_to = np.array([v[1] for v in self._valid], np.int64)
        self._ends = {
            i: {scene.zone_index(p.origin), scene.zone_index(p.destination)} - {None}
            for i, p in enumerate(permits)
        }

    def feed(self, fixes: Iterable[Fix]) -> list[Report]:
        """Check a batch of fixes; the episodes it opened, repeated or closed."""
        batch = sorted(fixes, key=_BY_TIME)  # each truck's fixes in time order
        if not batch:
            return []
        scene = self.scene
        ids = self._plate_ids
        table = np.array(
            [(f.lon, f.lat, f.time.timestamp(), ids.get(f.plate, -1)) for f in batch],
            dtype=np.float64,
        )  # one pass over the fixes
        x, y = scene.frame.xy(table[:, 0], table[:, 1])
        points = shapely.points(x, y)
        offset = scene.tz.utcoffset(batch[0].time.replace(tzinfo=None)) or timedelta(0)
        times = table[:, 2]
        local = times + offset.total_seconds()
        days = (local // _DAY).astype(np.int64)
        seconds = (local % _DAY).astype(np.int64)
        plate_ids = table[:, 3].astype(np.int64)
        hit_p, hit_s = self._tree.query(points, predicate="intersects")
        # Inside a corridor of one's own permit valid that day: vectorised over the hits.
        nc = self._corridor_count
        on_corridor = hit_s < nc
        cp, cs = hit_p[on_corridor], hit_s[on_corridor]
        day = days[cp]
        own = (
            (self._permit_plate[cs] == plate_ids[cp])
            & (self._valid_from[cs] <= day)
            & (day <= self._valid_to[cs])
        )
        in_corridor = np.zeros(len(batch), dtype=bool)
        in_corridor[cp[own]] = True
        zones: dict[int, list[int]] = {}
        for p, z in zip(
            hit_p[~on_corridor].tolist(), (hit_s[~on_corridor] - nc).tolist(), strict=True
        ):
            zones.setdefault(p, []).append(z)
        out: list[Report] = []
        trucks = self.trucks
        nowhere: list[int] = []
        for k, (fix, t, d, sec, xk, yk, inside) in enumerate(
            zip(
                batch,
                times.tolist(),
                days.tolist(),
                seconds.tolist(),
                x.tolist(),
                y.tolist(),
                in_corridor.tolist(),
                strict=True,
            )
        ):
            state = trucks.get(fix.plate)
            if state is None:
                state = trucks[fix.plate] = _Truck()
            if state.last is not None and t <= state.last_t:
                continue
            self._step(state, fix, t, d, sec, xk, yk, inside, zones.get(k, nowhere), out)
        return out

    def silences(self, now: datetime) -> list[Report]:
        """Trucks that were moving at their last fix and have said nothing for longer than
        the rule allows: reported once, while they are silent."""
        limit = self.scene.rules.silent_seconds
        out = []
        for state in self.trucks.values():
            last = state.last
            if (
                last is None
                or state.silent_reported
                or not state.last_moving
                or (now - last.time).total_seconds() <= limit
            ):
                continue
            state.silent_reported = True
            episode = Episode(
                last.plate,
                Kind.SILENT,
                last.time,
                now,
                last.lon,
                last.lat,
                {"seconds": round((now - last.time).total_seconds()), "speed_kmh": last.speed_kmh},
            )
            out.append(self._open(state, (Kind.SILENT, ""), episode))
        return out

    # --- one fix -----------------------------------------------------------------------------

    def _step(
        self,
        state: _Truck,
        fix: Fix,
        t: float,
        day: int,
        second: int,
        x: float,
        y: float,
        in_corridor: bool,
        zones: list[int],
        out: list[Report],
    ) -> None:
        scene = self.scene
        rules = scene.rules
        moving = fix.speed_kmh >= rules.moving_kmh
        last = state.last
        if last is None or t - state.last_t > self.trip_gap_s:
            self._new_trip(state, fix, out)
        if last is not None:
            gap = t - state.last_t
            if gap > rules.silent_seconds and state.last_moving:
                episode = Episode(
                    last.plate,
                    Kind.SILENT,
                    last.time,
                    fix.time,
                    last.lon,
                    last.lat,
                    {"seconds": round(gap), "speed_kmh": last.speed_kmh},
                )
                if state.silent_reported:  # reported while it lasted: now it has ended
                    out.append(Report(Change.CLOSED, episode, state.trip or last.time))
                else:
                    out.append(self._open(state, (Kind.SILENT, ""), episode))
        state.silent_reported = False
        if day != state.valid_day:  # the permits of the day, once a day per truck
            state.valid_day = day
            state.valid = [
                i
                for i in scene.permits_of_plate(fix.plate)
                if self._valid[i][0] <= day <= self._valid[i][1]
            ]
        valid = state.valid
        runs = state.runs
        if not valid or in_corridor:
            off_route = False
        elif zones:
            ends = self._ends
            off_route = not any(z in ends[i] for i in valid for z in zones)
        else:
            off_route = True
        no_permit = moving and not valid
        out_of_hours = False
        if moving and valid:
            hours = self._hours
            out_of_hours = True
            for i in valid:
                if _allows(hours[i], second):
                    out_of_hours = False
                    break
        speeding = fix.speed_kmh > rules.speed_limit_kmh
        if runs or no_permit or out_of_hours or off_route or speeding:  # else: nothing to do
            for key, marked in (
                (_NO_PERMIT, no_permit),
                (_OUT_OF_HOURS, out_of_hours),
                (_OFF_ROUTE, off_route),
                (_SPEEDING, speeding),
            ):
                if marked or key in runs:
                    self._mark(state, key, fix, t, marked, valid, out)
        at_site = False
        if zones:
            inside: set[tuple[Kind, str]] = set()
            for z in zones:
                zone = scene.zones[z]
                if zone.kind is ZoneKind.NO_GO:
                    span = self._zone_hours[z]
                    key = (Kind.NO_GO_ZONE, zone.name)
                    marked = span is None or _allows(span, second)
                    if marked:
                        inside.add(key)
                    if marked or key in runs:
                        self._mark(state, key, fix, t, marked, valid, out)
                elif zone.kind in SITE_KINDS:
                    at_site = True
            others = [k for k in runs if k[0] is Kind.NO_GO_ZONE and k not in inside]
        else:
            others = [k for k in runs if k[0] is Kind.NO_GO_ZONE] if runs else []
        for key in others:
            self._mark(state, key, fix, t, False, valid, out)  # left the no-go zone
        self._stop(state, fix, t, x, y, at_site, out)
        state.last = fix
        state.last_t = t
        state.last_moving = moving

    def _new_trip(self, state: _Truck, fix: Fix, out: list[Report]) -> None:
        for key in list(state.runs):
            self._close(state, key, out)
        state.trip = fix.time
        state.opened = set()

    def _mark(
        self,
        state: _Truck,
        key: tuple[Kind, str],
        fix: Fix,
        t: float,
        marked: bool,
        valid: Sequence[int],
        out: list[Report],
    ) -> None:
        run = state.runs.get(key)
        rules = self.scene.rules
        if marked:
            if run is None:
                run = state.runs[key] = _Run(fix, fix, 1, t, t)
            else:
                run.count += 1
                run.gap = 0
                run.last = fix
                run.last_t = t
            min_seconds = 0.0 if key[0] is Kind.NO_GO_ZONE else rules.min_seconds
            if (
                not run.reported
                and run.count >= rules.min_fixes
                and run.last_t - run.first_t >= min_seconds
            ):
                run.reported = True
                episode = self._episode(key, run, valid)
                report = self._open(state, key, episode)
                run.repeat = report.change is Change.REPEAT
                out.append(report)
        elif run is not None:
            run.gap += 1
            if run.gap >= rules.min_fixes:
                self._close(state, key, out)

    def _close(self, state: _Truck, key: tuple[Kind, str], out: list[Report]) -> None:
        run = state.runs.pop(key, None)
        if run is not None and run.reported and state.trip is not None:
            out.append(Report(Change.CLOSED, self._episode(key, run, ()), state.trip))

    def _open(self, state: _Truck, key: tuple[Kind, str], episode: Episode) -> Report:
        trip = state.trip or episode.start
        if key in state.opened:
            return Report(Change.REPEAT, episode, trip)
        state.opened.add(key)
        return Report(Change.OPENED, episode, trip)

    def _episode(self, key: tuple[Kind, str], run: _Run, valid: Sequence[int]) -> Episode:
        kind, zone = key
        first = run.first
        info: dict[str, Any] = {"fixes": run.count}
        permits = self.scene.permits
        if zone:
            info["zone"] = zone
        if kind is Kind.SPEEDING:
            info["limit_kmh"] = self.scene.rules.speed_limit_kmh
        if kind is Kind.OFF_ROUTE and valid:
            info["permits"] = sorted(
                {f"{permits[i].origin}->{permits[i].destination}" for i in valid}
            )
        if kind is Kind.OUT_OF_HOURS and valid:
            info["hours"] = sorted({str(permits[i].hours) for i in valid})
        return Episode(first.plate, kind, first.time, run.last.time, first.lon, first.lat, info)

    def _stop(
        self,
        state: _Truck,
        fix: Fix,
        t: float,
        x: float,
        y: float,
        at_site: bool,
        out: list[Report],
    ) -> None:
        """The stay-point rule as fixes arrive: the stretch from an anchor fix while each fix
        stays within the radius; when a fix leaves it, the next anchor is the one after (as
        ``checks.find_stops``), or the leaving fix after a stop."""
        rules = self.scene.rules
        radius2 = (rules.stop_diameter_m / 2) ** 2
        point = (fix, x, y, at_site, t)
        stretch = state.stop
        if stretch and (x - stretch[0][1]) ** 2 + (y - stretch[0][2]) ** 2 <= radius2:
            stretch.append(point)
        elif state.stop_reported or len(stretch) < 2:  # the common case: a truck on the move
            if state.stop_reported:
                self._end_stop(state, out)
            state.stop = [point]
            return
        else:
            rest = stretch[1:]
            rest.append(point)
            while len(rest) > 1:
                ax, ay = rest[0][1], rest[0][2]
                for p in rest[1:]:
                    if (p[1] - ax) ** 2 + (p[2] - ay) ** 2 > radius2:
                        break
                else:
                    break  # every later fix is within the radius of this anchor
                del rest[0]
            state.stop = stretch = rest
        if (
            not state.stop_reported
            and len(stretch) > 1
            and stretch[-1][4] - stretch[0][4] >= rules.stop_minutes * 60
        ):
            state.stop_reported = True
            if not any(p[3] for p in stretch):
                out.append(self._open(state, (Kind.SUSPECTED_DUMPING, ""), self._dumping(stretch)))

    def _end_stop(self, state: _Truck, out: list[Report]) -> None:
        stretch = state.stop
        at_site = any(p[3] for p in stretch)
        state.stop_reported = False
        if not at_site:
            if state.trip is not None:
                out.append(Report(Change.CLOSED, self._dumping(stretch), state.trip))
        else:
            # Loaded or unloaded at a site: the truck sets off on a new trip.
            self._new_trip(state, stretch[-1][0], out)

    def _dumping(self, stretch: Sequence[tuple[Fix, float, float, bool, float]]) -> Episode:
        scene = self.scene
        cx, cy = scene.frame.lonlat(
            np.array([float(np.mean([p[1] for p in stretch]))]),
            np.array([float(np.mean([p[2] for p in stretch]))]),
        )
        first, last = stretch[0][0], stretch[-1][0]
        minutes = (last.time - first.time).total_seconds() / 60
        return Episode(
            first.plate,
            Kind.SUSPECTED_DUMPING,
            first.time,
            last.time,
            float(cx[0]),
            float(cy[0]),
            {"minutes": round(minutes, 1), "fixes": len(stretch)},
        )
