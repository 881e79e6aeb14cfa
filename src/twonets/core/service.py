"""Use cases of the core: reference places, departments, registration, accounts, login."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core import auth, places
from twonets.core.errors import Conflict, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.ids import IdNumberInfo, InvalidIdentifier, parse_id_number
from twonets.core.ids import validate_credit_code as _validate_credit_code
from twonets.core.models import (
    Account,
    AccountKind,
    AccountRole,
    Citizen,
    Department,
    DepartmentLevel,
    District,
    Enterprise,
    Region,
    Role,
)

MIN_PASSWORD_LENGTH = 8


def checked_id_number(value: str, *, today: date, field: str = "id_number") -> IdNumberInfo:
    """A parsed ID number, or ``Invalid`` naming ``field`` and the precise reason."""
    try:
        return parse_id_number(value, today=today)
    except InvalidIdentifier as exc:
        raise Invalid.field(field, "id_number", exc.reason) from None


def checked_credit_code(value: str, *, field: str = "credit_code") -> str:
    """A normalised credit code, or ``Invalid`` naming ``field`` and the precise reason."""
    try:
        return _validate_credit_code(value)
    except InvalidIdentifier as exc:
        raise Invalid.field(field, "credit_code", exc.reason) from None


def ensure_reference_data(session: Session) -> int:
    """Insert the trust regions and the home city's districts that are missing; returns count."""
    added = 0
    have_regions = set(session.scalars(select(Region.code)))
    for r in places.REGIONS:
        if r.code not in have_regions:
            session.add(
                Region(
                    code=r.code,
                    admin_code=r.admin_code,
                    name=r.name,
                    name_en=r.name_en,
                    population_2020=r.population_2020,
                    home=r.home,
                )
            )
            added += 1
    session.flush()
    home = next(r for r in places.REGIONS if r.home)
    have_districts = set(session.scalars(select(District.code)))
    for d in places.DISTRICTS:
        if d.code not in have_districts:
            session.add(
                District(
                    code=d.code,
                    region_code=home.code,
                    name=d.name,
                    name_en=d.name_en,
                    population_2020=d.population_2020,
                    kind=d.kind,
                )
            )
            added += 1
    session.flush()
    return added


def list_districts(session: Session) -> Sequence[District]:
    """The home city's districts, by code."""
    return session.scalars(select(District).order_by(District.code)).all()


def list_regions(session: Session) -> Sequence[Region]:
    """The trust regions, home region first."""
    return session.scalars(select(Region).order_by(Region.home.desc(), Region.code)).all()


def get_district(session: Session, code: str) -> District:
    """One district by its GB/T 2260 code."""
    district = session.get(District, code)
    if district is None:
        raise NotFound(f"district {code!r} does not exist")
    return district


def create_department(
    session: Session,
    *,
    code: str,
    name: str,
    name_en: str,
    function: str,
    level: DepartmentLevel,
    region_code: str,
    district_code: str | None = None,
    credit_code: str | None = None,
) -> Department:
    """Add a department; district and street departments must name their district."""
    if level is not DepartmentLevel.CITY and district_code is None:
        raise Invalid.field("district_code", "required", f"required for a {level} department")
    if session.scalar(select(Department).where(Department.code == code)) is not None:
        raise Conflict(f"department {code!r} already exists")
    if session.get(Region, region_code) is None:
        raise Invalid.field("region_code", "exists", f"no region {region_code!r}")
    if district_code is not None:
        get_district(session, district_code)
    department = Department(
        code=code,
        name=name,
        name_en=name_en,
        function=function,
        level=level,
        region_code=region_code,
        district_code=district_code,
        credit_code=checked_credit_code(credit_code) if credit_code else None,
    )
    session.add(department)
    session.flush()
    return department


def get_department(session: Session, code: str) -> Department:
    """One department by its code."""
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"department {code!r} does not exist")
    return department


def list_departments(session: Session) -> Sequence[Department]:
    """All departments, city level first."""
    return session.scalars(select(Department).order_by(Department.level, Department.code)).all()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid.field(
            "password", "min-length", f"should have at least {MIN_PASSWORD_LENGTH} characters"
        )


def _check_username_free(session: Session, username: str) -> None:
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict(f"an account {username!r} already exists", extra={"field": "username"})


def _add_account(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    kind: AccountKind,
    roles: Iterable[Role],
    citizen: Citizen | None = None,
    enterprise: Enterprise | None = None,
    department: Department | None = None,
    password_hash: str | None = None,
) -> Account:
    account = Account(
        username=username,
        display_name=display_name,
        password_hash=password_hash or auth.hash_password(password),
        kind=kind,
        citizen_id=citizen.id if citizen else None,
        enterprise_id=enterprise.id if enterprise else None,
        department_id=department.id if department else None,
    )
    account.roles = [AccountRole(role=r) for r in sorted(set(roles))]
    session.add(account)
    session.flush()
    return account


def register_citizen(
    session: Session,
    *,
    id_number: str,
    name: str,
    password: str,
    phone: str | None = None,
    district_code: str | None = None,
    now: datetime,
) -> Account:
    """Register a resident and their login (the username is the ID number)."""
    info = checked_id_number(id_number, today=now.date())
    _check_password(password)
    if district_code is not None:
        get_district(session, district_code)
    if session.scalar(select(Citizen.id).where(Citizen.id_number == info.number)) is not None:
        raise Conflict("a resident with this ID number is already registered")
    _check_username_free(session, info.number)
    citizen = Citizen(
        id_number=info.number,
        name=name,
        birth_date=info.birth_date,
        sex=info.sex,
        phone=phone,
        district_code=district_code,
        created_at=now,
    )
    session.add(citizen)
    session.flush()
    account = _add_account(
        session,
        username=info.number,
        display_name=name,
        password=password,
        kind=AccountKind.CITIZEN,
        roles=[Role.CITIZEN],
        citizen=citizen,
    )
    # The event names the subject by internal id only: events are not a side door for
    # personal data.
    record_event(session, "core.citizen.registered", {"citizen_id": citizen.id}, now=now)
    return account


def register_enterprise(
    session: Session,
    *,
    credit_code: str,
    name: str,
    password: str,
    district_code: str | None = None,
    legal_representative: str | None = None,
    industry: str | None = None,
    now: datetime,
) -> Account:
    """Register an enterprise and its login (the username is the credit code)."""
    code = checked_credit_code(credit_code)
    _check_password(password)
    if district_code is not None:
        get_district(session, district_code)
    if session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
        raise Conflict("an enterprise with this credit code is already registered")
    _check_username_free(session, code)
    enterprise = Enterprise(
        credit_code=code,
        name=name,
        district_code=district_code,
        legal_representative=legal_representative,
        industry=industry,
        created_at=now,
    )
    session.add(enterprise)
    session.flush()
    account = _add_account(
        session,
        username=code,
        display_name=name,
        password=password,
        kind=AccountKind.ENTERPRISE,
        roles=[Role.ENTERPRISE],
        enterprise=enterprise,
    )
    record_event(
        session,
        "core.enterprise.registered",
        {"enterprise_id": enterprise.id, "credit_code": code},
        now=now,
    )
    return account


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN, Role.ENTERPRISE}


def create_staff_account(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    department_code: str,
    roles: Iterable[Role],
    password_hash: str | None = None,
) -> Account:
    """Add a member of staff to a department with the given roles."""
    wanted = set(roles) or {Role.STAFF}
    if not wanted <= STAFF_ROLES:
        bad = ", ".join(sorted(r.value for r in wanted - STAFF_ROLES))
        raise Invalid.field("roles", "staff-role", f"not a staff role: {bad}")
    if password_hash is None:
        _check_password(password)
    _check_username_free(session, username)
    department = get_department(session, department_code)
    return _add_account(
        session,
        username=username,
        display_name=display_name,
        password=password,
        kind=AccountKind.STAFF,
        roles=wanted,
        department=department,
        password_hash=password_hash,
    )


def log_in(
    session: Session, *, username: str, password: str, now: datetime, ttl: timedelta
) -> tuple[str, auth.Principal]:
    """Check a username and password and issue a bearer token."""
    account = auth.authenticate(session, username.strip(), password)
    token = auth.issue_token(session, account, now=now, ttl=ttl)
    return token, auth.principal_of(account)


def count_accounts(session: Session) -> dict[str, int]:
    """Number of accounts by kind (for the administrator's home page)."""
    rows = session.execute(select(Account.kind, func.count()).group_by(Account.kind)).all()
    return {str(kind): int(n) for kind, n in rows}


def add_principal_account(
    session: Session,
    *,
    citizen: Citizen | None = None,
    enterprise: Enterprise | None = None,
    password_hash: str,
) -> Account:
    """Give an already-known resident or enterprise a login (used when seeding and migrating)."""
    if (citizen is None) == (enterprise is None):
        raise ValueError("give exactly one of citizen or enterprise")
    if citizen is not None:
        _check_username_free(session, citizen.id_number)
        return _add_account(
            session,
            username=citizen.id_number,
            display_name=citizen.name,
            password="",
            kind=AccountKind.CITIZEN,
            roles=[Role.CITIZEN],
            citizen=citizen,
            password_hash=password_hash,
        )
    assert enterprise is not None
    _check_username_free(session, enterprise.credit_code)
    return _add_account(
        session,
        username=enterprise.credit_code,
        display_name=enterprise.name,
        password="",
        kind=AccountKind.ENTERPRISE,
        roles=[Role.ENTERPRISE],
        enterprise=enterprise,
        password_hash=password_hash,
    )
