"""The governance commands on a real demo city: verify, sequence, retention, key rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from demo_city import copy_of_demo
from twonets.cli import app
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory
from twonets.core.models import Citizen
from twonets.governance.sealing import Keyring

runner = CliRunner()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    url, var = copy_of_demo(tmp_path_factory, tmp_path_factory.mktemp("city"))
    return {"TWONETS_DATABASE_URL": url, "TWONETS_VAR_DIR": str(var)}


def test_the_demo_ledger_verifies(city: dict[str, str]) -> None:
    result = runner.invoke(app, ["ledger", "verify"], env=city)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ledger ok: ")
    entries = int(result.output.split()[2])
    assert entries > 500


def test_sequence_reports_the_tree_size(city: dict[str, str]) -> None:
    result = runner.invoke(app, ["ledger", "sequence"], env=city)
    assert result.exit_code == 0
    assert result.output.startswith("sequenced 0 reads; tree size ")


def test_retention_reports_and_is_safe_to_rerun(city: dict[str, str]) -> None:
    first = runner.invoke(app, ["governance", "retention", "run", "--json"], env=city)
    again = runner.invoke(app, ["governance", "retention", "run", "--json"], env=city)
    assert first.exit_code == again.exit_code == 0
    assert all(o["affected"] == 0 for o in json.loads(again.output))


def test_a_wrong_secret_cannot_verify_the_signatures(city: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("another-secret-that-is-long-enough-to-use-here")
    result = runner.invoke(
        app, ["ledger", "verify"], env={**city, "TWONETS_VAR_DIR": str(tmp_path)}
    )
    assert result.exit_code == 1
    assert "the signature does not verify" in result.output


def test_key_rotation_then_rewrap_keeps_every_home_readable(city: dict[str, str]) -> None:
    rotated = runner.invoke(app, ["governance", "keys", "rotate", "core.citizen"], env=city)
    assert rotated.exit_code == 0, rotated.output
    assert "key version 2 is now current" in rotated.output
    rewrapped = runner.invoke(
        app, ["governance", "keys", "rewrap", "core.citizen", "--batch-size", "700"], env=city
    )
    assert rewrapped.exit_code == 0, rewrapped.output
    assert "re-sealed 4000 records" in rewrapped.output
    settings = Settings(
        var_dir=Path(city["TWONETS_VAR_DIR"]), database_url=city["TWONETS_DATABASE_URL"]
    )
    keyring = Keyring(resolve_secret_key(settings), {"core.citizen": 2})
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            homes = session.execute(select(Citizen.home_lon, Citizen.home_lat)).all()
    finally:
        engine.dispose()
    assert all(lon.startswith("gcm1:2:") for lon, _ in homes)
    assert all(
        120.8 < float(keyring.unseal("core.citizen", "home_lon", lon)) < 122.3 for lon, _ in homes
    )
    bad = runner.invoke(app, ["governance", "keys", "rotate", "core.enterprise"], env=city)
    assert bad.exit_code == 1
    assert "has no sealed fields" in bad.output


def test_the_demo_break_glass_read_is_listed_until_reviewed(city: dict[str, str]) -> None:
    result = runner.invoke(app, ["governance", "break-glass", "list"], env=city)
    assert result.exit_code == 0, result.output
    assert "health.tracer1 (sh.health) epidemic.tracing core.citizen: 1 subject(s)" in result.output
    assert "NOT REVIEWED" in result.output
    listed = runner.invoke(app, ["governance", "break-glass", "list", "--json"], env=city)
    records = json.loads(listed.output)
    assert [(r["actor"], r["fields"], r["reviewed_at"]) for r in records] == [
        ("health.tracer1", ["id_number", "phone", "address"], None)
    ]
