"""Health status rules: green, yellow or red from the facts a health department reports.

Pure: facts and a time in, a colour and the reasons out. The reasons are sentences the holder
reads on their page (PIPL Art. 24: an automated decision is explained and can be appealed).

The rules, worst colour wins:

- a positive test in the last 14 days: red, until 14 days after the test;
- a close-contact flag in the last 14 days: red, unless a negative test taken 7 or more days
  after the contact; then yellow until day 14;
- a secondary-contact flag in the last 7 days: yellow, until a negative test taken after it;
- travel from a higher-risk area in the last 7 days: yellow, until a negative test taken
  after the return;
- otherwise green.

An upheld appeal sets the colour its decision gives; facts reported after the decision
apply again (a later positive test turns the code red whatever was decided before).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum


class Colour(StrEnum):
    """A health status."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class _Rank(IntEnum):
    GREEN = 0
    YELLOW = 1
    RED = 2


def rank(colour: Colour) -> int:
    """Green < yellow < red."""
    return _Rank[colour.name].value


class FactKind(StrEnum):
    """What a health department reports."""

    TEST = "test"
    CONTACT = "contact"
    TRAVEL = "travel"


TEST_VALUES = ("positive", "negative")
CONTACT_VALUES = ("close", "secondary")
POSITIVE_DAYS = 14
CLOSE_CONTACT_DAYS = 14
CLOSE_CONTACT_RELEASE_TEST_DAY = 7
SECONDARY_CONTACT_DAYS = 7
TRAVEL_DAYS = 7


@dataclass(frozen=True)
class Fact:
    """One reported fact: a test result, a contact flag, or travel from an area."""

    kind: FactKind
    value: str
    observed_at: datetime


@dataclass(frozen=True)
class Decision:
    """An upheld appeal: the colour decided at a time, and why."""

    colour: Colour
    decided_at: datetime
    reason: str


@dataclass(frozen=True)
class Assessment:
    """A colour and the reasons for it, each a sentence for the holder."""

    colour: Colour
    reasons: tuple[str, ...]

    def explanation(self) -> str:
        """The reasons as one paragraph."""
        return " ".join(self.reasons)


def check_fact(kind: str, value: str) -> str | None:
    """Why a fact cannot be recorded, or None when it can."""
    if kind not in {k.value for k in FactKind}:
        return f"kind should be one of {', '.join(k.value for k in FactKind)}, got {kind!r}"
    if kind == FactKind.TEST and value not in TEST_VALUES:
        return f"a test value should be one of {', '.join(TEST_VALUES)}, got {value!r}"
    if kind == FactKind.CONTACT and value not in CONTACT_VALUES:
        return f"a contact value should be one of {', '.join(CONTACT_VALUES)}, got {value!r}"
    if kind == FactKind.TRAVEL and not value.strip():
        return "a travel value names the area travelled from"
    return None


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _negative_after(facts: Sequence[Fact], moment: datetime, now: datetime) -> Fact | None:
    found = [
        f
        for f in facts
        if f.kind is FactKind.TEST and f.value == "negative" and moment <= f.observed_at <= now
    ]
    return max(found, key=lambda f: f.observed_at) if found else None


def assess(facts: Iterable[Fact], *, now: datetime, decision: Decision | None = None) -> Assessment:
    """The colour of a resident at ``now`` from their facts and any upheld appeal."""
    relevant = [f for f in facts if f.observed_at <= now]
    base: list[tuple[Colour, str]] = []
    if decision is not None and decision.decided_at <= now:
        # The decision replaces what the facts before it said; newer facts count again.
        relevant = [f for f in relevant if f.observed_at > decision.decided_at]
        base.append(
            (
                decision.colour,
                f"On appeal, health staff set your status to {decision.colour} on "
                f"{_day(decision.decided_at)}: {decision.reason}",
            )
        )
    found = base + _findings(relevant, now)
    if not found:
        return Assessment(Colour.GREEN, ("No test, contact or travel in the rules' windows.",))
    worst = max(rank(colour) for colour, _ in found)
    colour = next(c for c in Colour if rank(c) == worst)
    reasons = tuple(reason for c, reason in found if rank(c) == worst)
    return Assessment(colour, reasons)


def _findings(facts: Sequence[Fact], now: datetime) -> list[tuple[Colour, str]]:
    found: list[tuple[Colour, str]] = []
    for fact in sorted(facts, key=lambda f: f.observed_at):
        age = now - fact.observed_at
        day = _day(fact.observed_at)
        if fact.kind is FactKind.TEST and fact.value == "positive":
            if age < timedelta(days=POSITIVE_DAYS):
                until = _day(fact.observed_at + timedelta(days=POSITIVE_DAYS))
                found.append((Colour.RED, f"Positive test on {day}: red until {until}."))
        elif fact.kind is FactKind.CONTACT and fact.value == "close":
            if age < timedelta(days=CLOSE_CONTACT_DAYS):
                release = fact.observed_at + timedelta(days=CLOSE_CONTACT_RELEASE_TEST_DAY)
                until = _day(fact.observed_at + timedelta(days=CLOSE_CONTACT_DAYS))
                negative = _negative_after(facts, release, now)
                if negative is None:
                    found.append(
                        (
                            Colour.RED,
                            f"Close contact of a case on {day}: red until a negative test "
                            f"from {_day(release)} on, then yellow until {until}.",
                        )
                    )
                else:
                    found.append(
                        (
                            Colour.YELLOW,
                            f"Close contact on {day}, negative test on "
                            f"{_day(negative.observed_at)}: yellow until {until}.",
                        )
                    )
        elif fact.kind is FactKind.CONTACT and fact.value == "secondary":
            if age < timedelta(days=SECONDARY_CONTACT_DAYS) and (
                _negative_after(facts, fact.observed_at, now) is None
            ):
                found.append(
                    (
                        Colour.YELLOW,
                        f"Contact of a close contact on {day}: yellow until a negative test.",
                    )
                )
        elif (
            fact.kind is FactKind.TRAVEL
            and age < timedelta(days=TRAVEL_DAYS)
            and (_negative_after(facts, fact.observed_at, now) is None)
        ):
            found.append(
                (
                    Colour.YELLOW,
                    f"Returned from {fact.value} on {day}: yellow until a negative test.",
                )
            )
    return found
