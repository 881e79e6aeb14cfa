"""Time limits in working days, the register of overdue requests, confirm, reopen, rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from requests_world import NOW, World
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid
from twonets.operations.cases import catalogue
from twonets.requests import service
from twonets.requests.schemas import NewRequest
from twonets.requests.service import IllegalStatus

Factory = sessionmaker[Session]


def _file(factory: Factory, world: World, *, now: datetime = NOW) -> int:
    with unit_of_work(factory) as session:
        row = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(category="ent-licence", description="执照变更"),  # 5 working days
            now=now,
        )
        return row.id


def test_the_limit_is_working_days_on_the_operations_calendar(
    session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        # A holiday declared for the operations centre counts for requests too.
        catalogue.set_calendar_day(session, day="2026-12-02", kind="holiday", name="测试假日")
    request_id = _file(session_factory, world)  # Monday 10:00 Shanghai
    with session_factory() as session:
        row = service.get_request_row(session, request_id)
        # Five working days from Monday 10:00, skipping Wednesday and the weekend: next
        # Tuesday 10:00 Shanghai (02:00 UTC).
        assert row.deadline_at == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def test_overdue_requests_are_registered_for_their_department_and_dispatchers(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    later = NOW + timedelta(days=10)
    with session_factory() as session:
        assert service.list_overdue(session, world.market_huangpu, now=NOW) == []
        assert [r.id for r in service.list_overdue(session, world.market_huangpu, now=later)] == [
            request_id
        ]
        assert [r.id for r in service.list_overdue(session, world.dispatcher, now=later)] == [
            request_id
        ]
        assert service.list_overdue(session, world.market_city, now=later) == []


def test_decline_keeps_the_limit_and_reopening_starts_a_new_one(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with unit_of_work(session_factory) as session:
        first = service.get_request_row(session, request_id).deadline_at
        service.decline_request(session, world.market_huangpu, request_id, reason="市级", now=NOW)
        assert service.get_request_row(session, request_id).deadline_at == first


def test_answered_then_reopened_returns_to_the_same_department_then_closes_and_is_rated(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    later = NOW + timedelta(days=1)
    with unit_of_work(session_factory) as session:
        with pytest.raises(IllegalStatus):
            service.confirm_request(session, world.firm, request_id, now=NOW)
        service.answer_request(session, world.market_huangpu, request_id, answer="已办", now=NOW)
        for outsider in (world.other_firm, world.market_huangpu, world.dispatcher):
            with pytest.raises(Forbidden):
                service.reopen_request(session, outsider, request_id, reason="x", now=later)
            with pytest.raises(Forbidden):
                service.confirm_request(session, outsider, request_id, now=later)
        with pytest.raises(Invalid):
            service.reopen_request(session, world.firm, request_id, reason=" ", now=later)
        row = service.reopen_request(
            session, world.firm, request_id, reason="标记已办，实际未办", now=later
        )
        assert row.status == "assigned"
        assert service.department_of(session, row.department_id)[0] == "t.310101.market"  # type: ignore[index]
        # Five working days from the reopening (Tuesday 10:00), not from the filing.
        assert row.deadline_at == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
        service.answer_request(
            session, world.market_huangpu, request_id, answer="已补办", now=later
        )
        with pytest.raises(IllegalStatus):
            service.rate_request(session, world.firm, request_id, score=5, now=later)
        row = service.confirm_request(session, world.firm, request_id, now=later)
        assert row.status == "closed"
        assert row.closed_at == later
        with pytest.raises(Forbidden):
            service.rate_request(session, world.other_firm, request_id, score=1, now=later)
        with pytest.raises(Invalid):
            service.rate_request(session, world.firm, request_id, score=6, now=later)
        service.rate_request(session, world.firm, request_id, score=4, note="较满意", now=later)
        assert row.rating == 4
        with pytest.raises(IllegalStatus):
            service.rate_request(session, world.firm, request_id, score=5, now=later)
    with session_factory() as session:
        actions = [s.action for s in service.history(session, world.firm, request_id)]
        assert actions == ["submit", "route", "answer", "reopen", "answer", "confirm"]
