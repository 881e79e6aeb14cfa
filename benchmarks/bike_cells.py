"""Headline figures of shared bikes: trips per second into H3 cells, and plan time.

In the same run and on the same synthetic dockless trips (``--trips`` rides between random
points of central Shanghai over a week, so nearly every point is distinct, the hard case):

- **bare**: each start and end point converted by ``h3.latlng_to_cell`` in a plain loop, the
  floor of any H3 aggregation that names its cells (H3's string cells, as the CSV and the
  map carry them); also, for information, the same loop with H3's integer API, which the
  heat map uses inside (about 1.7 times as fast per point) before naming its few cells;
- **heat map**: ``heat.heat_table`` — cells, hours, starts, arrivals, supply inferred from
  the trips, net flow and imbalance.

Aim: the heat map at least 50% of the bare conversion's rate. Then the time of one
rebalancing plan over ``--cells`` cells (half surplus, half deficit, every pair an arc).

    .venv/bin/python benchmarks/bike_cells.py [--trips N] [--cells N] [--seed S] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import h3
import numpy as np
import pandas as pd
from h3.api import basic_int as h3_int

from twonets.operations.bikes import heat, rebalance

SOUTH, NORTH, WEST, EAST = 31.15, 31.30, 121.38, 121.56


def synthetic_trips(count: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rides between random points, starting at random minutes of a week, 5 to 40 minutes."""
    start = pd.Timestamp("2026-11-30T00:00:00Z") + pd.to_timedelta(
        rng.integers(0, 7 * 24 * 60, count), unit="min"
    )
    return pd.DataFrame(
        {
            "bike_id": rng.integers(0, max(count // 8, 1), count).astype(str),
            "operator": rng.choice(["hello", "meituan", "qingju"], count),
            "started_at": start,
            "start_lat": rng.uniform(SOUTH, NORTH, count),
            "start_lon": rng.uniform(WEST, EAST, count),
            "ended_at": start + pd.to_timedelta(rng.integers(5, 40, count), unit="min"),
            "end_lat": rng.uniform(SOUTH, NORTH, count),
            "end_lon": rng.uniform(WEST, EAST, count),
        }
    )


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    trips = synthetic_trips(args.trips, rng)

    def bare_conversion(convert: Callable[[float, float, int], object]) -> None:
        for lat, lon in zip(trips["start_lat"].tolist(), trips["start_lon"].tolist(), strict=True):
            convert(lat, lon, 8)
        for lat, lon in zip(trips["end_lat"].tolist(), trips["end_lon"].tolist(), strict=True):
            convert(lat, lon, 8)

    # Each measured --repeat times, the two interleaved, the best of each kept: on a shared
    # machine a single run mostly measures the neighbours.
    bare_best = ours_best = int_best = float("inf")
    table = pd.DataFrame()
    for _ in range(args.repeat):
        began = time.perf_counter()
        bare_conversion(h3.latlng_to_cell)
        bare_best = min(bare_best, time.perf_counter() - began)
        began = time.perf_counter()
        bare_conversion(h3_int.latlng_to_cell)
        int_best = min(int_best, time.perf_counter() - began)
        began = time.perf_counter()
        table = heat.heat_table(trips, resolution=8)
        ours_best = min(ours_best, time.perf_counter() - began)
    bare = args.trips / bare_best
    bare_int = args.trips / int_best
    ours = args.trips / ours_best
    print(f"bare H3 conversion   {bare:12,.0f} trips/s (two points each, cells as strings)")
    print(f"bare, integer cells  {bare_int:12,.0f} trips/s (H3's integer API, the fastest)")
    print(f"heat map             {ours:12,.0f} trips/s ({len(table):,} cell-hours)")
    print(f"ratio                {ours / bare:12.0%} of the string conversion (aim: at least 50%)")
    print(f"                     {ours / bare_int:12.0%} of the integer conversion")

    cells = list(
        dict.fromkeys(
            h3.latlng_to_cell(a, b, 9)
            for a, b in zip(
                rng.uniform(SOUTH, NORTH, args.cells * 3),
                rng.uniform(WEST, EAST, args.cells * 3),
                strict=True,
            )
        )
    )[: args.cells]
    half = len(cells) // 2
    supply = {"hello": {c: int(rng.integers(5, 30)) for c in cells[:half]}}
    need = {"hello": {c: int(rng.integers(5, 30)) for c in cells[half:]}}
    began = time.perf_counter()
    moves = rebalance.plan(supply, need, trucks=100, capacity=30)
    took = time.perf_counter() - began
    print(
        f"plan over {len(cells):,} cells  {took:8.2f} s "
        f"({sum(m.bikes for m in moves):,} bikes in {len(moves):,} moves)"
    )


if __name__ == "__main__":
    main()
