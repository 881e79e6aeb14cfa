"""Headline figure: exact p-median on OR-Library's 40 pmed instances against the textbook MIP.

For each instance, ``solve_p_median`` (each client's nearest candidates, grown until none
needs a farther one, from a heuristic start) and ``textbook_p_median`` (the plain assignment
MIP: x_ij <= y_j, sum_j x_ij = 1, sum y = p) are both solved by HiGHS in the same run,
alternately ``--repeat`` times, each solve bounded by ``--time-limit`` seconds. Per instance
the script prints the median seconds of each, whether each proved its optimum, both
objectives and the published optimum; then the totals (a textbook solve stopped by the limit
counts the limit), how many of the instances each model proved, and whether ours took at
most half the textbook's time in total, the aim. It exits 1 if our model failed to prove an
optimum or any objective disagrees with the published one or the other model's proven one.

The instance files are read from ``--data`` (``pmedK.txt`` and ``pmedopt.txt``, as
OR-Library publishes them); instances whose file is absent are named, not run.
``--synthetic`` runs, instead of the files, random graphs of each instance's size (n
vertices, m edges with integer costs 1-100 on a random spanning tree and random pairs, p
medians; seeded): the same sizes, not the same graphs, so without a published optimum.

    .venv/bin/python benchmarks/siting.py [--data DIR] [--instances 1-5,38] [--repeat N]
        [--time-limit S] [--synthetic]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twonets.health.mip import SitingStatus
from twonets.health.pmedian import SitingResult, solve_p_median, textbook_p_median
from twonets.health.siting import OrlibInstance, distances, read_orlib

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "orlib-pmed"
# OR-Library's pmed1-40 (Beasley 1985), in order: n vertices and p medians; m = n^2 / 50 edges.
SIZES = {
    k: (n, n * n // 50, p)
    for k, (n, p) in enumerate(
        [
            (100, 5),
            (100, 10),
            (100, 10),
            (100, 20),
            (100, 33),
            (200, 5),
            (200, 10),
            (200, 20),
            (200, 40),
            (200, 67),
            (300, 5),
            (300, 10),
            (300, 30),
            (300, 60),
            (300, 100),
            (400, 5),
            (400, 10),
            (400, 40),
            (400, 80),
            (400, 133),
            (500, 5),
            (500, 10),
            (500, 50),
            (500, 100),
            (500, 167),
            (600, 5),
            (600, 10),
            (600, 60),
            (600, 120),
            (600, 200),
            (700, 5),
            (700, 10),
            (700, 70),
            (700, 140),
            (800, 5),
            (800, 10),
            (800, 80),
            (900, 5),
            (900, 10),
            (900, 90),
        ],
        start=1,
    )
}


def instance_numbers(text: str) -> list[int]:
    """``"1-5,38"`` as ``[1, 2, 3, 4, 5, 38]`` (1 to 40)."""
    chosen: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        chosen.extend(range(int(first), int(last or first) + 1))
    if not chosen or not all(1 <= k <= 40 for k in chosen):
        raise argparse.ArgumentTypeError(f"instances are numbered 1 to 40: {text!r}")
    return sorted(set(chosen))


def synthetic(k: int) -> OrlibInstance:
    """A random graph of pmed``k``'s size: a random spanning tree, then random pairs."""
    n, m, p = SIZES[k]
    rng = np.random.default_rng(k)
    order = rng.permutation(n)
    edges: dict[tuple[int, int], float] = {}
    for position in range(1, n):
        a, b = int(order[position]), int(order[rng.integers(0, position)])
        edges[(min(a, b), max(a, b))] = float(rng.integers(1, 101))
    while len(edges) < m:
        a, b = (int(v) for v in rng.integers(0, n, 2))
        if a != b:
            edges[(min(a, b), max(a, b))] = float(rng.integers(1, 101))
    return OrlibInstance(n=n, p=p, edges=tuple((a, b, c) for (a, b), c in edges.items()))


def published(data: Path) -> dict[str, int]:
    """The published optima (``pmedopt.txt``), empty where the file is absent."""
    path = data / "pmedopt.txt"
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()[1:]
    return {name: int(value) for name, value in (line.split() for line in lines if line.strip())}


def describe(result: SitingResult, limit: float) -> str:
    """``proved`` or what stopped the solve."""
    if result.status is SitingStatus.OPTIMAL:
        return "proved"
    return f"NOT proved in {limit:g} s ({result.status}, gap {result.gap:g})"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of pmedK.txt")
    parser.add_argument(
        "--instances", type=instance_numbers, default=list(range(1, 41)), help="e.g. 1-5,38"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed solves per model")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per solve")
    parser.add_argument("--synthetic", action="store_true", help="random graphs of the sizes")
    args = parser.parse_args(argv)
    optima = {} if args.synthetic else published(args.data)
    print(
        f"p-median benchmark: Python {platform.python_version()}, {platform.machine()}, "
        f"highspy {importlib.metadata.version('highspy')}; {args.repeat} solve(s) per model, "
        f"{args.time_limit:g} s each at most"
    )
    present = [k for k in args.instances if args.synthetic or (args.data / f"pmed{k}.txt").exists()]
    absent = [k for k in args.instances if k not in present]
    source = "random graphs of OR-Library's sizes" if args.synthetic else str(args.data)
    print(f"instances from {source}: {len(present)} of {len(args.instances)} chosen")
    if absent:
        print(f"absent (not run): {', '.join(f'pmed{k}' for k in absent)}")
    header = f"{'instance':<8} {'n':>4} {'p':>3} {'ours s':>8} {'textbook s':>11} {'ratio':>6}"
    print(f"{header}  objectives")
    figures: dict[str, Any] = {}
    failures: list[str] = []
    for k in present:
        name = f"pmed{k}"
        instance = (
            synthetic(k) if args.synthetic else read_orlib((args.data / f"{name}.txt").read_text())
        )
        d = distances(instance)
        ours: list[SitingResult] = []
        plain: list[SitingResult] = []
        for _ in range(args.repeat):
            ours.append(solve_p_median(d, instance.p, time_limit=args.time_limit))
            plain.append(textbook_p_median(d, instance.p, time_limit=args.time_limit))
        a, b = ours[-1], plain[-1]
        mine = statistics.median(r.seconds for r in ours)
        theirs = statistics.median(
            r.seconds if r.status is SitingStatus.OPTIMAL else args.time_limit for r in plain
        )
        proved_ours = all(r.status is SitingStatus.OPTIMAL for r in ours)
        proved_plain = all(r.status is SitingStatus.OPTIMAL for r in plain)
        known = optima.get(name)
        if not proved_ours:
            failures.append(f"{name}: ours {describe(a, args.time_limit)}")
        elif known is not None and a.objective != known:
            failures.append(f"{name}: ours {a.objective:g}, published {known}")
        elif proved_plain and a.objective != b.objective:
            failures.append(f"{name}: ours {a.objective:g}, textbook {b.objective:g}")
        figures[name] = {
            "n": instance.n,
            "p": instance.p,
            "ours_s": mine,
            "textbook_s": theirs,
            "ours_proved": proved_ours,
            "textbook_proved": proved_plain,
            "objective": a.objective,
        }
        note = f"{a.objective:.0f} ours ({describe(a, args.time_limit)}), "
        note += f"{b.objective:.0f} textbook ({describe(b, args.time_limit)})"
        if known is not None:
            note += f"; published {known}"
        print(
            f"{name:<8} {instance.n:>4} {instance.p:>3} {mine:>8.2f} {theirs:>11.2f} "
            f"{theirs / mine:>5.1f}x  {note}",
            flush=True,
        )
    if figures:
        total_ours = sum(f["ours_s"] for f in figures.values())
        total_plain = sum(f["textbook_s"] for f in figures.values())
        proved = sum(f["ours_proved"] for f in figures.values())
        proved_plain = sum(f["textbook_proved"] for f in figures.values())
        met = "met" if total_ours <= total_plain / 2 else "MISSED"
        print(
            f"total: ours {total_ours:.1f} s, textbook {total_plain:.1f} s (a solve stopped by "
            f"the limit counts {args.time_limit:g} s), ratio {total_plain / total_ours:.1f}x; "
            f"aim at most half the textbook's time: {met}"
        )
        print(
            f"proved optimal: ours {proved} of {len(figures)}, textbook {proved_plain} of "
            f"{len(figures)}"
        )
    if absent and not args.synthetic:
        print(f"the aim's run over all 40 needs the {len(absent)} absent file(s) in {args.data}")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    if failures:
        raise SystemExit(1)
    return figures


if __name__ == "__main__":
    main()
