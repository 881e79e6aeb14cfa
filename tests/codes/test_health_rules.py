"""The health status rules: each rule, its window, what clears it, and appeals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.codes.health_rules import (
    Colour,
    Decision,
    Fact,
    FactKind,
    assess,
    check_fact,
    rank,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_no_facts_is_green_with_a_reason() -> None:
    result = assess([], now=NOW)
    assert result.colour is Colour.GREEN
    assert result.reasons


@pytest.mark.parametrize(
    ("facts", "colour"),
    [
        ([Fact(FactKind.TEST, "positive", _days_ago(3))], Colour.RED),
        ([Fact(FactKind.TEST, "positive", _days_ago(15))], Colour.GREEN),
        ([Fact(FactKind.CONTACT, "close", _days_ago(2))], Colour.RED),
        (
            [
                Fact(FactKind.CONTACT, "close", _days_ago(10)),
                Fact(FactKind.TEST, "negative", _days_ago(1)),
            ],
            Colour.YELLOW,
        ),
        (
            [  # a negative test before day 7 does not release a close contact
                Fact(FactKind.CONTACT, "close", _days_ago(10)),
                Fact(FactKind.TEST, "negative", _days_ago(8)),
            ],
            Colour.RED,
        ),
        ([Fact(FactKind.CONTACT, "secondary", _days_ago(2))], Colour.YELLOW),
        (
            [
                Fact(FactKind.CONTACT, "secondary", _days_ago(2)),
                Fact(FactKind.TEST, "negative", _days_ago(1)),
            ],
            Colour.GREEN,
        ),
        ([Fact(FactKind.TRAVEL, "Area X", _days_ago(3))], Colour.YELLOW),
        ([Fact(FactKind.TRAVEL, "Area X", _days_ago(8))], Colour.GREEN),
        (
            [
                Fact(FactKind.TRAVEL, "Area X", _days_ago(3)),
                Fact(FactKind.TEST, "positive", _days_ago(1)),
            ],
            Colour.RED,
        ),
    ],
)
def test_rules(facts: list[Fact], colour: Colour) -> None:
    result = assess(facts, now=NOW)
    assert result.colour is colour
    assert result.explanation()


def test_future_facts_do_not_count_yet() -> None:
    assert assess([Fact(FactKind.TEST, "positive", NOW + timedelta(hours=1))], now=NOW).colour is (
        Colour.GREEN
    )


def test_an_upheld_appeal_replaces_earlier_facts_but_not_later_ones() -> None:
    decision = Decision(Colour.GREEN, _days_ago(1), "the contact record was wrong")
    facts = [Fact(FactKind.CONTACT, "close", _days_ago(2))]
    upheld = assess(facts, now=NOW, decision=decision)
    assert upheld.colour is Colour.GREEN
    assert "the contact record was wrong" in upheld.explanation()
    later = [*facts, Fact(FactKind.TEST, "positive", _days_ago(0.5))]
    assert assess(later, now=NOW, decision=decision).colour is Colour.RED


def test_fact_checks_name_the_problem() -> None:
    assert check_fact("test", "positive") is None
    assert "test value" in (check_fact("test", "maybe") or "")
    assert "kind should" in (check_fact("rumour", "x") or "")
    assert "names the area" in (check_fact("travel", " ") or "")


FACTS = st.builds(
    Fact,
    st.sampled_from(list(FactKind)),
    st.sampled_from(["positive", "negative", "close", "secondary", "Area X"]),
    st.integers(min_value=0, max_value=40 * 24).map(lambda h: NOW - timedelta(hours=h)),
)


@given(st.lists(FACTS, max_size=8), FACTS)
def test_a_positive_test_never_makes_things_greener(facts: list[Fact], extra: Fact) -> None:
    positive = Fact(FactKind.TEST, "positive", extra.observed_at)
    before = assess(facts, now=NOW)
    after = assess([*facts, positive], now=NOW)
    assert rank(after.colour) >= rank(before.colour)
    assert after.reasons
