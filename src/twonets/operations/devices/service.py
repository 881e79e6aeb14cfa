"""Device intake's use cases: record positions and readings, and the reads of the devices page.

Each function works in the caller's transaction (a session from a unit of work) and never
commits; the gateway and the MQTT subscriber call them once per batch of frames, so a batch
of a few hundred positions is one transaction: its events in the outbox and the terminals'
last positions land together or not at all.

Coordinates arrive in WGS-84 (GNSS receivers); the city's maps draw GCJ-02 district
boundaries, so each position is converted here, explicitly, and both are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.errors import TwonetsError
from twonets.core.events import record_event, record_events
from twonets.core.geo import locate_district, wgs84_to_gcj02_arrays
from twonets.operations.cases import service as cases
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.operations.devices import jt808
from twonets.operations.devices.models import LastPosition, Terminal

log = logging.getLogger(__name__)

LOCATION_TOPIC = "ops.device.location"
READING_TOPIC = "ops.device.reading"


@dataclass(frozen=True)
class CaseRule:
    """When a device report opens a case: the management element, urgency and wording."""

    category: str
    urgency: Urgency
    description: str


# Terminal alarm bits that need people on the ground; a case opens when a bit comes on
# (not for every report that still carries it). Overspeed and fatigue go to the transport
# authorities' own systems, not to the city's cases.
VEHICLE_ALARM_CASES: dict[int, CaseRule] = {
    0: CaseRule("E0601", Urgency.EMERGENCY, "emergency alarm pressed in muck truck {plate}"),
    29: CaseRule("E0601", Urgency.URGENT, "collision reported by muck truck {plate}"),
    30: CaseRule(
        "E0303", Urgency.EMERGENCY, "muck truck {plate} rolled over: load likely on the road"
    ),
}
# Sensor readings above a threshold: (kind, unit) -> (threshold, rule).
READING_THRESHOLDS: dict[tuple[str, str], tuple[float, CaseRule]] = {
    ("level", "cm"): (
        15.0,
        CaseRule("E0405", Urgency.URGENT, "water {value:g} cm deep on the road at {device}"),
    ),
    ("noise", "dB"): (
        70.0,
        CaseRule("E0301", Urgency.NORMAL, "noise {value:g} dB at {device}"),
    ),
}


@dataclass(frozen=True)
class TerminalRef:
    """What a gateway session remembers about the terminal it authenticated.

    ``code_serial`` is the terminal's serial when the session authenticated: a reset of the
    enrolment advances it, and positions carrying an older one are refused.
    """

    pk: int
    phone: str
    plate: str
    code_serial: int


@dataclass(frozen=True)
class Position:
    """One normalised position of a terminal (WGS-84 degrees, km/h, UTC time)."""

    terminal: TerminalRef
    lon: float
    lat: float
    speed_kmh: float
    heading: int
    altitude_m: int
    time: datetime
    alarm_flags: int = 0
    status_flags: int = 0
    mileage_km: float | None = None
    fuel_l: float | None = None
    satellites: int | None = None
    signal_strength: int | None = None


@dataclass(frozen=True)
class Reading:
    """One normalised meter or sensor reading; ``crossed`` when it just went over its threshold."""

    device: str
    kind: str
    value: float
    unit: str
    time: datetime
    lon: float | None = None
    lat: float | None = None
    crossed: bool = False


def over_threshold(kind: str, unit: str, value: float) -> bool:
    """Whether a reading lies above the threshold of its kind (if it has one)."""
    rule = READING_THRESHOLDS.get((kind, unit))
    return rule is not None and value > rule[0]


def position_from_location(terminal: TerminalRef, location: jt808.Location) -> Position:
    """The normalised position of a decoded 0x0200 body (or one item of a 0x0704 batch)."""
    return Position(
        terminal=terminal,
        lon=location.longitude,
        lat=location.latitude,
        speed_kmh=location.speed_kmh,
        heading=location.direction,
        altitude_m=location.altitude_m,
        time=location.time.astimezone(UTC),
        alarm_flags=location.alarm_flags,
        status_flags=location.status_flags,
        mileage_km=None if location.mileage is None else location.mileage / 10,
        fuel_l=None if location.fuel is None else location.fuel / 10,
        satellites=location.satellites,
        signal_strength=location.signal_strength,
    )


# --- positions and readings --------------------------------------------------------------


def _to_gcj02(lons: Sequence[float], lats: Sequence[float]) -> tuple[list[float], list[float]]:
    gcj_lon, gcj_lat = wgs84_to_gcj02_arrays(
        np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
    )
    return [round(float(v), 7) for v in gcj_lon], [round(float(v), 7) for v in gcj_lat]


# The names of alarm and status flags by their value: a fleet sends few distinct values.
_FLAG_NAMES: dict[tuple[int, bool], list[str]] = {}


def _flag_names(flags: int, alarm: bool) -> list[str]:
    names = _FLAG_NAMES.get((flags, alarm))
    if names is None:
        names = jt808.flag_names(flags, jt808.ALARM_BITS if alarm else jt808.STATUS_BITS)
        if len(_FLAG_NAMES) >= 4096:
            _FLAG_NAMES.clear()
        _FLAG_NAMES[flags, alarm] = names
    return list(names)  # each payload gets its own list


def location_payload(position: Position, gcj_lon: float, gcj_lat: float) -> dict[str, Any]:
    """The ``ops.device.location`` event payload of one position."""
    payload: dict[str, Any] = {
        "terminal": position.terminal.phone,
        "plate": position.terminal.plate,
        "wgs84": {"lon": position.lon, "lat": position.lat},
        "gcj02": {"lon": gcj_lon, "lat": gcj_lat},
        "speed_kmh": position.speed_kmh,
        "heading": position.heading,
        "altitude_m": position.altitude_m,
        "time": position.time.isoformat(),
        "alarm_flags": position.alarm_flags,
        "alarms": _flag_names(position.alarm_flags, True),
        "status_flags": position.status_flags,
        "status": _flag_names(position.status_flags, False),
    }
    if position.mileage_km is not None:
        payload["mileage_km"] = position.mileage_km
    if position.fuel_l is not None:
        payload["fuel_l"] = position.fuel_l
    if position.satellites is not None:
        payload["satellites"] = position.satellites
    if position.signal_strength is not None:
        payload["signal_strength"] = position.signal_strength
    return payload


def _open_case(
    session: Session,
    rule: CaseRule,
    *,
    lon: float,
    lat: float,
    time: datetime,
    event_id: str,
    now: datetime,
    **words: Any,
) -> None:
    """Open a case through the operations centre's intake; a refusal is logged, not raised.

    The intake runs in a savepoint, so a report it refuses (say, a point outside the city),
    or a fault inside it, leaves the batch of positions or readings it came with intact.
    """
    report = IntakeReport(
        source_kind=SourceKind.DEVICE,
        source_ref=event_id,
        category=rule.category,
        description=rule.description.format(**words),
        lon=lon,
        lat=lat,
        crs="wgs84",
        urgency=rule.urgency,
        reported_at=min(time, now),
    )
    try:
        with session.begin_nested():
            cases.intake(session, report, now=now)
    except TwonetsError as exc:
        log.warning("device case not opened (%s): %s", report.description, exc.detail)
    except Exception:  # a fault in case intake must not cost the positions it rode with
        log.exception("device case not opened (%s)", report.description)


@dataclass(frozen=True)
class Recorded:
    """What became of a batch of positions: how many were stored, which sessions were refused
    (as ``(terminal pk, code serial)``)."""

    stored: int
    refused: frozenset[tuple[int, int]] = frozenset()


def stale_sessions(
    session: Session, terminals: Iterable[TerminalRef]
) -> frozenset[tuple[int, int]]:
    """The sessions, as ``(terminal pk, code serial)``, that are no longer current: the
    terminal is not enrolled any more, or its code was reset or replaced since."""
    asked = {(t.pk, t.code_serial) for t in terminals}
    if not asked:
        return frozenset()
    serials: dict[int, int] = dict(
        session.execute(
            select(Terminal.id, Terminal.code_serial).where(
                Terminal.id.in_({pk for pk, _ in asked}),
                Terminal.enrolled_at.is_not(None),
                Terminal.auth_code_hash.is_not(None),
            )
        ).all()
    )
    return frozenset((pk, serial) for pk, serial in asked if serials.get(pk) != serial)


def record_positions(session: Session, positions: Sequence[Position], *, now: datetime) -> Recorded:
    """Record a batch of positions: one event each, and each terminal's newest position.

    Only positions of a current session are recorded: a terminal whose enrolment was reset
    since it authenticated is refused, and nothing it sends reaches the case loop. An alarm
    bit of ``VEHICLE_ALARM_CASES`` coming on opens a case at that position.
    """
    if not positions:
        return Recorded(0)
    stale = stale_sessions(session, (p.terminal for p in positions))
    if stale:
        log.warning("positions of %d sessions refused: no longer current", len(stale))
        positions = [p for p in positions if (p.terminal.pk, p.terminal.code_serial) not in stale]
        if not positions:
            return Recorded(0, stale)
    gcj_lon, gcj_lat = _to_gcj02([p.lon for p in positions], [p.lat for p in positions])
    # The events in one go (COPY on PostgreSQL), in the order the positions came.
    event_ids = record_events(
        session,
        LOCATION_TOPIC,
        [
            location_payload(position, glon, glat)
            for position, glon, glat in zip(positions, gcj_lon, gcj_lat, strict=True)
        ],
        now=now,
    )
    by_terminal: dict[int, list[tuple[Position, float, float, str]]] = {}
    for position, glon, glat, event_id in zip(positions, gcj_lon, gcj_lat, event_ids, strict=True):
        by_terminal.setdefault(position.terminal.pk, []).append((position, glon, glat, event_id))
    known: dict[int, tuple[datetime, int]] = {
        pk: (reported_at, flags)
        for pk, reported_at, flags in session.execute(
            select(
                LastPosition.terminal_pk, LastPosition.reported_at, LastPosition.alarm_flags
            ).where(LastPosition.terminal_pk.in_(by_terminal))
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for pk, reports in by_terminal.items():
        reports.sort(key=lambda item: item[0].time)
        last = known.get(pk)
        flags = last[1] if last is not None else 0
        for position, _, _, event_id in reports:
            if last is not None and position.time <= last[0]:
                continue  # a late batch (blind-area upload) does not replay old alarms
            for bit, rule in VEHICLE_ALARM_CASES.items():
                if position.alarm_flags & ~flags & (1 << bit):
                    _open_case(
                        session,
                        rule,
                        lon=position.lon,
                        lat=position.lat,
                        time=position.time,
                        event_id=event_id,
                        now=now,
                        plate=position.terminal.plate,
                    )
            flags = position.alarm_flags
        position, glon, glat, _ = reports[-1]
        if last is not None and last[0] > position.time:
            continue  # a late batch must not move the truck backwards
        (updates if last is not None else inserts).append(
            {
                "terminal_pk": pk,
                "lon": position.lon,
                "lat": position.lat,
                "gcj_lon": glon,
                "gcj_lat": glat,
                "speed_kmh": position.speed_kmh,
                "heading": position.heading,
                "altitude_m": position.altitude_m,
                "alarm_flags": position.alarm_flags,
                "status_flags": position.status_flags,
                "reported_at": position.time,
                "received_at": now,
            }
        )
    # Last positions by primary key, one executemany each for new and known terminals.
    if inserts:
        session.execute(insert(LastPosition), inserts)
    if updates:
        session.execute(update(LastPosition), updates)
    return Recorded(len(positions), stale)


def record_readings(session: Session, readings: Sequence[Reading], *, now: datetime) -> int:
    """Record a batch of meter and sensor readings as ``ops.device.reading`` events."""
    located = [r for r in readings if r.lon is not None and r.lat is not None]
    gcj_lon, gcj_lat = _to_gcj02([r.lon or 0.0 for r in located], [r.lat or 0.0 for r in located])
    gcj = {id(r): (x, y) for r, x, y in zip(located, gcj_lon, gcj_lat, strict=True)}
    for reading in readings:
        payload: dict[str, Any] = {
            "device": reading.device,
            "kind": reading.kind,
            "value": reading.value,
            "unit": reading.unit,
            "time": reading.time.isoformat(),
        }
        if id(reading) in gcj:
            payload["wgs84"] = {"lon": reading.lon, "lat": reading.lat}
            glon, glat = gcj[id(reading)]
            payload["gcj02"] = {"lon": glon, "lat": glat}
        event_id = record_event(session, READING_TOPIC, payload, now=now)
        threshold = READING_THRESHOLDS.get((reading.kind, reading.unit))
        if (
            reading.crossed
            and threshold is not None
            and reading.lon is not None
            and reading.lat is not None
        ):
            _open_case(
                session,
                threshold[1],
                lon=reading.lon,
                lat=reading.lat,
                time=reading.time,
                event_id=event_id,
                now=now,
                value=reading.value,
                device=reading.device,
            )
    return len(readings)


# --- reads for operators -----------------------------------------------------------------


class TerminalState(StrEnum):
    """Where a terminal stands with the gateway."""

    NOT_ENROLLED = "not enrolled"  # registered on its own before enrolment existed
    WAITING = "waiting to register"  # enrolled, or reset: its next registration gets a code
    REGISTERED = "registered"  # holds a live code
    EXPIRED = "code expired"  # must register again for a new code


@dataclass(frozen=True)
class TerminalRow:
    """One terminal as the devices page lists it."""

    phone: str
    plate: str
    plate_colour: int
    credit_code: str | None
    state: TerminalState
    enrolled_at: datetime | None
    enrolled_by: str | None
    maker: str
    model: str
    version: int | None
    registered_at: datetime | None
    code_expires_at: datetime | None
    authenticated_at: datetime | None
    reported_at: datetime | None
    age_seconds: int | None
    speed_kmh: float | None
    district: str | None
    alarms: list[str]


def terminal_state(
    *,
    enrolled_at: datetime | None,
    has_code: bool,
    code_expires_at: datetime | None,
    now: datetime,
) -> TerminalState:
    """Where a terminal stands: not enrolled, waiting to register, registered, or expired."""
    if enrolled_at is None:
        return TerminalState.NOT_ENROLLED
    if not has_code:
        return TerminalState.WAITING
    if code_expires_at is not None and code_expires_at <= now:
        return TerminalState.EXPIRED
    return TerminalState.REGISTERED


def state_of(terminal: Terminal, now: datetime) -> TerminalState:
    """Where a terminal just loaded stands."""
    return terminal_state(
        enrolled_at=terminal.enrolled_at,
        has_code=terminal.auth_code_hash is not None,
        code_expires_at=terminal.code_expires_at,
        now=now,
    )


def list_terminals(session: Session, *, now: datetime) -> list[TerminalRow]:
    """Every terminal with its last report: those in alarm first, then the most recent; those
    never heard from by plate."""
    rows = session.execute(
        select(
            Terminal.phone,
            Terminal.plate,
            Terminal.plate_colour,
            Terminal.credit_code,
            Terminal.enrolled_at,
            Terminal.enrolled_by,
            Terminal.manufacturer,
            Terminal.model,
            Terminal.protocol_version,
            Terminal.registered_at,
            Terminal.code_expires_at,
            Terminal.authenticated_at,
            Terminal.auth_code_hash.is_not(None),  # governance: whether a code exists, not it
            LastPosition.reported_at,
            LastPosition.speed_kmh,
            LastPosition.lon,
            LastPosition.lat,
            LastPosition.alarm_flags,
        ).outerjoin(LastPosition, LastPosition.terminal_pk == Terminal.id)
    ).all()
    out = []
    for (
        phone,
        plate,
        colour,
        credit_code,
        enrolled_at,
        enrolled_by,
        maker,
        model,
        version,
        registered,
        expires,
        authed,
        has_code,
        reported,
        speed,
        lon,
        lat,
        flags,
    ) in rows:
        out.append(
            TerminalRow(
                phone=phone,
                plate=plate,
                plate_colour=colour,
                credit_code=credit_code,
                state=terminal_state(
                    enrolled_at=enrolled_at,
                    has_code=bool(has_code),
                    code_expires_at=expires,
                    now=now,
                ),
                enrolled_at=enrolled_at,
                enrolled_by=enrolled_by,
                maker=maker,
                model=model,
                version=None if registered is None else (2013 if version is None else 2019),
                registered_at=registered,
                code_expires_at=expires,
                authenticated_at=authed,
                reported_at=reported,
                age_seconds=None
                if reported is None
                else max(0, round((now - reported).total_seconds())),
                speed_kmh=speed,
                district=None if lon is None else locate_district(lon, lat),
                alarms=jt808.flag_names(flags or 0, jt808.ALARM_BITS),
            )
        )
    far_past = datetime.min.replace(tzinfo=UTC)
    out.sort(key=lambda t: (not t.alarms, -(t.reported_at or far_past).timestamp(), t.plate))
    return out


# --- the map layer -----------------------------------------------------------------------


def vehicles_layer(session: Session, *, now: datetime) -> dict[str, Any]:
    """Last known position of every terminal as GeoJSON in GCJ-02 (the map's datum)."""
    rows = session.execute(
        select(
            Terminal.phone,
            Terminal.plate,
            LastPosition.gcj_lon,
            LastPosition.gcj_lat,
            LastPosition.speed_kmh,
            LastPosition.heading,
            LastPosition.alarm_flags,
            LastPosition.reported_at,
        )
        .join(LastPosition, LastPosition.terminal_pk == Terminal.id)
        .order_by(Terminal.plate)
    ).all()
    features = [
        {
            "type": "Feature",
            "id": phone,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "terminal": phone,
                "plate": plate,
                "speed": speed,
                "heading": heading,
                "age_seconds": max(0, round((now - reported).total_seconds())),
                "alarm": alarm != 0,
                "alarms": jt808.flag_names(alarm, jt808.ALARM_BITS),
                "reported_at": reported.isoformat(),
            },
        }
        for phone, plate, lon, lat, speed, heading, alarm, reported in rows
    ]
    return {"type": "FeatureCollection", "crs_name": "gcj02", "features": features}
