"""The requests loop in the service: intake, routing, authority, decline and re-route, cases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from requests_world import HUANGPU, NOW, World, fixed
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid
from twonets.core.models import DepartmentLevel, OutboxEvent
from twonets.governance.models import PendingAccess
from twonets.requests import service
from twonets.requests.schemas import NewRequest

Factory = sessionmaker[Session]


def _file(
    factory: Factory,
    world: World,
    *,
    category: str | None = "ent-licence",
    text: str = "营业执照经营范围变更一直在审核中",
    who: str = "firm",
    confidence: float = 0.9,
    proposed: str = "ent-licence",
    **fields: object,
) -> int:
    with unit_of_work(factory) as session:
        row = service.submit_request(
            session,
            service.Filer(principal=getattr(world, who)),
            NewRequest(category=category, description=text, **fields),  # type: ignore[arg-type]
            now=NOW,
            classify=fixed(proposed, confidence),
        )
        return row.id


def test_an_enterprise_request_goes_to_the_district_of_registration(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with session_factory() as session:
        row = service.get_request(session, world.firm, request_id)
        assert row.status == "assigned"
        assert row.kind == "enterprise"
        assert row.district_code == "310101"
        assert service.department_of(session, row.department_id) == (
            "t.310101.market",
            "部门t.310101.market",
        )
        steps = service.history(session, world.firm, request_id)
        assert [s.action for s in steps] == ["submit", "route"]
        assert steps[1].note == "market-regulation of district 310101"
        assert row.number.startswith("R20261130")


def test_a_foreign_invested_firm_is_served_by_the_city(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world, who="foreign_firm")
    with session_factory() as session:
        row = service.get_request(session, world.foreign_firm, request_id)
        assert service.department_of(session, row.department_id) is not None
        assert service.department_of(session, row.department_id)[0] == "t.market"  # type: ignore[index]


def test_an_enterprise_sees_only_its_own_requests(session_factory: Factory, world: World) -> None:
    mine = _file(session_factory, world)
    theirs = _file(session_factory, world, who="other_firm")
    with session_factory() as session:
        assert [r.id for r in service.list_requests(session, world.firm)] == [mine]
        assert [r.id for r in service.list_requests(session, world.other_firm)] == [theirs]
        with pytest.raises(Forbidden):
            service.get_request(session, world.firm, theirs)
        with pytest.raises(Forbidden):
            service.history(session, world.firm, theirs)
        with pytest.raises(Forbidden):
            service.list_messages(session, world.firm, theirs)


def test_a_department_works_only_requests_routed_to_it(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)  # routed to Huangpu's market regulation
    with unit_of_work(session_factory) as session:
        for outsider in (world.market_city, world.hub, world.greening):
            with pytest.raises(Forbidden):
                service.accept_request(session, outsider, request_id, now=NOW)
            with pytest.raises(Forbidden):
                service.decline_request(session, outsider, request_id, reason="no", now=NOW)
            with pytest.raises(Forbidden):
                service.answer_request(session, outsider, request_id, answer="done", now=NOW)
            with pytest.raises(Forbidden):
                service.get_request(session, outsider, request_id)
            assert service.list_requests(session, outsider) == []
        # The filer and a dispatcher may not work it either.
        for other in (world.firm, world.dispatcher):
            with pytest.raises(Forbidden):
                service.accept_request(session, other, request_id, now=NOW)
        row = service.accept_request(session, world.market_huangpu, request_id, now=NOW)
        assert row.status == "accepted"
        row = service.answer_request(
            session, world.market_huangpu, request_id, answer="已指导补正材料", now=NOW
        )
        assert row.status == "answered"


def test_declined_as_not_ours_it_is_rerouted_and_the_firm_sees_who_and_why(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with unit_of_work(session_factory) as session:
        with pytest.raises(Invalid):
            service.decline_request(session, world.market_huangpu, request_id, reason=" ", now=NOW)
        row = service.decline_request(
            session,
            world.market_huangpu,
            request_id,
            reason="经营范围涉及前置审批，由市级部门办理",
            now=NOW,
        )
        assert row.status == "assigned"
        assert service.department_of(session, row.department_id)[0] == "t.market"  # type: ignore[index]
    with unit_of_work(session_factory) as session:
        # The city declines too: the 12345 hub takes it; then nobody is left.
        service.decline_request(session, world.market_city, request_id, reason="不属于", now=NOW)
        row = service.get_request_row(session, request_id)
        assert service.department_of(session, row.department_id)[0] == "t.services"  # type: ignore[index]
        service.decline_request(session, world.hub, request_id, reason="请派单员处理", now=NOW)
        assert row.status == "pending"
        assert row.department_id is None
    with session_factory() as session:
        steps = service.history(session, world.firm, request_id)
        declines = [(s.department_code, s.note) for s in steps if s.action == "decline"]
        assert declines == [
            ("t.310101.market", "经营范围涉及前置审批，由市级部门办理"),
            ("t.market", "不属于"),
            ("t.services", "请派单员处理"),
        ]
        # The declining department no longer sees the request.
        with pytest.raises(Forbidden):
            service.get_request(session, world.market_huangpu, request_id)


def test_below_the_threshold_a_dispatcher_decides(session_factory: Factory, world: World) -> None:
    request_id = _file(session_factory, world, category=None, confidence=0.3)
    with unit_of_work(session_factory) as session:
        row = service.get_request_row(session, request_id)
        assert row.status == "pending"
        assert (row.proposed_category, row.confidence) == ("ent-licence", 0.3)
        for wrong in (world.market_huangpu, world.firm, world.resident):
            with pytest.raises(Forbidden):
                service.assign_request(session, wrong, request_id, now=NOW)
        row = service.assign_request(
            session, world.dispatcher, request_id, category="ent-market", now=NOW
        )
        assert row.status == "assigned"
        assert row.category_code == "ent-market"
        assert service.department_of(session, row.department_id)[0] == "t.market"  # type: ignore[index]
        steps = service.history(session, world.dispatcher, request_id)
        assert [s.action for s in steps] == ["submit", "classify", "route"]
        assert steps[1].details["candidates"][0] == ["ent-licence", 0.3]


def test_a_confident_proposal_is_routed_at_once(session_factory: Factory, world: World) -> None:
    request_id = _file(session_factory, world, category=None, confidence=0.8)
    with session_factory() as session:
        row = service.get_request_row(session, request_id)
        assert row.status == "assigned"
        assert row.category_code == "ent-licence"


def test_the_dispatcher_may_name_the_department(session_factory: Factory, world: World) -> None:
    request_id = _file(session_factory, world, category=None, confidence=0.1)
    with unit_of_work(session_factory) as session:
        with pytest.raises(Invalid):
            service.assign_request(
                session, world.dispatcher, request_id, department_code="nope", now=NOW
            )
        row = service.assign_request(
            session, world.dispatcher, request_id, department_code="t.services", now=NOW
        )
        assert row.status == "assigned"
        assert service.department_of(session, row.department_id)[0] == "t.services"  # type: ignore[index]


def test_residents_cannot_file_enterprise_categories(
    session_factory: Factory, world: World
) -> None:
    with pytest.raises(Invalid, match="enterprises"):
        _file(session_factory, world, who="resident")
    with pytest.raises(Invalid, match="no service"):
        _file(session_factory, world, who="resident", category="E0450", lon=1.0, lat=1.0)
    with pytest.raises(Forbidden):
        _file(session_factory, world, who="dispatcher")


def test_a_city_problem_becomes_a_case_and_closes_with_it(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(
        session_factory,
        world,
        who="resident",
        category="E0102",
        text="路边垃圾堆积",
        lon=HUANGPU[0],
        lat=HUANGPU[1],
        address="人民大道200号",
        contact_phone="13800001111",
    )
    with unit_of_work(session_factory) as session:
        row = service.get_request(session, world.resident, request_id)
        assert row.status == "case"
        assert row.case_number is not None
        number = row.case_number
        topics = session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)).all()
        assert "ops.case.report" in topics
        # The case's events drive the request: a merge re-points it, closure closes it.
        assert (
            service.follow_case(session, "ops.case.merge", {"case": number, "into": "C-1"}, now=NOW)
            == 1
        )
        assert row.case_number == "C-1"
        service.follow_case(
            session, "ops.case.dispatch", {"case": "C-1", "to": "dispatched"}, now=NOW
        )
        assert row.status == "case"
        service.follow_case(session, "ops.case.close", {"case": "C-1", "to": "closed"}, now=NOW)
        assert row.status == "closed"
        assert service.is_open311_status_closed(row)
        # Delivered twice, the event changes nothing more.
        assert (
            service.follow_case(session, "ops.case.close", {"case": "C-1", "to": "closed"}, now=NOW)
            == 0
        )


def test_a_city_problem_needs_a_position(session_factory: Factory, world: World) -> None:
    with pytest.raises(Invalid, match="position"):
        _file(session_factory, world, who="resident", category="E0102", address="人民大道")


def test_contacts_are_read_through_governance(session_factory: Factory, world: World) -> None:
    request_id = _file(session_factory, world, contact_name="赵六", contact_phone="13912345678")
    with unit_of_work(session_factory) as session:
        result = service.read_contact(session, world.gov, world.market_huangpu, request_id, now=NOW)
        assert result.rows[0]["name"] == "赵六"
        assert result.rows[0]["phone"] != "13912345678"  # masked by the policy
        assert session.scalar(select(PendingAccess.id)) is not None
        # A department it is not routed to may not read them; nor may the filer's rival.
        with pytest.raises(Forbidden):
            service.read_contact(session, world.gov, world.hub, request_id, now=NOW)
        with pytest.raises(Forbidden):
            service.read_contact(session, world.gov, world.other_firm, request_id, now=NOW)


def test_messages_between_the_firm_and_its_department(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with unit_of_work(session_factory) as session:
        service.post_message(session, world.firm, request_id, body="请问进度？", now=NOW)
        service.post_message(
            session, world.market_huangpu, request_id, body="正在核查，请补充章程", now=NOW
        )
        with pytest.raises(Forbidden):
            service.post_message(session, world.other_firm, request_id, body="?", now=NOW)
        with pytest.raises(Forbidden):
            service.post_message(session, world.hub, request_id, body="?", now=NOW)
        sides = [m.side for m in service.list_messages(session, world.firm, request_id)]
        assert sides == ["filer", "department"]


def test_a_department_of_another_region_with_the_same_function_is_never_proposed(
    session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        # Sorted first by code, a Jiangsu department of the same function used to win.
        core_service.create_department(
            session, code="a.js.market", name="江苏市场监管", name_en="Jiangsu market",
            function="market-regulation", level=DepartmentLevel.CITY, region_code="JS",
        )  # fmt: skip
    # A foreign-invested firm's request goes to the city level, where both would match.
    request_id = _file(session_factory, world, category="ent-licence", who="foreign_firm")
    with session_factory() as session:
        row = service.get_request_row(session, request_id)
        holder = service.department_of(session, row.department_id)
    assert holder is not None
    assert holder[0] == "t.market"
