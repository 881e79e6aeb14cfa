"""The one door from requests to the operations centre's case loop.

A citizen's report of a city problem (a management element) becomes an operations case
through the case loop's public intake (``operations.cases.service.intake``); the elements
offered to residents and the working calendar come from the same service. Nothing else in
this domain calls operations. The
request then follows the case through the case's events (see ``service.follow_case``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.operations.cases import service as ops_service
from twonets.operations.cases.service import IntakeReport, SourceKind

# The topics of the case events a request follows (NATS-style pattern).
CASE_EVENTS = "ops.case.*"
CLOSED_CASE_STATES = frozenset({"closed", "rejected"})


@dataclass(frozen=True)
class Element:
    """A minor category of management element, as an Open311 service."""

    code: str
    name: str
    name_en: str
    group: str
    group_en: str
    department_function: str


@dataclass(frozen=True)
class OpenedCase:
    """The case a report became (or was merged into, when it duplicates an open one)."""

    number: str
    state: str
    department_id: int | None


def list_elements(session: Session) -> Sequence[Element]:
    """The management elements the operations centre keeps (its catalogue)."""
    return [
        Element(c.code, c.name, c.name_en, c.major_name, c.major_name_en, c.department_function)
        for c in ops_service.list_categories(session)
        if c.active
    ]


def open_case(
    session: Session,
    *,
    request_number: str,
    category: str,
    description: str,
    lon: float,
    lat: float,
    address: str | None,
    reporter: Principal | None,
    now: datetime,
) -> OpenedCase:
    """Hand a city problem to the operations centre's intake (duplicate check, filing, ...).

    A logged-in resident reports as a citizen; a report that came through an Open311 client
    application or the hotline has no resident login, and goes in as the operations centre's
    demo does with such reports: as a patrol report whose reference is the request number.
    """
    resident = reporter is not None and reporter.citizen_id is not None
    report = IntakeReport(
        source_kind=SourceKind.CITIZEN if resident else SourceKind.PATROL,
        source_ref=request_number,
        category=category,
        description=description[:2000],
        lon=lon,
        lat=lat,
        address=address,
    )
    row = ops_service.intake(session, report, now=now, reporter=reporter if resident else None)
    return OpenedCase(row.number, row.state, row.department_id)


def deadline_after(session: Session, start: datetime, working_days: int) -> datetime:
    """``working_days`` full working days after ``start`` on the operations centre's calendar.

    The same calendar (holidays, adjusted working days, the working window) that times the
    centre's cases times requests, so a holiday declared there counts here too.
    """
    return ops_service.working_days_after(session, start, working_days)
