"""A rebalancing plan: surplus bikes to deficit cells by truck, at least distance.

For each operator separately (a truck moves one operator's bikes):

- a cell's **need** is the forecast demand of the coming hours, rounded up;
- **surplus** = supply − need where positive, **deficit** = need − supply where positive;
- the bikes moved are at most the trucks' capacity (``trucks × capacity``: one load each) and
  at most the smaller of total surplus and total deficit;
- among plans moving that many, the one with the least bike-metres is chosen: a min-cost flow
  (OR-Tools' network simplex; integral, so exact) from surplus to deficit cells with the
  great-circle distance between cell centres as cost;
- the moves are then loaded onto trucks in order, a move split where a truck fills.

The operators are planned in name order and share the trucks: a truck carries one operator's
bikes, and each operator gets the trucks the ones before it left.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import h3
import numpy as np
from ortools.graph.python import min_cost_flow

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Move:
    """Bikes of one operator carried by one truck from a cell to another."""

    operator: str
    truck: int
    from_cell: str
    to_cell: str
    bikes: int
    metres: int

    def as_json(self) -> dict[str, str | int]:
        """The move as the ``plan`` command prints it."""
        return {
            "operator": self.operator,
            "truck": self.truck,
            "from": self.from_cell,
            "to": self.to_cell,
            "bikes": self.bikes,
            "metres": self.metres,
        }


def distance_m(a: str, b: str) -> int:
    """Great-circle distance between the centres of two H3 cells, whole metres."""
    lat1, lon1 = h3.cell_to_latlng(a)
    lat2, lon2 = h3.cell_to_latlng(b)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def _distances(sources: list[str], sinks: list[str]) -> np.ndarray:
    """Great-circle distances between cell centres, whole metres, sources × sinks."""
    a = np.radians(np.array([h3.cell_to_latlng(c) for c in sources]).reshape(-1, 2))
    b = np.radians(np.array([h3.cell_to_latlng(c) for c in sinks]).reshape(-1, 2))
    dp = b[None, :, 0] - a[:, None, 0]
    dl = b[None, :, 1] - a[:, None, 1]
    h = np.sin(dp / 2) ** 2 + np.cos(a[:, None, 0]) * np.cos(b[None, :, 0]) * np.sin(dl / 2) ** 2
    out: np.ndarray = np.rint(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))).astype(np.int64)
    return out


def flows(
    supply: Mapping[str, int],
    need: Mapping[str, int],
    *,
    limit: int,
    distance: Mapping[tuple[str, str], int] | None = None,
) -> list[tuple[str, str, int, int]]:
    """The least-distance moves ``(from, to, bikes, metres)`` of as many bikes as can move.

    ``distance`` overrides the cells' great-circle distances (for tests on small graphs).
    """
    surplus = {c: supply.get(c, 0) - need.get(c, 0) for c in set(supply) | set(need)}
    sources = sorted(c for c, v in surplus.items() if v > 0)
    sinks = sorted(c for c, v in surplus.items() if v < 0)
    amount = min(sum(surplus[c] for c in sources), -sum(surplus[c] for c in sinks), max(limit, 0))
    if amount <= 0:
        return []
    solver = min_cost_flow.SimpleMinCostFlow()
    start, hub, end = 0, 1, 2
    node = {c: 3 + i for i, c in enumerate(sources + sinks)}
    solver.add_arc_with_capacity_and_unit_cost(start, hub, amount, 0)
    for c in sources:
        solver.add_arc_with_capacity_and_unit_cost(hub, node[c], surplus[c], 0)
    for c in sinks:
        solver.add_arc_with_capacity_and_unit_cost(node[c], end, -surplus[c], 0)
    # Every surplus–deficit pair is an arc: costs computed and arcs added as whole arrays.
    tails = np.repeat(np.array([node[c] for c in sources]), len(sinks))
    heads = np.tile(np.array([node[c] for c in sinks]), len(sources))
    if distance is not None:
        costs = np.array([distance[(a, b)] for a in sources for b in sinks], dtype=np.int64)
    else:
        costs = _distances(sources, sinks).ravel()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        np.full(len(tails), amount, dtype=np.int64),
        costs,
    )
    solver.set_node_supply(start, amount)
    solver.set_node_supply(end, -amount)
    status = solver.solve()
    if status != solver.OPTIMAL:  # cannot happen: every source reaches every sink
        raise RuntimeError(f"min-cost flow ended with status {status}")
    flow = np.asarray(solver.flows(arcs))
    width = len(sinks)
    moved = [
        (sources[i // width], sinks[i % width], int(flow[i]), int(costs[i]))
        for i in np.flatnonzero(flow > 0).tolist()
    ]
    return sorted(moved)


def plan(
    supply: Mapping[str, Mapping[str, int]],
    need: Mapping[str, Mapping[str, int]],
    *,
    trucks: int,
    capacity: int,
) -> list[Move]:
    """Moves per operator and truck (``supply`` and ``need`` by operator, then cell)."""
    if trucks < 0 or capacity < 0:
        raise ValueError("trucks and capacity should not be negative")
    truck, room = 1, capacity
    moves: list[Move] = []
    for operator in sorted(set(supply) | set(need)):
        if room < capacity:  # a truck carries one operator's bikes: the next one starts empty
            truck, room = truck + 1, capacity
        limit = max(trucks - truck + 1, 0) * capacity
        for a, b, bikes, metres in flows(
            supply.get(operator, {}), need.get(operator, {}), limit=limit
        ):
            while bikes > 0:
                load = min(bikes, room)
                moves.append(Move(operator, truck, a, b, load, metres))
                bikes -= load
                room -= load
                if room == 0:
                    truck, room = truck + 1, capacity
    return moves


def total_metres(moves: list[Move]) -> int:
    """Bike-metres of a plan (the quantity it minimises)."""
    return sum(m.bikes * m.metres for m in moves)
