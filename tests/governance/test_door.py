"""The one door: purposes, policies, masking, sealed fields and the record of every read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from scan_world import World, build_world, scan_tables
from twonets.core.auth import principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid, NotFound
from twonets.core.models import Account
from twonets.governance import reports, service
from twonets.governance.models import GovernanceChange, GranteeKind, PendingAccess, Policy
from twonets.governance.service import ReadQuery, read


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def _read(factory: sessionmaker[Session], world: World, who: str, purpose: str, **query: object):  # type: ignore[no-untyped-def]
    principal = getattr(world, who)
    with unit_of_work(factory) as session:
        return read(
            session,
            world.gov,
            principal,
            purpose=purpose,
            dataset="health.scan",
            query=ReadQuery(**query),
            now=NOW,  # type: ignore[arg-type]
        )


def test_health_sees_name_phone_and_the_unsealed_place(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    result = _read(session_factory, world, "health", "epidemic.tracing", limit=100)
    assert result.fields == ["name", "phone", "place", "district_code"]
    assert len(result.rows) == 9
    first = result.rows[0]
    assert first["name"] == "张三"
    assert first["phone"] == "13800000000"
    assert first["place"].startswith("人民广场 gate")


def test_police_see_only_what_their_policy_allows(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    result = _read(session_factory, world, "police", "public-security.investigation")
    assert result.fields == ["name", "district_code"]
    assert {r["name"] for r in result.rows} == {"张*", "李*", "王*"}
    assert all(set(r) == {"subject_id", "name", "district_code"} for r in result.rows)
    with pytest.raises(Forbidden, match="does not grant: phone, place"):
        _read(
            session_factory,
            world,
            "police",
            "public-security.investigation",
            fields=["name", "phone", "place"],
        )


def test_the_same_department_sees_more_for_the_epidemic_than_for_routine(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    epidemic = _read(session_factory, world, "police", "epidemic.tracing")
    assert epidemic.fields == ["name", "phone"]
    assert epidemic.rows[0]["phone"] == "138****0000"
    assert epidemic.rows[0]["name"] == "张三"


def test_an_ended_purpose_grants_nothing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.change_purpose(
            session,
            actor="dpo",
            code="epidemic.tracing",
            end_now=True,
            reason="the epidemic is over",
            now=NOW - timedelta(minutes=1),
        )
    with pytest.raises(Forbidden, match=r"purpose epidemic\.tracing expired on"):
        _read(session_factory, world, "police", "epidemic.tracing")
    with pytest.raises(Forbidden, match="expired"):
        _read(session_factory, world, "health", "epidemic.tracing")


def test_a_suspended_purpose_grants_nothing_until_resumed(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    from twonets.governance.models import PurposeStatus

    with unit_of_work(session_factory) as session:
        service.change_purpose(
            session,
            actor="dpo",
            code="epidemic.tracing",
            status=PurposeStatus.SUSPENDED,
            reason="under review",
            now=NOW,
        )
    with pytest.raises(Forbidden, match=r"is suspended"):
        _read(session_factory, world, "health", "epidemic.tracing")
    with unit_of_work(session_factory) as session:
        service.change_purpose(
            session,
            actor="dpo",
            code="epidemic.tracing",
            status=PurposeStatus.ACTIVE,
            reason="review done",
            now=NOW,
        )
    assert _read(session_factory, world, "health", "epidemic.tracing").rows


def test_a_department_without_a_grant_is_told_which_grant_is_missing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden) as caught:
        _read(session_factory, world, "housing", "epidemic.tracing")
    assert caught.value.detail == (
        "no grant: sh.housing holds no policy for purpose epidemic.tracing on dataset health.scan"
    )
    assert caught.value.extra["missing_grant"]["department"] == "sh.housing"


def test_a_district_policy_reads_only_its_own_district_with_pseudonyms(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    result = _read(session_factory, world, "district_ops", "epidemic.tracing")
    assert {r["district_code"] for r in result.rows} == {"310101"}
    assert all(r["name"].startswith("p_") for r in result.rows)
    same = {r["subject_id"]: r["name"] for r in result.rows}
    assert len(set(same.values())) == 2  # two residents of 310101, stable pseudonyms


def test_every_read_is_recorded_once_per_subject_and_shows_in_the_report(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    _read(session_factory, world, "health", "epidemic.tracing")
    _read(session_factory, world, "police", "epidemic.tracing")
    _read(session_factory, world, "police", "public-security.investigation")
    with session_factory() as session:
        pending = session.scalars(select(PendingAccess)).all()
        assert [len(p.subject_ids) for p in pending] == [3, 3, 3]  # three reads, three subjects
        report = reports.reads_of_subject(
            session, subject_kind="citizen", subject_id=world.citizens[0]
        )
    seen = {(r["department_code"], r["purpose_code"], tuple(r["fields"])) for r in report}
    assert seen == {
        ("sh.health", "epidemic.tracing", ("name", "phone", "place", "district_code")),
        ("sh.police", "epidemic.tracing", ("name", "phone")),
        ("sh.police", "public-security.investigation", ("name", "district_code")),
    }


def test_a_refused_read_records_nothing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden):
        _read(session_factory, world, "housing", "epidemic.tracing")
    with session_factory() as session:
        assert session.scalars(select(PendingAccess)).all() == []


def test_filters_must_be_on_granted_fields(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden, match="does not grant: phone"):
        _read(
            session_factory,
            world,
            "police",
            "public-security.investigation",
            where={"phone": "13800000000"},
        )
    found = _read(
        session_factory, world, "health", "epidemic.tracing", where={"phone": "13800000001"}
    )
    assert {r["subject_id"] for r in found.rows} == {world.citizens[1]}


def test_policies_are_versioned_and_every_change_is_logged(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        policy = service.set_policy(
            session,
            world.gov.catalogue,
            actor="dpo",
            grantee_kind=GranteeKind.DEPARTMENT,
            grantee="sh.police",
            purpose_code="public-security.investigation",
            dataset="health.scan",
            fields={"name": "keep"},
            reason="court order 42",
            now=NOW,
        )
        assert policy.version == 2
    assert _read(session_factory, world, "police", "public-security.investigation").rows[0][
        "name"
    ] in {"张三", "李四", "王五"}
    with unit_of_work(session_factory) as session:
        service.revoke_policy(
            session,
            actor="dpo",
            grantee_kind=GranteeKind.DEPARTMENT,
            grantee="sh.police",
            purpose_code="public-security.investigation",
            dataset="health.scan",
            reason="case closed",
            now=NOW,
        )
    with pytest.raises(Forbidden, match="no grant"):
        _read(session_factory, world, "police", "public-security.investigation")
    with session_factory() as session:
        versions = session.scalars(
            select(Policy.version).where(Policy.purpose_code == "public-security.investigation")
        ).all()
        assert sorted(versions) == [1, 2, 3]
        actions = [c.action for c in session.scalars(select(GovernanceChange))]
        assert actions.count("policy.set") == 5
        assert actions.count("policy.revoked") == 1


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"name": "blur"}, "fields.name", "mask-rule"),
        ({"nickname": "keep"}, "fields.nickname", "field-exists"),
        ({"name": "partial:0:0"}, "fields.name", "mask-rule"),
    ],
)
def test_bad_policies_name_the_field_and_rule(
    world: World,
    session_factory: sessionmaker[Session],
    fields: dict[str, str],
    field: str,
    rule: str,
) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.set_policy(
            session,
            world.gov.catalogue,
            actor="dpo",
            grantee_kind=GranteeKind.FUNCTION,
            grantee="housing",
            purpose_code="epidemic.tracing",
            dataset="health.scan",
            fields=fields,
            reason="x",
            now=NOW,
        )
    assert caught.value.errors[0].field == field
    assert caught.value.errors[0].rule == rule


def test_unknown_dataset_and_purpose(world: World, session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound, match="no dataset 'nope'"), session_factory() as session:
        read(session, world.gov, world.health, purpose="epidemic.tracing", dataset="nope", now=NOW)
    with pytest.raises(Forbidden, match="purpose nope does not exist"), session_factory() as s:
        read(s, world.gov, world.health, purpose="nope", dataset="health.scan", now=NOW)


def test_export_is_watermarked_and_logged_as_an_export(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        text, watermark = service.export(
            session,
            world.gov,
            world.health,
            purpose="epidemic.tracing",
            dataset="health.scan",
            query=ReadQuery(limit=1000),
            now=NOW,
        )
    assert text.startswith(f"# {watermark}\n")
    assert "exported by tracer (sh.health) for epidemic.tracing" in watermark
    lines = text.splitlines()
    assert lines[1] == "subject_id,name,phone,place,district_code,watermark"
    assert len(lines) == 2 + 9
    with session_factory() as session:
        kinds = set(session.scalars(select(PendingAccess.kind)))
    assert kinds == {"export"}


def test_key_rotation_keeps_old_values_readable_and_rewrap_moves_them(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        from twonets.governance import keys as r

        assert (
            r.rotate_dataset_key(session, world.gov, actor="dpo", dataset="health.scan", now=NOW)
            == 2
        )
    before = _read(session_factory, world, "health", "epidemic.tracing")
    assert before.rows[0]["place"].startswith("人民广场")
    from scan_world import scans

    with unit_of_work(session_factory) as session:
        assert r.rewrap_dataset(session, world.gov, dataset="health.scan", batch_size=100) == 9
        assert r.rewrap_dataset(session, world.gov, dataset="health.scan") == 0
        places = session.scalars(select(scans.c.place)).all()
    assert all(p.startswith("gcm1:2:") for p in places)
    after = _read(session_factory, world, "health", "epidemic.tracing")
    assert [x["place"] for x in after.rows] == [x["place"] for x in before.rows]


def test_a_citizen_gets_a_copy_of_their_data_and_the_purposes_holding_it(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        account = session.scalar(
            select(Account).where(Account.username == world.citizen_usernames[0])
        )
        assert account is not None
        copy = reports.my_data(session, world.gov, principal_of(account), now=NOW)
    scans_copy = copy["datasets"]["health.scan"]
    assert len(scans_copy["records"]) == 3
    assert scans_copy["records"][0]["place"].startswith("人民广场")  # opened for its owner
    purposes = {p["purpose"] for p in scans_copy["held_for"]}
    assert purposes == {"epidemic.tracing", "public-security.investigation"}
    assert "core.citizen" in copy["datasets"]
    with session_factory() as session:
        own = reports.reads_of_subject(
            session, subject_kind="citizen", subject_id=world.citizens[0]
        )
    assert {r["purpose_code"] for r in own} == {"subject.access"}


def test_minors_rows_need_a_policy_that_names_them(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    from datetime import date

    from builders import create_citizen, next_id_number

    with unit_of_work(session_factory) as session:
        child = create_citizen(
            session, id_number=next_id_number(birth=date(2016, 3, 1)), name="小明"
        ).citizen_id
        adult = world.citizens[0]

        def grant(row_filter: dict[str, str]) -> None:
            service.set_policy(
                session,
                world.gov.catalogue,
                actor="dpo",
                grantee_kind=GranteeKind.FUNCTION,
                grantee="health",
                purpose_code="epidemic.tracing",
                dataset="core.citizen",
                fields={"name": "keep"},
                row_filter=row_filter,
                reason="test",
                now=NOW,
            )

        grant({})
        found = read(
            session,
            world.gov,
            world.health,
            purpose="epidemic.tracing",
            dataset="core.citizen",
            query=ReadQuery(subject_ids=[adult, child]),
            now=NOW,
        )
        assert [r["subject_id"] for r in found.rows] == [adult]
        grant({"minors": "include"})
        found = read(
            session,
            world.gov,
            world.health,
            purpose="epidemic.tracing",
            dataset="core.citizen",
            query=ReadQuery(subject_ids=[adult, child]),
            now=NOW,
        )
        assert sorted(r["subject_id"] for r in found.rows) == sorted([adult, child])
        with pytest.raises(Invalid) as caught:
            service.set_policy(
                session,
                world.gov.catalogue,
                actor="dpo",
                grantee_kind=GranteeKind.FUNCTION,
                grantee="health",
                purpose_code="epidemic.tracing",
                dataset="health.scan",
                fields={"name": "keep"},
                row_filter={"minors": "include"},
                reason="x",
                now=NOW,
            )
        assert caught.value.errors[0].rule == "has-birth-date"


def test_key_versions_are_read_once_a_transaction_and_rotation_is_seen_at_once(
    world: World, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    from sqlalchemy import event

    from twonets.governance import keys as r

    statements: list[str] = []

    def count(*args: object) -> None:
        statement = str(args[2])
        if "dataset_key" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with unit_of_work(session_factory) as session:
            for _ in range(20):
                assert world.gov.keyring(session).current_version("health.scan") == 1
            assert len(statements) == 1
            r.rotate_dataset_key(session, world.gov, actor="dpo", dataset="health.scan", now=NOW)
            # The rotating session sees the new version at once.
            assert world.gov.keyring(session).current_version("health.scan") == 2
        with unit_of_work(session_factory) as session:
            before = len(statements)
            assert world.gov.keyring(session).current_version("health.scan") == 2
            # A new transaction reads the versions again.
            assert len(statements) == before + 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
