"""Contactless figures of the services: per service and month, from plain rows (no database).

For each service and month an application came in: how many came, the share handled with no
visit in person (contactless), the handling time of those that ended (median and 90th
percentile, in hours) and how many had a step escalated as overdue.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Handled:
    """What the figures need of one application."""

    process_id: str
    created_at: datetime
    ended_at: datetime | None
    in_person: bool
    overdue: bool


@dataclass(frozen=True)
class MonthFigures:
    """One service's figures for one month (by the month applications came in)."""

    process_id: str
    month: str
    applications: int
    contactless_rate: float
    ended: int
    median_hours: float | None
    p90_hours: float | None
    overdue: int


def _p90(hours: list[float]) -> float:
    if len(hours) == 1:
        return hours[0]
    return statistics.quantiles(hours, n=10, method="inclusive")[-1]


def month_figures(rows: Iterable[Handled]) -> list[MonthFigures]:
    """The figures of each (service, month), services by name and months oldest first."""
    groups: dict[tuple[str, str], list[Handled]] = defaultdict(list)
    for row in rows:
        groups[(row.process_id, f"{row.created_at:%Y-%m}")].append(row)
    out = []
    for (process_id, month), items in sorted(groups.items()):
        hours = sorted(
            (r.ended_at - r.created_at).total_seconds() / 3600
            for r in items
            if r.ended_at is not None
        )
        out.append(
            MonthFigures(
                process_id=process_id,
                month=month,
                applications=len(items),
                contactless_rate=sum(not r.in_person for r in items) / len(items),
                ended=len(hours),
                median_hours=round(statistics.median(hours), 1) if hours else None,
                p90_hours=round(_p90(hours), 1) if hours else None,
                overdue=sum(r.overdue for r in items),
            )
        )
    return out
