"""What other domains read of the centre: its elements and its working calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from twonets.operations.cases import catalogue, worktime
from twonets.operations.cases.models import (
    Category,
)
from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains


def list_categories(session: Session) -> Sequence[Category]:
    """The management elements the centre keeps (another domain offers them to residents)."""
    return catalogue.list_categories(session)


def working_days_after(session: Session, start: datetime, days: int) -> datetime:
    """``days`` full working days after ``start`` on the centre's working calendar."""
    calendar = catalogue.calendar(session)
    hours = days * calendar.day_seconds / worktime.SECONDS_PER_HOUR
    return worktime.add_working_hours(start, hours, calendar)
