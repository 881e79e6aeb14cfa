"""Contactless figures: per service and month, from plain rows and through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from services.services_world import World, build_world
from twonets.core.db import unit_of_work
from twonets.services import service
from twonets.services.figures import Handled, month_figures

START = datetime(2026, 9, 1, tzinfo=UTC)


def handled(
    days: float, hours: float | None, *, in_person: bool = False, overdue: bool = False
) -> Handled:
    created = START + timedelta(days=days)
    return Handled(
        process_id="nev_plate",
        created_at=created,
        ended_at=None if hours is None else created + timedelta(hours=hours),
        in_person=in_person,
        overdue=overdue,
    )


def test_each_month_counts_contactless_handling_time_and_overdue() -> None:
    rows = [
        handled(1, 10),
        handled(2, 20, in_person=True),
        handled(3, 30, overdue=True),
        handled(4, None),
        handled(31, 5),
    ]

    september, october = month_figures(rows)

    assert (september.month, september.applications, september.ended) == ("2026-09", 4, 3)
    assert september.contactless_rate == 0.75
    assert september.median_hours == 20.0
    assert september.p90_hours == 28.0
    assert september.overdue == 1
    assert (october.month, october.applications, october.median_hours, october.p90_hours) == (
        "2026-10",
        1,
        5.0,
        5.0,
    )


def test_a_month_with_nothing_ended_has_no_handling_time() -> None:
    [only] = month_figures([handled(1, None)])

    assert (only.median_hours, only.p90_hours, only.ended) == (None, None, 0)


@given(
    st.lists(st.tuples(st.floats(0, 90), st.floats(0, 500) | st.none(), st.booleans()), min_size=1)
)
def test_figures_stay_within_their_bounds(items: list[tuple[float, float | None, bool]]) -> None:
    rows = [handled(d, h, in_person=p) for d, h, p in items]

    out = month_figures(rows)

    assert sum(f.applications for f in out) == len(rows)
    for f in out:
        assert 0 <= f.contactless_rate <= 1
        if f.median_hours is not None and f.p90_hours is not None:
            assert f.median_hours <= f.p90_hours + 0.1


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    return build_world(app, client, session_factory)


def test_the_api_gives_staff_the_figures_and_residents_a_403(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    world.apply()
    world.apply(plates_held=1)
    world.clock.advance(days=3)
    with unit_of_work(session_factory) as session:
        service.escalate_overdue(session, now=world.clock())

    [figures] = world.ok("GET", "/figures", "sh.police")

    assert figures["process_id"] == "nev_plate"
    assert figures["month"] == "2026-11"
    assert (figures["applications"], figures["ended"], figures["overdue"]) == (2, 1, 1)
    assert figures["contactless_rate"] == 1.0
    assert figures["median_hours"] == 0.0
    assert world.call("GET", "/figures", "resident").status_code == 403
