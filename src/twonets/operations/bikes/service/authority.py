"""Who may do what with shared-bike data: the departments and roles, and the limits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.errors import Forbidden, NotFound
from twonets.core.models import Account, Role

TRIPS_DATASET = "bike_trips"
# 非机动车乱停放 (events, street order): handled by the district's urban management.
OVERSUPPLY_CATEGORY = "E0506"
IMPORTING_FUNCTIONS = frozenset({"operations"})
SEEING_FUNCTIONS = frozenset({"operations", "transport"})
SEEING_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.STAFF)
# The forecast learns from the whole local days of the last four weeks.
HISTORY_DAYS = 28
# A parked bike counts as current supply if an operator's feed saw it in the last day.
SUPPLY_MAX_AGE = timedelta(hours=24)
MAX_TRUCKS = 500
MAX_CAPACITY = 200
MAX_SPAN = timedelta(days=31)


def acting_staff(session: Session, username: str) -> Principal:
    """The staff account a command acts as (``--as``), for the same checks as the API."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: a staff login
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    return principal_of(account)


def check_may_import(caller: Principal) -> None:
    """Operators of the operations centre import operators' data; ``Forbidden`` otherwise."""
    caller.require(Role.OPERATOR)
    if caller.department_function not in IMPORTING_FUNCTIONS:
        raise Forbidden(
            "shared-bike data is imported by the operations centre's operators",
            extra={"rule": "bikes-import"},
        )


def check_may_see(caller: Principal) -> None:
    """Staff of operations or transport see the cells; ``Forbidden`` otherwise."""
    caller.require(*SEEING_ROLES)
    if caller.department_function not in SEEING_FUNCTIONS:
        raise Forbidden(
            "the shared-bike heat map is for operations and transport departments",
            extra={"rule": "bikes-see"},
        )
