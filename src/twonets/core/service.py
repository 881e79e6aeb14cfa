"""Use cases of the core: reference places, departments, the registers, staff accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core import auth, places
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
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


def check_password(password: str) -> None:
    """Refuse a password shorter than ``MIN_PASSWORD_LENGTH``, naming the field."""
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


# The department functions that keep the registers sign-up checks against: the public
# security bureau keeps the population (household) register, market regulation the register
# of enterprises under their credit codes. Only their staff add entries: an entry decides
# whose phone a sign-up code goes to, so whoever writes one could open someone's account.
POPULATION_REGISTER_KEEPER = "police"
ENTERPRISE_REGISTER_KEEPER = "market-regulation"


def _require_keeper(principal: auth.Principal, function: str, register: str) -> None:
    principal.require(Role.STAFF)
    if principal.department_function != function:
        raise Forbidden(
            f"only staff of the department keeping the {register} ({function}) add entries "
            f"to it; your department's function is {principal.department_function}"
        )


def enter_citizen(
    session: Session,
    *,
    id_number: str,
    name: str,
    phone: str | None = None,
    district_code: str | None = None,
    now: datetime,
) -> Citizen:
    """Add a resident to the population register (no login: the resident signs up)."""
    info = checked_id_number(id_number, today=now.date())
    if district_code is not None:
        get_district(session, district_code)
    if session.scalar(select(Citizen.id).where(Citizen.id_number == info.number)) is not None:
        raise Conflict("a resident with this ID number is already registered")
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
    # The event names the subject by internal id only: events are not a side door for
    # personal data.
    record_event(session, "core.citizen.registered", {"citizen_id": citizen.id}, now=now)
    return citizen


def add_resident(
    session: Session,
    principal: auth.Principal,
    *,
    id_number: str,
    name: str,
    phone: str | None = None,
    district_code: str | None = None,
    now: datetime,
) -> Citizen:
    """The population register's keeper enters a resident, who may then sign up."""
    _require_keeper(principal, POPULATION_REGISTER_KEEPER, "population register")
    return enter_citizen(
        session, id_number=id_number, name=name, phone=phone, district_code=district_code, now=now
    )


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
    """A register entry and its login at once (the username is the ID number).

    For seeding and tests only: a resident's own account opens through sign-up, which
    confirms a code sent to the phone on record.
    """
    number = checked_id_number(id_number, today=now.date()).number
    check_password(password)
    citizen = enter_citizen(
        session, id_number=number, name=name, phone=phone, district_code=district_code, now=now
    )
    _check_username_free(session, number)
    return _add_account(
        session,
        username=number,
        display_name=name,
        password=password,
        kind=AccountKind.CITIZEN,
        roles=[Role.CITIZEN],
        citizen=citizen,
    )


def enter_enterprise(
    session: Session,
    *,
    credit_code: str,
    name: str,
    phone: str | None = None,
    district_code: str | None = None,
    legal_representative: str | None = None,
    industry: str | None = None,
    now: datetime,
) -> Enterprise:
    """Add an enterprise to the register, with the phone its sign-up code goes to."""
    code = checked_credit_code(credit_code)
    if district_code is not None:
        get_district(session, district_code)
    if session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
        raise Conflict("an enterprise with this credit code is already registered")
    enterprise = Enterprise(
        credit_code=code,
        name=name,
        district_code=district_code,
        legal_representative=legal_representative,
        industry=industry,
        contact_phone=phone,
        created_at=now,
    )
    session.add(enterprise)
    session.flush()
    record_event(
        session,
        "core.enterprise.registered",
        {"enterprise_id": enterprise.id, "credit_code": code},
        now=now,
    )
    return enterprise


def add_enterprise(
    session: Session,
    principal: auth.Principal,
    *,
    credit_code: str,
    name: str,
    phone: str | None = None,
    district_code: str | None = None,
    legal_representative: str | None = None,
    industry: str | None = None,
    now: datetime,
) -> Enterprise:
    """The enterprise register's keeper enters an enterprise, which may then sign up."""
    _require_keeper(principal, ENTERPRISE_REGISTER_KEEPER, "enterprise register")
    return enter_enterprise(
        session,
        credit_code=credit_code,
        name=name,
        phone=phone,
        district_code=district_code,
        legal_representative=legal_representative,
        industry=industry,
        now=now,
    )


def register_enterprise(
    session: Session,
    *,
    credit_code: str,
    name: str,
    password: str,
    phone: str | None = None,
    district_code: str | None = None,
    legal_representative: str | None = None,
    industry: str | None = None,
    now: datetime,
) -> Account:
    """A register entry and its login at once (the username is the credit code).

    For seeding and tests only, like ``register_citizen``.
    """
    code = checked_credit_code(credit_code)
    check_password(password)
    enterprise = enter_enterprise(
        session,
        credit_code=code,
        name=name,
        phone=phone,
        district_code=district_code,
        legal_representative=legal_representative,
        industry=industry,
        now=now,
    )
    _check_username_free(session, code)
    return _add_account(
        session,
        username=code,
        display_name=name,
        password=password,
        kind=AccountKind.ENTERPRISE,
        roles=[Role.ENTERPRISE],
        enterprise=enterprise,
    )


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN, Role.ENTERPRISE}


def check_separation_of_duties(roles: Iterable[Role]) -> None:
    """Refuse a set of roles that joins administration or a department's work to data protection."""
    wanted = set(roles)
    if Role.DPO not in wanted or wanted == {Role.DPO}:
        return
    if Role.ADMIN in wanted:
        raise Invalid.field(
            "roles",
            "separation-of-duties",
            "administration and data protection are separate duties: an account holds admin "
            "or dpo, never both",
        )
    others = ", ".join(sorted(r.value for r in wanted - {Role.DPO}))
    raise Invalid.field(
        "roles",
        "separation-of-duties",
        f"a data protection officer holds no other role (asked also for: {others}): who "
        "oversees reads of personal data does not read it",
    )


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
    """Add a member of staff to a department with the given roles.

    Administration and data protection are separate duties: an account holds ``admin`` or
    ``dpo``, never both, and a data protection officer holds no other role, so who
    oversees reads of personal data never reads it and never grants access to it.
    """
    wanted = set(roles) or {Role.STAFF}
    if not wanted <= STAFF_ROLES:
        bad = ", ".join(sorted(r.value for r in wanted - STAFF_ROLES))
        raise Invalid.field("roles", "staff-role", f"not a staff role: {bad}")
    check_separation_of_duties(wanted)
    if password_hash is None:
        check_password(password)
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


def set_account_active(
    session: Session,
    principal: auth.Principal,
    *,
    username: str,
    active: bool,
    reason: str,
    now: datetime,
) -> Account:
    """Disable an account (its logins end at once) or enable it again (administrators).

    A disabled account's tokens are revoked in the same transaction, so the next request with
    any of them is refused (other processes may serve it for their principal cache's few
    seconds). Administrators cannot disable themselves: someone must be left to undo it.
    """
    principal.require(Role.ADMIN)
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why (it is kept with the account)")
    account = session.scalar(
        select(Account).where(Account.username == username.strip())
    )  # governance: an administrator's account management, recorded below
    if account is None:
        raise NotFound(f"no account {username.strip()!r}")
    if account.id == principal.account_id and not active:
        raise Conflict("an administrator cannot disable their own account")
    if account.active != active:
        account.active = active
        if not active:
            auth.revoke_all_tokens(session, account.id, now=now)
        record_event(
            session,
            "core.account.enabled" if active else "core.account.disabled",
            {"account_id": account.id, "actor": principal.account_id, "reason": reason.strip()},
            now=now,
        )
    session.flush()
    return account


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
    """Give a register entry its login (sign-up, seeding, migrating); one login per entry."""
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
