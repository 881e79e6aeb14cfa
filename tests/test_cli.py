"""The ``twonets`` command: identifiers, database, accounts, demo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twonets.cli import app
from twonets.core.ids import id_number_check_character

runner = CliRunner()

VALID_ID = "11010519491231002X"
VALID_CODE = "91110000600037341L"


def test_valid_values_exit_zero() -> None:
    result = runner.invoke(app, ["ids", "check", VALID_ID, VALID_CODE])
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"{VALID_ID}: valid", f"{VALID_CODE}: valid"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310023", "check character should be X, got 3"),
        (
            "11010519491331002" + id_number_check_character("11010519491331002"),
            "birth date 19491331 is not a real date",
        ),
        (
            "91110000600O37341L",
            "character 'O' at position 12 is not allowed (the alphabet has no I, O, Z, S or V)",
        ),
    ],
)
def test_each_invalid_value_gets_its_precise_reason(value: str, reason: str) -> None:
    result = runner.invoke(app, ["ids", "check", VALID_ID, value])
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == f"{value}: {reason}"


def test_json_output_for_machines() -> None:
    result = runner.invoke(app, ["ids", "check", "--json", VALID_ID, "12345"])
    assert result.exit_code == 1
    verdicts = json.loads(result.output)
    assert verdicts[0] == {"value": VALID_ID, "kind": "id_number", "valid": True, "reason": None}
    assert verdicts[1]["reason"] == "length should be 18, got 5"


def test_db_upgrade_and_current_follow_the_environment(tmp_path: Path) -> None:
    env = {"TWONETS_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    before = runner.invoke(app, ["db", "current"], env=env)
    assert before.exit_code == 1
    assert "current: none" in before.output
    upgraded = runner.invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "20 reference rows added" in upgraded.output
    assert runner.invoke(app, ["db", "current"], env=env).exit_code == 0
    again = runner.invoke(app, ["db", "upgrade"], env=env)
    assert "0 reference rows added" in again.output


def test_create_admin_then_log_in(tmp_path: Path) -> None:
    env = {"TWONETS_DATABASE_URL": f"sqlite:///{tmp_path}/adm.db"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    made = runner.invoke(
        app,
        ["accounts", "create-admin", "root", "--password-stdin"],
        input="long-enough-pw\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    dup = runner.invoke(
        app,
        ["accounts", "create-admin", "root", "--password-stdin"],
        input="long-enough-pw\n",
        env=env,
    )
    assert dup.exit_code == 1
    assert "already exists" in dup.output


def test_bad_settings_exit_two() -> None:
    result = runner.invoke(app, ["ids", "check", VALID_ID], env={"TWONETS_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "settings" in result.output


def test_the_installed_command_runs() -> None:
    executable = shutil.which("twonets") or str(Path(__file__).parents[1] / ".venv/bin/twonets")
    if not Path(executable).exists():
        pytest.skip("the twonets command is not installed in this environment")
    completed = subprocess.run(
        [executable, "ids", "check", VALID_ID], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"{VALID_ID}: valid"
