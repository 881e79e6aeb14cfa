"""The verifier's kept trust store: reused between checks, rebuilt when the lists change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.trust import service as trust

ROOT = b"r" * 32
T = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_the_store_is_kept_until_a_list_changes_and_rechecked_on_its_period(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=T)
        trust.ensure_issuing_region(session, region="JS", root_secret=ROOT, now=T, recognise=False)
        trust.recognise_region(
            session,
            anchor=trust.anchor_pem(session, "JS", ROOT),
            trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
            now=T,
        )
    cache = trust.CachedTrustStore(ROOT, recheck=timedelta(minutes=1))
    with unit_of_work(session_factory) as session:
        first = cache.get(session, T)
        assert cache.get(session, T + timedelta(seconds=30)) is first
        assert cache.get(session, T + timedelta(minutes=2)) is first  # asked, nothing changed
        trust.drop_region(session, region="JS")
        # Within the recheck period the kept store answers; after it, the drop is seen.
        assert cache.get(session, T + timedelta(minutes=2, seconds=30)) is first
        rebuilt = cache.get(session, T + timedelta(minutes=4))
    assert rebuilt is not first
    assert set(first.regions) - set(rebuilt.regions) == {"JS"}
