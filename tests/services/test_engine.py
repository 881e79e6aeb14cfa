"""The engine: BPMN run by SpiffWorkflow, state serialised and resumed, versions compared."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from services.process_files import NEV_PLATE, two_steps, with_timer
from twonets.services import engine
from twonets.services.sandbox import ScriptRefused
from twonets.services.simulate import read_source

NEV_FORM = {
    "has_residence": True,
    "social_insurance_months": 0,
    "plates_held": 0,
    "charging_point": True,
    "vin": "LSVAU2180N2183294",
    "vehicle_model": "荣威 Ei5",
}


def source(text: str) -> engine.ProcessSource:
    return engine.ProcessSource(bpmn=text, name="test.bpmn")


def test_a_workflow_stops_at_a_person_and_resumes_from_its_serialised_state() -> None:
    process = engine.parse(source(two_steps()), "two_steps")
    workflow = engine.start(process, {"amount": 21})
    engine.advance(workflow)
    [review] = engine.user_tasks(workflow)
    assert engine.task_info(review)["lane"] == "civil-affairs"

    state = engine.dumps(workflow)
    del workflow
    resumed = engine.loads(state)
    [again] = engine.user_tasks(resumed)
    assert str(again.id) == str(review.id)
    engine.complete(resumed, again, {"ok": True})
    [second] = engine.user_tasks(resumed)
    engine.complete(resumed, second, {})

    assert resumed.is_completed()
    assert engine.data_of(resumed) == {"amount": 21, "total": 42, "ok": True}


def test_a_fresh_engine_in_another_process_resumes_the_state() -> None:
    process = engine.parse(read_source(NEV_PLATE), "nev_plate")
    workflow = engine.start(process, NEV_FORM)
    engine.advance(workflow)
    [district] = engine.user_tasks(workflow)
    assert district.task_spec.bpmn_id == "confirm_charging_point"
    state = engine.dumps(workflow)

    script = textwrap.dedent(
        """
        import json, sys
        from twonets.services import engine
        workflow = engine.loads(sys.stdin.read())
        answers = {"charging_point_id": "CP-1", "registration_number": "R-1", "plate": "沪AD0001"}
        while engine.user_tasks(workflow):
            task = engine.user_tasks(workflow)[0]
            engine.complete(workflow, task, answers)
        print(json.dumps({"done": workflow.is_completed(), "data": engine.data_of(workflow)}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], input=state, capture_output=True, text=True, check=True
    )

    answer = json.loads(result.stdout)
    assert answer["done"] is True
    assert answer["data"]["outcome"] == "issued"
    assert answer["data"]["plate"] == "沪AD0001"
    assert answer["data"]["registration_number"] == "R-1"


def test_parallel_lanes_both_wait_and_their_data_meets_at_the_join() -> None:
    process = engine.parse(read_source(NEV_PLATE), "nev_plate")
    workflow = engine.start(process, NEV_FORM)
    engine.advance(workflow)
    engine.complete(workflow, engine.user_tasks(workflow)[0], {"charging_point_id": "CP-1"})

    ready = {t.task_spec.bpmn_id: t for t in engine.user_tasks(workflow)}
    assert set(ready) == {"register_vehicle", "allocate_plate"}
    assert {engine.task_info(t)["lane"] for t in ready.values()} == {"transport", "police"}
    engine.complete(workflow, ready["allocate_plate"], {"plate": "沪AD0002"})
    engine.complete(workflow, ready["register_vehicle"], {"registration_number": "R-2"})

    [issue] = engine.user_tasks(workflow)
    assert issue.task_spec.bpmn_id == "issue_certificate"
    assert issue.data["plate"] == "沪AD0002"
    assert issue.data["registration_number"] == "R-2"


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"plates_held": 1}, "already holds a plate"),
        ({"charging_point": False}, "no charging point for the vehicle"),
        (
            {"has_residence": False, "social_insurance_months": 35},
            "neither a residence record nor 36 months of social insurance",
        ),
    ],
)
def test_the_eligibility_table_refuses_with_its_reason(
    form: dict[str, object], reason: str
) -> None:
    process = engine.parse(read_source(NEV_PLATE), "nev_plate")
    workflow = engine.start(process, {**NEV_FORM, **form})
    engine.advance(workflow)

    assert workflow.is_completed()
    assert engine.data_of(workflow)["outcome"] == "not-eligible"
    assert engine.data_of(workflow)["reason"] == reason


def test_social_insurance_alone_is_enough() -> None:
    process = engine.parse(read_source(NEV_PLATE), "nev_plate")
    workflow = engine.start(
        process, {**NEV_FORM, "has_residence": False, "social_insurance_months": 36}
    )
    engine.advance(workflow)

    assert [t.task_spec.bpmn_id for t in engine.user_tasks(workflow)] == ["confirm_charging_point"]


def test_a_script_that_escapes_stops_the_workflow_with_the_refusal() -> None:
    process = engine.parse(source(two_steps(script="x = ().__class__")), "two_steps")
    workflow = engine.start(process, {"amount": 1})

    with pytest.raises(ScriptRefused, match="attribute '__class__' is not allowed"):
        engine.advance(workflow)


def test_a_timer_is_what_the_workflow_waits_on() -> None:
    process = engine.parse(source(with_timer()), "timed")
    workflow = engine.start(process, {})
    engine.advance(workflow)

    assert not workflow.is_completed()
    assert engine.waiting_on(workflow) == [
        {"kind": "timer", "activity": "wait", "expression": '"P1D"'}
    ]


def test_a_version_with_the_same_steps_takes_a_running_workflow() -> None:
    old = engine.parse(source(two_steps()), "two_steps")
    new = engine.parse(source(two_steps(script="total = amount * 3")), "two_steps")
    workflow = engine.start(old, {"amount": 1})
    engine.advance(workflow)

    assert engine.check_migration(workflow, new).possible
    engine.migrate(workflow, new)
    [review] = engine.user_tasks(workflow)
    assert review.task_spec.bpmn_id == "review"
    engine.complete(workflow, review, {})
    engine.complete(workflow, engine.user_tasks(workflow)[0], {})
    assert workflow.is_completed()


def test_a_version_without_a_step_the_workflow_reached_is_refused() -> None:
    old = engine.parse(source(two_steps()), "two_steps")
    new = engine.parse(source(two_steps(review=False)), "two_steps")
    workflow = engine.start(old, {"amount": 1})
    engine.advance(workflow)

    check = engine.check_migration(workflow, new)

    assert not check.possible
    assert "review" in check.reason
