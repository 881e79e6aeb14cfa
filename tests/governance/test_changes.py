"""The audit of governance changes: dated order, versions of one grant, what each changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from scan_world import World, build_world, scan_tables
from twonets.core.db import unit_of_work
from twonets.governance import service
from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.service import Difference, DifferenceKind, VersionChange


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def test_recent_changes_come_newest_first_by_date_not_by_insertion(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # Written in this order, dated out of it (as the demo and imports do).
    with unit_of_work(session_factory) as session:
        for code, days_ago in (("old.one", 300), ("new.one", 1), ("middle.one", 100)):
            service.create_purpose(
                session,
                actor="dpo",
                code=code,
                name=code,
                legal_basis=LegalBasis.STATUTORY_DUTY,
                owner_department_code="sh.health",
                valid_from=NOW - timedelta(days=days_ago),
                valid_until=None,
                retention_days=30,
                now=NOW - timedelta(days=days_ago),
            )
    with session_factory() as session:
        changes = service.list_changes(session)
    moments = [c.at for c in changes]
    assert moments == sorted(moments, reverse=True)
    targets = [c.target for c in changes if c.action == "purpose.created"]
    assert targets[-3:] == ["new.one", "middle.one", "old.one"]


def test_the_versions_of_one_grant_come_from_the_database_oldest_first(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        for fields in ({"name": "keep"}, {"name": "keep", "phone": "partial:3:4"}):
            service.set_policy(
                session,
                world.gov.catalogue,
                actor="dpo",
                grantee_kind=GranteeKind.DEPARTMENT,
                grantee="sh.police",
                purpose_code="public-security.investigation",
                dataset="health.scan",
                fields=fields,
                reason="court order",
                now=NOW,
            )
    with session_factory() as session:
        versions = service.policy_versions(
            session,
            grantee_kind=GranteeKind.DEPARTMENT,
            grantee="sh.police",
            purpose_code="public-security.investigation",
            dataset="health.scan",
        )
        assert [v.version for v in versions] == [1, 2, 3]
        first, second, _ = versions
        assert service.version_differences(None, first) == (VersionChange.FIRST, [])
        change, differences = service.version_differences(first, second)
    assert change is VersionChange.CHANGED
    assert differences == [
        Difference(
            "fields", DifferenceKind.CHANGED, before="partial:1:0", after="keep", item="name"
        ),
        Difference("fields", DifferenceKind.REMOVED, before="keep", item="district_code"),
    ]


def test_an_audited_change_lists_each_changed_value() -> None:
    before = {"id": 1, "version": 1, "fields": {"name": "keep", "phone": "keep"}, "revoked": False}
    after = {"id": 2, "version": 2, "fields": {"name": "keep", "address": "keep"}, "revoked": False}

    assert service.change_differences(before, after) == [
        Difference("version", DifferenceKind.CHANGED, before=1, after=2),
        Difference("fields", DifferenceKind.REMOVED, before="keep", item="phone"),
        Difference("fields", DifferenceKind.ADDED, after="keep", item="address"),
    ]
    created = service.change_differences(None, {"code": "x.y", "retention_days": 30})
    assert created == [Difference("retention_days", DifferenceKind.ADDED, after=30)]
    assert service.change_differences(before, None) == []
