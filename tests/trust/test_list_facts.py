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


def test_a_refused_recognition_names_the_field_at_fault(
    session_factory: sessionmaker[Session],
) -> None:
    import pytest

    from twonets.core.errors import TwonetsError

    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="JS", root_secret=ROOT, now=T, recognise=False)
        js_anchor = trust.anchor_pem(session, "JS", ROOT)
        js_list = trust.get_issuing_region(session, "JS").trust_list
        trust.ensure_issuing_region(session, region="ZJ", root_secret=ROOT, now=T, recognise=False)
        zj_anchor = trust.anchor_pem(session, "ZJ", ROOT)

    def refusal(anchor: str, trust_list: str) -> TwonetsError:
        with pytest.raises(TwonetsError) as caught, unit_of_work(session_factory) as session:
            trust.recognise_region(session, anchor=anchor, trust_list=trust_list, now=T)
        return caught.value

    not_a_key = refusal("not a key", js_list)
    wrong_anchor = refusal(zj_anchor, js_list)
    not_a_list = refusal(js_anchor, "not.a.list")

    assert [(p.field, p.rule) for p in not_a_key.errors] == [("anchor", "pem")]
    assert not_a_key.status == 422
    assert [p.field for p in wrong_anchor.errors] == ["trust_list"]
    assert wrong_anchor.status == 403  # a well-formed list that must not be trusted
    assert [p.field for p in not_a_list.errors] == ["trust_list"]
    assert not_a_list.status == 422
