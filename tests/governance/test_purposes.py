"""Purposes through the service itself: every rule holds for the API, pages, commands and demo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import NOW, create_department
from twonets.core.errors import Invalid
from twonets.governance import service
from twonets.governance.models import LegalBasis, Purpose


@pytest.fixture
def owner(session: Session) -> str:
    department = create_department(session, code="t.health", function="health")
    session.commit()
    return department.code


def _declare(session: Session, owner: str, **changes: Any) -> Purpose:
    values: dict[str, Any] = {
        "actor": "dpo",
        "code": "flood.relief",
        "name": "防汛救灾 Flood relief",
        "legal_basis": LegalBasis.PUBLIC_HEALTH_EMERGENCY,
        "owner_department_code": owner,
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=90),
        "retention_days": 90,
        "now": NOW,
    }
    return service.create_purpose(session, **{**values, **changes})


def _problems(session: Session, owner: str, **changes: Any) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        _declare(session, owner, **changes)
    session.rollback()
    return {p.field: p.rule for p in caught.value.errors}


def test_a_purpose_meeting_every_rule_is_declared(session: Session, owner: str) -> None:
    purpose = _declare(session, owner, code="flood.relief-2026", name="  Flood relief  ")
    assert purpose.code == "flood.relief-2026"
    assert purpose.name == "Flood relief"
    assert purpose.legal_basis == LegalBasis.PUBLIC_HEALTH_EMERGENCY


@pytest.mark.parametrize(
    "code",
    ["Flood.Relief", "flood", "flood relief.x", "1flood.relief", "flood..relief", "flood.relief."],
)
def test_a_code_breaking_the_pattern_is_refused(session: Session, owner: str, code: str) -> None:
    assert _problems(session, owner, code=code) == {"code": "pattern"}
    assert session.scalar(select(Purpose.code)) is None


def test_a_code_over_64_characters_is_refused(session: Session, owner: str) -> None:
    assert _problems(session, owner, code="a." + "b" * 63) == {"code": "pattern"}


@pytest.mark.parametrize("name", ["", "   ", "名" * 129])
def test_a_name_empty_or_over_128_characters_is_refused(
    session: Session, owner: str, name: str
) -> None:
    assert _problems(session, owner, name=name) == {"name": "length"}


@pytest.mark.parametrize("days", [-1, 36_501])
def test_retention_outside_0_to_36500_days_is_refused(
    session: Session, owner: str, days: int
) -> None:
    assert _problems(session, owner, retention_days=days) == {"retention_days": "range"}


def test_retention_at_its_bounds_is_accepted(session: Session, owner: str) -> None:
    assert _declare(session, owner, code="a.zero", retention_days=0).retention_days == 0
    assert _declare(session, owner, code="a.most", retention_days=36_500).retention_days == 36_500


def test_an_unknown_legal_basis_is_refused(session: Session, owner: str) -> None:
    assert _problems(session, owner, legal_basis="because") == {"legal_basis": "known"}


def test_every_broken_rule_is_named_at_once(session: Session, owner: str) -> None:
    problems = _problems(
        session,
        owner,
        code="BAD",
        name="",
        retention_days=-5,
        valid_until=NOW - timedelta(days=1),
        owner_department_code="nobody",
    )
    assert problems == {
        "code": "pattern",
        "name": "length",
        "retention_days": "range",
        "valid_until": "after-valid-from",
        "owner_department_code": "exists",
    }


def test_a_change_needs_a_reason_of_at_most_2000_characters(session: Session, owner: str) -> None:
    _declare(session, owner)
    for reason, rule in ((" ", "required"), ("x" * 2001, "length")):
        with pytest.raises(Invalid) as caught:
            service.change_purpose(
                session, actor="dpo", code="flood.relief", end_now=True, reason=reason, now=NOW
            )
        assert [(p.field, p.rule) for p in caught.value.errors] == [("reason", rule)]
