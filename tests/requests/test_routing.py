"""Routing rules: category × district × the enterprise's registration (pure functions)."""

from __future__ import annotations

from twonets.requests import categories, routing
from twonets.requests.categories import Level

UNITS = [
    routing.Unit(1, "310101.market", "黄浦区市场监管局", "market-regulation", "district", "310101"),
    routing.Unit(2, "310104.market", "徐汇区市场监管局", "market-regulation", "district", "310104"),
    routing.Unit(3, "sh.market", "市市场监管局", "market-regulation", "city", None),
    routing.Unit(4, "sh.services", "市政务服务办公室", "government-services", "city", None),
]


def codes(found: list[routing.Candidate]) -> list[str]:
    return [c.unit.code for c in found]


def test_district_categories_go_to_the_district_of_registration_first() -> None:
    found = routing.propose(
        UNITS, function="market-regulation", level=Level.DISTRICT, district_code="310104"
    )
    assert codes(found) == ["310104.market", "sh.market", "sh.services"]
    assert found[0].reason == "market-regulation of district 310104"


def test_city_categories_and_foreign_invested_firms_go_to_the_city_first() -> None:
    city = routing.propose(
        UNITS, function="market-regulation", level=Level.CITY, district_code="310101"
    )
    assert codes(city) == ["sh.market", "310101.market", "sh.services"]
    foreign = routing.propose(
        UNITS,
        function="market-regulation",
        level=Level.DISTRICT,
        district_code="310101",
        industry="foreign-invested",
    )
    assert codes(foreign)[0] == "sh.market"
    assert "foreign-invested" in foreign[0].reason


def test_declined_departments_are_never_proposed_again() -> None:
    found = routing.propose(
        UNITS,
        function="market-regulation",
        level=Level.DISTRICT,
        district_code="310101",
        excluded=[1, 3],
    )
    assert codes(found) == ["sh.services"]
    assert (
        routing.propose(
            UNITS, function="tax", level=Level.DISTRICT, district_code="310101", excluded=[4]
        )
        == []
    )


def test_a_function_without_departments_falls_back_to_the_hub() -> None:
    found = routing.propose(UNITS, function="tax", level=Level.DISTRICT, district_code=None)
    assert codes(found) == ["sh.services"]


def test_every_category_is_well_formed() -> None:
    codes_seen = [c.code for c in categories.ENTERPRISE_CATEGORIES]
    assert len(codes_seen) == len(set(codes_seen)) >= 12
    assert all(c.limit_days > 0 and c.department_function for c in categories.ENTERPRISE_CATEGORIES)
    assert categories.is_enterprise_category("ent-tax")
    assert not categories.is_enterprise_category("E0102")
