"""Replaying a day: unmet starts without and with the plan."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import pandas as pd
from typer.testing import CliRunner

from twonets.cli import app as cli_app
from twonets.operations.bikes import heat, replay
from twonets.operations.bikes.rebalance import Move

HERE, THERE = (31.2304, 121.4737), (31.2600, 121.5200)
A, B = h3.latlng_to_cell(*HERE, 8), h3.latlng_to_cell(*THERE, 8)


def ride(bike: str, start: str, end: str, a: tuple[float, float], b: tuple[float, float]) -> dict:
    return {
        "bike_id": bike,
        "operator": "op",
        "started_at": pd.Timestamp(start, tz="UTC"),
        "start_lat": a[0],
        "start_lon": a[1],
        "ended_at": pd.Timestamp(end, tz="UTC"),
        "end_lat": b[0],
        "end_lon": b[1],
    }


def test_a_start_without_a_bike_is_unmet_and_arrivals_come_back() -> None:
    day = heat.with_cells(
        pd.DataFrame(
            [
                ride("B1", "2026-12-07 08:00", "2026-12-07 08:20", HERE, THERE),
                ride("B2", "2026-12-07 08:10", "2026-12-07 08:30", THERE, HERE),
                ride("B3", "2026-12-07 09:00", "2026-12-07 09:10", THERE, HERE),
                ride("B4", "2026-12-07 09:05", "2026-12-07 09:15", THERE, HERE),
            ]
        ),
        8,
    )
    supply = {"op": {A: 1}}
    # 08:00 takes A's bike to B; 08:10 finds none at B yet (unmet); 09:00 takes it back; 09:05 none.
    assert replay.replay(day, supply) == replay.Replay(starts=4, unmet=2)
    moved = [Move("op", 1, A, B, 1, 3000)]
    # Moving A's only bike to B first: 08:00 unmet at A, B serves 08:10, 09:00 and 09:05 unmet.
    assert replay.replay(day, supply, moved).unmet == 3
    assert replay.replay(day, {"op": {A: 1, B: 2}}).unmet == 0


def test_supply_at_a_moment_is_each_bikes_last_end() -> None:
    placed = heat.with_cells(
        pd.DataFrame(
            [
                ride("B1", "2026-12-07 08:00", "2026-12-07 08:20", HERE, THERE),
                ride("B1", "2026-12-07 10:00", "2026-12-07 10:20", THERE, HERE),
                ride("B2", "2026-12-07 08:50", "2026-12-07 09:30", HERE, THERE),
            ]
        ),
        8,
    )
    # At 09:00 B1 stands at B; B2 is riding.
    assert replay.supply_at(placed, pd.Timestamp("2026-12-07 09:00", tz="UTC")) == {"op": {B: 1}}


def test_the_plan_reduces_unmet_demand_on_a_citi_bike_day(citibike_file: Path) -> None:
    result = CliRunner().invoke(
        cli_app,
        [
            "ops",
            "bikes",
            "replay",
            "--trips",
            str(citibike_file),
            "--day",
            "2017-04-26",
            "--trucks",
            "3",
            "--capacity",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["starts"] == 666
    assert figures["bikes_moved"] > 0
    assert figures["unmet_with_plan"] < figures["unmet_without_plan"]
