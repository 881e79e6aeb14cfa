"""The demo's muck trucks: enrolled, registered, inside the city, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.geo import locate_district
from twonets.core.models import OutboxEvent
from twonets.core.seeding import DemoCity
from twonets.operations.cases import catalogue
from twonets.operations.cases.models import Case, CaseReport, CaseStep
from twonets.operations.devices import demo as device_demo
from twonets.operations.devices import service as device_service
from twonets.operations.devices.models import LastPosition, Terminal

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _seed(factory: sessionmaker[Session]) -> list[tuple[str, float, float]]:
    with factory() as session, session.begin():
        catalogue.ensure_elements(session)
        device_demo.seed(DemoCity(session=session, seed=7, scale=1, now=NOW, root_secret=b"k"))
    with factory() as session:
        return [
            (plate, lon, lat)
            for plate, lon, lat in session.execute(
                select(Terminal.plate, LastPosition.lon, LastPosition.lat)
                .join(LastPosition, LastPosition.terminal_pk == Terminal.id)
                .order_by(Terminal.phone)
            )
        ]


def test_the_demo_trucks_have_tracks_inside_shanghai(
    session_factory: sessionmaker[Session],
) -> None:
    trucks = _seed(session_factory)
    assert len(trucks) == device_demo.TRUCKS_PER_SCALE
    assert all(locate_district(lon, lat) is not None for _, lon, lat in trucks)
    with session_factory() as session:
        events = session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.topic == device_service.LOCATION_TOPIC)
        )
        layer = device_service.vehicles_layer(session, now=NOW)
    assert events is not None
    assert events > device_demo.TRUCKS_PER_SCALE * 60
    assert len(layer["features"]) == device_demo.TRUCKS_PER_SCALE
    assert any(f["properties"]["alarm"] for f in layer["features"])
    assert any(f["properties"]["age_seconds"] >= 3600 for f in layer["features"])
    with session_factory() as session:
        enrolled = session.execute(
            select(Terminal.credit_code, Terminal.enrolled_by, Terminal.auth_code_hash)
        ).all()
    assert len(enrolled) == device_demo.TRUCKS_PER_SCALE
    assert {code for code, _, _ in enrolled} == set(device_demo.FLEETS)
    assert {who for _, who, _ in enrolled} == {"operator"}
    assert all(digest is not None and len(digest) == 64 for _, _, digest in enrolled)
    with session_factory() as session:
        (case,) = session.scalars(select(Case)).all()
    assert case.category_code == "E0303"
    assert "rolled over" in case.description
    # The same seed gives the same trucks in the same places.
    with session_factory() as session, session.begin():
        session.execute(delete(CaseStep))
        session.execute(delete(CaseReport))
        session.execute(delete(Case))
        session.execute(LastPosition.__table__.delete())
        session.execute(Terminal.__table__.delete())
    assert _seed(session_factory) == trucks
