"""Detection's kept monthly figures in the database: computed per district and month, once.

A district's month is computed (:func:`monthly.month_figures`, on DuckDB over that district's
households and that month's readings) when it has readings but no kept figures, or when its
figures are stale: a reading or a household of it was written after them (``KeptMonth.stale``,
marked on the flush that writes it, the import's or the meter feed's). Each household's
totals over its kept months and its early means are kept too (``KeptTotal``): a district's
new months are added to them, a month computed again has them summed again. The features
are then computed from the totals, the early means and the recent months' kept figures
(:func:`monthly.features_from_totals`), not the year's rows, equal to the cold path's
(``engine.feature_table`` over every reading).

Everything here runs inside the platform for detection: nobody is shown a figure; only the
leads' scores and reasons leave it (``# governance:`` on each read).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, Table, delete, func, insert, select
from sqlalchemy.orm import Session

from twonets.operations.rentals import cursor, engine, monthly
from twonets.operations.rentals.models import (
    Household,
    KeptFigure,
    KeptMonth,
    KeptTotal,
    Reading,
)

FIGURES = monthly.KEPT_COLUMNS[2:]  # after household_id and month
# Written on the driver's cursor (cursor.write): many rows without a dict per row.
_FIGURE_TABLE = cast(Table, KeptFigure.__table__)
_TOTAL_TABLE = cast(Table, KeptTotal.__table__)


def scope(district: str | None) -> list[Any]:
    """The condition on households of a district (none: every household)."""
    return [] if district is None else [Household.district_code == district]


def _household_select(where: list[Any]) -> Select[*tuple[Any, ...]]:
    """The households as the engine reads them, then each one's primary key (``id``)."""
    return select(
        Household.household_id,
        Household.building_id,
        Household.district_code,
        Household.area_m2,
        Household.rooms,
        Household.registered_occupants,  # governance: detection; only scores leave
        Household.use,
        Household.id,
    ).where(*where)


def _reading_select(where: list[Any]) -> Select[*tuple[Any, ...]]:
    """The readings by household id, in :data:`engine.READING_SCHEMA`'s order."""
    return (
        select(
            Household.household_id,
            Reading.month,
            Reading.water_m3,  # governance: detection; only scores leave
            Reading.electricity_kwh,
            Reading.gas_m3,
            Reading.night_share,
            Reading.weekend_share,
            Reading.peak_valley,
        )
        .join(Household, Household.id == Reading.household_pk)
        .where(*where)
    )


def stored_households(session: Session, where: list[Any]) -> Sequence[Any]:
    """The households detection reads, with their primary keys (``id``)."""
    return session.execute(_household_select(where)).all()


def stored_readings(session: Session, where: list[Any]) -> Sequence[Any]:
    """The readings detection reads, by household id, in :data:`engine.READING_SCHEMA`'s order."""
    return session.execute(_reading_select(where)).all()


_HOMES_AND_KEYS = engine.HOUSEHOLD_SCHEMA.append(pa.field("household_pk", pa.int64()))


def _households(session: Session, where: list[Any]) -> tuple[pa.Table, pa.Table]:
    """The households as the engine reads them, and each one's primary key
    (``household_id``, ``household_pk``)."""
    found = cursor.read(session, _household_select(where), _HOMES_AND_KEYS)
    return found.drop_columns(["household_pk"]), found.select(["household_id", "household_pk"])


def keyed(keys: pa.Table, rows: pa.Table) -> pa.Table:
    """``rows`` with each household's primary key (``household_pk``) for its ``household_id``."""
    at = pc.index_in(rows.column("household_id"), value_set=keys.column("household_id"))
    pks = keys.column("household_pk").take(at)
    return rows.drop_columns(["household_id"]).add_column(0, "household_pk", pks)


def _readings(session: Session, district: str, months: list[str]) -> pa.Table:
    """A district's readings of some months, as the engine reads them."""
    where = [Household.district_code == district, Reading.month.in_(months)]
    return cursor.read(session, _reading_select(where), engine.READING_SCHEMA)


def _kept_rows(
    session: Session, where: list[Any], names: Sequence[str] = monthly.KEPT_COLUMNS
) -> pa.Table:
    """Kept figures (``names`` of :data:`monthly.KEPT_SCHEMA`) of the households and months
    ``where`` says."""
    columns = [getattr(KeptFigure, name) for name in names[1:]]
    return cursor.read(
        session,
        select(Household.household_id, *columns)  # governance: detection; only scores leave
        .join(Household, Household.id == KeptFigure.household_pk)
        .where(*where),
        pa.schema([monthly.KEPT_SCHEMA.field(name) for name in names]),
    )


# What the features read of the recent months' figures, and the early means of the early
# months' (``monthly.features_from_totals`` with the early means given, ``early_means``):
# half of the figures' columns or less, which is half of what crosses from the database.
RECENT_READ = (
    "household_id",
    "idx",
    *(f"{u}_{name}" for u in engine.UTILITIES for name in ("rb", "z", "people")),
)
EARLY_READ = ("household_id", "idx", *(f"{u}_rb" for u in engine.UTILITIES))


EARLY = monthly.EARLY_COLUMNS
_TOTALS_AND_EARLY = pa.schema(
    [
        *monthly.TOTALS_SCHEMA,
        *(pa.field(name, pa.float64()) for name in EARLY),
        pa.field("early_from", pa.string()),
    ]
)


def _kept_totals(session: Session, where: list[Any]) -> pa.Table:
    """Kept totals (:data:`monthly.TOTALS_SCHEMA`) of the households ``where`` says, then
    each one's early means and their first month as kept (``early_from``)."""
    columns = [getattr(KeptTotal, name) for name in _TOTALS_AND_EARLY.names[1:]]
    return cursor.read(
        session,
        select(Household.household_id, *columns)  # governance: detection; only scores leave
        .join(Household, Household.id == KeptTotal.household_pk)
        .where(*where),
        _TOTALS_AND_EARLY,
    )


def _keep_totals(
    session: Session,
    district: str,
    keys: pa.Table,
    figures: pa.Table,
    months: list[str],
    *,
    added: bool,
) -> None:
    """Keep the district's totals once ``months``' figures (``figures``) are kept.

    ``added``: none of the months was kept before, so the kept totals (of the district's
    other months, all fresh) take the months' figures added; otherwise (a month computed
    again) they are summed again from every kept figure of the district. The early means are
    kept where no added month is among their months, marked to be computed again otherwise.
    """
    where = [Household.district_code == district]
    kept = _kept_totals(session, where)
    before = kept.select(list(monthly.TOTALS_COLUMNS))
    if added and before.num_rows:
        first_added = min(monthly.month_index(m) for m in months)
        totals = monthly.duckdb_totals(figures, before, one_month=len(months) == 1)
        early = kept.select(["household_id", *EARLY, "early_from"])
    else:
        first_added = 0
        totals = monthly.duckdb_totals(_kept_rows(session, where))
        early = _TOTALS_AND_EARLY.empty_table().select(["household_id", *EARLY, "early_from"])
    # Each household's early means as kept, unless an added month is among their months
    # (then unknown: computed again by the next features).
    rows = totals.select(list(monthly.TOTALS_COLUMNS)).join(
        early, "household_id", join_type="left outer"
    )
    since = rows.column("early_from")  # YYYY-MM, as monthly.month_index reads it
    index = pc.add(
        pc.multiply(pc.cast(pc.utf8_slice_codeunits(since, 0, 4), pa.int64()), 12),
        pc.cast(pc.utf8_slice_codeunits(since, 5, 7), pa.int64()),
    )
    keep = pc.fill_null(pc.greater_equal(first_added, pc.add(index, engine.RECENT)), False)
    for name in (*EARLY, "early_from"):
        position = rows.schema.get_field_index(name)
        column = rows.column(name)
        rows = rows.set_column(
            position, name, pc.if_else(keep, column, pa.nulls(len(column), column.type))
        )
    session.execute(
        delete(KeptTotal).where(KeptTotal.household_pk.in_(select(Household.id).where(*where)))
    )
    cursor.write_table(session, _TOTAL_TABLE, keyed(keys, rows))


def refresh(session: Session, district: str | None, *, now: datetime) -> list[tuple[str, str]]:
    """Compute the kept figures of every district's month (in scope) that needs it, and keep
    each such district's totals (``KeptTotal``) in step.

    Returns the (district, month) pairs computed, in order.
    """
    where = scope(district)
    present = set(session.execute(months_present(where)).all())
    kept = select(KeptMonth.district_code, KeptMonth.month, KeptMonth.stale)
    if district is not None:
        kept = kept.where(KeptMonth.district_code == district)
    kept_rows = session.execute(kept).all()
    todo: dict[str, list[str]] = defaultdict(list)
    fresh = {(d, month) for d, month, stale in kept_rows if not stale}
    for d, month in sorted(present - fresh):
        todo[d].append(month)
    # A kept month whose readings are all gone is forgotten, and its district's totals are
    # summed again from the months that remain.
    gone: dict[str, list[str]] = defaultdict(list)
    for d, month, _ in sorted(kept_rows):
        if (d, month) not in present:
            gone[d].append(month)
    for d, months in gone.items():
        _forget(session, d, months)
        if d not in todo:
            _, keys = _households(session, [Household.district_code == d])
            _keep_totals(session, d, keys, pa.table({}), [], added=False)
    for d, months in todo.items():
        homes, keys = _households(session, [Household.district_code == d])
        figures = monthly.duckdb_month_figures(homes, _readings(session, d, months))
        _forget(session, d, months, keep_months=True)
        cursor.write_table(
            session, _FIGURE_TABLE, keyed(keys, figures.select(list(monthly.KEPT_COLUMNS)))
        )
        again = session.scalars(
            select(KeptMonth.month).where(KeptMonth.district_code == d, KeptMonth.month.in_(months))
        ).all()
        _keep_totals(session, d, keys, figures, months, added=not again and d not in gone)
        session.execute(
            delete(KeptMonth).where(KeptMonth.district_code == d, KeptMonth.month.in_(months))
        )
        session.execute(
            insert(KeptMonth),
            [{"district_code": d, "month": m, "computed_at": now, "stale": False} for m in months],
        )
    return [(d, m) for d, months in todo.items() for m in months]


def months_present(where: list[Any]) -> Select[str, str]:
    """The (district, month) pairs that have readings, found through the month's index.

    Not a ``DISTINCT`` over every reading, which grows with the history: the months are
    walked on the index (the next month after each one, a "loose index scan"), and each
    district is asked whether it has a reading of each month (its households in turn, each by
    the readings' unique index, stopping at the first).
    """
    walked = select(func.min(Reading.month).label("month")).cte("months", recursive=True)
    previous = walked.alias("previous")
    following = select(func.min(Reading.month)).where(Reading.month > previous.c.month)
    walked = walked.union_all(
        select(following.scalar_subquery()).where(previous.c.month.is_not(None))
    )
    districts = select(Household.district_code).where(*where).distinct().subquery("districts")
    # Scalar subqueries with LIMIT 1, not EXISTS (PostgreSQL turns an EXISTS into a join that
    # reads every reading): the district's households are taken in turn, each asked by the
    # readings' unique (household, month) index; the first with a reading ends the probe.
    month_of_household = (
        select(Reading.id)
        .where(Reading.household_pk == Household.id, Reading.month == walked.c.month)
        .correlate_except(Reading)  # the household and the month are the enclosing ones
        .limit(1)
        .scalar_subquery()
    )
    has_reading = (
        select(Household.id)
        .where(
            Household.district_code == districts.c.district_code,
            month_of_household.is_not(None),
        )
        .correlate_except(Household)
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )
    # Every district with every month (joined on no column), kept where it has a reading.
    pairs = districts.join(walked, walked.c.month.is_not(None))
    return select(districts.c.district_code, walked.c.month).select_from(pairs).where(has_reading)


def _forget(
    session: Session, district: str, months: list[str], *, keep_months: bool = False
) -> None:
    """Delete the district's kept figures of ``months`` (and, unless ``keep_months``, the
    months' kept marks)."""
    session.execute(
        delete(KeptFigure).where(
            KeptFigure.household_pk.in_(
                select(Household.id).where(Household.district_code == district)
            ),
            KeptFigure.month.in_(months),
        )
    )
    if not keep_months:
        session.execute(
            delete(KeptMonth).where(
                KeptMonth.district_code == district, KeptMonth.month.in_(months)
            )
        )


def _early_means(session: Session, where: list[Any], bounds: tuple[str, str]) -> pa.Table:
    """The early means (:data:`monthly.EARLY_SCHEMA`) for ``bounds``: kept ones, and those
    not kept for these bounds computed from the early months' kept figures and kept."""
    first = monthly.month_index(bounds[0])
    stale = (KeptTotal.early_from.is_(None)) | (KeptTotal.early_from != bounds[0])
    districts = sorted(
        session.scalars(
            select(Household.district_code)
            .join(KeptTotal, KeptTotal.household_pk == Household.id)
            .where(*where, stale)
            .distinct()
        )
    )
    if districts:
        # Those districts' early means, from the kept figures of the first months only.
        again = [Household.district_code.in_(districts)]
        means = monthly.duckdb_early_means(
            _kept_rows(session, [*again, KeptFigure.idx < first + engine.RECENT], EARLY_READ),
            bounds,
        )
        columns = means.select(list(monthly.EARLY_SCHEMA.names)).to_pydict()
        found = dict(
            zip(columns.pop("household_id"), zip(*columns.values(), strict=True), strict=True)
        )
        pks = cursor.rows(
            session,
            select(Household.household_id, Household.id)
            .join(KeptTotal, KeptTotal.household_pk == Household.id)
            .where(*again),
        )
        unknown = (None,) * len(EARLY)
        cursor.update(
            session,
            _TOTAL_TABLE,
            "household_pk",
            ("early_from", *EARLY),
            ((bounds[0], *found.get(household_id, unknown), pk) for household_id, pk in pks),
        )
    return cursor.read(
        session,
        select(
            Household.household_id, *(getattr(KeptTotal, n) for n in EARLY)
        )  # governance: detection; only scores leave
        .join(Household, Household.id == KeptTotal.household_pk)
        .where(*where),
        monthly.EARLY_SCHEMA,
    )


def features(session: Session, district: str | None) -> pa.Table:
    """The features (``engine.FEATURE_COLUMNS``) from the kept totals, by household id.

    Call :func:`refresh` first: a month without kept figures is not in them. Reads each
    household's kept totals and early means, and the kept figures of the recent months only.
    """
    where = scope(district)
    homes, _ = _households(session, where)
    first, last = session.execute(
        select(func.min(Reading.month), func.max(Reading.month))
        .join(Household, Household.id == Reading.household_pk)
        .where(*where)
    ).one()
    if first is None:
        return homes.schema.empty_table()
    bounds = (first, last)
    early = _early_means(session, where, bounds)
    totals = _kept_totals(session, where).select(list(monthly.TOTALS_COLUMNS))
    recent = _kept_rows(
        session, [*where, KeptFigure.idx > monthly.month_index(last) - engine.RECENT], RECENT_READ
    )
    return monthly.duckdb_features_from_totals(homes, totals, recent, bounds, early)
