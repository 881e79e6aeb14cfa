"""The meter feed's writes: consumption added once, registers, resets, jumps, hourly sums.

A meter message (:class:`MeterReading`) carries either the use since the meter's last
message (``value``) or the meter's cumulative register (``register``). Each household's
meter of a utility is a :class:`~models.Meter` row, locked while a batch is applied, so two
workers never interleave one meter's messages:

- **once**: a message's key (its ``id``, else a digest of its time, value and kind) is kept
  in ``rental_meter_message`` under a unique constraint; a message whose key is there is a
  *duplicate* and adds nothing. Keys are pruned after ``retention`` days, and a message
  older than that is refused as *late* (its key could have been pruned), so a repeat is never
  counted twice. A message with neither ``id`` nor ``time`` has no key and is taken as new;
- **registers**: the use is the register minus the meter's last register (the baseline); the
  first register only sets the baseline. A register lower than the baseline is a *reset*
  (meter replaced, rollover): the new register is the baseline and nothing is added, unless
  the message says ``reset``, when the register is the use since the reset. A register
  older than the baseline is *late* and ignored;
- **implausible**: a use above the utility's ceiling per hour (times the hours since the
  meter's previous message, at least one) is held back (``Meter.held``), not added; a
  meter's first message is not judged (nobody knows the hours it covers);
- **hours**: an electricity message with its own ``time`` that covers at most 90 minutes
  since the meter's previous message is hourly data: its kWh are spread over the hours it
  covers (Shanghai time) into the month's :class:`~models.HourlyMonth` sums, and a month
  whose hourly messages cover at least a day gets its night and weekend shares and its
  peak-valley difference from them (:func:`month_shares`).

Nobody is shown consumption here: the platform's own work. The counters per meter are the
housing staff's (:func:`list_meters`), without any figure of use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.events import record_event
from twonets.operations.rentals.models import (
    HourlyMonth,
    Household,
    Meter,
    MeterMessage,
    Reading,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMN = {"water": "water_m3", "electricity": "electricity_kwh", "gas": "gas_m3"}
HOURLY_SPAN = timedelta(minutes=90)  # a message covering at most this is hourly data
MIN_HOURS = 24.0  # a month's hourly messages must cover a day before its shares are derived


@dataclass(frozen=True)
class MeterRules:
    """What the feed believes of a meter: ceilings of use per hour, how long keys are kept."""

    # A household's DN15 water meter passes about 2.5 m3/h at most, a 10 kW supply 10 kWh an
    # hour (a few homes have 20 kW), a G4 gas meter 6 m3/h: above these it is the meter.
    ceilings: dict[str, float] = field(
        default_factory=lambda: {"water": 3.0, "electricity": 25.0, "gas": 6.0}
    )
    retention: timedelta = timedelta(days=7)


DEFAULT_RULES = MeterRules()


@dataclass(frozen=True)
class MeterReading:
    """What a household's meter published at ``at`` (UTC).

    ``value`` is the use since the meter's last message, or its cumulative register when
    ``register`` is true (``reset``: the register counts from a reset). ``key`` identifies the
    message (``None``: it cannot be told from a repeat); ``timed``: ``at`` is the meter's time,
    not the time of receipt. Neither takes part in comparisons: they name, they do not measure.
    """

    household_id: str
    utility: str  # water | electricity | gas
    value: float
    at: datetime
    register: bool = False
    reset: bool = False
    key: str | None = field(default=None, compare=False)
    timed: bool = field(default=False, compare=False)


def message_key(
    utility: str,
    *,
    message_id: str | None,
    at: datetime | None,
    value: float,
    register: bool,
    reset: bool,
) -> str | None:
    """The key a message is refused by when it comes again (a SHA-256 digest, hex)."""
    if message_id is not None:
        text = f"id\x1f{message_id}"
    elif at is not None:
        kind = "register" if register else "value"
        text = f"{utility}\x1f{at.isoformat()}\x1f{kind}\x1f{value!r}\x1f{reset}"
    else:
        return None
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Applied:
    """What became of a batch: messages of households, added, and each kind refused."""

    households: int = 0
    added: int = 0
    duplicates: int = 0
    resets: int = 0
    implausible: int = 0
    late: int = 0


# --- hours --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HourPart:
    """A piece of a message's interval inside one clock hour (Shanghai), with its share of use."""

    start: datetime  # Shanghai time
    hours: float
    kwh: float

    @property
    def valley(self) -> bool:
        """22:00-06:00, the residential tariff's valley."""
        return self.start.hour >= 22 or self.start.hour < 6

    @property
    def night(self) -> bool:
        """23:00-07:00, the night of ``night_share``."""
        return self.start.hour >= 23 or self.start.hour < 7

    @property
    def weekend(self) -> bool:
        """Saturday or Sunday."""
        return self.start.weekday() >= 5


def hour_parts(start: datetime, end: datetime, kwh: float) -> list[HourPart]:
    """``kwh`` used evenly over ``(start, end]``, split at Shanghai's clock hours."""
    a, b = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    span = (b - a).total_seconds()
    if span <= 0:
        return []
    parts = []
    while a < b:
        edge = min(b, a.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        seconds = (edge - a).total_seconds()
        parts.append(HourPart(a, seconds / 3600, kwh * seconds / span))
        a = edge
    return parts


def month_shares(m: HourlyMonth) -> tuple[float, float, float | None] | None:
    """Night share, weekend share and peak-valley difference of a month's hourly sums.

    ``None`` until the hourly messages cover :data:`MIN_HOURS` with some use; the difference
    is ``None`` while the month has no peak or no valley hours. The difference is one minus
    the mean hourly use in the valley hours over that in the peak hours, clipped to [0, 1].
    """
    if m.hours < MIN_HOURS or m.kwh <= 0:
        return None
    night = min(1.0, max(0.0, m.night_kwh / m.kwh))
    weekend = min(1.0, max(0.0, m.weekend_kwh / m.kwh))
    peak_valley: float | None = None
    if m.valley_hours > 0 and m.peak_hours > 0:
        peak = m.peak_kwh / m.peak_hours
        valley = m.valley_kwh / m.valley_hours
        if peak > 0:
            peak_valley = min(1.0, max(0.0, 1.0 - valley / peak))
        elif valley > 0:
            peak_valley = 0.0
    return (
        round(night, 6),
        round(weekend, 6),
        (None if peak_valley is None else round(peak_valley, 6)),
    )


# --- the batch ----------------------------------------------------------------------------------


def _meters(session: Session, wanted: set[tuple[int, str]]) -> dict[tuple[int, str], Meter]:
    """The batch's meters, created when new, locked (in one order) until the batch commits."""
    pks = {pk for pk, _ in wanted}

    def load() -> dict[tuple[int, str], Meter]:
        rows = session.scalars(
            select(Meter).where(Meter.household_pk.in_(pks)).order_by(Meter.id).with_for_update()
        )  # governance: the feed's own baselines; nothing is shown
        return {
            (m.household_pk, m.utility): m for m in rows if (m.household_pk, m.utility) in wanted
        }

    meters = load()
    missing = sorted(wanted - meters.keys())
    for pk, utility in missing:
        try:
            with session.begin_nested():
                session.add(
                    Meter(
                        household_pk=pk,
                        utility=utility,
                        taken=0,
                        duplicates=0,
                        resets=0,
                        implausible=0,
                        late=0,
                        held=0.0,
                    )
                )
        except IntegrityError:  # another worker made it first; it is locked below
            pass
    return load() if missing else meters


def _fresh(
    session: Session, keyed: list[tuple[int, str, str, datetime]]
) -> set[tuple[int, str, str]]:
    """Which of the batch's keys were never seen; keeps them (the unique constraint decides)."""
    if not keyed:
        return set()
    asked = {(pk, u, k) for pk, u, k, _ in keyed}
    seen = {
        (pk, u, k)
        for pk, u, k in session.execute(  # governance: the feed's own keys; nothing is shown
            select(MeterMessage.household_pk, MeterMessage.utility, MeterMessage.key).where(
                MeterMessage.household_pk.in_({pk for pk, _, _ in asked}),
                MeterMessage.key.in_({k for _, _, k in asked}),
            )
        )
    }
    fresh: dict[tuple[int, str, str], datetime] = {}
    for pk, u, k, at in keyed:
        if (pk, u, k) not in seen and (pk, u, k) not in fresh:
            fresh[(pk, u, k)] = at
    rows = [
        MeterMessage(household_pk=pk, utility=u, key=k, at=at) for (pk, u, k), at in fresh.items()
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:  # a worker kept one of them meanwhile: one at a time then
        kept = set()
        for (pk, u, k), at in fresh.items():
            try:
                with session.begin_nested():
                    session.add(MeterMessage(household_pk=pk, utility=u, key=k, at=at))
                kept.add((pk, u, k))
            except IntegrityError:
                continue
        return kept
    return set(fresh)


def add_meter_readings(
    session: Session,
    readings: Sequence[MeterReading],
    *,
    now: datetime,
    rules: MeterRules = DEFAULT_RULES,
) -> Applied:
    """Apply a batch of meter messages to households' months (Shanghai time), each once."""
    out = Applied()
    ids = {r.household_id for r in readings}
    pks = dict(
        session.execute(
            select(Household.household_id, Household.id).where(Household.household_id.in_(ids))
        ).all()
    )
    ours = sorted(
        ((pks[r.household_id], r) for r in readings if r.household_id in pks),
        key=lambda pr: pr[1].at,
    )  # stable: a meter's messages of one time stay in the order they came
    out.households = len(ours)
    if not ours:
        return out
    horizon = now - rules.retention
    session.execute(delete(MeterMessage).where(MeterMessage.at < horizon))
    meters = _meters(session, {(pk, r.utility) for pk, r in ours})
    fresh = _fresh(
        session,
        [
            (pk, r.utility, r.key, max(r.at, now))
            for pk, r in ours
            if r.key is not None and r.at >= horizon
        ],
    )
    months = _Months(session)
    for pk, r in ours:
        meter = meters[(pk, r.utility)]
        if r.key is not None and r.at < horizon:
            meter.late += 1
            out.late += 1
            continue
        if r.key is not None and (pk, r.utility, r.key) not in fresh:
            meter.duplicates += 1
            out.duplicates += 1
            continue
        fresh.discard((pk, r.utility, r.key or ""))  # a repeat inside the batch is one too
        use = _use(meter, r, out)
        previous = meter.last_at
        if previous is None or r.at > previous:
            meter.last_at = r.at
        if use is None:
            continue
        hours = (r.at - previous).total_seconds() / 3600 if previous and r.at > previous else 0.0
        # A meter's first message covers hours nobody knows: it is not judged.
        if previous is not None and use > rules.ceilings[r.utility] * max(hours, 1.0):
            meter.implausible += 1
            meter.held = round(meter.held + use, 6)
            out.implausible += 1
            continue
        meter.taken += 1
        out.added += 1
        month = r.at.astimezone(SHANGHAI).strftime("%Y-%m")
        row = months.reading(pk, month)
        column = COLUMN[r.utility]
        setattr(row, column, round(getattr(row, column) + use, 6))
        hourly = previous is not None and timedelta(0) < r.at - previous <= HOURLY_SPAN
        if r.utility == "electricity" and r.timed and hourly and previous is not None:
            months.add_hours(pk, month, hour_parts(previous, r.at, use))
    months.derive()
    session.flush()
    if out.added or out.duplicates or out.resets or out.implausible or out.late:
        record_event(
            session,
            "ops.rentals.metered",
            {
                "readings": out.added,
                "duplicates": out.duplicates,
                "resets": out.resets,
                "implausible": out.implausible,
                "late": out.late,
            },
            now=now,
        )
    return out


def _use(meter: Meter, r: MeterReading, out: Applied) -> float | None:
    """The use a message adds (before the ceiling), moving the meter's baseline; ``None``: none."""
    if not r.register:
        return r.value
    last = meter.last_register
    if meter.last_at is not None and r.at < meter.last_at and last is not None:
        meter.late += 1
        out.late += 1
        return None
    meter.last_register = r.value
    if r.reset:
        meter.resets += 1
        out.resets += 1
        return r.value
    if last is None:
        return None  # the first register: a baseline
    if r.value < last:
        meter.resets += 1
        out.resets += 1
        return None
    return r.value - last


class _Months:
    """The household-months a batch touches: readings and hourly sums, loaded once each."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.readings: dict[tuple[int, str], Reading] = {}
        self.hourly: dict[tuple[int, str], HourlyMonth] = {}

    def reading(self, pk: int, month: str) -> Reading:
        row = self.readings.get((pk, month))
        if row is None:
            row = self.session.scalar(
                select(Reading).where(Reading.household_pk == pk, Reading.month == month)
            )  # governance: the feed adds to a month; nothing is shown
            if row is None:
                row = Reading(
                    household_pk=pk, month=month, water_m3=0.0, electricity_kwh=0.0, gas_m3=0.0
                )
                self.session.add(row)
            self.readings[(pk, month)] = row
        return row

    def add_hours(self, pk: int, month: str, parts: list[HourPart]) -> None:
        m = self.hourly.get((pk, month))
        if m is None:
            m = self.session.scalar(
                select(HourlyMonth).where(
                    HourlyMonth.household_pk == pk, HourlyMonth.month == month
                )
            )  # governance: the feed sums its own hours; nothing is shown
            if m is None:
                m = HourlyMonth(household_pk=pk, month=month)
                for name in _SUMS:
                    setattr(m, name, 0.0)
                self.session.add(m)
            self.hourly[(pk, month)] = m
        for p in parts:
            m.kwh += p.kwh
            m.hours += p.hours
            if p.valley:
                m.valley_kwh += p.kwh
                m.valley_hours += p.hours
            else:
                m.peak_kwh += p.kwh
                m.peak_hours += p.hours
            if p.night:
                m.night_kwh += p.kwh
            if p.weekend:
                m.weekend_kwh += p.kwh

    def derive(self) -> None:
        """Set the months' shares from their hourly sums, where they cover enough hours."""
        for (pk, month), m in self.hourly.items():
            shares = month_shares(m)
            if shares is None:
                continue
            row = self.reading(pk, month)
            row.night_share, row.weekend_share, row.peak_valley = shares


_SUMS = (
    "kwh",
    "hours",
    "valley_kwh",
    "valley_hours",
    "peak_kwh",
    "peak_hours",
    "night_kwh",
    "weekend_kwh",
)


# --- what housing staff see ---------------------------------------------------------------------


@dataclass(frozen=True)
class MeterView:
    """A meter's counters (no use): how often it double-sent, reset, jumped or came late."""

    household_id: str
    district: str
    utility: str
    taken: int
    duplicates: int
    resets: int
    implausible: int
    late: int


def list_meters(
    session: Session, caller: Principal, *, faulty_only: bool = True, limit: int = 200
) -> list[MeterView]:
    """The meters of the caller's households with their counters, the most faults first."""
    from twonets.operations.rentals.service import check_housing

    check_housing(caller)
    where: list[ColumnElement[bool]] = []
    if caller.district_code is not None:
        where.append(Household.district_code == caller.district_code)
    faults = Meter.duplicates + Meter.resets + Meter.implausible + Meter.late
    if faulty_only:
        where.append(faults > 0)
    rows = session.execute(
        select(
            Household.household_id,
            Household.district_code,
            Meter.utility,
            Meter.taken,
            Meter.duplicates,
            Meter.resets,
            Meter.implausible,
            Meter.late,
        )
        .join(Household, Household.id == Meter.household_pk)
        .where(*where)
        .order_by(faults.desc(), Household.household_id, Meter.utility)
        .limit(max(1, min(limit, 1000)))
    ).all()
    return [MeterView(*row) for row in rows]
