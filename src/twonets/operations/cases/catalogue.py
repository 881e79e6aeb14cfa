"""Management elements and the working calendar, in the tables: load, list, extend, configure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core import geo
from twonets.core.errors import Conflict, Invalid
from twonets.core.events import record_event
from twonets.operations.cases import elements, worktime
from twonets.operations.cases.elements import ElementKind, MinorCategory
from twonets.operations.cases.models import CalendarDay, Category, Component

# --- element catalogue ---------------------------------------------------------------------


def ensure_elements(session: Session) -> int:
    """Load the shipped catalogue into the tables (only categories not there yet)."""
    known = set(session.scalars(select(Category.code)))
    added = 0
    for minor in elements.load_standard():
        if minor.code in known:
            continue
        session.add(_category_row(minor))
        added += 1
    session.flush()
    return added


def _category_row(minor: MinorCategory) -> Category:
    return Category(
        code=minor.code,
        kind=minor.kind.value,
        major=minor.major,
        minor=minor.minor,
        name=minor.name,
        name_en=minor.name_en,
        major_name=minor.major_name,
        major_name_en=minor.major_name_en,
        department_function=minor.department_function,
        limits_hours=dict(minor.limits_hours),
        extension=minor.extension,
        active=True,
    )


def list_categories(session: Session, *, kind: ElementKind | None = None) -> Sequence[Category]:
    """The minor categories, components first, by code."""
    query = select(Category).where(Category.active.is_(True))
    if kind is not None:
        query = query.where(Category.kind == kind.value)
    return session.scalars(query.order_by(Category.kind, Category.code)).all()


def get_category(session: Session, code: str, *, field: str = "category") -> Category:
    """One active minor category by code; ``Invalid`` naming ``field`` if unknown."""
    kind, major, minor = elements.parse_category_code(code, field=field)
    normal = elements.category_code(kind, major, minor)
    category = session.get(Category, normal)
    if category is None or not category.active:
        raise Invalid.field(field, "category-exists", f"no management element {normal}")
    return category


def add_category(
    session: Session,
    *,
    code: str,
    name: str,
    name_en: str,
    department_function: str,
    limits_hours: dict[str, float],
) -> Category:
    """Add a minor category (a local extension) under an existing major category."""
    kind, major, minor = elements.parse_category_code(code, field="code")
    normal = elements.category_code(kind, major, minor)
    sibling = session.scalar(
        select(Category).where(Category.kind == kind.value, Category.major == major).limit(1)
    )
    if sibling is None:
        raise Invalid.field("code", "major-exists", f"no major category {major} of {kind}s")
    if session.get(Category, normal) is not None:
        raise Conflict(f"management element {normal} already exists", extra={"field": "code"})
    row = Category(
        code=normal,
        kind=kind.value,
        major=major,
        minor=minor,
        name=name.strip(),
        name_en=name_en.strip(),
        major_name=sibling.major_name,
        major_name_en=sibling.major_name_en,
        department_function=department_function.strip(),
        limits_hours=elements.check_limits(limits_hours),
        extension=True,
        active=True,
    )
    session.add(row)
    session.flush()
    record_event(session, "ops.category.added", {"code": normal})
    return row


def set_limits(session: Session, code: str, limits_hours: dict[str, float]) -> Category:
    """Change a category's time limits; cases dispatched from now on use them."""
    category = get_category(session, code, field="code")
    category.limits_hours = elements.check_limits(limits_hours)
    record_event(session, "ops.category.limits", {"code": category.code, **category.limits_hours})
    return category


def register_component(
    session: Session,
    *,
    category: str,
    lon: float,
    lat: float,
    crs: str,
    note: str | None,
    now: datetime,
) -> Component:
    """Register a component; its identifier is the next sequence in its district and category."""
    row = get_category(session, category)
    if row.kind != ElementKind.COMPONENT.value:
        raise Invalid.field("category", "component", f"{row.code} is an event, not a component")
    wlon, wlat, district = place(lon, lat, crs)
    last = session.scalar(
        select(func.max(Component.sequence)).where(
            Component.district_code == district, Component.category_code == row.code
        )
    )
    sequence = (last or 0) + 1
    component = Component(
        identifier=elements.make_identifier(district, row.major, row.minor, sequence),
        category_code=row.code,
        district_code=district,
        sequence=sequence,
        lon=wlon,
        lat=wlat,
        note=note,
        created_at=now,
    )
    session.add(component)
    session.flush()
    return component


# --- the working calendar ------------------------------------------------------------------


def calendar(session: Session) -> worktime.WorkingCalendar:
    """The working calendar with the holidays and adjusted working days kept in the tables."""
    rows = session.scalars(select(CalendarDay)).all()
    return worktime.WorkingCalendar.of(
        holidays=[r.day for r in rows if r.kind == "holiday"],
        workdays=[r.day for r in rows if r.kind == "workday"],
    )


def list_calendar_days(session: Session) -> Sequence[CalendarDay]:
    """Holidays and adjusted working days, by date."""
    return session.scalars(select(CalendarDay).order_by(CalendarDay.day)).all()


def set_calendar_day(session: Session, *, day: str, kind: str, name: str) -> CalendarDay:
    """Declare a public holiday or an adjusted working day (replacing what that day was)."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise Invalid.field("day", "date", f"should be YYYY-MM-DD, got {day!r}") from None
    if kind not in {"holiday", "workday"}:
        raise Invalid.field("kind", "calendar-kind", "should be holiday or workday")
    if kind == "holiday" and parsed.weekday() >= 5:
        raise Invalid.field("day", "weekday", f"{parsed} is a weekend day already")
    if kind == "workday" and parsed.weekday() < 5:
        raise Invalid.field("day", "weekend", f"{parsed} is a weekday, worked already")
    row = session.get(CalendarDay, parsed)
    if row is None:
        row = CalendarDay(day=parsed, kind=kind, name=name)
        session.add(row)
    else:
        row.kind, row.name = kind, name
    session.flush()
    return row


def place(lon: float, lat: float, crs: str) -> tuple[float, float, str]:
    """WGS-84 position and district of a point given in ``crs``; the one conversion point."""
    if crs == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    elif crs != "wgs84":
        raise Invalid.field("crs", "crs", f"should be wgs84 or gcj02, got {crs!r}")
    district = geo.locate_district(lon, lat, crs="wgs84")
    if district is None:
        raise Invalid.field(
            "lon", "in-city", f"({lon:.5f}, {lat:.5f}) WGS-84 lies outside the city's districts"
        )
    return lon, lat, district
