"""Headline figure: exact p-median solve time on OR-Library pmed1-5 against a textbook MIP.

For each instance, ``solve_p_median`` (reduced assignment model with a heuristic start) and
``textbook_p_median`` (the plain assignment MIP: x_ij <= y_j, sum_j x_ij = 1, sum y = p) are
both solved by HiGHS in the same run, alternately ``--repeat`` times; the script prints the
median seconds of each, the ratio textbook/ours, both objectives (they must agree, and equal
the published optimum) and fails loudly otherwise. Each solve is bounded by ``--time-limit``.

    .venv/bin/python benchmarks/siting.py [--data DIR] [--repeat N] [--time-limit S]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twonets.health.siting import (
    SitingStatus,
    distances,
    read_orlib,
    solve_p_median,
    textbook_p_median,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "orlib-pmed"
INSTANCES = ("pmed1", "pmed2", "pmed3", "pmed4", "pmed5")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of pmedK.txt")
    parser.add_argument("--repeat", type=int, default=3, help="timed solves per model")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    args = parser.parse_args(argv)
    optima = {
        name: int(value)
        for name, value in (
            line.split() for line in (args.data / "pmedopt.txt").read_text().splitlines()[1:]
        )
    }
    header = f"{'instance':<8} {'n':>4} {'p':>3} {'ours s':>7} {'textbook s':>11} {'ratio':>6}"
    print(f"{header}  objective")
    figures: dict[str, Any] = {}
    for name in INSTANCES:
        instance = read_orlib((args.data / f"{name}.txt").read_text())
        d = distances(instance)
        ours: list[float] = []
        plain: list[float] = []
        for _ in range(args.repeat):
            a = solve_p_median(d, instance.p, time_limit=args.time_limit)
            b = textbook_p_median(d, instance.p, time_limit=args.time_limit)
            if not (
                a.status is b.status is SitingStatus.OPTIMAL
                and a.objective == b.objective == optima[name]
            ):
                raise RuntimeError(
                    f"{name}: ours {a.objective} ({a.status}), textbook {b.objective} "
                    f"({b.status}), published {optima[name]}"
                )
            ours.append(a.seconds)
            plain.append(b.seconds)
        mine, theirs = statistics.median(ours), statistics.median(plain)
        figures[name] = {"ours_s": mine, "textbook_s": theirs, "objective": a.objective}
        print(
            f"{name:<8} {instance.n:>4} {instance.p:>3} {mine:>7.3f} {theirs:>11.3f} "
            f"{theirs / mine:>5.1f}x  {a.objective:.0f} (both; published {optima[name]})"
        )
    total_ours = sum(f["ours_s"] for f in figures.values())
    total_plain = sum(f["textbook_s"] for f in figures.values())
    print(
        f"total: ours {total_ours:.2f} s, textbook {total_plain:.2f} s, "
        f"ratio {total_plain / total_ours:.1f}x (medians of {args.repeat} runs)"
    )
    return figures


if __name__ == "__main__":
    main()
