"""Who may see the requests' figures, and over which period: the use case of the figures page."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.core.models import Role
from twonets.requests import figures
from twonets.requests.figures import RequestFigures

# The periods the figures are offered over, in days back from now.
PERIODS = (7, 30, 90, 365)
MAX_DAYS = 366


def get_figures(
    session: Session, caller: Principal, *, now: datetime, days: int = 30
) -> RequestFigures:
    """The city's request figures over the last ``days``: for dispatchers and supervisors.

    The figures name departments and districts side by side, so they are the city's
    overseers' (operators who dispatch, supervisors), not one department's.
    """
    caller.require(Role.OPERATOR, Role.SUPERVISOR)
    if not 1 <= days <= MAX_DAYS:
        raise Invalid.field("days", "range", f"should be 1 to {MAX_DAYS}, got {days}")
    return figures.compute(session, since=now - timedelta(days=days), until=now, now=now)
