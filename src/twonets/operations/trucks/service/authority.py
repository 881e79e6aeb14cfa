"""Who may register companies, trucks, permits and zones, and who may read tracks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden
from twonets.core.models import DepartmentLevel, Region, Role


def _home_region(session: Session) -> str | None:
    return session.scalar(select(Region.code).where(Region.home.is_(True)))


def _in_home_region(session: Session, caller: Principal) -> None:
    if caller.region_code is None or caller.region_code != _home_region(session):
        raise Forbidden("muck-truck supervision belongs to the city's own departments")


def require_registrar(session: Session, caller: Principal, *, district: str | None = None) -> None:
    """Raise ``Forbidden`` unless ``caller`` may register; ``district``: where a zone lies
    (a district department's operator registers zones of its district only)."""
    caller.require(Role.OPERATOR)
    _in_home_region(session, caller)
    if caller.department_level == DepartmentLevel.CITY.value:
        return
    if district is None or caller.district_code != district:
        raise Forbidden(
            "a district department registers only zones inside its own district"
            if district is not None
            else "only a city-level department registers companies, trucks and permits"
        )


def track_scope(session: Session, caller: Principal) -> str | None:
    """The district whose fixes ``caller`` may read (None: every fix), or ``Forbidden``."""
    caller.require(Role.OPERATOR, Role.SUPERVISOR, Role.FIELD)
    _in_home_region(session, caller)
    if caller.department_level == DepartmentLevel.CITY.value:
        return None
    if caller.district_code is None:
        raise Forbidden("tracks are shown to the city's or a district's departments only")
    return caller.district_code
