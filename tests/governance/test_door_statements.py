"""The door's own statements on the driver's cursor: the grant stamp with the key versions,
and the pending ledger row. What they read and write is what SQLAlchemy's execution gave."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from scan_world import World, build_world, scan_tables, set_police_phone
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.governance import keys
from twonets.governance.models import PendingAccess, Policy
from twonets.governance.service import ReadQuery, ReadResult, read
from twonets.governance.service.context import kept_key_versions

PURPOSE = "epidemic.tracing"


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def _read(session: Session, world: World, reader: str = "health") -> ReadResult:
    return read(
        session,
        world.gov,
        getattr(world, reader),
        purpose=PURPOSE,
        dataset="health.scan",
        query=ReadQuery(limit=100),
        now=NOW,
    )


def test_a_read_of_sealed_fields_keeps_the_key_versions_read_with_the_stamp(
    world: World, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        keys.rotate_dataset_key(session, world.gov, actor="dpo", dataset="health.scan", now=NOW)
    statements: list[str] = []

    def note(*args: object) -> None:
        if "dataset_key" in str(args[2]):
            statements.append(str(args[2]))

    with unit_of_work(session_factory) as session:
        assert kept_key_versions(session) is None
        first = _read(session, world)
        assert kept_key_versions(session) == (("health.scan", 2),)
        event.listen(engine, "before_cursor_execute", note)
        try:
            # The keyring the read opened with needs no statement of its own.
            assert world.gov.keyring(session).current_version("health.scan") == 2
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert statements == []
        # A rotation in the same transaction is seen by the next read's statement.
        keys.rotate_dataset_key(session, world.gov, actor="dpo", dataset="health.scan", now=NOW)
        again = _read(session, world)
        assert kept_key_versions(session) == (("health.scan", 3),)
    assert [r["place"] for r in again.rows] == [r["place"] for r in first.rows]
    assert first.rows[0]["place"].startswith("人民广场")


def test_a_policy_changed_in_the_reading_session_is_seen_by_its_next_read(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        assert _read(session, world, "police").rows[0]["phone"] == "138****0000"
        set_police_phone(session, world, "redact")
        assert _read(session, world, "police").rows[0]["phone"] is None


def test_a_policy_changed_but_not_flushed_is_seen_by_the_next_read(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    """The stamp is read after the session's autoflush, as the ORM's query of it was: the
    flush of a changed policy puts a new stamp, so the grant is worked out anew."""
    with unit_of_work(session_factory) as session:
        assert _read(session, world, "police").rows
        versions = session.scalars(
            select(Policy).where(Policy.grantee == "sh.police", Policy.purpose_code == PURPOSE)
        ).all()
        newest = max(versions, key=lambda policy: policy.version)
        newest.revoked = True  # changed in the session, not flushed
        with pytest.raises(Forbidden, match="no grant"):
            _read(session, world, "police")


def test_the_pending_row_holds_what_the_read_returned(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        result = _read(session, world, "police")
        pending = session.scalars(
            select(PendingAccess).where(PendingAccess.request_id == result.request_id)
        ).one()
        assert pending.subject_ids == list(dict.fromkeys(r["subject_id"] for r in result.rows))
        assert pending.fields == ["name", "phone"]
        assert (pending.actor, pending.department_code) == ("officer", "sh.police")
        assert (pending.purpose_code, pending.dataset, pending.kind) == (
            PURPOSE,
            "health.scan",
            "read",
        )
        assert pending.read_at == NOW
