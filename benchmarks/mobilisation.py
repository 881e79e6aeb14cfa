"""Headline figure: what an exact mobilisation gains over calling the nearest reservist first.

A city-scale instance (by default 3,000 reservists in 60 hospitals of 100-400
clinical staff, 5 specialties, 8 centres, 5 % of each hospital's staff at most, so that
the hospitals' shares bind) is planned twice in the same run: by the exact MIP of
``twonets.health.mobilisation_plan`` and by the greedy rule a dispatcher would follow by hand
(fill posts in order, each with the nearest free reservist of the specialty whose hospital
still has allowance). The script prints both plans' unfilled posts and total distance, the
distance saved by the exact plan, and the solve times with their ratio; it fails loudly if
the exact plan were ever worse.

    .venv/bin/python benchmarks/mobilisation.py [--reservists N] [--centres C] [--max-share F]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from twonets.health.mobilisation_plan import Candidate, Need, allowance_of, plan_mobilisation

SPECIALTIES = ("infectious-diseases", "respiratory", "critical-care", "emergency", "nursing")


def instance(
    reservists: int, centres: int, hospitals: int, seed: int, max_share: float
) -> tuple[list[Candidate], list[Need], np.ndarray[Any, Any], dict[str, int]]:
    """A random city: hospitals and centres scattered over 80 x 80 km."""
    rng = random.Random(seed)
    sites = [(rng.uniform(0, 80), rng.uniform(0, 80)) for _ in range(hospitals)]
    places = [(rng.uniform(0, 80), rng.uniform(0, 80)) for _ in range(centres)]
    candidates = [
        Candidate(
            key=i,
            specialty=rng.choice(SPECIALTIES),
            hospital=str(rng.randrange(hospitals)),
            trained=rng.random() < 0.8,
        )
        for i in range(reservists)
    ]
    d = np.array(
        [
            [float(np.hypot(sites[int(c.hospital)][0] - x, sites[int(c.hospital)][1] - y))
             for x, y in places]
            for c in candidates
        ]
    )  # fmt: skip
    needs = [
        Need(centre, s, rng.randrange(5, 25)) for centre in range(centres) for s in SPECIALTIES
    ]
    staff = {str(h): rng.randrange(100, 400) for h in range(hospitals)}
    return candidates, needs, d, allowance_of(staff, {}, max_share)


def greedy(
    candidates: Sequence[Candidate],
    needs: Sequence[Need],
    d: np.ndarray[Any, Any],
    allowance: dict[str, int],
    untrained_penalty: float,
) -> tuple[int, float]:
    """Unfilled posts and cost when each post takes the nearest free reservist in turn."""
    left = dict(allowance)
    free = set(range(len(candidates)))
    unfilled, cost = 0, 0.0
    for need in needs:
        for _ in range(need.count):
            best = min(
                (
                    (d[r, need.centre] + (0 if candidates[r].trained else untrained_penalty), r)
                    for r in free
                    if candidates[r].specialty == need.specialty
                    and left.get(candidates[r].hospital, 0) > 0
                ),
                default=None,
            )
            if best is None:
                unfilled += 1
                continue
            cost += best[0]
            free.discard(best[1])
            left[candidates[best[1]].hospital] -= 1
    return unfilled, cost


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reservists", type=int, default=3000)
    parser.add_argument("--centres", type=int, default=8)
    parser.add_argument("--hospitals", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--max-share", type=float, default=0.05)
    args = parser.parse_args(argv)
    candidates, needs, d, allowance = instance(
        args.reservists, args.centres, args.hospitals, args.seed, args.max_share
    )
    started = time.perf_counter()
    plan = plan_mobilisation(candidates, needs, d, allowance, untrained_penalty=50.0)
    exact_s = time.perf_counter() - started
    started = time.perf_counter()
    greedy_unfilled, greedy_cost = greedy(candidates, needs, d, allowance, 50.0)
    greedy_s = time.perf_counter() - started
    if (plan.unfilled, plan.cost) > (greedy_unfilled, greedy_cost + 1e-6):
        raise SystemExit("the exact plan is worse than greedy: a bug")
    posts = sum(n.count for n in needs)
    figures = {
        "posts": posts,
        "status": str(plan.status),
        "exact_unfilled": plan.unfilled,
        "greedy_unfilled": greedy_unfilled,
        "exact_cost": round(plan.cost, 1),
        "greedy_cost": round(greedy_cost, 1),
        "saved": round(1 - plan.cost / greedy_cost, 4) if greedy_cost else 0.0,
        "exact_s": round(exact_s, 3),
        "greedy_s": round(greedy_s, 3),
        "time_ratio": round(exact_s / greedy_s, 1) if greedy_s else None,
    }
    print(
        f"{posts} posts, {args.reservists} reservists, {args.centres} centres: "
        f"exact ({plan.status}) {plan.unfilled} unfilled, cost {plan.cost:,.0f} "
        f"in {exact_s:.2f} s; "
        f"greedy {greedy_unfilled} unfilled, cost {greedy_cost:,.0f} in {greedy_s:.2f} s; "
        f"exact saves {figures['saved']:.1%} of the distance, at {figures['time_ratio']}x the time"
    )
    return figures


if __name__ == "__main__":
    main()
