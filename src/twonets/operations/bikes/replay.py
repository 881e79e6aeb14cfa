"""A day of trips replayed against a supply of bikes, with or without a plan's moves.

Events in time order: a trip start takes a bike from its start cell if one stands there, else
it is **unmet demand** (the rider found no bike; the trip never happens, so neither does its
arrival); an arrival puts the bike down in its end cell. A plan's moves are applied before the
first event. Per operator: a rider takes that operator's bike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from twonets.operations.bikes.rebalance import Move


@dataclass(frozen=True)
class Replay:
    """What a replayed day came to."""

    starts: int
    unmet: int


def supply_at(placed: pd.DataFrame, moment: pd.Timestamp) -> dict[str, dict[str, int]]:
    """Bikes per operator and cell at ``moment``: each bike where its last trip before then
    ended (``placed`` as ``heat.with_cells`` gives it); bikes riding then are not counted."""
    before = placed[placed["ended_at"] <= moment]
    riding = placed[(placed["started_at"] < moment) & (placed["ended_at"] > moment)]
    last = before.sort_values("ended_at").groupby(["operator", "bike_id"]).tail(1)
    last = last[
        ~(last["operator"] + "\x1f" + last["bike_id"]).isin(
            riding["operator"] + "\x1f" + riding["bike_id"]
        )
    ]
    out: dict[str, dict[str, int]] = {}
    for (operator, cell), n in last.groupby(["operator", "end_cell"]).size().items():
        out.setdefault(str(operator), {})[str(cell)] = int(n)
    return out


def replay(
    day: pd.DataFrame,
    supply: Mapping[str, Mapping[str, int]],
    moves: Iterable[Move] = (),
) -> Replay:
    """Unmet trip starts of ``day`` (``heat.with_cells`` trips) from ``supply`` after ``moves``."""
    stock: dict[str, Counter[str]] = {op: Counter(cells) for op, cells in supply.items()}
    for move in moves:
        own = stock.setdefault(move.operator, Counter())
        carried = min(move.bikes, own[move.from_cell])
        own[move.from_cell] -= carried
        own[move.to_cell] += carried
    events: list[tuple[pd.Timestamp, int, int]] = []
    for i, trip in enumerate(day.itertuples(index=False)):
        events.append((trip.started_at, 1, i))
    events.sort()
    arrivals: list[tuple[pd.Timestamp, str, str]] = []
    unmet = 0
    rows = list(day.itertuples(index=False))
    for when, _, i in events:
        trip = rows[i]
        # Bikes that arrived by then are down again.
        still: list[tuple[pd.Timestamp, str, str]] = []
        for at, operator, cell in arrivals:
            if at <= when:
                stock.setdefault(operator, Counter())[cell] += 1
            else:
                still.append((at, operator, cell))
        arrivals = still
        own = stock.setdefault(trip.operator, Counter())
        if own[trip.start_cell] > 0:
            own[trip.start_cell] -= 1
            arrivals.append((trip.ended_at, trip.operator, trip.end_cell))
        else:
            unmet += 1
    return Replay(starts=len(rows), unmet=unmet)
