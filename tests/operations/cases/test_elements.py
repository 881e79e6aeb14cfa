"""Management elements: the shipped catalogue, category codes and component identifiers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from builders import NOW
from twonets.core.errors import Conflict, Invalid
from twonets.core.geo import wgs84_to_gcj02
from twonets.operations.cases import catalogue, elements
from twonets.operations.cases.elements import ElementKind

STANDARD_MAJORS = {
    ElementKind.COMPONENT: {
        "01": "公用设施",
        "02": "道路交通",
        "03": "市容环境",
        "04": "园林绿化",
        "05": "房屋土地",
        "06": "其他设施",
    },
    ElementKind.EVENT: {
        "01": "市容环境",
        "02": "宣传广告",
        "03": "施工管理",
        "04": "突发事件",
        "05": "街面秩序",
        "06": "其他事件",
    },
}


def test_the_catalogue_has_the_standards_major_categories() -> None:
    found: dict[ElementKind, dict[str, str]] = {k: {} for k in ElementKind}
    for minor in elements.load_standard():
        found[minor.kind][minor.major] = minor.major_name

    assert found == STANDARD_MAJORS


def test_every_category_has_limits_for_every_urgency() -> None:
    for minor in elements.load_standard():
        assert set(minor.limits_hours) == {"normal", "urgent", "emergency"}
        assert minor.limits_hours["emergency"] <= minor.limits_hours["urgent"]
        assert minor.limits_hours["urgent"] <= minor.limits_hours["normal"]


def test_an_identifier_combines_district_category_and_sequence() -> None:
    assert elements.make_identifier("310101", "01", "11", 42) == "3101010111000042"
    parsed = elements.parse_identifier("3101010111000042")
    assert (parsed.district_code, parsed.category, parsed.sequence) == ("310101", "C0111", 42)


@given(
    district=st.from_regex(r"\A[1-9]\d{5}\Z"),
    major=st.integers(1, 99),
    minor=st.integers(1, 99),
    seq=st.integers(1, 999_999),
)
def test_identifiers_round_trip(district: str, major: int, minor: int, seq: int) -> None:
    text = elements.make_identifier(district, f"{major:02d}", f"{minor:02d}", seq)
    parsed = elements.parse_identifier(text)

    assert len(text) == 16
    assert str(parsed) == text
    assert (parsed.district_code, int(parsed.major), int(parsed.minor), parsed.sequence) == (
        district,
        major,
        minor,
        seq,
    )


@given(st.text(max_size=20))
def test_the_identifier_parser_names_the_field_or_parses(text: str) -> None:
    try:
        parsed = elements.parse_identifier(text, field="component")
    except Invalid as exc:
        problem = exc.errors[0]
        parsed = None
    if parsed is None:
        assert (problem.field, problem.rule) == ("component", "component-identifier")
    else:
        assert str(parsed) == text.strip()


@given(st.text(max_size=8))
def test_the_category_parser_names_the_field_or_parses(text: str) -> None:
    try:
        parsed = elements.parse_category_code(text)
    except Invalid as exc:
        problem = exc.errors[0]
        parsed = None
    if parsed is None:
        assert problem.rule == "category-code"
    else:
        assert elements.category_code(*parsed) == text.strip().upper()


@pytest.mark.parametrize("bad", ["E01", "X0101", "E0001", "C0100", "E01011"])
def test_bad_category_codes(bad: str) -> None:
    with pytest.raises(Invalid):
        elements.parse_category_code(bad)


def test_elements_load_once_and_admin_adds_a_minor(session: Session) -> None:
    assert catalogue.ensure_elements(session) == len(elements.load_standard())
    assert catalogue.ensure_elements(session) == 0

    added = catalogue.add_category(
        session,
        code="E0560",
        name="共享单车堆积",
        name_en="Shared bikes piled up",
        department_function="urban-management",
        limits_hours={"normal": 8, "urgent": 4, "emergency": 2},
    )
    assert (added.major_name, added.extension) == ("街面秩序", True)
    with pytest.raises(Conflict):
        catalogue.add_category(
            session,
            code="E0560",
            name="x",
            name_en="x",
            department_function="x",
            limits_hours={"normal": 8, "urgent": 4, "emergency": 2},
        )
    with pytest.raises(Invalid) as caught:
        catalogue.add_category(
            session,
            code="E0960",
            name="x",
            name_en="x",
            department_function="x",
            limits_hours={"normal": 8, "urgent": 4, "emergency": 2},
        )
    assert caught.value.errors[0].rule == "major-exists"
    with pytest.raises(Invalid) as caught:
        catalogue.set_limits(session, "E0560", {"normal": 0, "urgent": 4, "emergency": 2})
    assert caught.value.errors[0].field == "limits_hours.normal"


def test_components_get_the_next_sequence_of_their_district(session: Session) -> None:
    catalogue.ensure_elements(session)
    cover = {"category": "C0111", "crs": "wgs84", "note": None, "now": NOW}
    a = catalogue.register_component(session, lon=121.4737, lat=31.2304, **cover)
    b = catalogue.register_component(session, lon=121.4740, lat=31.2310, **cover)
    c = catalogue.register_component(session, lon=121.5440, lat=31.2210, **cover)

    assert a.identifier == "3101010111000001"
    assert b.identifier == "3101010111000002"
    assert c.identifier == "3101150111000001"  # Pudong starts its own sequence
    with pytest.raises(Invalid) as caught:
        catalogue.register_component(
            session, lon=121.4737, lat=31.2304, category="E0102", crs="wgs84", note=None, now=NOW
        )
    assert caught.value.errors[0].rule == "component"


def test_calendar_days(session: Session) -> None:
    catalogue.set_calendar_day(session, day="2026-10-01", kind="holiday", name="National Day")
    catalogue.set_calendar_day(session, day="2026-10-10", kind="workday", name="调休")
    cal = catalogue.calendar(session)

    assert not cal.is_working_day(date(2026, 10, 1))
    assert cal.is_working_day(date(2026, 10, 10))
    with pytest.raises(Invalid) as caught:
        catalogue.set_calendar_day(session, day="2026-10-03", kind="holiday", name="Saturday")
    assert caught.value.errors[0].rule == "weekday"
    with pytest.raises(Invalid):
        catalogue.set_calendar_day(session, day="2026-13-01", kind="holiday", name="x")


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(121.2, 121.8), lat=st.floats(30.9, 31.4))
def test_a_point_given_in_gcj02_lands_where_its_wgs84_twin_does(lon: float, lat: float) -> None:
    try:
        wgs = catalogue.place(lon, lat, "wgs84")
    except Invalid:
        return  # outside the districts (the sea, the river mouth)
    glon, glat = wgs84_to_gcj02(lon, lat)
    try:
        from_gcj = catalogue.place(glon, glat, "gcj02")
    except Invalid:
        from_gcj = None
    # Converting back is exact to about a centimetre: same position, same district.
    assert from_gcj is not None
    assert from_gcj[0] == pytest.approx(wgs[0], abs=1e-6)
    assert from_gcj[1] == pytest.approx(wgs[1], abs=1e-6)
    assert from_gcj[2] == wgs[2]


def test_an_unknown_datum_names_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        catalogue.place(121.47, 31.23, "bd09")
    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == ("crs", "crs")
