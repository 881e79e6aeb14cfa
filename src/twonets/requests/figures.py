"""Figures of requests over a period, computed in SQL (the same queries on SQLite and PostgreSQL).

Counted over the requests submitted in the period:

- **volume** by category, by district (where the problem is, else where the firm is
  registered) and by the department holding the request now;
- **answered at once**: enterprise requests answered without ever being routed to a
  department (a history step to ``answered`` and none to ``assigned``), as a share of the
  period's enterprise requests;
- **on-time**: of the requests with a time limit that are answered or closed, or still open
  past their limit, the share whose latest answer came at or before the limit (a reopened
  request is judged against its new limit, by its new answer);
- **handling time**: hours from submission to the latest answer of answered and closed
  requests, the median (the mean of the two middle values when their number is even) and the
  90th percentile (nearest rank), both from window functions;
- **reopen rate**: of the requests answered at least once, the share the filer sent back;
- **satisfaction**: the mean rating (1–5) and how many gave each rating.

Who may see them is decided in ``service/figures.py``; this module only counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Float, and_, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from twonets.core.models import Department, District
from twonets.requests import categories, city
from twonets.requests.models import Request, RequestStep

ANSWERED = "answered"
ASSIGNED = "assigned"
HELD = ("assigned", "accepted")
DONE = ("answered", "closed")
RATINGS = (1, 2, 3, 4, 5)


class hours_between(FunctionElement[float]):  # noqa: N801 - an SQL function, named as one
    """Hours from the first timestamp to the second, in the database's own arithmetic."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


@compiles(hours_between)
def _hours_default(element: hours_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


@dataclass(frozen=True)
class Count:
    """How many requests fell under one category, district or department (``code`` None: none)."""

    code: str | None
    name: str
    name_en: str
    count: int


@dataclass(frozen=True)
class RequestFigures:
    """The figures of one period (shares are None when there is nothing to divide by)."""

    since: datetime
    until: datetime
    total: int
    enterprise: int
    by_category: list[Count]
    by_district: list[Count]
    by_department: list[Count]
    answered_at_once: int
    on_time: int
    due: int
    handled: int
    median_hours: float | None
    p90_hours: float | None
    answered: int
    reopened: int
    rated: int
    mean_rating: float | None
    ratings: dict[int, int] = field(default_factory=dict)

    @property
    def answered_at_once_share(self) -> float | None:
        """Answered at once, of the period's enterprise requests."""
        return self.answered_at_once / self.enterprise if self.enterprise else None

    @property
    def on_time_rate(self) -> float | None:
        """Answered within the limit, of those answered or past it."""
        return self.on_time / self.due if self.due else None

    @property
    def reopen_rate(self) -> float | None:
        """Sent back by the filer, of those answered."""
        return self.reopened / self.answered if self.answered else None


def _in_period(since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(Request.submitted_at >= since, Request.submitted_at < until)


def _has_step(**where: str) -> ColumnElement[bool]:
    conditions = [RequestStep.request_id == Request.id]
    conditions += [getattr(RequestStep, name) == value for name, value in where.items()]
    return exists().where(*conditions)


def _answers() -> Any:
    """Each request's latest answer (a subquery: request_id, answered_at)."""
    return (
        select(RequestStep.request_id, func.max(RequestStep.at).label("answered_at"))
        .where(RequestStep.to_status == ANSWERED)
        .group_by(RequestStep.request_id)
        .subquery()
    )


def _counted(session: Session, query: Executable) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(query).all()]


def _by_category(session: Session, period: ColumnElement[bool]) -> list[Count]:
    rows = _counted(
        session,
        select(Request.category_code, func.count())
        .where(period)
        .group_by(Request.category_code)
        .order_by(func.count().desc(), Request.category_code),
    )
    elements = {e.code: e for e in city.list_elements(session)} if rows else {}
    found = []
    for code, n in rows:
        if categories.is_enterprise_category(code):
            c = categories.get_category(code)
            found.append(Count(code, c.name, c.name_en, n))
        elif code in elements:
            found.append(Count(code, elements[code].name, elements[code].name_en, n))
        else:
            found.append(Count(code, code, code, n))
    return found


def _by_district(session: Session, period: ColumnElement[bool]) -> list[Count]:
    rows = _counted(
        session,
        select(Request.district_code, District.name, District.name_en, func.count())
        .outerjoin(District, District.code == Request.district_code)
        .where(period)
        .group_by(Request.district_code, District.name, District.name_en)
        .order_by(func.count().desc(), Request.district_code),
    )
    return [Count(code, name or "—", name_en or "—", n) for code, name, name_en, n in rows]


def _by_department(session: Session, period: ColumnElement[bool]) -> list[Count]:
    rows = _counted(
        session,
        select(Department.code, Department.name, Department.name_en, func.count())
        .select_from(Request)
        .outerjoin(Department, Department.id == Request.department_id)
        .where(period)
        .group_by(Department.code, Department.name, Department.name_en)
        .order_by(func.count().desc(), Department.code),
    )
    return [Count(code, name or "—", name_en or "—", n) for code, name, name_en, n in rows]


def _percentiles(
    session: Session, period: ColumnElement[bool], answers: Any
) -> tuple[int, float | None, float | None]:
    hours = hours_between(Request.submitted_at, answers.c.answered_at)
    ranked = (
        select(
            hours.label("h"),
            func.row_number().over(order_by=hours).label("rn"),
            func.count().over().label("n"),
        )
        .select_from(Request)
        .join(answers, answers.c.request_id == Request.id)
        .where(period, Request.status.in_(DONE))
        .subquery()
    )
    n = session.scalar(select(func.count()).select_from(ranked)) or 0
    if not n:
        return 0, None, None
    median = session.scalar(
        select(func.avg(ranked.c.h)).where(
            ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
        )
    )
    p90 = session.scalar(select(ranked.c.h).where(ranked.c.rn == (ranked.c.n * 9 + 9) // 10))
    return n, _hours(median), _hours(p90)


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def compute(session: Session, *, since: datetime, until: datetime, now: datetime) -> RequestFigures:
    """The figures of the requests submitted from ``since`` (inclusive) to ``until``."""
    period = _in_period(since, until)
    answers = _answers()
    enterprise = Request.kind == "enterprise"
    late_open = and_(Request.status.in_(HELD), Request.deadline_at < now)
    answered_done = and_(Request.status.in_(DONE), answers.c.answered_at.is_not(None))
    totals = session.execute(
        select(
            func.count(),
            func.count().filter(enterprise),
            func.count().filter(
                enterprise, _has_step(to_status=ANSWERED), ~_has_step(to_status=ASSIGNED)
            ),
            func.count().filter(Request.deadline_at.is_not(None), or_(answered_done, late_open)),
            func.count().filter(
                Request.deadline_at.is_not(None),
                answered_done,
                answers.c.answered_at <= Request.deadline_at,
            ),
            func.count().filter(answers.c.answered_at.is_not(None)),
            func.count().filter(answers.c.answered_at.is_not(None), _has_step(action="reopen")),
            func.count(Request.rating),
            func.avg(Request.rating),
        )
        .select_from(Request)
        .outerjoin(answers, answers.c.request_id == Request.id)
        .where(period)
    ).one()
    total, ent, at_once, due, on_time, answered, reopened, rated, mean = totals
    ratings = dict.fromkeys(RATINGS, 0)
    for score, n in _counted(
        session,
        select(Request.rating, func.count())
        .where(period, Request.rating.is_not(None))
        .group_by(Request.rating),
    ):
        ratings[int(score)] = int(n)
    handled, median, p90 = _percentiles(session, period, answers)
    return RequestFigures(
        since=since,
        until=until,
        total=int(total),
        enterprise=int(ent),
        by_category=_by_category(session, period),
        by_district=_by_district(session, period),
        by_department=_by_department(session, period),
        answered_at_once=int(at_once),
        on_time=int(on_time),
        due=int(due),
        handled=handled,
        median_hours=median,
        p90_hours=p90,
        answered=int(answered),
        reopened=int(reopened),
        rated=int(rated),
        mean_rating=None if mean is None else round(float(mean), 2),
        ratings=ratings,
    )


def busiest(counts: Sequence[Count]) -> int:
    """The largest count of a breakdown (at least 1, to scale bars by)."""
    return max((c.count for c in counts), default=0) or 1
