"""Health's use cases on a real database: register, readiness, mobilisation, alarms, labs."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import next_id_number
from health.health_world import NOW, TODAY, World, enrol, events, person, qualification
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.governance.models import PendingAccess
from twonets.health import service
from twonets.health.models import (
    Alert,
    Assignment,
    AssignmentStatus,
    Hospital,
    Reservist,
    TrainingKind,
)
from twonets.licences import service as licences

# --- register ----------------------------------------------------------------------------------


def test_a_reservist_with_their_own_qualification_is_enrolled(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        rid = enrol(session, world, hospital="fifth")
        assert events(session, "health.reservist.registered") == 1
        district = session.scalar(select(Hospital.district_code).where(Hospital.code == "fifth"))
    with session_factory() as session:
        rows = service.readiness(session, today=TODAY)
    assert [(r.district_code, r.reservists, r.current) for r in rows] == [(district, 1, 1)]
    assert rid > 0


def test_someone_elses_licence_is_refused(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        owner = person(session)
        identifier = qualification(session, world, owner)
        other = person(session)
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.register_reservist(
            session,
            id_number=other,
            name="王",
            licence_identifier=identifier,
            specialty="nursing",
            hospital_code="ruijin",
            now=NOW,
        )
    assert caught.value.errors[0].field == "licence_identifier"
    assert caught.value.errors[0].rule == "holder"


def test_a_revoked_qualification_is_refused(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        number = person(session)
        identifier = qualification(session, world, number)
        licence = licences.find_licence(session, identifier)
        licences.change_status(
            session, world.clerk, licence_id=licence.id, action="revoke", reason="fraud", now=NOW
        )
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.register_reservist(
            session,
            id_number=number,
            name="李",
            licence_identifier=identifier,
            specialty="nursing",
            hospital_code="ruijin",
            now=NOW,
        )
    assert caught.value.errors[0].rule == "in-force"


def test_bad_input_names_every_field_and_writes_nothing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.register_reservist(
            session,
            id_number="310101198001010000",
            name=" ",
            licence_identifier="x",
            specialty="surgery",
            hospital_code="ruijin",
            now=NOW,
        )
    fields = {p.field for p in caught.value.errors}
    assert fields == {"id_number", "name", "specialty"}
    with session_factory() as session:
        assert service.readiness(session, today=TODAY) == []


def test_readiness_counts_only_available_reservists_with_every_training_current(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        enrol(session, world)
        enrol(session, world, available=False)
        lapsed = enrol(session, world, trained=False)
        for kind in TrainingKind:
            back = 800 if kind is TrainingKind.DRILL else 30
            service.record_training(
                session,
                reservist_id=lapsed,
                kind=kind.value,
                completed_on=TODAY - timedelta(days=back),
                today=TODAY,
            )
    with session_factory() as session:
        (row,) = service.readiness(session, today=TODAY)
    assert (row.reservists, row.available, row.current) == (3, 2, 1)
    assert math.isclose(row.share, 1 / 3)


def test_reservists_are_read_through_governance_masked_and_logged(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        enrol(session, world)
    with unit_of_work(session_factory) as session:
        result = service.list_reservists(session, world.ctx, world.planner, now=NOW)
        (row,) = result.rows
        assert row["name"] == "李医生"
        assert "*" in row["id_number"]
        assert session.scalar(select(func.count()).select_from(PendingAccess)) == 1
    with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
        service.list_reservists(session, world.ctx, world.outsider, now=NOW)


# --- mobilisation --------------------------------------------------------------------------------


def _demand(count: int, specialty: str = "nursing") -> list[service.DemandLine]:
    return [service.DemandLine("Jinshan", 121.34, 30.74, specialty, count)]


def test_a_mobilisation_keeps_each_hospitals_share_and_notifies(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        for _ in range(6):
            enrol(session, world, hospital="ruijin")  # 100 staff: 10% is 10
        for _ in range(6):
            enrol(session, world, hospital="fifth")  # 40 staff: 10% is 4
        m = service.create_mobilisation(
            session, world.planner, name="drill", demand=_demand(12), max_share=0.1, now=NOW
        )
        body = service.mobilisation_json(session, m)
        assert events(session, "health.mobilisation.notified") == len(body["assignments"])
    per_hospital: dict[int, int] = {}
    with session_factory() as session:
        for (hospital_id,) in session.execute(
            select(Hospital.id)
            .join(Reservist, Reservist.hospital_id == Hospital.id)
            .join(Assignment, Assignment.reservist_id == Reservist.id)
        ):
            per_hospital[hospital_id] = per_hospital.get(hospital_id, 0) + 1
        staff = dict(session.execute(select(Hospital.id, Hospital.staff_total)).all())
    for hospital_id, n in per_hospital.items():
        assert n <= math.floor(0.1 * staff[hospital_id])
    assert body["totals"]["notified"] == 6 + 4
    assert body["totals"]["open"] == 12 - 10


def test_refusals_are_replanned_keeping_accepted_calls(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        for _ in range(5):
            enrol(session, world)
        m = service.create_mobilisation(
            session, world.planner, name="drill", demand=_demand(2), max_share=0.5, now=NOW
        )
        first = service.mobilisation_json(session, m)["assignments"]
        accepted, refused = first[0], first[1]
        service.respond(session, world.planner, assignment_id=accepted["id"], accept=True, now=NOW)
        service.respond(session, world.planner, assignment_id=refused["id"], accept=False, now=NOW)
        called = service.replan(session, mobilisation_id=m.id, now=NOW)
        after = service.mobilisation_json(session, m)
    assert called == 1
    statuses = {a["reservist_id"]: a["status"] for a in after["assignments"]}
    assert statuses[accepted["reservist_id"]] == AssignmentStatus.ACCEPTED
    assert statuses[refused["reservist_id"]] == AssignmentStatus.REFUSED
    new = [a for a in after["assignments"] if a["round"] == 2]
    assert len(new) == 1
    assert new[0]["reservist_id"] not in {accepted["reservist_id"], refused["reservist_id"]}
    assert after["totals"]["open"] == 0


def test_a_call_is_answered_once_and_only_by_the_reservist_or_a_planner(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        enrol(session, world)
        m = service.create_mobilisation(
            session, world.planner, name="drill", demand=_demand(1), max_share=0.5, now=NOW
        )
        (a,) = service.mobilisation_json(session, m)["assignments"]
    with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
        service.respond(session, world.outsider, assignment_id=a["id"], accept=True, now=NOW)
    with unit_of_work(session_factory) as session:
        service.respond(session, world.planner, assignment_id=a["id"], accept=True, now=NOW)
        # A retried answer is the same answer.
        service.respond(session, world.planner, assignment_id=a["id"], accept=True, now=NOW)
    with pytest.raises(Conflict), unit_of_work(session_factory) as session:
        service.respond(session, world.planner, assignment_id=a["id"], accept=False, now=NOW)


def test_a_retried_mobilisation_with_the_same_key_is_not_planned_twice(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        for _ in range(3):
            enrol(session, world)
        kwargs = {"name": "drill", "demand": _demand(2), "max_share": 0.5, "now": NOW}
        first = service.create_mobilisation(
            session,
            world.planner,
            idempotency_key="k-1",
            **kwargs,  # type: ignore[arg-type]
        )
        again = service.create_mobilisation(
            session,
            world.planner,
            idempotency_key="k-1",
            **kwargs,  # type: ignore[arg-type]
        )
        assert first.id == again.id
        assert session.scalar(select(func.count()).select_from(Assignment)) == 2
        with pytest.raises(Conflict):
            service.create_mobilisation(
                session,
                world.planner,
                idempotency_key="k-1",
                **{**kwargs, "demand": _demand(3)},  # type: ignore[arg-type]
            )


def test_bad_demand_names_the_line(world: World, session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.create_mobilisation(
            session,
            world.planner,
            name="x",
            demand=[service.DemandLine("A", 121.0, 31.0, "surgery", 0)],
            max_share=0.1,
            now=NOW,
        )
    assert {p.field for p in caught.value.errors} == {"demand[0].specialty", "demand[0].count"}


# --- early warning -------------------------------------------------------------------------------


def _counts(spike: int) -> list[service.DailyCount]:
    rng = np.random.default_rng(7)
    days = [TODAY - timedelta(days=k) for k in range(499, -1, -1)]
    counts = rng.poisson(20, size=len(days))
    counts[-1] = spike
    return [
        service.DailyCount(day, "310112", "acute-diarrhoea", int(c))
        for day, c in zip(days, counts, strict=True)
    ]


def test_an_outbreak_in_the_counts_raises_one_alert_per_detector_and_an_event(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.record_counts(session, _counts(spike=80))
        raised = service.detect(session, today=TODAY, window=1, now=NOW)
        assert {(a.method, a.day, a.district_code) for a in raised} >= {("C2", TODAY, "310112")}
        assert events(session, "health.alert.raised") == len(raised)
    with unit_of_work(session_factory) as session:
        assert service.detect(session, today=TODAY, window=1, now=NOW) == []


def test_quiet_counts_raise_nothing_on_the_last_day(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.record_counts(session, _counts(spike=20))
        raised = service.detect(session, today=TODAY, window=1, farrington=False, now=NOW)
    assert raised == []


def test_a_revised_count_replaces_the_stored_one(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.record_counts(session, [service.DailyCount(TODAY, "310101", "ili", 5)])
        service.record_counts(session, [service.DailyCount(TODAY, "310101", "ili", 9)])
        _days, counts = service.series(
            session, district_code="310101", syndrome="ili", since=TODAY, until=TODAY
        )
    assert counts == [9]
    with pytest.raises(Invalid), unit_of_work(session_factory) as session:
        service.record_counts(session, [service.DailyCount(TODAY, "999999", "ili", 1)])


# --- labs ----------------------------------------------------------------------------------------


def _result(sample: str, result: str, hours: float, **kw: object) -> service.LabResult:
    collected = NOW - timedelta(hours=hours + 1)
    return service.LabResult(
        sample_id=sample,
        patient_pseudonym=str(kw.get("pseudonym", "p-0a1b2c3d4e")),
        panel="respiratory",
        result=result,
        collected_at=collected,
        received_at=collected + timedelta(hours=hours / 4),
        reported_at=collected + timedelta(hours=hours),
        district_code="310112",
    )


def test_a_notifiable_positive_raises_an_alert_at_once(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        _, none = service.submit_lab_result(
            session, world.ctx, world.lab, _result("S-1", "negative", 10), now=NOW
        )
        _, alert = service.submit_lab_result(
            session, world.ctx, world.lab, _result("S-2", "influenza-a-h7n9", 20), now=NOW
        )
        assert none is None
        assert alert is not None
        assert alert.method == "notifiable"
        assert alert.sample_id == "S-2"
        assert events(session, "health.alert.raised") == 1


def test_a_pathogen_never_seen_before_is_new_once(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        _, first = service.submit_lab_result(
            session, world.ctx, world.lab, _result("S-1", "rsv", 10), now=NOW
        )
        _, second = service.submit_lab_result(
            session, world.ctx, world.lab, _result("S-2", "rsv", 10), now=NOW
        )
    assert first is not None
    assert first.method == "new"
    assert second is None


def test_only_labs_submit_and_never_an_id_number(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
        service.submit_lab_result(
            session, world.ctx, world.outsider, _result("S-1", "rsv", 1), now=NOW
        )
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.submit_lab_result(
            session,
            world.ctx,
            world.lab,
            _result("S-1", "rsv", 1, pseudonym=next_id_number()),
            now=NOW,
        )
    assert caught.value.errors[0].field == "patient_pseudonym"
    with unit_of_work(session_factory) as session:
        service.submit_lab_result(session, world.ctx, world.lab, _result("S-1", "rsv", 1), now=NOW)
    with pytest.raises(Conflict), unit_of_work(session_factory) as session:
        service.submit_lab_result(session, world.ctx, world.lab, _result("S-1", "rsv", 1), now=NOW)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_turnaround_is_the_median_and_90th_percentile_per_lab(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    hours = [4.0, 8.0, 12.0, 30.0, 6.0]
    with unit_of_work(session_factory) as session:
        for i, h in enumerate(hours):
            service.submit_lab_result(
                session, world.ctx, world.lab, _result(f"S-{i}", "negative", h), now=NOW
            )
    with session_factory() as session:
        (t,) = service.turnaround(session, since=NOW - timedelta(days=2))
    assert t.samples == len(hours)
    assert t.median_hours == pytest.approx(float(np.median(hours)))
    assert t.p90_hours == pytest.approx(float(np.percentile(hours, 90)))
    assert t.median_lab_hours == pytest.approx(float(np.median([h * 0.75 for h in hours])))


def test_the_plotted_series_is_the_one_furthest_above_its_bounds() -> None:
    def alarm(district: str | None, signal: str, observed: float, bound: float | None) -> Alert:
        return Alert(
            kind="syndrome",
            district_code=district,
            signal=signal,
            day=TODAY,
            method="ears-c2",
            observed=observed,
            threshold=bound,
        )

    scattered = [alarm("310101", "ili", 11.0, 10.0) for _ in range(5)]  # 0.1 over, five times
    outbreak = [alarm("310115", "diarrhoea", 40.0, 10.0)]  # 3.0 over, once
    lab = Alert(kind="pathogen", district_code="310104", signal="sars-cov-2", day=TODAY,
                method="lab", observed=1000.0, threshold=None)  # fmt: skip
    assert service.most_aberrant_series([*scattered, *outbreak, lab]) == (
        "310115",
        "diarrhoea",
    )
    assert service.most_aberrant_series(scattered) == ("310101", "ili")
    assert service.most_aberrant_series([lab, alarm(None, "ili", 50.0, 1.0)]) is None
