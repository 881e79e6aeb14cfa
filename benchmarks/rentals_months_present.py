"""The months present for detection: the index walk against a DISTINCT over every reading.

Each refresh of the kept monthly figures (``service_kept.refresh``) first asks which
(district, month) pairs have readings. The platform walks the readings' month index and
probes each district per month (``service_kept.months_present``); the baseline is the
plain ``SELECT DISTINCT district, month`` over every reading joined to its household, which
grows with the history. Both run on the same database in the same run, alternately
``--repeat`` times; the script prints each time, the ratio, and whether the pairs are the
same (it fails loudly otherwise), then PostgreSQL's plan of the walk.

    .venv/bin/python benchmarks/rentals_months_present.py [--households N]
        [--database sqlite|postgresql] [--repeat R]

The city is the rentals benchmark's (``rentals_detection.synthetic_city``: 12 months, three
districts), prepared as its platform case prepares it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

import bench_db
import numpy as np
import rentals_detection
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from twonets.operations.rentals import service_kept
from twonets.operations.rentals.models import Household, Reading


def main() -> dict[str, Any]:
    """Prepare the city, time both forms, print the figures and return them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, {args.database}")
    homes, readings, _ = rentals_detection.synthetic_city(
        args.households, np.random.default_rng(args.seed)
    )
    with bench_db.database(args.database) as url:
        city = rentals_detection.Platform(homes, readings, url)
        scan = (
            select(Household.district_code, Reading.month)
            .join(Household, Household.id == Reading.household_pk)
            .distinct()
        )
        walk = service_kept.months_present([])
        scanned: list[float] = []
        walked: list[float] = []
        with Session(city.engine) as session:
            if args.database == "postgresql":
                session.execute(text("ANALYZE"))
            for _ in range(args.repeat):
                began = time.perf_counter()
                by_scan = set(session.execute(scan).all())
                scanned.append(time.perf_counter() - began)
                began = time.perf_counter()
                by_walk = set(session.execute(walk).all())
                walked.append(time.perf_counter() - began)
                if by_scan != by_walk:
                    raise RuntimeError(f"the pairs differ: {sorted(by_scan ^ by_walk)}")
            plan = []
            if args.database == "postgresql":
                compiled = walk.compile(
                    dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
                )
                plan = [row[0] for row in session.execute(text(f"EXPLAIN ANALYZE {compiled}"))]
        city.engine.dispose()
    scan_ms, walk_ms = 1000 * statistics.median(scanned), 1000 * statistics.median(walked)
    print(
        f"{readings.num_rows:,} readings, {len(by_walk)} (district, month) pairs, "
        f"medians of {args.repeat}"
    )
    print(f"DISTINCT over every reading  {scan_ms:8.1f} ms")
    print(f"months walked on the index   {walk_ms:8.1f} ms  ({scan_ms / walk_ms:.0f}x faster)")
    for line in plan:
        print(f"  {line}")
    return {"scan_ms": scan_ms, "walk_ms": walk_ms, "pairs": len(by_walk)}


if __name__ == "__main__":
    main()
