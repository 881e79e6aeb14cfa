"""The offline verify command: a code checked with nothing but the trust bundle."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from codes.world import T, World
from twonets.cli import app
from twonets.codes import service

runner = CliRunner()


def _bundle(world: World, folder: Path) -> Path:
    with world.session() as session:
        world.ctx.trust_store(session, T)  # republishes the regions' lists if stale
        bundle = service.trust_bundle(session, now=T)
    path = folder / "bundle.json"
    path.write_text(json.dumps(bundle))
    return path


def _code(world: World, **kwargs: object) -> str:
    holder = kwargs.pop("holder", world.resident)
    ctx = kwargs.pop("ctx", world.ctx)
    with world.session() as session:
        return service.issue_code(session, ctx, holder, scenario="library", now=T).text  # type: ignore[arg-type]


def test_a_code_verifies_offline_with_the_bundle(world: World, tmp_path: Path) -> None:
    bundle = _bundle(world, tmp_path)
    result = runner.invoke(
        app, ["codes", "verify", "--trust-list", str(bundle), "--at", T.isoformat(), _code(world)]
    )
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["valid"] is True
    assert verdict["disclosed"]["name_initial"] == "王"


def test_a_jiangsu_code_verifies_offline_in_shanghai(world: World, tmp_path: Path) -> None:
    bundle = _bundle(world, tmp_path)
    text = _code(world, holder=world.js_resident, ctx=world.js_ctx)
    result = runner.invoke(
        app, ["codes", "verify", "--trust-list", str(bundle), "--at", T.isoformat(), text]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["region"] == "JS"


def test_an_expired_code_exits_non_zero_and_says_why(world: World, tmp_path: Path) -> None:
    bundle = _bundle(world, tmp_path)
    late = (T + timedelta(minutes=5)).isoformat()
    result = runner.invoke(
        app, ["codes", "verify", "--trust-list", str(bundle), "--at", late, _code(world)]
    )
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert verdict["step"] == "expired"
    assert "grace window" in verdict["detail"]


def test_a_missing_bundle_is_a_clear_failure(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["codes", "verify", "--trust-list", str(tmp_path / "none.json"), "SHC1:00"]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["step"] == "trust"
