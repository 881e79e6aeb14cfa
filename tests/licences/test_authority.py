"""Who may change a licence, under which region it is signed, and the history every change
leaves: the issuing department, or a department its region names; never another region."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_citizen, create_staff, next_id_number
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.licences import service
from twonets.licences.models import Licence
from twonets.trust import service as trust

ROOT = b"a" * 48
T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANGES = ("amend", "suspend", "resume", "revoke")


@dataclass(frozen=True)
class Desks:
    """Clerks of four departments in two regions, an administrator of each, and a resident."""

    ctx: service.Licensing
    police: Principal  # sh.police issues the ID cards below
    traffic: Principal  # sh.traffic: police function too, but not the issuer
    js_police: Principal  # Jiangsu's police: same function, other region
    sh_admin: Principal
    js_admin: Principal
    resident: Principal
    id_number: str


def department(session: Session, code: str, function: str, region: str, body: str | None) -> None:
    """A city-level department; with ``body``, a credit code to issue under."""
    core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function=function,
        level=DepartmentLevel.CITY,
        region_code=region,
        credit_code=make_credit_code(
            authority="1",
            kind="1",
            region_code="310000" if region == "SH" else "320000",
            organisation_body=body,
        )
        if body
        else None,
    )


def staff(session: Session, code: str, *roles: Role) -> Principal:
    """A member of staff of department ``code`` holding ``roles`` (staff by default)."""
    found = core_service.get_department(session, code)
    return principal_of(create_staff(session, department=found, roles=roles or (Role.STAFF,)))


@pytest.fixture
def desks(session_factory: sessionmaker[Session]) -> Desks:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=T)
        trust.ensure_issuing_region(session, region="JS", root_secret=ROOT, now=T, recognise=False)
        department(session, "sh.police", "police", "SH", "00240001")
        department(session, "sh.traffic", "police", "SH", "00240002")
        department(session, "js.police", "police", "JS", "00240003")
        department(session, "sh.platform", "platform", "SH", None)
        department(session, "js.platform", "platform", "JS", None)
        number = next_id_number(birth=date(1985, 3, 4))
        resident = principal_of(create_citizen(session, id_number=number, name="张三"))
        return Desks(
            service.Licensing(ROOT),
            staff(session, "sh.police"),
            staff(session, "sh.traffic"),
            staff(session, "js.police"),
            staff(session, "sh.platform", Role.ADMIN),
            staff(session, "js.platform", Role.ADMIN),
            resident,
            number,
        )


def id_card(desks: Desks, **overrides: str) -> dict[str, str]:
    """The claims of the resident's ID card."""
    return {
        "name": "张三",
        "id_number": desks.id_number,
        "sex": "female" if int(desks.id_number[16]) % 2 == 0 else "male",
        "birth_date": "1985-03-04",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(b"photo").hexdigest(),
        **overrides,
    }


def driving_licence(desks: Desks) -> dict[str, str]:
    """The claims of the resident's driving licence."""
    return {
        "name": "张三",
        "id_number": desks.id_number,
        "vehicle_classes": "C1",
        "first_issued": "2015-03-02",
        "photo_hash": "b" * 64,
    }


def issue(
    factory: sessionmaker[Session],
    desks: Desks,
    clerk: Principal,
    *,
    type_code: str = "ID",
    claims: dict[str, str] | None = None,
) -> int:
    """Issue one licence as ``clerk``; its id."""
    with unit_of_work(factory) as session:
        licence = service.issue_licence(
            session,
            desks.ctx,
            clerk,
            type_code=type_code,
            claims=claims or id_card(desks),
            valid_from=date(2024, 1, 1),
            now=T,
        )
        return licence.id


def change(
    factory: sessionmaker[Session],
    desks: Desks,
    clerk: Principal,
    licence_id: int,
    action: str,
    *,
    at: datetime = T,
) -> Licence:
    """Amend (a new address), suspend, resume or revoke a licence as ``clerk``."""
    with unit_of_work(factory) as session:
        if action == "amend":
            return service.amend_licence(
                session,
                desks.ctx,
                clerk,
                licence_id=licence_id,
                claims=id_card(desks, address="上海市浦东新区世纪大道100号"),
                reason="moved house",
                now=at,
            )
        return service.change_status(
            session, clerk, licence_id=licence_id, action=action, reason=f"to {action}", now=at
        )


def prepare(factory: sessionmaker[Session], desks: Desks, licence_id: int, action: str) -> None:
    """Bring the licence to a status where ``action`` is allowed (resume needs a suspension)."""
    if action == "resume":
        change(factory, desks, desks.police, licence_id, "suspend")


def status_of(factory: sessionmaker[Session], licence_id: int) -> str:
    with factory() as session:
        licence = session.get(Licence, licence_id)
        assert licence is not None
        return str(licence.status)


# --- who may change a licence ------------------------------------------------------------------


@pytest.mark.parametrize("action", CHANGES)
def test_a_jiangsu_police_clerk_changes_no_shanghai_licence(
    desks: Desks, session_factory: sessionmaker[Session], action: str
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    prepare(session_factory, desks, licence_id, action)
    before = status_of(session_factory, licence_id)

    with pytest.raises(Forbidden, match="of region SH; a department of region JS"):
        change(session_factory, desks, desks.js_police, licence_id, action)

    assert status_of(session_factory, licence_id) == before


@pytest.mark.parametrize("action", CHANGES)
def test_another_department_of_the_same_function_needs_a_delegation(
    desks: Desks, session_factory: sessionmaker[Session], action: str
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    prepare(session_factory, desks, licence_id, action)

    with pytest.raises(Forbidden, match=r"only the issuing department sh\.police"):
        change(session_factory, desks, desks.traffic, licence_id, action)

    with unit_of_work(session_factory) as session:
        service.delegate_changes(
            session,
            desks.sh_admin,
            type_code="ID",
            issuer_department="sh.police",
            delegate_department="sh.traffic",
            actions=[action],
            reason="city policy 2026-7: traffic police act on ID cards at checkpoints",
            now=T,
        )
    changed = change(session_factory, desks, desks.traffic, licence_id, action)

    from twonets.licences.models import LicenceHistory

    assert changed.issuer_department_code == "sh.police"  # a delegate does not become issuer
    with session_factory() as session:
        last = session.scalars(select(LicenceHistory).order_by(LicenceHistory.id.desc())).first()
        assert last is not None
        assert (last.actor, last.department_code) == (desks.traffic.username, "sh.traffic")


def test_a_delegation_allows_only_its_actions_and_ends_when_withdrawn(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    with unit_of_work(session_factory) as session:
        row = service.delegate_changes(
            session,
            desks.sh_admin,
            type_code="ID",
            issuer_department="sh.police",
            delegate_department="sh.traffic",
            actions=["suspend"],
            reason="policy",
            now=T,
        )
        delegation_id = row.id
    with pytest.raises(Forbidden, match="may revoke"):
        change(session_factory, desks, desks.traffic, licence_id, "revoke")
    change(session_factory, desks, desks.traffic, licence_id, "suspend")

    with unit_of_work(session_factory) as session:
        service.withdraw_delegation(session, desks.sh_admin, delegation_id=delegation_id, now=T)

    with pytest.raises(Forbidden):
        change(session_factory, desks, desks.traffic, licence_id, "resume")
    assert status_of(session_factory, licence_id) == "suspended"


def test_a_delegation_is_only_of_the_administrators_region(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    def delegate(admin: Principal, issuer: str, delegate: str) -> None:
        with unit_of_work(session_factory) as session:
            service.delegate_changes(
                session,
                admin,
                type_code="ID",
                issuer_department=issuer,
                delegate_department=delegate,
                actions=["revoke"],
                reason="policy",
                now=T,
            )

    with pytest.raises(Invalid) as caught:
        delegate(desks.sh_admin, "sh.police", "js.police")
    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == (
        "delegate_department",
        "same-region",
    )
    with pytest.raises(Forbidden, match="an administrator of JS manages the delegations of JS"):
        delegate(desks.js_admin, "sh.police", "js.police")
    with pytest.raises(Forbidden, match="only an administrator"):
        delegate(desks.police, "sh.police", "sh.traffic")
    with session_factory() as session:
        assert service.list_delegations(session, desks.sh_admin) == []


def test_a_delegation_names_a_real_issuer_of_the_type(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.delegate_changes(
            session,
            desks.sh_admin,
            type_code="BL",
            issuer_department="sh.police",
            delegate_department="sh.police",
            actions=["revoke", "reprint"],
            reason=" ",
            now=T,
        )
    fields = {(e.field, e.rule) for e in caught.value.errors}
    assert fields == {("actions", "known"), ("reason", "required")}
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.delegate_changes(
            session,
            desks.sh_admin,
            type_code="BL",
            issuer_department="sh.police",
            delegate_department="sh.traffic",
            actions=["revoke"],
            reason="policy",
            now=T,
        )
    assert caught.value.errors[0].rule == "issues-type"


def test_an_administrator_issues_nothing(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        # An administrator even of the issuing department: administration is not issuing.
        police_admin = staff(session, "sh.police", Role.ADMIN)
    for admin in (desks.sh_admin, police_admin):
        with pytest.raises(Forbidden, match="administrators administer"):
            issue(session_factory, desks, admin)
    with session_factory() as session:
        assert session.scalars(select(Licence)).all() == []


def test_an_administrator_changes_no_licence(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    with pytest.raises(Forbidden, match="administrators administer"):
        change(session_factory, desks, desks.sh_admin, licence_id, "revoke")
    assert status_of(session_factory, licence_id) == "active"


def test_only_the_issuer_and_its_delegates_look_a_licence_up(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    with session_factory() as session:
        identifier = service.get_licence(session, licence_id).identifier
        assert service.find_issued_licence(session, desks.police, identifier).id == licence_id
        for outsider in (desks.traffic, desks.js_police):
            with pytest.raises(Forbidden):
                service.find_issued_licence(session, outsider, identifier)
            with pytest.raises(Forbidden):
                service.get_issued_licence(session, outsider, licence_id)


# --- the signing region ------------------------------------------------------------------------


def test_a_licence_is_of_its_issuing_departments_region(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    js_id = issue(
        session_factory, desks, desks.js_police, type_code="DL", claims=driving_licence(desks)
    )
    sh_id = issue(session_factory, desks, desks.police)
    with unit_of_work(session_factory) as session:
        js_qr = service.qr_code(session, desks.ctx, desks.resident, licence_id=js_id, now=T)
        regions = {i: service.get_licence(session, i).region_code for i in (js_id, sh_id)}

    assert regions == {js_id: "JS", sh_id: "SH"}
    assert js_qr.startswith("JS1:")


def test_issuing_needs_the_keys_of_the_departments_region(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        department(session, "zj.police", "police", "ZJ", "00240009")
        zj_clerk = staff(session, "zj.police")

    with pytest.raises(Conflict, match="holds no signing keys of region ZJ"):
        issue(session_factory, desks, zj_clerk, type_code="DL", claims=driving_licence(desks))
    with session_factory() as session:
        assert session.scalars(select(Licence)).all() == []


def test_issuing_takes_no_region_from_the_caller(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(TypeError), unit_of_work(session_factory) as session:
        service.issue_licence(  # type: ignore[call-arg]
            session,
            desks.ctx,
            desks.js_police,
            type_code="DL",
            claims=driving_licence(desks),
            valid_from=date(2024, 1, 1),
            now=T,
            region="SH",
        )


# --- history -----------------------------------------------------------------------------------


def test_every_change_is_in_the_history_with_actor_and_reason(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    first = issue(session_factory, desks, desks.police)
    change(session_factory, desks, desks.police, first, "suspend", at=T + timedelta(hours=1))
    change(session_factory, desks, desks.police, first, "resume", at=T + timedelta(hours=2))
    second = change(session_factory, desks, desks.police, first, "amend", at=T + timedelta(hours=3))
    change(session_factory, desks, desks.police, second.id, "revoke", at=T + timedelta(hours=4))

    with session_factory() as session:
        history = service.licence_history(session, desks.police, licence_id=second.id)
        # Any version of the licence gives the same history.
        assert service.licence_history(session, desks.police, licence_id=first) == history
        held = service.holder_history(session, desks.resident, licence_id=second.id)

    rows = [
        (h["action"], h["from_status"], h["to_status"], h["version"], h["reason"]) for h in history
    ]
    assert rows == [
        ("issued", None, "active", 1, None),
        ("suspended", "active", "suspended", 1, "to suspend"),
        ("resumed", "suspended", "active", 1, "to resume"),
        ("superseded", "active", "superseded", 1, "moved house"),
        ("amended", None, "active", 2, "moved house"),
        ("revoked", "active", "revoked", 2, "to revoke"),
    ]
    assert {(h["actor"], h["department"]) for h in history} == {
        (desks.police.username, "sh.police")
    }
    assert history[-1]["at"] == (T + timedelta(hours=4)).isoformat()
    # The holder sees what happened and why, and which department, but not the clerk.
    assert [(h["action"], h["reason"]) for h in held] == [(r[0], r[4]) for r in rows]
    assert all("actor" not in h and h["department"] == "sh.police" for h in held)


def test_a_refused_change_leaves_no_history(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    with pytest.raises(Forbidden):
        change(session_factory, desks, desks.js_police, licence_id, "revoke")
    with pytest.raises(Conflict):
        change(session_factory, desks, desks.police, licence_id, "resume")
    from twonets.licences.models import LicenceHistory

    with session_factory() as session:
        actions = session.scalars(select(LicenceHistory.action)).all()
    assert actions == ["issued"]


def test_only_its_issuer_delegates_and_holder_see_a_history(
    desks: Desks, session_factory: sessionmaker[Session]
) -> None:
    licence_id = issue(session_factory, desks, desks.police)
    with session_factory() as session:
        other = principal_of(create_citizen(session, name="李四"))
        session.commit()
        with pytest.raises(Forbidden):
            service.licence_history(session, desks.js_police, licence_id=licence_id)
        with pytest.raises(Forbidden):
            service.licence_history(session, desks.traffic, licence_id=licence_id)
        with pytest.raises(NotFound):
            service.holder_history(session, other, licence_id=licence_id)
