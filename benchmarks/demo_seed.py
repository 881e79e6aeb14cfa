"""Headline figure: seconds to seed the demo city (budget: under 30 s at the default scale).

Prints the seeding time per scale and, as a baseline measured in the same run, the time of a
bare executemany of the same number of resident rows into SQLite, so that the ratio shows the
cost of the real seeding (ID numbers, names, point-in-district placement, departments, logins)
independently of how fast this machine is.

    .venv/bin/python benchmarks/demo_seed.py [SCALE ...]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from twonets.core.config import Settings
from twonets.demo import run_demo
from twonets.demo.city import RESIDENTS_PER_SCALE

BUDGET_SECONDS = 30.0


def bare_insert_seconds(rows: int, folder: Path) -> float:
    """Baseline: insert ``rows`` plain resident-sized rows with one executemany."""
    connection = sqlite3.connect(folder / "bare.db")
    connection.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, d REAL, e REAL)"
    )
    data = [(f"31010119900101{i:04d}", "张三", "上海市黄浦区", 121.4, 31.2) for i in range(rows)]
    started = time.perf_counter()
    connection.executemany("INSERT INTO t (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", data)
    connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main(scales: list[int]) -> None:
    """Seed each scale into a fresh database and print the figures."""
    for scale in scales:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder)
            settings = Settings(var_dir=path / "var", database_url=f"sqlite:///{path}/demo.db")
            started = time.perf_counter()
            run_demo(settings, scale=scale, seed=2026)
            seconds = time.perf_counter() - started
            baseline = bare_insert_seconds(RESIDENTS_PER_SCALE * scale, path)
        print(
            f"scale {scale}: seeded in {seconds:.2f} s "
            f"({seconds / BUDGET_SECONDS:.0%} of the {BUDGET_SECONDS:.0f} s budget); "
            f"bare insert of the residents {baseline:.3f} s; ratio {seconds / baseline:.0f}x"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 4])
