"""``twonets ops bikes heatmap | forecast | plan`` on files, without the database."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from twonets.cli import app as cli_app
from twonets.operations.bikes import heat

runner = CliRunner()


def test_heatmap_writes_the_contract_csv(citibike_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "heat.csv"
    result = runner.invoke(
        cli_app,
        ["ops", "bikes", "heatmap", "--trips", str(citibike_file), "--res", "7", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("cell,hour,starts,arrivals,supply,net\n")
    table = pd.read_csv(out)
    assert table["starts"].sum() == 21_186
    assert table["hour"].iloc[0] == "2017-04-01T04:00:00Z"


def test_heatmap_names_the_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "bike_id,operator,started_at,start_lat,start_lon,ended_at,end_lat,end_lon\n"
        "B1,op,2026-12-07T08:00:00Z,31.2,121.4,soon,31.2,121.4\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli_app, ["ops", "bikes", "heatmap", "--trips", str(path)])
    assert result.exit_code == 2
    assert "t.csv, row 2, column ended_at: 'soon' is not a time" in result.output
    bad_res = runner.invoke(
        cli_app, ["ops", "bikes", "heatmap", "--trips", str(path), "--res", "16"]
    )
    assert bad_res.exit_code == 2


def test_forecast_reports_both_errors(citibike_file: Path) -> None:
    result = runner.invoke(cli_app, ["ops", "bikes", "forecast", "--trips", str(citibike_file)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["learned_mae"] < figures["baseline_mae"]


def test_plan_prints_moves_as_json(
    citibike_file: Path, citibike: pd.DataFrame, tmp_path: Path
) -> None:
    # Every bike parked at the busiest start station's cell: the plan spreads them out.
    last = citibike.sort_values("ended_at").groupby("bike_id").tail(1)
    snapshot = pd.DataFrame(
        {
            "bike_id": last["bike_id"],
            "operator": "citibike",
            "seen_at": "2017-05-01T04:00:00Z",
            "lat": 40.71958611647166,  # Grove St PATH
            "lon": -74.04311746358871,
        }
    )
    path = tmp_path / "parked.csv"
    snapshot.to_csv(path, index=False)
    result = runner.invoke(
        cli_app,
        [
            "ops",
            "bikes",
            "plan",
            "--trips",
            str(citibike_file),
            "--snapshot",
            str(path),
            "--trucks",
            "3",
            "--capacity",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    grove = heat.cells([40.71958611647166], [-74.04311746358871], 8)[0]
    assert plan["bikes_moved"] == 60  # far more surplus and deficit than three loads
    assert {m["from"] for m in plan["moves"]} == {grove}
    assert {m["operator"] for m in plan["moves"]} == {"citibike"}
    per_truck: dict[int, int] = {}
    for m in plan["moves"]:
        per_truck[m["truck"]] = per_truck.get(m["truck"], 0) + m["bikes"]
    assert per_truck == {1: 20, 2: 20, 3: 20}
