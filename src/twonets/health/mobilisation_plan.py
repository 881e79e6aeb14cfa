"""The mobilisation plan: who to call, as an exact assignment MIP solved by HiGHS.

Pure, with no database; the use cases that record, notify and re-plan a mobilisation are in
``service/mobilisations.py``.

Given demand per centre and specialty, call reservists so that:

- a reservist answers demand only in their own specialty (skill), at most one centre each;
- no hospital loses more than its allowance (a set share of its staff, less those already
  called), so that general hospitals keep running;
- the number of unfilled posts is as small as possible, and among plans with that many,
  the total cost is least: the distance from the reservist's hospital to the centre, plus a
  penalty for a reservist whose trainings are not all current.

The two goals are one objective: each unfilled post costs more than every possible
assignment together, so no amount of distance ever buys an empty post (lexicographic
optimum, exactly). Unfilled posts are a result, never an "infeasible" answer.

The model has one binary column per compatible (reservist, centre) pair and one
continuous shortfall column per (centre, specialty); it is passed to HiGHS as arrays as in
``siting.py``, with a zero relative gap and an absolute gap of 1e-6, so an "optimal" status
is a proven optimum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix

from twonets.core.errors import Invalid
from twonets.health.mip import LinearModel, SitingStatus, solve_mip

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Candidate:
    """A reservist who may be called: specialty, home hospital, current trainings."""

    key: int
    specialty: str
    hospital: str
    trained: bool = True


@dataclass(frozen=True)
class Need:
    """Posts of one specialty to fill at one centre (``centre`` indexes the distance columns)."""

    centre: int
    specialty: str
    count: int


@dataclass(frozen=True)
class Plan:
    """An optimal call-up: who goes where, what stays unfilled, and the proof."""

    assignments: tuple[tuple[int, int], ...]  # (candidate key, centre), by key
    shortfall: Mapping[tuple[int, str], int]  # (centre, specialty) -> unfilled posts, when > 0
    cost: float  # distance plus training penalties of the assignments
    unfilled: int
    status: SitingStatus
    seconds: float


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in kilometres on a sphere of radius 6,371 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def plan_mobilisation(
    candidates: Sequence[Candidate],
    needs: Sequence[Need],
    distance: FloatArray,
    allowance: Mapping[str, int],
    *,
    untrained_penalty: float = 50.0,
    time_limit: float | None = None,
) -> Plan:
    """Assign candidates to needs; ``distance[r, c]`` is candidate ``r``'s distance to centre ``c``.

    ``allowance[h]`` is how many more of hospital ``h``'s staff may be called (a hospital
    missing from it gives none).
    """
    started = time.perf_counter()
    d = np.asarray(distance, dtype=np.float64)
    n = len(candidates)
    centres = max((need.centre for need in needs), default=-1) + 1
    if d.ndim != 2 or d.shape[0] != n or (n and d.shape[1] < centres):
        raise Invalid.field(
            "distance", "shape", f"expected {n} rows and at least {centres} centre columns"
        )
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise Invalid.field("distance", "values", "distances must be finite and >= 0")
    if not (untrained_penalty >= 0 and math.isfinite(untrained_penalty)):
        raise Invalid.field("untrained_penalty", "range", "must be a finite number >= 0")
    merged: dict[tuple[int, str], int] = {}
    for i, need in enumerate(needs):
        if need.count < 0 or need.centre < 0:
            raise Invalid.field(f"needs[{i}]", "range", "centre and count must be >= 0")
        key = (need.centre, need.specialty)
        merged[key] = merged.get(key, 0) + need.count
    for hospital, extra in allowance.items():
        if extra < 0:
            raise Invalid.field(f"allowance.{hospital}", "minimum", "must be >= 0")
    lines = [key for key, count in merged.items() if count > 0]
    cost_of = [
        d[:, c] + np.array([0.0 if r.trained else untrained_penalty for r in candidates])
        for c in range(centres)
    ]
    pairs = [
        (r, li)
        for li, (c, s) in enumerate(lines)
        for r, cand in enumerate(candidates)
        if cand.specialty == s and allowance.get(cand.hospital, 0) > 0
    ]
    if not pairs:
        return _plan([], lines, merged, 0.0, SitingStatus.OPTIMAL, started)
    dearest: dict[int, float] = {}
    for r, li in pairs:
        dearest[r] = max(dearest.get(r, 0.0), float(cost_of[lines[li][0]][r]))
    worst = sum(dearest.values())
    penalty = worst + 1.0  # one unfilled post costs more than all assignments together
    hospitals = sorted({candidates[r].hospital for r, _ in pairs})
    h_index = {h: i for i, h in enumerate(hospitals)}
    people = sorted({r for r, _ in pairs})
    p_index = {r: i for i, r in enumerate(people)}
    n_pairs, n_lines = len(pairs), len(lines)
    # columns: x (pairs), u (lines); rows: demand (lines, ==), one centre each, hospitals
    pr = np.array([r for r, _ in pairs])
    pl = np.array([li for _, li in pairs])
    person_row0 = n_lines
    hosp_row0 = person_row0 + len(people)
    rows = np.concatenate(
        [
            pl,
            np.arange(n_lines),
            person_row0 + np.array([p_index[r] for r in pr]),
            hosp_row0 + np.array([h_index[candidates[r].hospital] for r in pr]),
        ]
    )
    cols = np.concatenate(
        [np.arange(n_pairs), n_pairs + np.arange(n_lines), np.arange(n_pairs), np.arange(n_pairs)]
    )
    vals = np.ones(rows.size)
    demand = np.array([float(merged[line]) for line in lines])
    limits = np.array([float(allowance[h]) for h in hospitals])
    row_lower = np.concatenate([demand, np.full(len(people) + len(hospitals), -math.inf)])
    row_upper = np.concatenate([demand, np.ones(len(people)), limits])
    cost = np.concatenate(
        [
            np.array([float(cost_of[lines[li][0]][r]) for r, li in pairs]),
            np.full(n_lines, penalty),
        ]
    )
    outcome = solve_mip(
        LinearModel(
            cost=cost,
            lower=np.zeros(n_pairs + n_lines),
            upper=np.concatenate([np.ones(n_pairs), demand]),
            integer=np.arange(n_pairs, dtype=np.int64),
            row_lower=row_lower,
            row_upper=row_upper,
            matrix=coo_matrix((vals, (rows, cols)), shape=(row_lower.size, cost.size)).tocsc(),
        ),
        integral_objective=False,
        time_limit=time_limit,
        start=None,
    )
    if outcome.values.size == 0:
        return _plan([], lines, merged, math.nan, outcome.status, started)
    chosen = [
        (candidates[r].key, lines[li][0], li)
        for k, (r, li) in enumerate(pairs)
        if outcome.values[k] > 0.5
    ]
    total = sum(float(cost[k]) for k in range(n_pairs) if outcome.values[k] > 0.5)
    return _plan(chosen, lines, merged, total, outcome.status, started)


def _plan(
    chosen: list[tuple[int, int, int]],
    lines: list[tuple[int, str]],
    merged: Mapping[tuple[int, str], int],
    cost: float,
    status: SitingStatus,
    started: float,
) -> Plan:
    filled: dict[int, int] = {}
    for _, _, li in chosen:
        filled[li] = filled.get(li, 0) + 1
    shortfall = {
        line: merged[line] - filled.get(li, 0)
        for li, line in enumerate(lines)
        if merged[line] - filled.get(li, 0) > 0
    }
    return Plan(
        assignments=tuple(sorted((key, centre) for key, centre, _ in chosen)),
        shortfall=shortfall,
        cost=cost,
        unfilled=sum(shortfall.values()),
        status=status,
        seconds=time.perf_counter() - started,
    )


def allowance_of(
    staff: Mapping[str, int], taken: Mapping[str, int], max_share: float
) -> dict[str, int]:
    """How many more of each hospital's staff may be called: ``floor(share x staff) - taken``."""
    if not 0.0 <= max_share <= 1.0:
        raise Invalid.field("max_share", "range", "must be between 0 and 1")
    return {
        h: max(0, math.floor(max_share * total + 1e-9) - taken.get(h, 0))
        for h, total in staff.items()
    }
