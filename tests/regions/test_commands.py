"""The administrator's commands for another region's deployment, and the second region's demo:
`twonets trust anchor`, `recognise`, `refresh` and `remote` (one-line errors, exit 2), and
`seed_region` (its own database, its anchor written, a second run keeps what it made)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from regions.world import Regions, two_regions
from twonets.cli import app as cli
from twonets.core.config import Settings
from twonets.demo.region import seed_region


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[Regions]:
    yield from two_regions(tmp_path)


def _env(app: FastAPI) -> dict[str, str]:
    settings: Settings = app.state.settings
    return {
        "TWONETS_VAR_DIR": str(settings.var_dir),
        "TWONETS_DATABASE_URL": settings.effective_database_url,
    }


def test_an_administrator_recognises_and_refreshes_another_region_from_the_command_line(
    regions: Regions, tmp_path: Path
) -> None:
    runner = CliRunner()
    anchor = tmp_path / "js-anchor.pem"
    wrote = runner.invoke(
        cli, ["trust", "anchor", "JS", "--out", str(anchor)], env=_env(regions.js_app)
    )
    assert wrote.exit_code == 0, wrote.output
    assert anchor.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    sh = _env(regions.sh_app)
    recognise = ["trust", "recognise", "JS", "--url", regions.js.url, "--anchor", str(anchor)]

    refused = runner.invoke(cli, [*recognise, "--admin", "sh.verifier"], env=sh)
    assert refused.exit_code == 2
    assert "needs one of the roles: admin" in refused.output

    done = runner.invoke(cli, [*recognise, "--admin", "sh.admin"], env=sh)
    assert done.exit_code == 0, done.output
    assert f"JS: recognised at {regions.js.url}" in done.output
    again = runner.invoke(cli, [*recognise, "--admin", "sh.admin"], env=sh)
    assert again.exit_code == 2
    assert again.output.count("\n") == 1
    assert "already recognised" in again.output

    refreshed = runner.invoke(cli, ["trust", "refresh"], env=sh)
    assert (refreshed.exit_code, refreshed.output.strip()) == (0, "JS: ok")
    listed = runner.invoke(cli, ["trust", "remote"], env=sh)
    facts = json.loads(listed.output)
    assert (facts["region"], facts["url"], facts["documents"]) == ("JS", regions.js.url, 2)

    regions.js.stop()
    down = runner.invoke(cli, ["trust", "refresh"], env=sh)
    assert down.exit_code == 0
    assert down.output.startswith("JS: ")
    assert "cannot be reached" in down.output


def test_a_missing_anchor_file_is_a_one_line_error(regions: Regions, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["trust", "recognise", "JS", "--url", regions.js.url, "--anchor", str(tmp_path / "no")],
        env=_env(regions.sh_app),
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: --anchor: cannot read")


def test_the_second_regions_demo_has_its_own_database_and_writes_its_anchor(
    tmp_path: Path,
) -> None:
    settings = Settings(var_dir=tmp_path / "js", events_url=None, region="JS")
    made = seed_region(settings, region="JS")
    assert made.anchor_path == tmp_path / "js" / "anchor-JS.pem"
    assert made.anchor_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert (tmp_path / "js" / "twonets.db").exists()
    names = [a.username for a in made.accounts]
    assert "js.admin" in names
    assert any(n.startswith("320102") for n in names)
    again = seed_region(settings, region="JS")
    assert again.anchor_path.read_text() == made.anchor_path.read_text()
    assert [a.username for a in again.accounts] == names
