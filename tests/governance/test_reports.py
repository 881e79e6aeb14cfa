"""Reports of reads: pages that merge sealed entries with reads still waiting for the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from scan_world import World, build_world, scan_tables
from twonets.core.auth import principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid
from twonets.core.models import Account
from twonets.governance import ledger, reports
from twonets.governance.service import ReadQuery, read


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def _read_at(factory: sessionmaker[Session], world: World, hours_ago: list[int]) -> None:
    with unit_of_work(factory) as session:
        for hours in hours_ago:
            read(
                session,
                world.gov,
                world.health,
                purpose="epidemic.tracing",
                dataset="health.scan",
                query=ReadQuery(subject_ids=[world.citizens[0]]),
                now=NOW - timedelta(hours=hours),
            )


def test_pages_of_a_report_interleave_sealed_and_waiting_reads_by_time(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    _read_at(session_factory, world, [2, 4, 6, 8, 10, 12])
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, world.gov.signer, now=NOW)
    # Waiting reads both newer and older than sealed ones (a late sequencer, a backdated import).
    _read_at(session_factory, world, [1, 5, 9, 13])
    with session_factory() as session:
        account = session.scalar(
            select(Account).where(Account.username == world.citizen_usernames[0])
        )
        assert account is not None
        resident = principal_of(account)
        pages = [reports.my_report(session, resident, page=n, per_page=3) for n in (1, 2, 3, 4)]
    assert [p.matching for p in pages] == [10] * 4
    assert [p.pages for p in pages] == [4] * 4
    shown = [r for p in pages for r in p.reads]
    hours = [round((NOW.timestamp() - _moment(r["read_at"])) / 3600) for r in shown]
    assert hours == [1, 2, 4, 5, 6, 8, 9, 10, 12, 13]
    assert [r["in_ledger"] for r in shown] == [
        hours_ago in (2, 4, 6, 8, 10, 12) for hours_ago in hours
    ]
    assert pages[0].counts == {"reads": 10, "departments": 1, "purposes": 1, "copies": 0}
    assert [(d["department_code"], d["count"]) for d in pages[0].readers] == [("sh.health", 10)]


def _moment(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_a_report_is_only_for_a_data_subject_and_pages_from_one(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        with pytest.raises(Forbidden):
            reports.my_report(session, world.health)
        account = session.scalar(
            select(Account).where(Account.username == world.citizen_usernames[0])
        )
        assert account is not None
        with pytest.raises(Invalid) as caught:
            reports.my_report(session, principal_of(account), page=0)
    assert caught.value.errors[0].field == "page"


def test_only_the_officer_opens_a_readers_reads(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, pytest.raises(Forbidden):
        reports.reads_of_reader(
            session, world.health, actor="tracer", since=NOW - timedelta(days=30)
        )


def _read_subjects(
    factory: sessionmaker[Session], world: World, subjects: list[int], *, hours_ago: int
) -> None:
    with unit_of_work(factory) as session:
        read(
            session,
            world.gov,
            world.health,
            purpose="epidemic.tracing",
            dataset="health.scan",
            query=ReadQuery(subject_ids=subjects),
            now=NOW - timedelta(hours=hours_ago),
        )


def test_the_summary_counts_sealed_and_waiting_reads_and_each_subject_once(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    first, second = world.citizens[0], world.citizens[1]
    _read_subjects(session_factory, world, [first], hours_ago=5)
    _read_subjects(session_factory, world, [first, second], hours_ago=4)
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, world.gov.signer, now=NOW)
    # One more read of a subject already sealed, still waiting for the ledger.
    _read_subjects(session_factory, world, [second], hours_ago=1)
    with session_factory() as session:
        summary = reports.reads_summary(session, since=NOW - timedelta(days=1))
        readers = reports.unusual_readers(
            session, since=NOW - timedelta(days=1), factor=0, min_subjects=0
        )
    rows = [(r["department_code"], r["purpose_code"], r["reads"], r["subjects"]) for r in summary]
    assert rows == [("sh.health", "epidemic.tracing", 4, 2)]
    assert reports.reads_totals(summary) == reports.ReadsTotals(
        reads=4, departments=1, purposes=1, busiest=4
    )
    # A lone reader has no peers to compare with: counted, never flagged.
    assert readers == []


def test_the_totals_of_no_reads_are_zero() -> None:
    assert reports.reads_totals([]) == reports.ReadsTotals(0, 0, 0, 0)
