"""The demo city's bikes: the heat map counts every generated trip, the zones' piles become
one case per episode, and the plan moves bikes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import h3
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.seeding import DemoCity
from twonets.operations.bikes import demo, service
from twonets.operations.bikes.models import BikeOversupply, BikeSnapshot, BikeTrip
from twonets.operations.cases.models import Case

NOW = datetime(2026, 12, 7, 4, 40, tzinfo=UTC)  # 12:40 in Shanghai, a Monday
SEED = 11


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_the_demo_city_heat_map_counts_every_trip_and_its_piles_become_cases(
    session_factory: sessionmaker[Session], ops_world
) -> None:
    with session_factory() as session, session.begin():
        demo.seed(DemoCity(session=session, seed=SEED, scale=1, now=NOW, root_secret=b"k" * 32))
    raw = demo.trips_of(SEED, NOW)
    # An independent count: each generated trip's points converted one by one.
    starts = Counter(
        (h3.latlng_to_cell(t.start_lat, t.start_lon, 8), _hour(t.started_at.to_pydatetime()))
        for t in raw.itertuples()
    )
    arrivals = Counter(
        (h3.latlng_to_cell(t.end_lat, t.end_lon, 8), _hour(t.ended_at.to_pydatetime()))
        for t in raw.itertuples()
    )
    since = _hour(raw["started_at"].min().to_pydatetime())
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BikeTrip)) == len(raw) > 15_000
        assert (session.scalar(select(func.count()).select_from(BikeSnapshot)) or 0) > 10_000
        table = service.heat_cells(
            session,
            ops_world.supervisor,
            since=since,
            until=_hour(NOW) + timedelta(hours=2),
            resolution=demo.RESOLUTION,
        )
        counted_starts = {
            (r.cell, r.hour.to_pydatetime()): int(r.starts) for r in table.itertuples() if r.starts
        }
        counted_arrivals = {
            (r.cell, r.hour.to_pydatetime()): int(r.arrivals)
            for r in table.itertuples()
            if r.arrivals
        }
        assert counted_starts == dict(starts)
        assert counted_arrivals == dict(arrivals)
        assert sum(counted_starts.values()) == len(raw)

        episodes = session.scalars(select(BikeOversupply)).all()
        numbers = {e.case_number for e in episodes}
        # One case per episode, each a pile the zone's register names.
        assert len(numbers) == len(episodes) >= 3
        cases = session.scalars(select(Case).where(Case.number.in_(numbers))).all()
        assert {c.category_code for c in cases} == {"E0506"}
        assert len(cases) == len(episodes)
    # Checking the last hour again extends the open episodes: no new case.
    with session_factory() as session, session.begin():
        again = service.check_zones(session, hour=_hour(NOW), resolution=demo.RESOLUTION, now=NOW)
        assert again == []
        assert session.scalar(select(func.count()).select_from(BikeOversupply)) == len(episodes)
    with session_factory() as session:
        plan = service.plan_rebalancing(
            session, ops_world.operator, resolution=demo.RESOLUTION, trucks=4, capacity=20, now=NOW
        )
    assert 0 < plan.bikes_moved <= 80
    assert {m.operator for m in plan.moves} <= {o for o, _, _ in demo.OPERATORS}
