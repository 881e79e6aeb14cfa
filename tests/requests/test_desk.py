"""The staff's desks in the service: whose work list holds what, who sees the dispatcher's queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from requests_world import NOW, World, fixed
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.core.models import AccountKind, Role
from twonets.requests import service
from twonets.requests.schemas import NewRequest
from twonets.requests.service import desk
from twonets.web.navigation import nav_for

Factory = sessionmaker[Session]


def _file(session: Session, world: World, **new: str) -> int:
    return service.submit_request(
        session,
        service.Filer(principal=world.firm),
        NewRequest(**{"category": "ent-licence", "description": "执照变更", **new}),
        now=NOW,
    ).id


def test_the_work_list_is_the_departments_own_the_late_first(
    session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        early = _file(session, world)
        later = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(category="ent-licence", description="执照"),
            now=NOW + timedelta(days=3),
        ).id
        answered = _file(session, world)
        service.answer_request(session, world.market_huangpu, answered, answer="已办", now=NOW)
    after_the_first_limit = NOW + timedelta(days=7, hours=1)
    with session_factory() as session:
        items = desk.list_work(session, world.market_huangpu, now=after_the_first_limit)
        assert [(i.request.id, i.overdue) for i in items] == [
            (early, True),
            (later, False),
            (answered, False),  # answered: waiting for the filer, never late
        ]
        assert desk.list_work(session, world.market_city, now=NOW) == []


@pytest.mark.parametrize("who", ["firm", "resident", "dispatcher"])
def test_only_department_staff_have_a_work_list(
    session_factory: Factory, world: World, who: str
) -> None:
    with session_factory() as session, pytest.raises(Forbidden):
        desk.list_work(session, getattr(world, who), now=NOW)


def test_staff_without_a_department_have_no_work_list(session_factory: Factory) -> None:
    stray = Principal(
        account_id=1,
        username="x",
        display_name="x",
        kind=AccountKind.STAFF,
        roles=frozenset({Role.STAFF}),
    )
    with session_factory() as session, pytest.raises(Forbidden):
        desk.list_work(session, stray, now=NOW)


def test_the_queue_shows_candidates_and_where_the_rules_would_send_them(
    session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        unsure = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(description="不知道找谁"),
            now=NOW,
            classify=fixed("ent-licence", 0.3),
        ).id
        declined = _file(session, world)
        for holder in (world.market_huangpu, world.market_city, world.hub):
            service.decline_request(session, holder, declined, reason="不是我们的", now=NOW)
    with session_factory() as session:
        waiting = {w.request.id: w for w in desk.list_waiting(session, world.dispatcher)}
    assert waiting[unsure].reason == "unsure"
    first, second = waiting[unsure].candidates
    assert (first.category, first.confidence, first.department_code) == (
        "ent-licence",
        0.3,
        "t.310101.market",
    )
    assert (second.category, second.confidence) == ("ent-subsidy", 0.7)
    assert waiting[declined].reason == "declined"
    assert [d.reason for d in waiting[declined].declines] == ["不是我们的"] * 3
    # Every department the rules know declined it: none is proposed again.
    assert [
        (c.category, c.confidence, c.department_code) for c in waiting[declined].candidates
    ] == [("ent-licence", None, None)]


@pytest.mark.parametrize("who", ["market_huangpu", "firm", "resident"])
def test_only_dispatchers_see_the_queue(session_factory: Factory, world: World, who: str) -> None:
    with session_factory() as session:
        with pytest.raises(Forbidden):
            desk.list_waiting(session, getattr(world, who))
        with pytest.raises(Forbidden):
            desk.list_departments(session, getattr(world, who))


def test_the_menu_offers_each_desk_to_its_role(world: World) -> None:
    def hrefs(p: Principal) -> list[str]:
        return [i.href for i in nav_for(p)]

    assert "/requests/work" in hrefs(world.market_huangpu)
    assert "/requests/dispatch" not in hrefs(world.market_huangpu)
    assert "/requests/figures" not in hrefs(world.market_huangpu)
    assert {"/requests/dispatch", "/requests/figures"} <= set(hrefs(world.dispatcher))
    assert "/requests/work" not in hrefs(world.dispatcher)
    assert "/requests/work" not in hrefs(world.firm)
    assert "/requests" in hrefs(world.firm)
