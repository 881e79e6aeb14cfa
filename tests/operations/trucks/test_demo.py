"""The demo's Pudong fleet: registered, driven three nights through the consumer's path, the
planted violations found as they happened, alerted once each, the repeat offender escalated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.seeding import DemoCity
from twonets.operations.cases import catalogue
from twonets.operations.cases.models import Case
from twonets.operations.trucks import demo
from twonets.operations.trucks.models import (
    Truck,
    TruckAlert,
    TruckPosition,
    TruckSighting,
    TruckViolation,
)

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_the_demo_fleet_drives_three_nights_with_planted_violations(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        catalogue.ensure_elements(session)
        demo.seed(DemoCity(session=session, seed=7, scale=1, now=NOW, root_secret=b"k"))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Truck)) == len(demo.PLATES)
        assert (session.scalar(select(func.count()).select_from(TruckPosition)) or 0) > 150
        found = session.execute(
            select(
                Truck.plate,
                TruckViolation.kind,
                TruckViolation.district_code,
                TruckViolation.case_number,
            )
            .join(Truck, Truck.id == TruckViolation.truck_id)
            .order_by(Truck.plate)
        ).all()
        assert [(plate, kind) for plate, kind, _, _ in found] == [
            *[(demo.PLATES[demo.DETOUR], "off_route")] * demo.NIGHTS,
            (demo.PLATES[demo.DUMPER], "suspected_dumping"),
            (demo.PLATES[demo.LATE], "out_of_hours"),
        ]
        assert {district for _, _, district, _ in found} == {"310115"}
        cases = set(session.scalars(select(Case.number)))
        assert {number for *_, number in found} == cases
        # Found as the positions arrived: each violation alerted its inspectors and the
        # company once; the third night's detour came from a repeat offender.
        alerts = session.execute(
            select(TruckAlert.audience, TruckAlert.prior_violations).order_by(TruckAlert.id)
        ).all()
        inspector = [prior for audience, prior in alerts if audience == "inspector"]
        assert len(inspector) == len(found)
        assert sum(1 for audience, _ in alerts if audience == "company") == len(found)
        assert max(inspector) == demo.NIGHTS - 1
        sightings = session.scalars(select(TruckSighting).order_by(TruckSighting.time)).all()
        assert [s.kind for s in sightings] == ["uncovered_load", "spilled_material"]
        plates = dict(session.execute(select(Truck.id, Truck.plate)).all())
        assert [plates[s.truck_id] for s in sightings if s.truck_id] == [
            demo.PLATES[0],
            demo.PLATES[demo.DUMPER],
        ]
        assert all(s.trip_start_at is not None for s in sightings)


def test_last_night_is_over_before_now() -> None:
    night = datetime(2026, 11, 29, 14, 30, tzinfo=UTC)  # 22:30 on the 29th in Shanghai
    assert demo.last_night(NOW) == night
    assert demo.last_night(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == night  # 20:00
    # At 06:00 the night's last trip (05:30) may still be on the road: the night before.
    early = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
    assert demo.last_night(early) == night - timedelta(days=1)


def test_the_whole_fleet_is_on_the_map_at_any_hour_and_standing_adds_no_violation(
    session_factory: sessionmaker[Session],
) -> None:
    """Seeded late at night in Shanghai (last night's first trips a day ago and more), each
    truck still has a recent position: it stands at the yard, reporting; the violations are
    the planted ones only."""
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 in Shanghai
    with session_factory() as session, session.begin():
        catalogue.ensure_elements(session)
        city = DemoCity(session=session, seed=7, scale=1, now=late, root_secret=b"k")
        demo.seed(city)
    with session_factory() as session:
        newest = dict(
            session.execute(
                select(Truck.plate, func.max(TruckPosition.time))
                .join(TruckPosition, TruckPosition.truck_id == Truck.id)
                .group_by(Truck.plate)
            ).all()
        )
        assert sorted(newest) == sorted(demo.PLATES)
        assert all(
            late - demo.PARKED_EVERY < when.replace(tzinfo=UTC) <= late for when in newest.values()
        )
        kinds = sorted(session.scalars(select(TruckViolation.kind)))
        assert kinds == sorted(["off_route"] * demo.NIGHTS + ["suspected_dumping", "out_of_hours"])
