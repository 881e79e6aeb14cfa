"""Detection on the platform keeps each district's month and recomputes only what changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.operations.rentals import (
    detection,
    engine,
    service,
    service_kept,
    service_loop,
    synthetic,
)
from twonets.operations.rentals.models import (
    Household,
    KeptFigure,
    KeptMonth,
    KeptTotal,
    Lead,
    Reading,
)

from .conftest import NOW, Housing
from .test_monthly import _same

LATER = NOW + timedelta(days=1)


def _computed(session: Session) -> dict[tuple[str, str], object]:
    rows = session.execute(
        select(KeptMonth.district_code, KeptMonth.month, KeptMonth.computed_at, KeptMonth.stale)
    ).all()
    assert not any(row.stale for row in rows)
    return {(row.district_code, row.month): row.computed_at for row in rows}


def test_only_a_month_whose_readings_changed_is_computed_again_and_leads_stay_the_cold_ones(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    city = synthetic.generate(seed=11, households=400)
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, city.readings, now=NOW)
        service.detect_leads(session, housing.city, now=NOW)
        first = _computed(session)
        assert len(first) == 3 * 12  # three districts, twelve months
        assert service_kept.refresh(session, None, now=LATER) == []  # nothing changed

    # December's readings of one household are replaced: a crowded home from then on.
    home = city.households[0]
    december = [r for r in city.readings if r.household_id == home.household_id][-1]
    crowded = replace(december, water_m3=december.water_m3 * 6, gas_m3=december.gas_m3 * 6)
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, [], [crowded], now=LATER)
        leads = service.detect_leads(session, housing.city, now=LATER)
        again = _computed(session)
        changed = {key for key in again if again[key] != first[key]}
        # The month is stale in every district (a reading does not say its district).
        assert changed == {(d, december.month) for d in synthetic.DISTRICTS}
        # The cold path over the readings as stored, every month computed afresh.
        homes, stored, _ = service._stored(session, None)
        assert sorted(stored, key=lambda r: (r.household_id, r.month))[11].water_m3 == (
            crowded.water_m3
        )
        cold = detection.detect(
            homes, stored, thresholds=service_loop.thresholds_for(session, None)
        )
        assert len(leads) == len(cold) > 0
        assert [lead.score for lead in leads] == [lead.score for lead in cold]
        assert [lead.reasons for lead in leads] == [lead.reasons for lead in cold]
        assert session.scalar(select(func.count()).select_from(Lead)) == len(leads)


def test_a_household_written_makes_its_district_s_months_stale(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    city = synthetic.generate(seed=11, households=120)
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, city.readings, now=NOW)
        service.detect_leads(session, housing.city, now=NOW)
    home = city.households[0]
    with unit_of_work(session_factory) as session:
        service.import_rows(
            session, housing.city, [replace(home, registered_occupants=1)], [], now=LATER
        )
        stale = {
            (d, m)
            for d, m in session.execute(
                select(KeptMonth.district_code, KeptMonth.month).where(KeptMonth.stale)
            )
        }
        assert stale == {(home.district, f"2026-{m:02d}") for m in range(1, 13)}
        computed = service_kept.refresh(session, home.district, now=LATER)
        assert computed == sorted(stale)


def _features_now(session: Session, district: str | None = None) -> list[dict[str, object]]:
    """The platform's features from its kept totals, and (asserted equal to 1e-9) the cold
    path's over the readings as stored."""
    service_kept.refresh(session, district, now=LATER)
    kept = service_kept.features(session, district)
    homes, stored, _ = service._stored(session, district)
    cold = engine.duckdb_features(engine.households_arrow(homes), engine.readings_arrow(stored))
    assert kept.schema == cold.schema
    assert kept.num_rows == cold.num_rows > 50
    differing = [
        (row["household_id"], key, row[key], theirs[key])
        for row, theirs in zip(cold.to_pylist(), kept.to_pylist(), strict=True)
        for key in engine.FEATURE_COLUMNS
        if not _same(row[key], theirs[key])
    ]
    assert differing == []
    rows: list[dict[str, object]] = kept.to_pylist()
    return rows


def test_months_kept_one_by_one_with_their_totals_give_the_cold_features(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    city = synthetic.generate(seed=11, households=240)
    months = sorted({r.month for r in city.readings})
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, [], now=NOW)
    for month in months:  # each month's readings as they arrive, detection after each
        with unit_of_work(session_factory) as session:
            arrived = [r for r in city.readings if r.month == month]
            service.import_rows(session, housing.city, [], arrived, now=NOW)
            _features_now(session)
            # The month was added to the kept totals: every household has one, with the
            # early means of the first months.
            totals = session.execute(select(KeptTotal.months, KeptTotal.early_from)).all()
            assert {tuple(t) for t in totals} == {(months.index(month) + 1.0, months[0])}

    with unit_of_work(session_factory) as session:
        # The features read the totals and the recent months only: a middle month's kept
        # figures no longer matter to them (here made absurd, and the features stay the same).
        before = _features_now(session)
        session.execute(
            update(KeptFigure).where(KeptFigure.month == months[5]).values(water_rb=1e6)
        )
        assert service_kept.features(session, None).to_pylist() == before
        session.rollback()

    # An earlier (early) month changed: a crowded home then; the totals are summed again.
    home = city.households[0]
    march = next(
        r for r in city.readings if r.household_id == home.household_id and r.month == months[2]
    )
    with unit_of_work(session_factory) as session:
        service.import_rows(
            session, housing.city, [], [replace(march, water_m3=march.water_m3 * 6)], now=LATER
        )
        after = _features_now(session)
    assert after != before

    # A household changed (fewer registered occupants): its district's months and totals.
    with unit_of_work(session_factory) as session:
        service.import_rows(
            session, housing.city, [replace(home, registered_occupants=1)], [], now=LATER
        )
        assert _features_now(session) != after
        # A district department's detection: its own district's households only.
        assert {row["district"] for row in _features_now(session, home.district)} == {home.district}


def test_totals_kept_before_the_early_months_arrive_are_computed_again_for_them(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    """Months arriving out of order: a later month first, then the earlier ones; the first
    month (and so the early means) moves."""
    city = synthetic.generate(seed=11, households=240)
    months = sorted({r.month for r in city.readings})
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, [], now=NOW)
    for chosen in (months[6:], months[3:6], months[:3]):
        with unit_of_work(session_factory) as session:
            arrived = [r for r in city.readings if r.month in chosen]
            service.import_rows(session, housing.city, [], arrived, now=NOW)
            _features_now(session)
            assert set(session.scalars(select(KeptTotal.early_from))) == {chosen[0]}


def test_a_month_whose_readings_are_all_deleted_leaves_the_totals(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    """A month withdrawn whole (a middle one, then the first): its kept figures and mark go,
    and the totals and early means are those of the months that remain."""
    city = synthetic.generate(seed=11, households=240)
    months = sorted({r.month for r in city.readings})
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, city.readings, now=NOW)
        _features_now(session)
    for withdrawn in (months[5], months[0]):
        with unit_of_work(session_factory) as session:
            session.execute(delete(Reading).where(Reading.month == withdrawn))
            _features_now(session)
            left = set(session.scalars(select(KeptMonth.month)))
            assert withdrawn not in left
            assert withdrawn not in set(session.scalars(select(KeptFigure.month)))
    with unit_of_work(session_factory) as session:
        remaining = [m for m in months if m not in (months[5], months[0])]
        assert {t for (t,) in session.execute(select(KeptTotal.months))} == {float(len(remaining))}
        assert set(session.scalars(select(KeptTotal.early_from))) == {remaining[0]}


def test_the_months_present_are_the_pairs_a_full_scan_finds(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    """The months walked on the index and asked per district are exactly the (district,
    month) pairs of a DISTINCT over every reading: a month one district lacks, a month only
    one district has, the first and the last month, a district scoped alone."""
    city = synthetic.generate(seed=11, households=240)
    months = sorted({r.month for r in city.readings})
    district_of = {h.household_id: h.district for h in city.households}
    districts = sorted(set(district_of.values()))
    assert len(districts) >= 2
    lone, other = districts[0], districts[1]
    readings = [
        r
        for r in city.readings
        # The first month only in `lone`; a middle month nowhere in `other`.
        if not (r.month == months[0] and district_of[r.household_id] != lone)
        and not (r.month == months[4] and district_of[r.household_id] == other)
    ]
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, readings, now=NOW)
    with unit_of_work(session_factory) as session:
        for scope in (None, lone, other):
            where = service_kept.scope(scope)
            scanned = set(
                session.execute(
                    select(Household.district_code, Reading.month)
                    .join(Household, Household.id == Reading.household_pk)
                    .where(*where)
                    .distinct()
                ).all()
            )
            walked = set(session.execute(service_kept.months_present(where)).all())
            assert walked == scanned
        everywhere = set(session.execute(service_kept.months_present([])).all())
        assert (lone, months[0]) in everywhere
        assert (other, months[0]) not in everywhere
        assert (other, months[4]) not in everywhere
        assert (lone, months[4]) in everywhere
        assert (other, months[-1]) in everywhere
