"""The plan is the least-distance flow: checked against scipy's linear program."""

from __future__ import annotations

import itertools

import h3
import numpy as np
import pytest
from scipy.optimize import linprog

from twonets.operations.bikes import rebalance


def lp_optimum(surplus: dict[str, int], deficit: dict[str, int], amount: int, cost) -> float:
    """The least total cost of moving ``amount`` bikes, by an independent LP."""
    pairs = list(itertools.product(surplus, deficit))
    c = [cost[p] for p in pairs]
    a_ub, b_ub = [], []
    for s in surplus:
        a_ub.append([1 if p[0] == s else 0 for p in pairs])
        b_ub.append(surplus[s])
    for d in deficit:
        a_ub.append([1 if p[1] == d else 0 for p in pairs])
        b_ub.append(deficit[d])
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=[[1] * len(pairs)], b_eq=[amount])
    assert result.status == 0
    return float(result.fun)


@pytest.mark.parametrize("seed", range(6))
def test_flows_are_optimal_against_an_lp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(6)]
    supply = {n: int(rng.integers(0, 9)) for n in names}
    need = {n: int(rng.integers(0, 9)) for n in names}
    cost = {(a, b): int(rng.integers(100, 5000)) for a in names for b in names}
    limit = int(rng.integers(1, 20))
    moved = rebalance.flows(supply, need, limit=limit, distance=cost)
    surplus = {n: supply[n] - need[n] for n in names if supply[n] > need[n]}
    deficit = {n: need[n] - supply[n] for n in names if need[n] > supply[n]}
    amount = min(sum(surplus.values()), sum(deficit.values()), limit)
    assert sum(b for _, _, b, _ in moved) == amount
    for a, b, bikes, _ in moved:
        assert a in surplus
        assert b in deficit
        assert bikes > 0
    if amount:
        ours = sum(bikes * metres for _, _, bikes, metres in moved)
        assert ours == pytest.approx(lp_optimum(surplus, deficit, amount, cost))


def test_plan_loads_trucks_per_operator_within_capacity() -> None:
    a = h3.latlng_to_cell(31.2304, 121.4737, 8)
    b = h3.latlng_to_cell(31.2400, 121.4800, 8)
    c = h3.latlng_to_cell(31.3000, 121.5500, 8)
    supply = {"hello": {a: 12}, "meituan": {c: 5}}
    need = {"hello": {b: 7, c: 3}, "meituan": {a: 5}}
    moves = rebalance.plan(supply, need, trucks=3, capacity=4)
    per_truck: dict[int, int] = {}
    for m in moves:
        per_truck[m.truck] = per_truck.get(m.truck, 0) + m.bikes
        assert m.metres == rebalance.distance_m(m.from_cell, m.to_cell)
    assert {m.truck for m in moves if m.operator == "hello"}.isdisjoint(
        {m.truck for m in moves if m.operator == "meituan"}
    )
    # hello (first by name) needs 10 of the 12 places: trucks 1-3 carry 4, 4 and 2; a truck
    # carries one operator's bikes, so none is left for meituan.
    assert next(m.truck for m in moves if m.to_cell == b) == 1
    assert sum(m.bikes for m in moves) == 10
    assert per_truck == {1: 4, 2: 4, 3: 2}
    assert all(m.operator == "hello" for m in moves)
    # With room for 7, the nearer deficit cell (b) is served first.
    small = rebalance.plan({"hello": {a: 12}}, {"hello": {b: 7, c: 3}}, trucks=1, capacity=7)
    assert [(m.to_cell, m.bikes) for m in small] == [(b, 7)]


def test_nothing_to_move() -> None:
    assert rebalance.plan({"x": {"a": 1}}, {"x": {"a": 1}}, trucks=2, capacity=5) == []
    assert rebalance.flows({"a": 3}, {"b": 3}, limit=0) == []
    with pytest.raises(ValueError, match="should not be negative"):
        rebalance.plan({}, {}, trucks=-1, capacity=1)
