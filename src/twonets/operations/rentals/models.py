"""Group rentals' tables: households, their monthly meter readings, and the leads found.

Utility readings describe how the people of a home live: households and readings are
datasets of personal data (subject: the household), read by departments only through
governance under the purpose ``housing.group-rental``. The address and the registered
occupants are personal; the consumption figures are personal too. Leads hold scores and
reasons (figures relative to peers), never names, and are the housing department's work list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    or_,
    update,
)
from sqlalchemy.orm import Mapped, Session, UOWTransaction, attributes, mapped_column

from twonets.core.db import Base, UTCDateTime
from twonets.core.privacy import DataClass, all_public, dataset, personal, public

HOUSEHOLD_DATASET = "rentals.household"
READING_DATASET = "rentals.reading"
METER_DATASET = "rentals.meter"
METER_MESSAGE_DATASET = "rentals.meter-message"
HOURLY_DATASET = "rentals.hourly"
FIGURE_DATASET = "rentals.figure"
TOTAL_DATASET = "rentals.total"


class Household(Base):
    """A dwelling with its utility accounts: where it is, how big, who is registered there."""

    __tablename__ = "rental_household"
    __table_args__ = {
        "info": dataset(
            HOUSEHOLD_DATASET,
            subject="id",
            subject_kind="household",
            district="district_code",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[str] = mapped_column(String(64), unique=True)
    building_id: Mapped[str] = mapped_column(String(64), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    area_m2: Mapped[float] = mapped_column(Float)
    rooms: Mapped[int] = mapped_column(Integer)
    registered_occupants: Mapped[int] = mapped_column(Integer, info=personal())
    # "residential" or "commercial"
    use: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(256), info=personal())
    # The building's point (WGS-84), where a case is opened; the district's otherwise.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    # The street (township) whose team inspects the household; the district's when unknown.
    street_code: Mapped[str | None] = mapped_column(String(64), index=True)


class Reading(Base):
    """One household's consumption in one month; hourly electricity shares when known."""

    __tablename__ = "rental_reading"
    __table_args__ = (
        UniqueConstraint("household_pk", "month"),
        {
            "info": dataset(
                READING_DATASET,
                subject="household_pk",
                subject_kind="household",
                default=DataClass.PERSONAL,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=public())
    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), index=True
    )
    # Indexed: detection finds the months present by the index, not by reading every row.
    month: Mapped[str] = mapped_column(String(7), index=True, info=public())  # YYYY-MM
    water_m3: Mapped[float] = mapped_column(Float)
    electricity_kwh: Mapped[float] = mapped_column(Float)
    gas_m3: Mapped[float] = mapped_column(Float)
    # From hourly electricity, where the meter sends it: share used 23:00-07:00 and at weekends.
    night_share: Mapped[float | None] = mapped_column(Float)
    weekend_share: Mapped[float | None] = mapped_column(Float)
    # 1 - the mean hourly use in the valley hours (22:00-06:00) over the peak hours' (06:00-22:00).
    peak_valley: Mapped[float | None] = mapped_column(Float)


class Lead(Base):
    """A household whose consumption looks like a group rental, with the reasons, and its fate.

    ``state``: ``open`` (found), ``dismissed`` (the housing department saw no cause),
    ``referred`` (confirmed for inspection: a case of the operations centre), ``confirmed`` /
    ``not-confirmed`` (the case's outcome). ``label`` is what the outcome taught: 1 a group
    rental, 0 not one, empty while unknown.
    """

    __tablename__ = "rental_lead"
    __table_args__ = (UniqueConstraint("household_pk", "period"), {"info": all_public()})

    id: Mapped[int] = mapped_column(primary_key=True)
    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), index=True
    )
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    period: Mapped[str] = mapped_column(String(7))  # the last month of the readings scored
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)
    # The reasons as [template, values] pairs (detection.REASON_*), for pages to translate.
    reason_parts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), index=True, default="open")
    label: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("ops_case.id"), index=True)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class Team(Base):
    """A street team that inspects referred leads, and how many it takes a day."""

    __tablename__ = "rental_team"
    __table_args__ = {"info": all_public()}

    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # the street, or district
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    daily_cap: Mapped[int] = mapped_column(Integer)


class ThresholdSet(Base):
    """Thresholds of detection a housing department applied (newest first; none: default)."""

    __tablename__ = "rental_thresholds"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)  # none: the city
    high: Mapped[float] = mapped_column(Float)
    z: Mapped[float] = mapped_column(Float)
    agreement: Mapped[int] = mapped_column(Integer)
    over_registered: Mapped[float] = mapped_column(Float)
    min_score: Mapped[float] = mapped_column(Float)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(64))


class Meter(Base):
    """A household's meter of one utility as the feed knows it: its register and its faults.

    ``last_register`` is the baseline a cumulative register's next message is measured from;
    ``last_at`` the time of the newest message taken. The counters say how often the meter
    double-sent, reset, sent a jump too large to be true (held back, ``held`` in total) or a
    register older than the baseline; they are about the device, not the household's use.
    """

    __tablename__ = "rental_meter"
    __table_args__ = (
        UniqueConstraint("household_pk", "utility"),
        {
            "info": dataset(
                METER_DATASET,
                subject="household_pk",
                subject_kind="household",
                default=DataClass.PERSONAL,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=public())
    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), index=True
    )
    utility: Mapped[str] = mapped_column(String(16), info=public())  # water | electricity | gas
    last_register: Mapped[float | None] = mapped_column(Float)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken: Mapped[int] = mapped_column(Integer, default=0, info=public())
    duplicates: Mapped[int] = mapped_column(Integer, default=0, info=public())
    resets: Mapped[int] = mapped_column(Integer, default=0, info=public())
    implausible: Mapped[int] = mapped_column(Integer, default=0, info=public())
    late: Mapped[int] = mapped_column(Integer, default=0, info=public())
    held: Mapped[float] = mapped_column(Float, default=0.0)


class MeterMessage(Base):
    """A meter message already taken, by its key, so a repeat is refused (pruned after days).

    The key is the message's ``id`` or, without one, a digest of its time, value and kind.
    The unique constraint is what keeps two workers from both adding the same message.
    """

    __tablename__ = "rental_meter_message"
    __table_args__ = (
        UniqueConstraint("household_pk", "utility", "key"),
        {
            "info": dataset(
                METER_MESSAGE_DATASET,
                subject="household_pk",
                subject_kind="household",
                default=DataClass.PERSONAL,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=public())
    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), index=True
    )
    utility: Mapped[str] = mapped_column(String(16), info=public())
    key: Mapped[str] = mapped_column(String(64), info=public())  # a SHA-256 digest, hex
    # The later of the message's time and its receipt: the key is pruned from this on.
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, info=public())


class HourlyMonth(Base):
    """A household-month's electricity from timed feed messages, summed by hour of the day.

    Valley hours are 22:00-06:00 and peak hours 06:00-22:00 (Shanghai's residential tariff),
    night 23:00-07:00, weekend Saturday and Sunday, all in Shanghai time; ``hours`` are the
    hours the messages covered. The month's shares and peak-valley difference come from these.
    """

    __tablename__ = "rental_hourly_month"
    __table_args__ = (
        UniqueConstraint("household_pk", "month"),
        {
            "info": dataset(
                HOURLY_DATASET,
                subject="household_pk",
                subject_kind="household",
                default=DataClass.PERSONAL,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=public())
    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[str] = mapped_column(String(7), info=public())  # YYYY-MM
    kwh: Mapped[float] = mapped_column(Float, default=0.0)
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    valley_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    valley_hours: Mapped[float] = mapped_column(Float, default=0.0)
    peak_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    peak_hours: Mapped[float] = mapped_column(Float, default=0.0)
    night_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    weekend_kwh: Mapped[float] = mapped_column(Float, default=0.0)


class KeptFigure(Base):
    """A household's month as detection compares it with its peers (monthly.KEPT_COLUMNS).

    Computed once per district and month (the peers never cross either) and kept, so that
    detection computes only the months whose readings are new or changed. Ratios to the
    peers, robust z-scores, shares over the district's, and the month's water and
    electricity (the features' water/electricity ratio sums them): personal, like the readings.
    """

    __tablename__ = "rental_kept_figure"
    __table_args__ = (
        {
            "info": dataset(
                FIGURE_DATASET,
                subject="household_pk",
                subject_kind="household",
                default=DataClass.PERSONAL,
            )
        },
    )

    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), primary_key=True, info=public()
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True, info=public())
    idx: Mapped[int] = mapped_column(Integer, info=public())  # year × 12 + month
    water_m3: Mapped[float | None] = mapped_column(Float)
    electricity_kwh: Mapped[float | None] = mapped_column(Float)
    we_d: Mapped[float | None] = mapped_column(Float, info=public())  # the district's
    night_r: Mapped[float | None] = mapped_column(Float)
    weekend_r: Mapped[float | None] = mapped_column(Float)
    peak_valley_r: Mapped[float | None] = mapped_column(Float)
    water_rb: Mapped[float | None] = mapped_column(Float)
    water_rd: Mapped[float | None] = mapped_column(Float)
    water_rm2: Mapped[float | None] = mapped_column(Float)
    water_people: Mapped[float | None] = mapped_column(Float)
    water_z: Mapped[float | None] = mapped_column(Float)
    electricity_rb: Mapped[float | None] = mapped_column(Float)
    electricity_rd: Mapped[float | None] = mapped_column(Float)
    electricity_rm2: Mapped[float | None] = mapped_column(Float)
    electricity_people: Mapped[float | None] = mapped_column(Float)
    electricity_z: Mapped[float | None] = mapped_column(Float)
    gas_rb: Mapped[float | None] = mapped_column(Float)
    gas_rd: Mapped[float | None] = mapped_column(Float)
    gas_rm2: Mapped[float | None] = mapped_column(Float)
    gas_people: Mapped[float | None] = mapped_column(Float)
    gas_z: Mapped[float | None] = mapped_column(Float)


class KeptMonth(Base):
    """A district's month whose figures are kept; ``stale`` once a reading or household of
    it was written after them (marked on every flush that writes one, see below)."""

    __tablename__ = "rental_kept_month"
    __table_args__ = {"info": all_public()}

    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)


class KeptTotal(Base):
    """A household's totals over its kept months (monthly.TOTALS_COLUMNS) and its early means.

    Detection's features are means over every month: sums and counts kept here, so a new
    month adds its figures to them and detection reads these, not the year's kept figures.
    Kept in step with ``KeptFigure`` by ``service_kept.refresh``: a district's totals are
    added to when its new months are kept, and summed again from its kept figures when one
    of its months was computed again (stale). ``{utility}_early`` are the mean ratios to the
    building's peers over the first months from ``early_from`` (null: to be computed again).
    """

    __tablename__ = "rental_kept_total"
    __table_args__ = {
        "info": dataset(
            TOTAL_DATASET,
            subject="household_pk",
            subject_kind="household",
            default=DataClass.PERSONAL,
        )
    }

    household_pk: Mapped[int] = mapped_column(
        ForeignKey("rental_household.id", ondelete="CASCADE"), primary_key=True, info=public()
    )
    months: Mapped[float] = mapped_column(Float, info=public())  # how many months are kept
    last_month: Mapped[str] = mapped_column(String(7), info=public())
    water: Mapped[float | None] = mapped_column(Float)
    power: Mapped[float | None] = mapped_column(Float)
    we_d_sum: Mapped[float | None] = mapped_column(Float)
    we_d_n: Mapped[float | None] = mapped_column(Float)
    night_r_sum: Mapped[float | None] = mapped_column(Float)
    night_r_n: Mapped[float | None] = mapped_column(Float)
    weekend_r_sum: Mapped[float | None] = mapped_column(Float)
    weekend_r_n: Mapped[float | None] = mapped_column(Float)
    peak_valley_r_sum: Mapped[float | None] = mapped_column(Float)
    peak_valley_r_n: Mapped[float | None] = mapped_column(Float)
    water_rb_sum: Mapped[float | None] = mapped_column(Float)
    water_rb_n: Mapped[float | None] = mapped_column(Float)
    water_rd_sum: Mapped[float | None] = mapped_column(Float)
    water_rd_n: Mapped[float | None] = mapped_column(Float)
    water_rm2_sum: Mapped[float | None] = mapped_column(Float)
    water_rm2_n: Mapped[float | None] = mapped_column(Float)
    electricity_rb_sum: Mapped[float | None] = mapped_column(Float)
    electricity_rb_n: Mapped[float | None] = mapped_column(Float)
    electricity_rd_sum: Mapped[float | None] = mapped_column(Float)
    electricity_rd_n: Mapped[float | None] = mapped_column(Float)
    electricity_rm2_sum: Mapped[float | None] = mapped_column(Float)
    electricity_rm2_n: Mapped[float | None] = mapped_column(Float)
    gas_rb_sum: Mapped[float | None] = mapped_column(Float)
    gas_rb_n: Mapped[float | None] = mapped_column(Float)
    gas_rd_sum: Mapped[float | None] = mapped_column(Float)
    gas_rd_n: Mapped[float | None] = mapped_column(Float)
    gas_rm2_sum: Mapped[float | None] = mapped_column(Float)
    gas_rm2_n: Mapped[float | None] = mapped_column(Float)
    water_high: Mapped[float | None] = mapped_column(Float)
    electricity_high: Mapped[float | None] = mapped_column(Float)
    gas_high: Mapped[float | None] = mapped_column(Float)
    water_early: Mapped[float | None] = mapped_column(Float)
    electricity_early: Mapped[float | None] = mapped_column(Float)
    gas_early: Mapped[float | None] = mapped_column(Float)
    early_from: Mapped[str | None] = mapped_column(String(7), info=public())


@event.listens_for(Session, "before_flush")
def _mark_kept_months_stale(session: Session, _: UOWTransaction, __: object) -> None:
    """A reading written makes its month's kept figures stale (every district's: the
    reading's district would cost a query), a household written its district's months
    (old and new district): whoever writes them, the import or the meter feed."""
    months: set[str] = set()
    districts: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Reading):
            months.add(obj.month)
        elif isinstance(obj, Household):
            history = attributes.get_history(obj, "district_code")
            districts.update(d for d in (*history.added, *history.unchanged, *history.deleted) if d)
    if months or districts:
        session.connection().execute(
            update(KeptMonth)
            .where(
                or_(
                    KeptMonth.month.in_(sorted(months)),
                    KeptMonth.district_code.in_(sorted(districts)),
                )
            )
            .values(stale=True)
        )
