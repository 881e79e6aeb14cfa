"""Detection on the platform keeps each district's month and recomputes only what changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.operations.rentals import detection, service, service_kept, service_loop, synthetic
from twonets.operations.rentals.models import KeptMonth, Lead

from .conftest import NOW, Housing

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
