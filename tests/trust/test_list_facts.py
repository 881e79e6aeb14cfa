"""What the trust page shows of a recognised region's list: its claims and whether it holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.trust import service as trust

ROOT = b"f" * 32
T = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_a_list_is_current_then_stale_and_a_foreign_anchor_breaks_it(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=T)
        trust.ensure_issuing_region(session, region="JS", root_secret=ROOT, now=T, recognise=False)
        home = trust.list_recognised(session)[0]

        current = trust.describe_recognised(home, T)
        stale = trust.describe_recognised(home, T + timedelta(days=31))
        # A list checked against another region's anchor does not verify.
        home.anchor_pem = trust.anchor_pem(session, "JS", ROOT)
        broken = trust.describe_recognised(home, T)
        session.rollback()

    assert (current.state, current.sequence, current.keys, current.problem) == (
        "current",
        1,
        1,
        "",
    )
    assert current.next_update is not None
    assert datetime.fromisoformat(current.next_update.replace("Z", "+00:00")) == T + timedelta(
        days=30
    )
    assert stale.state == "stale"
    assert "expired at" in stale.problem
    assert (broken.state, broken.sequence) == ("broken", 1)  # what it claims is still shown
    assert "anchor" in broken.problem
