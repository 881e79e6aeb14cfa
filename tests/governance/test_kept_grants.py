"""Grants kept across transactions: the next read after a write of a purpose or a policy
sees it, whether it was written through this engine or another one on the same database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from scan_world import World, build_world, scan_tables, set_police_phone
from twonets.core.auth import Principal
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.errors import Forbidden
from twonets.governance import service
from twonets.governance.models import GranteeKind, GrantStamp, PurposeStatus
from twonets.governance.service import ReadQuery, ReadResult, read

PURPOSE = "epidemic.tracing"


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


@pytest.fixture
def other_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions of a second engine on the same database: another process, as far as the
    door can tell (its own connections, nothing shared with the first engine's pool)."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    yield make_session_factory(other)
    other.dispose()


def _read_police(factory: sessionmaker[Session], world: World) -> ReadResult:
    with unit_of_work(factory) as session:
        return read(
            session,
            world.gov,
            world.police,
            purpose=PURPOSE,
            dataset="health.scan",
            query=ReadQuery(limit=100),
            now=NOW,
        )


def _set_police_phone(factory: sessionmaker[Session], world: World, rule: str) -> None:
    with unit_of_work(factory) as session:
        set_police_phone(session, world, rule)


def _revoke_police(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        service.revoke_policy(
            session,
            actor="dpo",
            grantee_kind=GranteeKind.DEPARTMENT,
            grantee="sh.police",
            purpose_code=PURPOSE,
            dataset="health.scan",
            reason="tracing ended",
            now=NOW,
        )


def _kept(engine: Engine, factory: sessionmaker[Session], world: World) -> None:
    """Read twice: the second read is served from the kept grant (no policy query)."""
    _read_police(factory, world)
    with _policy_queries(engine) as seen:
        _read_police(factory, world)
    assert seen == []


@contextmanager
def _policy_queries(engine: Engine) -> Iterator[list[str]]:
    """The statements run on ``engine`` that read the policy table, while in the block."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        statement = str(args[2])
        if "gov_policy" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_kept_grant_spares_the_policy_query_until_a_write(
    world: World, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _read_police(session_factory, world)
    with _policy_queries(engine) as seen:
        assert _read_police(session_factory, world).rows[0]["phone"] == "138****0000"
    assert seen == []
    _set_police_phone(session_factory, world, "redact")
    with _policy_queries(engine) as seen:
        assert _read_police(session_factory, world).rows[0]["phone"] is None
    assert len(seen) == 1


@pytest.mark.parametrize("writer", ["same engine", "other engine"])
def test_a_revoked_grant_refuses_the_very_next_read(
    world: World,
    engine: Engine,
    session_factory: sessionmaker[Session],
    other_factory: sessionmaker[Session],
    writer: str,
) -> None:
    _kept(engine, session_factory, world)
    _revoke_police(session_factory if writer == "same engine" else other_factory)
    with pytest.raises(Forbidden, match="no grant"):
        _read_police(session_factory, world)


@pytest.mark.parametrize("writer", ["same engine", "other engine"])
def test_a_changed_policy_masks_the_very_next_read_anew(
    world: World,
    engine: Engine,
    session_factory: sessionmaker[Session],
    other_factory: sessionmaker[Session],
    writer: str,
) -> None:
    _kept(engine, session_factory, world)
    before = _read_police(session_factory, world)
    assert before.masks["phone"] == "partial:3:4"
    assert before.rows[0]["phone"] == "138****0000"
    _set_police_phone(
        session_factory if writer == "same engine" else other_factory, world, "partial:0:2"
    )
    after = _read_police(session_factory, world)
    assert after.masks["phone"] == "partial:0:2"
    assert after.policy_version == before.policy_version + 1
    assert after.rows[0]["phone"] == "*********00"


def test_a_purpose_suspended_elsewhere_grants_nothing_at_the_next_read(
    world: World,
    engine: Engine,
    session_factory: sessionmaker[Session],
    other_factory: sessionmaker[Session],
) -> None:
    _kept(engine, session_factory, world)
    with unit_of_work(other_factory) as session:
        service.change_purpose(
            session, actor="dpo", code=PURPOSE, status=PurposeStatus.SUSPENDED, reason="r", now=NOW
        )
    with pytest.raises(Forbidden, match="suspended"):
        _read_police(session_factory, world)
    with unit_of_work(other_factory) as session:
        service.change_purpose(
            session, actor="dpo", code=PURPOSE, status=PurposeStatus.ACTIVE, reason="r", now=NOW
        )
    assert _read_police(session_factory, world).rows[0]["phone"] == "138****0000"


def test_a_write_rolled_back_leaves_no_grant_behind(
    world: World, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _kept(engine, session_factory, world)
    with session_factory() as session:
        service.revoke_policy(
            session,
            actor="dpo",
            grantee_kind=GranteeKind.DEPARTMENT,
            grantee="sh.police",
            purpose_code=PURPOSE,
            dataset="health.scan",
            reason="not yet",
            now=NOW,
        )
        # The writer's own transaction sees its revocation...
        with pytest.raises(Forbidden, match="no grant"):
            read(session, world.gov, world.police, purpose=PURPOSE, dataset="health.scan", now=NOW)
        session.rollback()
    # ...which never happened for anyone else,
    assert _read_police(session_factory, world).rows[0]["phone"] == "138****0000"
    # and a later write is seen, though the rolled-back one came first.
    _set_police_phone(session_factory, world, "redact")
    assert _read_police(session_factory, world).rows[0]["phone"] is None


def test_without_the_stamp_every_read_works_its_grant_out(
    world: World, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        session.execute(delete(GrantStamp))
    with _policy_queries(engine) as seen:
        _read_police(session_factory, world)
        _read_police(session_factory, world)
    assert len(seen) == 2
    # The next write puts the row back.
    _set_police_phone(session_factory, world, "redact")
    with session_factory() as session:
        assert session.scalar(select(GrantStamp.stamp)) is not None
    assert _read_police(session_factory, world).rows[0]["phone"] is None


def test_a_kept_read_statement_serves_only_its_own_district_and_page(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    """Readers of two districts under one policy, and two pages, never share a statement."""
    other_district = dataclasses.replace(world.district_ops, district_code="310104")

    def districts(principal: Principal, **page: int) -> list[str]:
        with unit_of_work(session_factory) as session:
            result = read(
                session,
                world.gov,
                principal,
                purpose=PURPOSE,
                dataset="health.scan",
                query=ReadQuery(**page),
                now=NOW,
            )
        return [row["district_code"] for row in result.rows]

    for _ in range(2):
        assert districts(world.district_ops) == ["310101"] * 6
        assert districts(other_district) == ["310104"] * 3
        assert districts(world.district_ops, limit=2, offset=5) == ["310101"]
