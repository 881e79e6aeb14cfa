"""The closed loop of a case, stage by stage, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_citizen, create_department, tiny_png
from operations.conftest import BUND, MONDAY_10, OpsWorld
from twonets.core.auth import principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.core.geo import wgs84_to_gcj02
from twonets.core.models import OutboxEvent, Role
from twonets.operations.cases import queries, service, states
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.models import Case, CaseStep
from twonets.operations.cases.photos import Photo
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.operations.cases.states import CaseState


def report(
    *,
    category: str = "E0501",
    lon: float = BUND[0],
    lat: float = BUND[1],
    source: SourceKind = SourceKind.PATROL,
    urgency: Urgency = Urgency.NORMAL,
    crs: str = "wgs84",
    minutes: int = 0,
) -> IntakeReport:
    """A report of unlicensed street vending on the Bund."""
    return IntakeReport(
        source_kind=source,
        category=category,
        description="游商占道 street vendor blocking the pavement",
        lon=lon,
        lat=lat,
        crs=crs,  # type: ignore[arg-type]
        urgency=urgency,
        reported_at=MONDAY_10 + timedelta(minutes=minutes),
    )


def test_patrol_report_waits_for_filing(session: Session, ops_world: OpsWorld) -> None:
    case = service.intake(session, report(), now=MONDAY_10)

    assert case.state == CaseState.REPORTED
    assert case.district_code == "310101"
    assert case.number.startswith("20261130")
    assert case.number.endswith(f"{case.id:06d}")


def test_device_report_is_filed_on_intake(session: Session, ops_world: OpsWorld) -> None:
    case = service.intake(session, report(source=SourceKind.DEVICE), now=MONDAY_10)

    assert case.state == CaseState.FILED
    assert case.filed_at == MONDAY_10


def test_gcj02_is_converted_to_wgs84_at_intake(session: Session, ops_world: OpsWorld) -> None:
    glon, glat = wgs84_to_gcj02(*BUND)
    case = service.intake(session, report(lon=glon, lat=glat, crs="gcj02"), now=MONDAY_10)

    assert case.lon == pytest.approx(BUND[0], abs=1e-5)
    assert case.lat == pytest.approx(BUND[1], abs=1e-5)
    # The datum shift in Shanghai is about 500 m: the raw GCJ-02 value would be far off.
    assert abs(glon - BUND[0]) > 0.003


def test_a_point_outside_the_city_names_the_field(session: Session, ops_world: OpsWorld) -> None:
    with pytest.raises(Invalid) as caught:
        service.intake(session, report(lon=116.39, lat=39.91), now=MONDAY_10)

    assert caught.value.errors[0].field == "lon"
    assert caught.value.errors[0].rule == "in-city"


def test_an_unknown_category_names_the_field(session: Session, ops_world: OpsWorld) -> None:
    with pytest.raises(Invalid) as caught:
        service.intake(session, report(category="E0999"), now=MONDAY_10)

    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == (
        "category",
        "category-exists",
    )


def test_full_loop_from_intake_to_evaluation(
    session_factory: sessionmaker[Session], ops_world: OpsWorld
) -> None:
    w = ops_world
    with unit_of_work(session_factory) as session:
        case_id = service.intake(session, report(), now=MONDAY_10).id
    steps = [
        lambda s, t: service.file_case(s, w.operator, case_id, now=t),
        lambda s, t: service.dispatch_case(s, w.operator, case_id, now=t),
        lambda s, t: service.accept_case(s, w.handler, case_id, now=t),
        lambda s, t: service.report_handling(s, w.handler, case_id, now=t, note="vendor moved on"),
        lambda s, t: service.verify_case(s, w.supervisor, case_id, passed=True, now=t),
        lambda s, t: service.close_case(s, w.operator, case_id, now=t),
        lambda s, t: service.evaluate_case(s, w.operator, case_id, score=5, now=t),
    ]
    seen = []
    for i, step in enumerate(steps, 1):
        with unit_of_work(session_factory) as session:
            seen.append(step(session, MONDAY_10 + timedelta(minutes=10 * i)).state)

    assert seen == [
        "filed",
        "dispatched",
        "handling",
        "handled",
        "verified",
        "closed",
        "closed",
    ]
    with unit_of_work(session_factory) as session:
        case = states.get_case(session, case_id)
        history = session.scalars(
            select(CaseStep.action).where(CaseStep.case_id == case_id).order_by(CaseStep.id)
        ).all()
        topics = session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.topic.startswith("ops.case."))
        ).all()
        assert history == [
            "report",
            "file",
            "dispatch",
            "accept",
            "feedback",
            "verify",
            "close",
            "evaluate",
        ]
        assert "ops.case.close" in topics
        assert "ops.case.dispatch" in topics
        assert case.evaluation == 5
        assert case.breached is False


def test_dispatch_follows_the_category_rule(session: Session, ops_world: OpsWorld) -> None:
    street = service.intake(session, report(category="E0501"), now=MONDAY_10)
    rubbish = service.intake(session, report(category="E0102"), now=MONDAY_10)
    for case in (street, rubbish):
        service.file_case(session, ops_world.operator, case.id, now=MONDAY_10)
        service.dispatch_case(session, ops_world.operator, case.id, now=MONDAY_10)

    found = queries.case_json(session, street, now=MONDAY_10)["department_code"]
    assert found == ops_world.urban_department
    assert queries.case_json(session, rubbish, now=MONDAY_10)["department_code"] == (
        ops_world.greening_department
    )


def test_deadline_is_counted_in_working_hours(session: Session, ops_world: OpsWorld) -> None:
    # E0501 has 4 working hours when normal: Monday 10:00 + 4 h = Monday 14:00 Shanghai.
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, ops_world.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, ops_world.operator, case.id, now=MONDAY_10 + timedelta(hours=5))

    # Monday 15:00 + 4 working hours = 2 h on Monday, 2 h on Tuesday: Tuesday 11:00 (03:00 UTC).
    assert case.deadline_at == MONDAY_10 + timedelta(days=1, hours=1)


def test_illegal_transition_names_the_state_and_the_rule(
    session: Session, ops_world: OpsWorld
) -> None:
    case = service.intake(session, report(), now=MONDAY_10)

    with pytest.raises(Conflict) as caught:
        service.close_case(session, ops_world.operator, case.id, now=MONDAY_10)

    problem = caught.value.to_problem()
    assert problem["state"] == "reported"
    assert problem["rule"] == "close needs state verified"
    assert problem["type"].endswith("/illegal-transition")


def test_verifier_must_not_be_the_handler(session: Session, ops_world: OpsWorld) -> None:
    w = ops_world
    both = w.operator.__class__(
        **{**vars(w.handler), "roles": frozenset(w.handler.roles | w.supervisor.roles)}
    )
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, w.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, w.operator, case.id, now=MONDAY_10)
    service.report_handling(session, both, case.id, now=MONDAY_10, note="done")

    with pytest.raises(Forbidden) as caught:
        service.verify_case(session, both, case.id, passed=True, now=MONDAY_10)

    assert caught.value.extra["rule"] == "verifier-not-handler"
    assert case.state == CaseState.HANDLED


def test_failed_verification_redispatches_and_counts_rework(
    session: Session, ops_world: OpsWorld
) -> None:
    w = ops_world
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, w.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, w.operator, case.id, now=MONDAY_10)
    first_deadline = case.deadline_at
    service.report_handling(
        session, w.handler, case.id, now=MONDAY_10 + timedelta(hours=1), note="x"
    )

    later = MONDAY_10 + timedelta(hours=2)
    with pytest.raises(Invalid):
        service.verify_case(session, w.supervisor, case.id, passed=False, now=later)
    service.verify_case(session, w.supervisor, case.id, passed=False, now=later, note="still there")

    assert case.state == CaseState.DISPATCHED
    assert case.rework_count == 1
    assert case.handler_account_id is None
    assert case.deadline_at is not None
    assert first_deadline is not None
    assert case.deadline_at > first_deadline
    # The other handler of the department may take the re-dispatched task.
    service.accept_case(session, w.other_handler, case.id, now=later)
    service.report_handling(session, w.other_handler, case.id, now=later, note="cleared")
    service.verify_case(session, w.supervisor, case.id, passed=True, now=later)
    service.close_case(session, w.operator, case.id, now=later)
    assert case.state == CaseState.CLOSED
    assert case.rework_count == 1


def test_handlers_of_another_department_may_not_take_a_task(
    session: Session, ops_world: OpsWorld
) -> None:
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, ops_world.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, ops_world.operator, case.id, now=MONDAY_10)

    with pytest.raises(Forbidden):
        service.accept_case(session, ops_world.greening_handler, case.id, now=MONDAY_10)
    assert queries.my_tasks(session, ops_world.greening_handler) == []
    assert [c.id for c in queries.my_tasks(session, ops_world.handler)] == [case.id]


def test_duplicate_report_is_merged_and_counted(session: Session, ops_world: OpsWorld) -> None:
    first = service.intake(session, report(), now=MONDAY_10)
    # 30 m north, an hour later, same minor category: the same problem.
    near = service.intake(
        session, report(lat=BUND[1] + 30 / 111_320, minutes=60), now=MONDAY_10 + timedelta(hours=1)
    )

    assert near.state == CaseState.MERGED
    assert near.merged_into_id == first.id
    assert first.report_count == 2
    assert queries.case_json(session, near, now=MONDAY_10)["merged_into"] == first.number


@pytest.mark.parametrize(
    ("category", "metres", "hours"),
    [("E0502", 0, 0), ("E0501", 80, 0), ("E0501", 0, 30)],
    ids=["other-category", "too-far", "too-late"],
)
def test_a_report_unlike_the_open_case_is_a_case_of_its_own(
    session: Session, ops_world: OpsWorld, category: str, metres: float, hours: int
) -> None:
    first = service.intake(session, report(), now=MONDAY_10)
    later = MONDAY_10 + timedelta(hours=hours)
    other = service.intake(
        session,
        report(category=category, lat=BUND[1] + metres / 111_320, minutes=60 * hours),
        now=later,
    )

    assert other.state == CaseState.REPORTED
    assert other.merged_into_id is None
    assert first.report_count == 1


def test_a_closed_case_takes_no_duplicates(session: Session, ops_world: OpsWorld) -> None:
    first = service.intake(session, report(), now=MONDAY_10)
    service.reject_case(session, ops_world.operator, first.id, now=MONDAY_10, note="not ours")

    again = service.intake(session, report(minutes=5), now=MONDAY_10 + timedelta(minutes=5))

    assert again.state == CaseState.REPORTED


def test_late_feedback_breaches_the_time_limit(session: Session, ops_world: OpsWorld) -> None:
    w = ops_world
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, w.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, w.operator, case.id, now=MONDAY_10)
    assert case.deadline_at is not None

    service.report_handling(
        session, w.handler, case.id, now=case.deadline_at + timedelta(minutes=1), note="late"
    )

    assert case.breached is True
    steps = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
    assert steps[-1].details["late"] is True


def test_overdue_cases_are_marked_once(session: Session, ops_world: OpsWorld) -> None:
    w = ops_world
    case = service.intake(session, report(urgency=Urgency.EMERGENCY), now=MONDAY_10)
    service.file_case(session, w.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, w.operator, case.id, now=MONDAY_10)
    assert case.deadline_at == MONDAY_10 + timedelta(hours=1)  # E0501 emergency: 1 h

    assert service.mark_overdue(session, now=MONDAY_10 + timedelta(minutes=59)) == 0
    assert service.mark_overdue(session, now=MONDAY_10 + timedelta(minutes=61)) == 1
    assert service.mark_overdue(session, now=MONDAY_10 + timedelta(minutes=90)) == 0
    overdue, total = queries.list_cases(
        session, queries.CaseFilter(overdue=True), now=MONDAY_10 + timedelta(hours=2)
    )
    assert [c.id for c in overdue] == [case.id]
    assert total == 1
    events = session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "ops.case.overdue")
    )
    assert events == 1


def test_a_citizen_report_needs_a_resident(session: Session, ops_world: OpsWorld) -> None:
    with pytest.raises(Invalid) as caught:
        service.intake(session, report(source=SourceKind.CITIZEN), now=MONDAY_10)
    assert caught.value.errors[0].field == "source_kind"


def test_health_alarm_opens_one_case_per_event(session: Session, ops_world: OpsWorld) -> None:
    payload = {"district_code": "310115", "disease": "influenza-like illness", "signal": "C2"}

    first = service.intake_health_alert(session, payload, "ev-1", now=MONDAY_10)
    again = service.intake_health_alert(session, payload, "ev-1", now=MONDAY_10)

    assert first is not None
    assert again is None
    assert first.district_code == "310115"
    assert first.category_code == "E0450"
    assert first.state == CaseState.FILED


def _handled(session: Session, w: OpsWorld) -> int:
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, w.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, w.operator, case.id, now=MONDAY_10)
    service.report_handling(session, w.handler, case.id, now=MONDAY_10, note="done")
    return case.id


def test_only_a_supervisor_verifies(session: Session, ops_world: OpsWorld) -> None:
    case_id = _handled(session, ops_world)

    with pytest.raises(Forbidden) as caught:
        service.verify_case(session, ops_world.operator, case_id, passed=True, now=MONDAY_10)
    assert "supervisor" in caught.value.detail
    assert [c.id for c in queries.cases_to_verify(session, ops_world.supervisor)] == [case_id]
    service.verify_case(session, ops_world.supervisor, case_id, passed=True, now=MONDAY_10)
    assert states.get_case(session, case_id).state == CaseState.VERIFIED
    assert queries.cases_to_verify(session, ops_world.supervisor) == []


def test_a_district_supervisor_verifies_only_their_district(
    session: Session, ops_world: OpsWorld
) -> None:
    case_id = _handled(session, ops_world)  # in Huangpu
    pudong = replace(ops_world.supervisor, account_id=10**6, district_code="310115")
    huangpu = replace(ops_world.supervisor, account_id=10**6 + 1, district_code="310101")

    assert queries.cases_to_verify(session, pudong) == []
    with pytest.raises(Forbidden) as caught:
        service.verify_case(session, pudong, case_id, passed=True, now=MONDAY_10)
    assert caught.value.extra["rule"] == "own-district"
    service.verify_case(session, huangpu, case_id, passed=True, now=MONDAY_10)


def test_field_staff_of_another_department_take_no_task_whatever_else_they_hold(
    session: Session, ops_world: OpsWorld
) -> None:
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, ops_world.operator, case.id, now=MONDAY_10)
    service.dispatch_case(session, ops_world.operator, case.id, now=MONDAY_10)
    # An administrator is no handler of another department's tasks.
    admin = replace(
        ops_world.greening_handler, roles=frozenset({Role.FIELD, Role.ADMIN, Role.OPERATOR})
    )

    with pytest.raises(Forbidden) as caught:
        service.accept_case(session, admin, case.id, now=MONDAY_10)
    assert caught.value.extra["rule"] == "own-department-task"


def test_operators_dispatch_within_their_region(session: Session, ops_world: OpsWorld) -> None:
    jiangsu = create_department(session, code="js.urban", function="urban-management")
    jiangsu.region_code = "JS"
    case = service.intake(session, report(), now=MONDAY_10)
    service.file_case(session, ops_world.operator, case.id, now=MONDAY_10)

    offered = {d.code for d in service.dispatch_departments(session, ops_world.operator)}
    with pytest.raises(Invalid) as caught:
        service.dispatch_case(
            session, ops_world.operator, case.id, now=MONDAY_10, department_code="js.urban"
        )

    assert ops_world.urban_department in offered
    assert "js.urban" not in offered
    assert caught.value.errors[0].rule == "own-region"


def test_a_residents_report_keeps_photos_and_their_name_out_of_the_history(
    session: Session, ops_world: OpsWorld, tmp_path: Path
) -> None:
    resident = principal_of(create_citizen(session, name="李四"))
    citizen_report = report(category="E0102", source=SourceKind.CITIZEN).model_copy(
        update={"address": "人民大道 200号 People's Avenue 200"}
    )
    png = Photo(tiny_png(), "image/png", "rubbish.png")

    with pytest.raises(Invalid) as caught:
        service.report_problem(
            session,
            resident,
            citizen_report,
            now=MONDAY_10,
            photos=[png, Photo(b"GIF89a", "image/gif", "x.gif")],
            photo_dir=tmp_path,
        )
    assert caught.value.errors[0].field == "photos[1]"
    assert session.scalars(select(Case)).all() == []  # nothing half-written
    case = service.report_problem(
        session, resident, citizen_report, now=MONDAY_10, photos=[png], photo_dir=tmp_path
    )

    shown = queries.case_json(session, case, now=MONDAY_10, history=True)
    assert shown["address"] == "人民大道 200号 People's Avenue 200"
    assert shown["district_name"] == "黄浦区"
    assert len(shown["photos"]) == 1
    assert shown["history"][0]["actor"] is None
    assert "李四" not in str(shown)
    with pytest.raises(Forbidden):
        service.report_problem(session, ops_world.operator, citizen_report, now=MONDAY_10)
