"""``twonets services simulate``: the designers' contract, and bad files without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from services.process_files import NEV_PLATE, two_steps, with_timer
from twonets.cli import app

runner = CliRunner()
NEV_DATA = {
    "has_residence": True,
    "social_insurance_months": 0,
    "plates_held": 0,
    "charging_point": True,
    "vin": "LSVAU2180N2183294",
    "vehicle_model": "荣威 Ei5",
    "charging_point_id": "CP-1",
    "registration_number": "R-1",
    "plate": "沪AD0001",
}


def simulate(path: Path, process: str, data: object) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "services",
            "simulate",
            "--bpmn",
            str(path),
            "--process",
            process,
            "--data",
            json.dumps(data),
        ],
    )
    return result.exit_code, result.output


def test_the_nev_plate_runs_to_its_end_with_every_step_in_order() -> None:
    code, output = simulate(NEV_PLATE, "nev_plate", NEV_DATA)

    assert code == 0
    answer = json.loads(output)
    assert answer["status"] == "completed"
    assert answer["completed"][:2] == ["check_eligibility", "confirm_charging_point"]
    assert set(answer["completed"][2:4]) == {"register_vehicle", "allocate_plate"}
    assert answer["completed"][4:] == ["issue_certificate", "record_issued"]
    assert answer["data"]["outcome"] == "issued"
    assert answer["data"]["eligible"] is True
    assert set(answer) == {"status", "completed", "data"}


def test_an_applicant_who_is_not_eligible_ends_at_the_rule() -> None:
    code, output = simulate(NEV_PLATE, "nev_plate", {**NEV_DATA, "plates_held": 2})

    answer = json.loads(output)
    assert code == 0
    assert answer["completed"] == ["check_eligibility", "record_not_eligible"]
    assert answer["data"]["reason"] == "already holds a plate"


def test_a_timer_leaves_the_run_waiting_and_says_on_what(tmp_path: Path) -> None:
    path = tmp_path / "timed.bpmn"
    path.write_text(with_timer(), encoding="utf-8")

    code, output = simulate(path, "timed", {})

    answer = json.loads(output)
    assert code == 0
    assert answer["status"] == "waiting"
    assert answer["completed"] == ["note"]
    assert answer["data"] == {"noted": True}
    assert answer["waiting"] == [{"kind": "timer", "activity": "wait", "expression": '"P1D"'}]


def test_the_data_is_merged_into_every_task(tmp_path: Path) -> None:
    path = tmp_path / "two.bpmn"
    path.write_text(two_steps(), encoding="utf-8")

    code, output = simulate(path, "two_steps", {"amount": 4, "note": "ok"})

    assert code == 0
    assert json.loads(output) == {
        "status": "completed",
        "completed": ["compute", "review", "approve"],
        "data": {"amount": 4, "note": "ok", "total": 8},
    }


def one_line_error(code: int, output: str) -> str:
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_process_not_in_the_file_names_the_file_and_the_processes_it_has() -> None:
    line = one_line_error(*simulate(NEV_PLATE, "retirement", {}))

    assert line == f"error: {NEV_PLATE}: no process 'retirement' in the file (processes: nev_plate)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<a><b></a>", "bad.bpmn:1: not well-formed XML"),
        ("", "bad.bpmn:1: not well-formed XML"),
        ("<html/>", "the root element should be definitions"),
        (
            two_steps().replace("<bpmn:endEvent", "<bpmn:nothing id='x'/><bpmn:endEvent"),
            "bpmn:nothing",
        ),
        (
            two_steps().replace('targetRef="end"', 'targetRef="nowhere"'),
            "bad.bpmn:18 (bpmn:userTask id='approve')",
        ),
        (two_steps(script="import os"), "imports are not allowed"),
    ],
)
def test_a_bad_file_exits_two_with_one_line_naming_where(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.bpmn"
    path.write_text(text, encoding="utf-8")

    line = one_line_error(*simulate(path, "two_steps", {"amount": 1}))

    assert expected in line


def test_a_missing_file_and_bad_data_are_one_line_errors(tmp_path: Path) -> None:
    assert "cannot read the file" in one_line_error(*simulate(tmp_path / "no.bpmn", "x", {}))
    result = runner.invoke(
        app,
        [
            "services",
            "simulate",
            "--bpmn",
            str(NEV_PLATE),
            "--process",
            "nev_plate",
            "--data",
            "[1",
        ],
    )
    assert "--data: not JSON" in one_line_error(result.exit_code, result.output)
    result = runner.invoke(
        app,
        [
            "services",
            "simulate",
            "--bpmn",
            str(NEV_PLATE),
            "--process",
            "nev_plate",
            "--data",
            "[]",
        ],
    )
    assert "--data: should be a JSON object" in one_line_error(result.exit_code, result.output)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=len(two_steps())),
    junk=st.text(alphabet="<>/=\"' abcdefgh:\n", max_size=20),
)
@example(cut=692, junk="=")  # a condition left naming data the process does not hold
def test_any_damage_to_a_file_is_an_answer_or_one_line(tmp_path: Path, cut: int, junk: str) -> None:
    text = two_steps()
    path = tmp_path / "damaged.bpmn"
    path.write_text(text[:cut] + junk + text[cut + len(junk) :], encoding="utf-8")

    result = runner.invoke(
        app,
        [
            "services",
            "simulate",
            "--bpmn",
            str(path),
            "--process",
            "two_steps",
            "--data",
            '{"amount": 1}',
        ],
    )

    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        assert json.loads(result.output)["status"] in {"completed", "waiting"}
    else:
        one_line_error(result.exit_code, result.output)


@settings(max_examples=40, deadline=None)
@given(data=st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | st.text(max_size=5)))
def test_any_data_gives_an_answer_or_one_line(data: dict[str, object]) -> None:
    code, output = simulate(NEV_PLATE, "nev_plate", data)

    assert "Traceback" not in output
    if code == 0:
        assert json.loads(output)["status"] in {"completed", "waiting"}
    else:
        one_line_error(code, output)
