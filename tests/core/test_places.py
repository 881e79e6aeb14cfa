"""Tests of the reference data of districts and regions."""

from __future__ import annotations

import pytest

from twonets.core.places import (
    DISTRICTS,
    REGIONS,
    SHANGHAI_TOTAL_POPULATION,
    get_district,
    get_region,
)


def test_sixteen_districts_with_unique_shanghai_codes() -> None:
    codes = [d.code for d in DISTRICTS]
    assert len(codes) == 16
    assert len(set(codes)) == 16
    assert all(len(code) == 6 and code.isdigit() and code[:4] == "3101" for code in codes)


def test_census_totals_add_up() -> None:
    assert sum(d.population_2020 for d in DISTRICTS) == SHANGHAI_TOTAL_POPULATION == 24_870_895
    by_kind = {
        kind: sum(d.population_2020 for d in DISTRICTS if d.kind == kind)
        for kind in ("central", "pudong", "suburban")
    }
    assert by_kind == {"central": 6_683_712, "pudong": 5_681_512, "suburban": 12_505_671}


def test_central_districts_are_the_seven_inner_ones() -> None:
    central = {d.name_en for d in DISTRICTS if d.kind == "central"}
    assert central == {"Huangpu", "Xuhui", "Changning", "Jing'an", "Putuo", "Hongkou", "Yangpu"}
    assert [d.code for d in DISTRICTS if d.kind == "pudong"] == ["310115"]


def test_get_district() -> None:
    huangpu = get_district("310101")
    assert (huangpu.name, huangpu.name_en, huangpu.population_2020) == (
        "黄浦区",
        "Huangpu",
        662_030,
    )
    with pytest.raises(KeyError, match="310102"):
        get_district("310102")  # the former Nanshi district, merged into Huangpu in 2000


def test_regions_are_the_four_yrd_provinces_with_shanghai_at_home() -> None:
    assert {r.code for r in REGIONS} == {"SH", "JS", "ZJ", "AH"}
    assert {r.admin_code for r in REGIONS} == {"310000", "320000", "330000", "340000"}
    assert [r.code for r in REGIONS if r.home] == ["SH"]
    assert get_region("SH").population_2020 == SHANGHAI_TOTAL_POPULATION


@pytest.mark.parametrize(
    ("code", "expected"),
    [("SH", "上海市"), ("js", "江苏省"), ("330000", "浙江省"), ("340000", "安徽省")],
)
def test_get_region_accepts_short_and_admin_codes(code: str, expected: str) -> None:
    assert get_region(code).name == expected


def test_get_region_unknown() -> None:
    with pytest.raises(KeyError, match="no Yangtze River Delta region"):
        get_region("110000")
