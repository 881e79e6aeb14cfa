"""Exact p-median: choose ``p`` centres minimising the (weighted) distance to the nearest one.

**The model solved: each client's nearest candidates, grown until none needs a farther one.**
The classic assignment formulation (ReVelle and Swain 1970, with the strong links
``x_ij <= y_j``, whose LP bound is nearly always tight on OR-Library instances) has a column
per client and candidate: 810,000 for a graph of 900 vertices. Few of them matter: a client
is served by a centre near it. So each client keeps only its nearest candidates, at first
those no farther than the heuristic start's nearest centre (ties included), plus one
**beyond** column ``f_i`` standing for every farther candidate at the cost of the nearest of
them. That model is a *relaxation* of the full one (any solution of the full model maps to
one of it that costs no more: a client served farther pays at least the beyond cost), so:

- its optimum is a lower bound of the true optimum;
- if no client uses its beyond column, that optimum is a solution of the full model, hence
  optimal for it;
- a client that did use it keeps twice as many candidates (and every candidate at the same
  distance as its last), and the model is solved again.

The growing is done on the LP relaxation first, in one HiGHS instance whose model grows in
place (new pairs are columns and rows added, the beyond columns' costs changed), so each
round starts from the last one's basis. An LP optimum whose centres are all 0 or 1 is then
the answer (a lower bound reached by a solution); otherwise the same model is solved as a
MIP, and grown again if its solution serves a client beyond (rare). A client that keeps
``m - p + 1`` candidates or more needs no beyond column: any ``p`` open centres include one
of them. Clients of weight 0 do not count and are left out. On 900-vertex graphs of
OR-Library's kind (16,200 edges, costs 1-100) the model ends with about 9,000 pair columns
for p = 90 and 88,000 for p = 5, against 810,000.

**A heuristic start** (greedy, then vertex interchange, Teitz and Bart 1968) sets the first
candidates, and is handed to HiGHS for the MIP: it prunes the tree from the first node and
is the answer, with the bound proven so far, when a time limit strikes.

The radius formulation (Elloumi 2010), one column per client and distinct distance, was
measured too: 3-10x slower than the assignment model on pmed1-5 and 4x slower on a
400-vertex graph with p = 5 (58 s against 14.5 s).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import coo_matrix

from twonets.core.errors import Invalid
from twonets.health.mip import (
    FloatArray,
    IntArray,
    LinearModel,
    MipOutcome,
    SitingStatus,
    integral,
    new_highs,
    pass_model,
    run,
    solve_mip,
)

# A beyond column in use (LP values are tolerances away from 0).
_USED = 1e-6


@dataclass(frozen=True)
class SitingResult:
    """A p-median solution: ``medians`` are 0-based candidate indices, sorted."""

    objective: float
    medians: tuple[int, ...]
    status: SitingStatus
    gap: float  # absolute gap between the solution and the proven bound (0 when optimal)
    seconds: float


@dataclass(frozen=True)
class _Nearest:
    """Each client's candidates by distance: ``order[i]`` their indices, ``near[i]`` theirs."""

    order: IntArray
    near: FloatArray

    def with_ties(self, keep: IntArray, rows: IntArray | None = None) -> IntArray:
        """``keep`` (of clients ``rows``, all by default) grown so that every candidate as
        near as a client's last kept is kept."""
        near = self.near if rows is None else self.near[rows]
        last = near[np.arange(keep.size), keep - 1]
        counted: IntArray = (near <= last[:, None]).sum(axis=1)
        return counted


def solve_p_median(
    d: FloatArray,
    p: int,
    *,
    weights: FloatArray | None = None,
    time_limit: float | None = None,
) -> SitingResult:
    """Exact p-median: choose ``p`` of the candidate columns of ``d`` minimising weighted travel.

    ``d[i, j]`` is the distance from client ``i`` to candidate ``j`` (square for OR-Library,
    rectangular allowed); ``weights[i]`` the client's weight (population), 1 by default.
    ``time_limit`` bounds the whole solve; stopped by it, the result is the best solution
    found (``feasible``) with its gap to the best bound proven.
    """
    started = time.perf_counter()
    d, w = _check_p_median(d, p, weights)
    start = np.array(sorted(_heuristic_medians(d, w, p)), dtype=np.int64)
    counted = np.flatnonzero(w > 0)
    dc, wc = d[counted], w[counted]
    order = np.argsort(dc, axis=1, kind="stable")
    nearest = _Nearest(order, np.take_along_axis(dc, order, axis=1))
    to_start = dc[:, start].min(axis=1)
    keep = nearest.with_ties((nearest.near <= to_start[:, None]).sum(axis=1))
    model = _NearestModel(dc, wc, p, nearest, keep, integral(d, w))
    bound = -math.inf
    integer = False
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter() - started)
        if left is not None and left <= 0:
            return _p_median_result(d, w, start, SitingStatus.FEASIBLE, bound, started)
        outcome, beyond = model.solve(integer, start, left, started)
        if integer or outcome.status is SitingStatus.OPTIMAL:
            bound = max(bound, outcome.bound)
        if outcome.status is not SitingStatus.OPTIMAL:
            # Stopped by the time limit: the better of the start and the MIP's incumbent
            # (whose clients served beyond may cost more than the relaxation said).
            found = [start] + ([_medians(outcome, d.shape[1])] if outcome.values.size else [])
            best = min(found, key=lambda medians: _travel(d, w, medians))
            return _p_median_result(d, w, best, SitingStatus.FEASIBLE, bound, started)
        if beyond.size == 0:
            y = outcome.values[: d.shape[1]]
            if integer or bool(np.all(np.minimum(y, 1.0 - y) <= _USED)):
                # An LP optimum whose centres are whole is the MIP's: no branching needed.
                medians = _medians(outcome, d.shape[1])
                return _p_median_result(d, w, medians, SitingStatus.OPTIMAL, bound, started)
            integer = True
            continue
        kept = model.keep[beyond]
        grown = np.minimum(np.maximum(2 * kept, kept + 8), d.shape[1])
        model.grow(beyond, nearest.with_ties(grown, beyond))


class _NearestModel:
    """The model of each client's kept nearest candidates and its beyond column, held by one
    HiGHS instance and grown in place, so that each round starts from the last one's basis.

    Columns: ``y`` (one per candidate), ``f`` (one per client: served beyond its kept
    candidates, at the nearest of those's cost; fixed at 0 once a client keeps ``m - p + 1``
    or more), then the ``x`` of the kept pairs as they are added. Rows: each client served
    once, ``sum y = p``, then ``x_ij <= y_j`` for each pair as it is added.
    """

    def __init__(
        self, d: FloatArray, w: FloatArray, p: int, nearest: _Nearest, keep: IntArray, exact: bool
    ) -> None:
        clients, candidates = d.shape
        self.d, self.w, self.nearest = d, w, nearest
        self.cap = candidates - p + 1
        self.keep = np.zeros(clients, dtype=np.int64)
        self.pair_i = np.zeros(0, dtype=np.int64)
        self.pair_j = np.zeros(0, dtype=np.int64)
        self.highs = new_highs(exact)
        n_cols = candidates + clients
        rows = np.concatenate([np.arange(clients), np.full(candidates, clients)])
        cols = np.concatenate([candidates + np.arange(clients), np.arange(candidates)])
        matrix = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(clients + 1, n_cols)).tocsc()
        pass_model(
            self.highs,
            LinearModel(
                cost=np.zeros(n_cols),
                lower=np.zeros(n_cols),
                upper=np.ones(n_cols),
                integer=np.zeros(0, dtype=np.int64),
                row_lower=np.concatenate([np.ones(clients), [float(p)]]),
                row_upper=np.concatenate([np.ones(clients), [float(p)]]),
                matrix=matrix,
            ),
        )
        self.grow(np.arange(clients), keep)

    def grow(self, who: IntArray, keep: IntArray) -> None:
        """Clients ``who`` keep their ``keep`` nearest candidates (more than before)."""
        d, w = self.d, self.w
        candidates = d.shape[1]
        old = self.keep[who]
        counts = keep - old
        pair_i = np.repeat(who, counts)
        pair_j = self.nearest.order[
            pair_i, np.arange(pair_i.size) - np.repeat(np.cumsum(counts) - counts - old, counts)
        ]
        n = pair_i.size
        first = self.highs.getNumCol()
        self.highs.addCols(
            n,
            w[pair_i] * d[pair_i, pair_j],
            np.zeros(n),
            np.ones(n),
            n,
            np.arange(n, dtype=np.int32),
            pair_i.astype(np.int32),
            np.ones(n),
        )
        links = np.column_stack([first + np.arange(n), pair_j]).ravel()
        self.highs.addRows(
            n,
            np.full(n, -highspy.kHighsInf),
            np.zeros(n),
            2 * n,
            np.arange(0, 2 * n, 2, dtype=np.int32),
            links.astype(np.int32),
            np.tile([1.0, -1.0], n),
        )
        self.pair_i = np.concatenate([self.pair_i, pair_i])
        self.pair_j = np.concatenate([self.pair_j, pair_j])
        self.keep[who] = keep
        # The beyond columns: at the nearest farther candidate's cost, or none.
        needed = keep < self.cap
        far_cost = np.where(
            needed, w[who] * self.nearest.near[who, np.minimum(keep, candidates - 1)], 0.0
        )
        beyond = (candidates + who).astype(np.int32)
        self.highs.changeColsCost(who.size, beyond, far_cost)
        upper = needed.astype(np.float64)
        self.highs.changeColsBounds(who.size, beyond, np.zeros(who.size), upper)

    def solve(
        self, integer: bool, start: IntArray, time_limit: float | None, since: float
    ) -> tuple[MipOutcome, IntArray]:
        """Solve (the MIP when ``integer``, from ``start``'s medians); also the clients
        served beyond their kept candidates."""
        clients, candidates = self.d.shape
        first_guess = None
        if integer:
            kinds = np.full(candidates, int(highspy.HighsVarType.kInteger), dtype=np.uint8)
            self.highs.changeColsIntegrality(
                candidates, np.arange(candidates, dtype=np.int32), kinds
            )
            first_guess = self._start(start)
        outcome = run(
            self.highs, integer=integer, time_limit=time_limit, start=first_guess, since=since
        )
        if outcome.values.size == 0:
            return outcome, np.zeros(0, dtype=np.int64)
        used: IntArray = np.flatnonzero(outcome.values[candidates : candidates + clients] > _USED)
        return outcome, used

    def _start(self, start: IntArray) -> FloatArray:
        """``start``'s medians, each client on its nearest one (a kept pair: the candidates
        first kept are those as near as it)."""
        clients, candidates = self.d.shape
        nearest = start[np.argmin(self.d[:, start], axis=1)]
        hits = np.flatnonzero(self.pair_j == nearest[self.pair_i])
        _, first = np.unique(self.pair_i[hits], return_index=True)  # ties: one per client
        x = np.zeros(self.pair_i.size)
        x[hits[first]] = 1.0
        served = np.zeros(clients, dtype=bool)
        served[self.pair_i[hits[first]]] = True
        y = np.zeros(candidates)
        y[start] = 1.0
        return np.concatenate([y, (~served).astype(np.float64), x])


def _medians(outcome: MipOutcome, candidates: int) -> IntArray:
    found: IntArray = np.flatnonzero(outcome.values[:candidates] > 0.5)
    return found


def textbook_p_median(
    d: FloatArray,
    p: int,
    *,
    weights: FloatArray | None = None,
    time_limit: float | None = None,
) -> SitingResult:
    """The plain textbook assignment MIP (ReVelle and Swain 1970), the benchmark's baseline.

    ``min sum w_i d_ij x_ij`` with ``sum_j x_ij = 1``, ``x_ij <= y_j``, ``sum_j y_j = p``,
    ``y`` binary, ``x`` in [0, 1]; no start, no reduction.
    """
    started = time.perf_counter()
    d, w = _check_p_median(d, p, weights)
    clients, candidates = d.shape
    x_count = clients * candidates
    x = np.arange(x_count).reshape(clients, candidates) + candidates  # column of x_ij
    assign_rows = np.repeat(np.arange(clients), candidates)
    link_rows = clients + np.arange(x_count)
    count_row = clients + x_count
    rows = np.concatenate([assign_rows, link_rows, link_rows, np.full(candidates, count_row)])
    cols = np.concatenate(
        [x.ravel(), x.ravel(), np.tile(np.arange(candidates), clients), np.arange(candidates)]
    )
    vals = np.concatenate(
        [np.ones(x_count), np.ones(x_count), -np.ones(x_count), np.ones(candidates)]
    )
    n_rows = count_row + 1
    n_cols = candidates + x_count
    outcome = solve_mip(
        LinearModel(
            cost=np.concatenate([np.zeros(candidates), (w[:, None] * d).ravel()]),
            lower=np.zeros(n_cols),
            upper=np.ones(n_cols),
            integer=np.arange(candidates),
            row_lower=np.concatenate([np.ones(clients), np.full(x_count, -math.inf), [float(p)]]),
            row_upper=np.concatenate([np.ones(clients), np.zeros(x_count), [float(p)]]),
            matrix=coo_matrix((vals, (rows, cols)), shape=(n_rows, n_cols)).tocsc(),
        ),
        integral_objective=integral(d, w),
        time_limit=time_limit,
        start=None,
    )
    # Without a solution there are no medians: the result says so (nan objective, inf gap).
    medians = _medians(outcome, candidates)
    return _p_median_result(d, w, medians, outcome.status, outcome.bound, started)


def _check_p_median(
    d: FloatArray, p: int, weights: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2 or d.size == 0:
        raise Invalid.field("d", "shape", "expected a non-empty clients x candidates matrix")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise Invalid.field("d", "values", "distances must be finite and >= 0 (graph connected)")
    if not 1 <= p <= d.shape[1]:
        raise Invalid.field("p", "range", f"p must be between 1 and {d.shape[1]}, got {p}")
    w = np.ones(d.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (d.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise Invalid.field("weights", "values", "one finite weight >= 0 per client expected")
    return d, w


def _heuristic_medians(d: FloatArray, w: FloatArray, p: int) -> set[int]:
    """Greedy addition, then first-improvement vertex interchange (Teitz and Bart 1968)."""
    wd = w[:, None] * d
    chosen: list[int] = []
    nearest = np.full(d.shape[0], np.inf)
    for _ in range(p):
        totals = np.minimum(nearest[:, None], d) * w[:, None]
        totals[:, chosen] = np.inf
        best = int(np.argmin(totals.sum(axis=0)))
        chosen.append(best)
        nearest = np.minimum(nearest, d[:, best])

    def cost(medians: list[int]) -> float:
        return float(wd[:, medians].min(axis=1).sum())

    current = cost(chosen)
    improved = True
    while improved:
        improved = False
        for position in range(p):
            others = chosen[:position] + chosen[position + 1 :]
            base = d[:, others].min(axis=1) if others else np.full(d.shape[0], np.inf)
            totals = (np.minimum(base[:, None], d) * w[:, None]).sum(axis=0)
            totals[others] = np.inf
            best = int(np.argmin(totals))
            if totals[best] < current - 1e-9:
                chosen[position] = best
                current = float(totals[best])
                improved = True
    return set(chosen)


def _travel(d: FloatArray, w: FloatArray, medians: IntArray) -> float:
    """The weighted distance of every client to its nearest of ``medians``."""
    return float((w * d[:, medians].min(axis=1)).sum())


def _p_median_result(
    d: FloatArray,
    w: FloatArray,
    medians: IntArray,
    status: SitingStatus,
    bound: float,
    started: float,
) -> SitingResult:
    """The result of ``medians``, its objective worked out from ``d`` itself."""
    seconds = time.perf_counter() - started
    if medians.size == 0:
        return SitingResult(math.nan, (), status, math.inf, seconds)
    objective = _travel(d, w, medians)
    gap = 0.0 if status is SitingStatus.OPTIMAL else max(0.0, objective - bound)
    return SitingResult(objective, tuple(int(j) for j in medians), status, gap, seconds)
