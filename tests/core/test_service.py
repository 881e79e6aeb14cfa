"""Use cases of the core, on SQLite and PostgreSQL: registers, departments, staff, tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import (
    NOW,
    PASSWORD,
    create_citizen,
    create_department,
    create_staff,
    next_credit_code,
    next_id_number,
)
from twonets.core import auth, logins, service
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from twonets.core.models import Account, Citizen, DepartmentLevel, Enterprise, OutboxEvent, Role


def test_reference_data_is_loaded_once(session: Session) -> None:
    assert service.ensure_reference_data(session) == 0
    assert len(service.list_districts(session)) == 16
    assert service.list_regions(session)[0].code == "SH"


def test_registered_citizen_carries_what_the_id_number_says(session: Session) -> None:
    number = next_id_number(region="310115")
    account = service.register_citizen(
        session, id_number=number, name="钱七", password=PASSWORD, now=NOW
    )
    citizen = session.get(Citizen, account.citizen_id)
    assert citizen is not None
    assert citizen.birth_date.isoformat() == "1990-05-17"
    assert citizen.sex == ("male" if int(number[16]) % 2 else "female")
    assert [r.role for r in account.roles] == [Role.CITIZEN]


def test_citizen_registration_checks_everything_before_writing(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.register_citizen(
            session, id_number=next_id_number(), name="x", password="short", now=NOW
        )
    assert caught.value.errors[0].field == "password"
    with session_factory() as session:
        assert session.scalars(select(Citizen)).all() == []
        assert session.scalars(select(OutboxEvent)).all() == []


def test_unknown_district_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="district '999999'"):
        service.register_citizen(
            session,
            id_number=next_id_number(),
            name="x",
            password=PASSWORD,
            district_code="999999",
            now=NOW,
        )


def test_same_id_number_twice_is_a_conflict(session: Session) -> None:
    number = next_id_number()
    create_citizen(session, id_number=number)
    with pytest.raises(Conflict):
        create_citizen(session, id_number=number)


def test_department_codes_are_unique_and_levels_need_districts(session: Session) -> None:
    create_department(session, code="sh.one")
    with pytest.raises(Conflict):
        create_department(session, code="sh.one")
    with pytest.raises(Invalid, match="district_code"):
        create_department(session, code="d.two", level=DepartmentLevel.STREET)
    street = create_department(
        session, code="d.three", level=DepartmentLevel.STREET, district_code="310101"
    )
    assert street.district_code == "310101"


def test_staff_roles_exclude_citizen_and_enterprise(session: Session) -> None:
    with pytest.raises(Invalid, match="not a staff role: citizen"):
        create_staff(session, roles=(Role.CITIZEN,))


def test_principal_of_staff_carries_the_department(session: Session) -> None:
    department = create_department(
        session,
        code="310101.ops",
        function="operations",
        level=DepartmentLevel.DISTRICT,
        district_code="310101",
    )
    account = create_staff(session, roles=(Role.OPERATOR,), department=department)
    principal = auth.principal_of(account)
    assert principal.department_function == "operations"
    assert principal.district_code == "310101"
    assert principal.has_any({Role.OPERATOR})
    assert not principal.has_any({Role.DPO})


def test_no_role_implies_another(session: Session) -> None:
    admin = auth.principal_of(create_staff(session, roles=(Role.ADMIN,)))
    officer = auth.principal_of(create_staff(session, roles=(Role.DPO,)))
    assert admin.has_any({Role.ADMIN})
    assert not admin.has_any({Role.DPO})
    assert not admin.has_any({Role.HEALTH_PLANNER, Role.STAFF})
    with pytest.raises(Forbidden, match="needs one of the roles: dpo"):
        admin.require(Role.DPO)
    with pytest.raises(Forbidden, match="needs one of the roles: admin"):
        officer.require(Role.ADMIN)


@pytest.mark.parametrize(
    ("roles", "says"),
    [
        ((Role.ADMIN, Role.DPO), "holds admin or dpo, never both"),
        ((Role.DPO, Role.STAFF), "asked also for: staff"),
        ((Role.DPO, Role.OPERATOR, Role.HEALTH_PLANNER), "asked also for: health_planner, op"),
    ],
)
def test_a_data_protection_officer_holds_no_other_role(
    session_factory: sessionmaker[Session], roles: tuple[Role, ...], says: str
) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        create_staff(session, username="two.hats", roles=roles)
    problem = caught.value.errors[0]
    assert (problem.field, problem.rule) == ("roles", "separation-of-duties")
    assert says in problem.detail
    assert caught.value.detail.startswith("roles: ")
    with session_factory() as session:
        assert session.scalars(select(Account).where(Account.username == "two.hats")).all() == []


def test_administration_may_be_joined_to_other_work_but_not_to_data_protection(
    session: Session,
) -> None:
    both = create_staff(session, roles=(Role.ADMIN, Role.STAFF))
    assert {r.role for r in both.roles} == {Role.ADMIN, Role.STAFF}
    officer = create_staff(session, roles=(Role.DPO,))
    assert [r.role for r in officer.roles] == [Role.DPO]


def test_only_the_register_keepers_add_entries(session: Session) -> None:
    police = auth.principal_of(
        create_staff(session, department=create_department(session, function="police"))
    )
    market = auth.principal_of(
        create_staff(session, department=create_department(session, function="market-regulation"))
    )
    health = auth.principal_of(create_staff(session))
    admin = auth.principal_of(
        create_staff(
            session,
            roles=(Role.ADMIN,),
            department=create_department(session, function="police"),
        )
    )
    number = next_id_number()
    with pytest.raises(Forbidden, match=r"population register \(police\)"):
        service.add_resident(session, health, id_number=number, name="甲", now=NOW)
    with pytest.raises(Forbidden, match="needs one of the roles: staff"):
        service.add_resident(session, admin, id_number=number, name="甲", now=NOW)
    citizen = service.add_resident(
        session, police, id_number=number, name="甲", phone="13900000000", now=NOW
    )
    assert citizen.phone == "13900000000"
    assert session.scalar(select(Account.id).where(Account.citizen_id == citizen.id)) is None
    code = next_credit_code()
    with pytest.raises(Forbidden, match="enterprise register"):
        service.add_enterprise(session, police, credit_code=code, name="乙公司", now=NOW)
    firm = service.add_enterprise(
        session, market, credit_code=code, name="乙公司", phone="13900000001", now=NOW
    )
    assert session.get(Enterprise, firm.id) is not None
    assert firm.contact_phone == "13900000001"


def _log_in(session: Session, username: str, password: str) -> logins.Login:
    return logins.log_in(
        session,
        username=username,
        password=password,
        address="192.0.2.1",
        limits=logins.LoginLimits(),
        now=NOW,
        ttl=timedelta(hours=1),
    ).unwrap()


def test_tokens_expire_and_can_be_revoked(session: Session) -> None:
    account = create_staff(session, username="tok")
    login = _log_in(session, "tok", PASSWORD)
    token, principal = login.token, login.principal
    assert principal.username == "tok"
    assert auth.resolve_token(session, token, now=NOW + timedelta(minutes=59)).account_id == (
        account.id
    )
    with pytest.raises(Unauthenticated, match="expired"):
        auth.resolve_token(session, token, now=NOW + timedelta(hours=1))
    auth.revoke_token(session, token, now=NOW)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.resolve_token(session, token, now=NOW)


def test_wrong_password_and_inactive_accounts_cannot_log_in(session: Session) -> None:
    account = create_staff(session, username="gone")
    with pytest.raises(Unauthenticated):
        _log_in(session, "gone", "nope-nope")
    account.active = False
    with pytest.raises(Unauthenticated):
        _log_in(session, "gone", PASSWORD)


def test_passwords_are_stored_as_argon2_hashes(session: Session) -> None:
    account = create_staff(session)
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert auth.verify_password(account.password_hash, PASSWORD)
    assert not auth.verify_password("not-a-hash", PASSWORD)


def test_an_administrator_disables_an_account_and_its_logins_end(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        admin = auth.principal_of(create_staff(session, roles=(Role.ADMIN,)))
        clerk = create_staff(session, username="leaving.clerk")
        token = auth.issue_token(session, clerk, now=NOW, ttl=timedelta(hours=1))
    with unit_of_work(session_factory) as session:
        service.set_account_active(
            session, admin, username="leaving.clerk", active=False, reason="left", now=NOW
        )
    with session_factory() as session, pytest.raises(Unauthenticated):
        auth.resolve_token(session, token, now=NOW)
    with unit_of_work(session_factory) as session:
        account = service.set_account_active(
            session, admin, username="leaving.clerk", active=True, reason="back", now=NOW
        )
        assert account.active


def test_only_an_administrator_disables_accounts_and_never_their_own(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        admin = auth.principal_of(create_staff(session, username="the.admin", roles=(Role.ADMIN,)))
        clerk = auth.principal_of(create_staff(session, username="a.clerk"))
    with pytest.raises(Forbidden), unit_of_work(session_factory) as session:
        service.set_account_active(
            session, clerk, username="the.admin", active=False, reason="x", now=NOW
        )
    with pytest.raises(Conflict), unit_of_work(session_factory) as session:
        service.set_account_active(
            session, admin, username="the.admin", active=False, reason="x", now=NOW
        )
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.set_account_active(
            session, admin, username="a.clerk", active=False, reason=" ", now=NOW
        )
    assert caught.value.errors[0].field == "reason"
