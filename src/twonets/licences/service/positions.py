"""Where a new licence goes in its region's status lists: a random free position of the
region's current list (its highest-numbered one) while that list is below its fill limit,
else of the next list, which is opened by putting a licence in it.

A region thus has lists 0, 1, 2, … of ``STATUS_LIST_SIZE`` positions each, every one filled to
``STATUS_LIST_FILL`` (half) before the next is opened: a random draw in a half-full list finds
a free position in two tries on average, and the position says nothing about when a licence
was issued. Positions are never given again (a revoked or superseded licence keeps its own).

The region's current list and how many of its positions are taken are kept in one row
(``StatusListFill``), so that no issue counts a list's licences. Issuers of one region take
their positions in turn: each locks that row (after its department's row, always in that
order) until its transaction ends, and draws among the positions committed before it. The
unique constraint on (region, list, index) stays the last word: a position taken twice all
the same (a row written around this module) fails the second transaction, nothing of it
written.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from twonets.core.errors import Conflict
from twonets.licences.models import Licence, StatusListFill
from twonets.licences.service import context

# Values per IN (...) list when looking holders and positions up.
CHUNK = 1000
# The fill rows, read and written by statements (one row a region, never kept in a session).
_fills = cast(Table, StatusListFill.__table__)


def chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    """``values`` in parts of at most ``CHUNK``."""
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``: on PostgreSQL ``= ANY`` of one array parameter (the driver
    places one value, not a thousand), elsewhere an IN list."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column == any_(array)  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def _fill(session: Session, region: str) -> tuple[int, int]:
    """The region's current list and how many of its positions are used, its row locked until
    commit (PostgreSQL; SQLite has one writer at a time). A region without the row gets it,
    worked out from its licences; of two issuers adding it at once, the second waits for the
    first and uses its."""
    locked = (
        select(_fills.c.current_list, _fills.c.used)
        .where(_fills.c.region_code == region)
        .with_for_update()
    )
    found = session.execute(locked).first()
    if found is not None:
        return int(found[0]), int(found[1])
    last = session.scalar(
        select(func.max(Licence.status_list)).where(Licence.region_code == region)
    )
    number = int(last or 0)
    used = session.scalar(
        select(func.count())
        .select_from(Licence)
        .where(Licence.region_code == region, Licence.status_list == number)
    )
    row = {"region_code": region, "current_list": number, "used": int(used or 0)}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(_fills).values(row).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(_fills).values(row).on_conflict_do_nothing())
    else:
        session.execute(insert(_fills).values(row))
    found = session.execute(locked).first()
    assert found is not None
    return int(found[0]), int(found[1])


def free_status_indexes(
    session: Session, region: str, count: int, *, status_list: int = 0
) -> list[int]:
    """``count`` free positions of one of the region's status lists, drawn at random,
    checked against the stored ones a thousand at a time; ``Conflict`` when that list has
    not that many free."""
    size = context.STATUS_LIST_SIZE
    chosen: list[int] = []
    drawn: set[int] = set()
    for _ in range(64):
        need = count - len(chosen)
        if need == 0 or len(drawn) >= size:
            break
        want = min(2 * need + 8, size - len(drawn))
        candidates: list[int] = []
        for _ in range(want * 16):
            candidate = secrets.randbelow(size)
            if candidate not in drawn:
                drawn.add(candidate)
                candidates.append(candidate)
                if len(candidates) == want:
                    break
        taken: set[int] = set()
        for part in chunks(candidates):
            taken.update(
                session.scalars(
                    select(Licence.status_index).where(
                        Licence.region_code == region,
                        Licence.status_list == status_list,
                        among(session, Licence.status_index, part),
                    )
                )
            )
        chosen.extend([c for c in candidates if c not in taken][:need])
    if len(chosen) < count:
        where = "the status list" if status_list == 0 else f"status list {status_list}"
        raise Conflict(f"{where} of {region} has no room for {count} more licences")
    return chosen


def status_positions(session: Session, region: str, count: int) -> list[tuple[int, int]]:
    """``count`` free positions ``(list, index)`` for new licences of the region, in the
    current list up to its fill limit and in the next lists after it (a batch may cross).

    Reads and moves on the region's fill row, locked until the caller's transaction ends:
    another issuer of the region waits there, then draws among the positions taken by this
    one (no position is drawn twice, no list opened twice)."""
    number, used = _fill(session, region)
    limit = context.list_fill()
    out: list[tuple[int, int]] = []
    while len(out) < count:
        if used >= limit:
            number, used = number + 1, 0
        take = min(limit - used, count - len(out))
        indexes = free_status_indexes(session, region, take, status_list=number)
        out.extend((number, index) for index in indexes)
        used += take
    session.execute(
        update(_fills).where(_fills.c.region_code == region).values(current_list=number, used=used)
    )
    return out
