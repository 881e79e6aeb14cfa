"""Keyword-only builders of test data, so each test says only what matters to it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from twonets.core import service
from twonets.core.auth import Principal, principal_of
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import Account, Citizen, Department, DepartmentLevel, Enterprise, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.service import create_purpose, set_policy
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import jt808
from twonets.operations.devices.service import TerminalRef

PASSWORD = "correct-horse-battery"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_counter = itertools.count(1)
_phones = itertools.count(13800000001)


def next_id_number(*, region: str = "310101", birth: date = date(1990, 5, 17)) -> str:
    """A valid, unused-in-this-run ID number."""
    return make_id_number(region, birth, next(_counter) % 1000)


def next_credit_code(*, region: str = "310101") -> str:
    """A valid, unused-in-this-run credit code."""
    return make_credit_code(region_code=region, organisation_body=f"MA{next(_counter):06d}")


def create_department(
    session: Session,
    *,
    code: str | None = None,
    function: str = "health",
    level: DepartmentLevel = DepartmentLevel.CITY,
    district_code: str | None = None,
    credit_code: str | None = None,
) -> Department:
    """A department (city level unless told otherwise); an issuer of licences needs its
    ``credit_code``."""
    code = code or f"dept{next(_counter)}"
    return service.create_department(
        session,
        code=code,
        name=f"部门{code}",
        name_en=f"Department {code}",
        function=function,
        level=level,
        region_code="SH",
        district_code=district_code,
        credit_code=credit_code,
    )


def create_staff(
    session: Session,
    *,
    username: str | None = None,
    roles: tuple[Role, ...] = (Role.STAFF,),
    department: Department | None = None,
    password: str = PASSWORD,
) -> Account:
    """A member of staff (of a new department unless one is given)."""
    department = department or create_department(session)
    return service.create_staff_account(
        session,
        username=username or f"staff{next(_counter)}",
        display_name="Test Staff",
        password=password,
        department_code=department.code,
        roles=roles,
    )


def create_clerk(session: Session, *, code: str, function: str, body: str) -> Principal:
    """A member of staff of a new city department that issues licences: its credit code is
    the city's (310000) with the organisation ``body`` (eight characters)."""
    department = create_department(
        session,
        code=code,
        function=function,
        credit_code=make_credit_code(
            authority="1", kind="1", region_code="310000", organisation_body=body
        ),
    )
    return principal_of(create_staff(session, department=department))


def create_citizen(
    session: Session,
    *,
    id_number: str | None = None,
    name: str = "张三",
    password: str = PASSWORD,
    phone: str | None = None,
    district_code: str | None = "310101",
) -> Account:
    """A registered resident with a login."""
    return service.register_citizen(
        session,
        id_number=id_number or next_id_number(),
        name=name,
        password=password,
        phone=phone,
        district_code=district_code,
        now=NOW,
    )


def next_phone() -> str:
    """A valid, unused-in-this-run mobile number."""
    return str(next(_phones))


def create_resident(
    session: Session,
    *,
    id_number: str | None = None,
    name: str = "张三",
    phone: str | None = "",
    district_code: str | None = "310101",
) -> Citizen:
    """A resident in the population register without a login (a new phone unless given)."""
    return service.enter_citizen(
        session,
        id_number=id_number or next_id_number(),
        name=name,
        phone=next_phone() if phone == "" else phone,
        district_code=district_code,
        now=NOW,
    )


def create_enterprise(
    session: Session,
    *,
    credit_code: str | None = None,
    name: str = "上海测试有限公司",
    phone: str | None = "",
    district_code: str | None = "310101",
) -> Enterprise:
    """An enterprise in the register without a login (a new contact phone unless given)."""
    return service.enter_enterprise(
        session,
        credit_code=credit_code or next_credit_code(),
        name=name,
        phone=next_phone() if phone == "" else phone,
        district_code=district_code,
        now=NOW,
    )


def create_terminal(
    session: Session,
    *,
    phone: str | None = None,
    plate: str | None = None,
    credit_code: str | None = None,
    version: int | None = None,
    now: datetime = NOW,
) -> TerminalRef:
    """A vehicle terminal enrolled by an operator, registered and authenticated (its session)."""
    n = next(_counter)
    phone = phone or f"1390{n:07d}"
    plate = plate or f"沪D{n:05d}"
    operator = principal_of(create_staff(session, roles=(Role.OPERATOR,)))
    device_enrolment.enrol_terminal(
        session,
        operator,
        phone=phone,
        plate=plate,
        credit_code=credit_code or next_credit_code(),
        now=now,
    )
    registration = jt808.Registration(31, 0, "SHMUC", "M1", f"T{n}", 2, plate)
    result, code = device_enrolment.register_terminal(
        session,
        phone=phone,
        protocol_version=version,
        registration=registration,
        now=now,
        code_ttl=None,
    )
    assert result is jt808.RegistrationResult.SUCCESS
    assert code is not None
    ref = device_enrolment.authenticate_terminal(session, phone=phone, auth_code=code, now=now)
    assert ref is not None
    return ref


def purpose_for_function(
    session: Session,
    *,
    code: str,
    name: str,
    owner: str,
    function: str,
    dataset: str,
    fields: dict[str, str],
    since: datetime,
    retention_days: int = 365,
    reason: str = "test",
) -> None:
    """A purpose (statutory duty, no end) and the grant of one dataset's fields to a function."""
    create_purpose(
        session,
        actor="dpo",
        code=code,
        name=name,
        legal_basis=LegalBasis.STATUTORY_DUTY,
        owner_department_code=owner,
        valid_from=since,
        valid_until=None,
        retention_days=retention_days,
        now=since,
    )
    set_policy(
        session,
        Catalogue(),
        actor="dpo",
        grantee_kind=GranteeKind.FUNCTION,
        grantee=function,
        purpose_code=code,
        dataset=dataset,
        fields=fields,
        reason=reason,
        now=since,
    )


def tiny_png(shade: int = 200) -> bytes:
    """A real PNG of a few pixels (photos are decoded when kept, so a fake header will not do)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 6), (shade, shade, shade)).save(out, format="PNG")
    return out.getvalue()
