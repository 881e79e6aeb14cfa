"""Tests for the per-field masking rules of access policies in twonets.governance.masking."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.core.errors import Invalid
from twonets.governance.masking import MaskKind, MaskRule, apply, column_masker, parse_rule
from twonets.governance.sealing import Keyring

ID_NUMBER = "11010519491231002X"
ROOT = bytes(range(32))
KEYRING = Keyring(ROOT)
KINDS = "valid kinds are keep, redact, partial, year, grid, pseudonym"
CELL_1KM = 1000 / 111_320


def _invalid(spec: object, *, field: str = "policy.fields.id_number") -> str:
    """The detail of the ``Invalid`` that parsing ``spec`` raises, checking field and rule."""
    with pytest.raises(Invalid) as caught:
        parse_rule(spec, field=field)  # type: ignore[arg-type]
    problem = caught.value.errors[0]
    assert problem.field == field
    assert problem.rule == "mask-rule"
    assert caught.value.detail == f"{field}: {problem.detail}"
    return problem.detail


# -- parsing and rendering -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("keep", MaskRule(MaskKind.KEEP)),
        ("redact", MaskRule(MaskKind.REDACT)),
        ("partial:1:4", MaskRule(MaskKind.PARTIAL, first=1, last=4)),
        ("partial:0:4", MaskRule(MaskKind.PARTIAL, first=0, last=4)),
        ("year", MaskRule(MaskKind.YEAR)),
        ("grid:1000", MaskRule(MaskKind.GRID, cell_m=1000)),
        ("pseudonym", MaskRule(MaskKind.PSEUDONYM)),
    ],
)
def test_parse_and_spec(spec: str, rule: MaskRule) -> None:
    assert parse_rule(spec) == rule
    assert rule.spec == spec
    assert str(rule) == spec


def test_parse_tolerates_surrounding_whitespace_and_leading_zeros() -> None:
    assert parse_rule("  partial:01:4\n") == MaskRule(MaskKind.PARTIAL, first=1, last=4)
    assert parse_rule("partial:01:4").spec == "partial:1:4"


def test_rule_built_from_a_plain_string_kind_is_the_enum() -> None:
    rule = MaskRule("grid", cell_m=500)  # type: ignore[arg-type]
    assert rule.kind is MaskKind.GRID
    assert rule == parse_rule("grid:500")


_VALID_RULES = st.one_of(
    st.sampled_from([MaskKind.KEEP, MaskKind.REDACT, MaskKind.YEAR, MaskKind.PSEUDONYM]).map(
        MaskRule
    ),
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6))
    .filter(lambda p: sum(p) > 0)
    .map(lambda p: MaskRule(MaskKind.PARTIAL, first=p[0], last=p[1])),
    st.integers(10, 100_000).map(lambda m: MaskRule(MaskKind.GRID, cell_m=m)),
)


@given(_VALID_RULES)
def test_spec_round_trips(rule: MaskRule) -> None:
    assert parse_rule(rule.spec) == rule
    assert parse_rule(rule.spec).spec == rule.spec


@pytest.mark.parametrize(
    ("spec", "detail"),
    [
        ("hash", f"unknown mask kind 'hash'; {KINDS}"),
        ("Keep", f"unknown mask kind 'Keep'; {KINDS}"),
        ("", f"the mask rule is empty; {KINDS}"),
        ("keep:1", "keep takes no parameters (write just keep)"),
        ("redact:", "redact takes no parameters (write just redact)"),
        ("partial", "partial takes 2 numbers (partial:<first>:<last>), got 0"),
        ("partial:3", "partial takes 2 numbers (partial:<first>:<last>), got 1"),
        ("partial:1:2:3", "partial takes 2 numbers (partial:<first>:<last>), got 3"),
        ("partial:a:4", "partial first must be a whole number, got 'a'"),
        ("partial:1:4.5", "partial last must be a whole number, got '4.5'"),
        ("partial:1: 4", "partial last must be a whole number, got ' 4'"),
        ("partial:1:", "partial last must be a whole number, got ''"),
        ("partial:-1:4", "partial first must not be negative, got -1"),
        ("partial:0:0", "partial:0:0 keeps no character; that is redact, so write redact"),
        ("grid", "grid takes 1 number (grid:<metres>), got 0"),
        ("grid:1:2", "grid takes 1 number (grid:<metres>), got 2"),
        ("grid:1km", "grid metres must be a whole number, got '1km'"),
        ("grid:-100", "grid metres must not be negative, got -100"),
        ("grid:9", "grid cell must be between 10 and 100000 metres, got 9"),
        ("grid:100001", "grid cell must be between 10 and 100000 metres, got 100001"),
    ],
)
def test_invalid_specs_name_the_field_and_the_rule(spec: str, detail: str) -> None:
    assert _invalid(spec) == detail


@pytest.mark.parametrize(
    "spec",
    ["year:2", "pseudonym:sha1", "partial:1:١", "partial:1_0:2", "grid:10000000000", "grid:+100"],
)
def test_other_invalid_specs(spec: str) -> None:
    _invalid(spec)


def test_non_string_spec_is_invalid() -> None:
    assert _invalid(42) == "a mask rule is a string, got int"


def test_default_field_is_rule() -> None:
    with pytest.raises(Invalid) as caught:
        parse_rule("hash")
    assert caught.value.errors[0].field == "rule"
    assert caught.value.errors[0].rule == "mask-rule"


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"kind": MaskKind.KEEP, "first": 1}, "keep takes no first"),
        ({"kind": MaskKind.PARTIAL, "first": 1, "cell_m": 10}, "partial takes no cell_m"),
        (
            {"kind": MaskKind.PARTIAL},
            "partial:0:0 keeps no character; that is redact, so write redact",
        ),
        (
            {"kind": MaskKind.GRID, "cell_m": 5},
            "grid cell must be between 10 and 100000 metres, got 5",
        ),
        ({"kind": "hash"}, f"unknown mask kind 'hash'; {KINDS}"),
    ],
)
def test_rules_built_directly_are_checked_too(kwargs: dict[str, object], detail: str) -> None:
    with pytest.raises(Invalid) as caught:
        MaskRule(**kwargs)  # type: ignore[arg-type]
    assert caught.value.errors[0].field == "rule"
    assert caught.value.errors[0].rule == "mask-rule"
    assert caught.value.errors[0].detail == detail


# -- applying ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", ["keep", "redact", "partial:1:4", "year", "grid:1000", "pseudonym"]
)
def test_none_stays_none(spec: str) -> None:
    key = KEYRING.pseudonym_key("police", "public.safety")
    assert apply(parse_rule(spec), None, pseudonym_key=key) is None


def test_keep_returns_the_value_itself() -> None:
    value = {"any": "thing"}
    assert apply(parse_rule("keep"), value) is value


@pytest.mark.parametrize("value", [ID_NUMBER, 42, date(1987, 6, 5), 121.47])
def test_redact_returns_none(value: object) -> None:
    assert apply(parse_rule("redact"), value) is None


@pytest.mark.parametrize(
    ("spec", "value", "masked"),
    [
        ("partial:6:4", ID_NUMBER, "110105********002X"),
        ("partial:3:4", "13812345678", "138****5678"),
        ("partial:1:0", "张三丰", "张**"),
        ("partial:0:4", "6222020200112233445", "***************3445"),
        ("partial:3:4", 13812345678, "138****5678"),
    ],
)
def test_partial(spec: str, value: object, masked: str) -> None:
    assert apply(parse_rule(spec), value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("1234567", "*******"), ("12345", "*****"), ("1", "*"), ("", "")],
)
def test_partial_masks_a_short_value_whole_keeping_its_length(value: str, masked: str) -> None:
    # With first+last >= len, keeping both ends would reveal the whole value.
    assert apply(parse_rule("partial:3:4"), value) == masked


@given(st.text(), st.integers(0, 30), st.integers(0, 30))
def test_partial_keeps_length_and_only_the_ends(text: str, first: int, last: int) -> None:
    if first + last == 0:
        return
    masked = apply(MaskRule(MaskKind.PARTIAL, first=first, last=last), text)
    assert isinstance(masked, str)
    assert len(masked) == len(text)
    if len(text) <= first + last:
        assert masked == "*" * len(text)
    else:
        assert masked[:first] == text[:first]
        assert masked[len(text) - last :] == text[len(text) - last :]
        assert set(masked[first : len(text) - last]) == {"*"}


@pytest.mark.parametrize(
    "value",
    [
        date(1987, 6, 5),
        datetime(1987, 6, 5, 8, 30),
        datetime(1987, 6, 5, 8, 30, tzinfo=UTC),
        "1987-06-05",
        "1987-06-05T08:30:00",
        "1987-06-05T08:30:00+08:00",
        "1987-06-05 08:30",
        "1987-06-05T00:30:00Z",
    ],
)
def test_year(value: object) -> None:
    assert apply(parse_rule("year"), value) == "1987"


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (1987, "year masking needs a date, a datetime or an ISO string, got int"),
        (1987.0, "year masking needs a date, a datetime or an ISO string, got float"),
        ("05/06/1987", "year masking needs an ISO date or datetime; the string is neither"),
        ("19870605xx", "year masking needs an ISO date or datetime; the string is neither"),
        ("19870605", "year masking needs an ISO date or datetime; the string is neither"),
        ("1987-W01-1", "year masking needs an ISO date or datetime; the string is neither"),
        ("1987-06-05xx", "year masking needs an ISO date or datetime; the string is neither"),
        ("1987-13-05", "year masking needs an ISO date or datetime; the string is neither"),
    ],
)
def test_year_of_something_else_is_invalid_without_quoting_it(value: object, detail: str) -> None:
    with pytest.raises(Invalid) as caught:
        apply(parse_rule("year"), value, field="birth_date")
    problem = caught.value.errors[0]
    assert (problem.field, problem.rule, problem.detail) == ("birth_date", "mask-value", detail)
    assert str(value) not in caught.value.detail


def test_grid_gives_the_cell_centre() -> None:
    rule = parse_rule("grid:1000")
    assert apply(rule, 0.001) == pytest.approx(CELL_1KM / 2, abs=1e-7)
    assert apply(rule, -0.001) == pytest.approx(-CELL_1KM / 2, abs=1e-7)
    lon = 121.4737
    centre = (math.floor(lon / CELL_1KM) + 0.5) * CELL_1KM
    assert apply(rule, lon) == pytest.approx(centre, abs=1e-7)


def test_grid_points_in_one_cell_share_a_value_and_other_cells_differ() -> None:
    rule = parse_rule("grid:1000")
    index = math.floor(121.4737 / CELL_1KM)
    low, high = index * CELL_1KM, (index + 1) * CELL_1KM
    inside = [low + CELL_1KM * f for f in (0.01, 0.3, 0.5, 0.99)]
    values = {apply(rule, x) for x in inside}
    assert len(values) == 1
    (centre,) = values
    assert isinstance(centre, float)
    assert low < centre < high
    assert apply(rule, high + CELL_1KM * 0.01) != centre
    assert apply(rule, low - CELL_1KM * 0.01) != centre
    # Neighbouring cells' centres are one cell apart.
    assert apply(rule, high + CELL_1KM * 0.5) == pytest.approx(centre + CELL_1KM, abs=1e-6)


def test_grid_accepts_int_decimal_and_numeric_strings() -> None:
    rule = parse_rule("grid:500")
    as_float = apply(rule, 31.2304)
    assert apply(rule, "31.2304") == as_float
    assert apply(rule, Decimal("31.2304")) == as_float
    assert apply(rule, 31) == apply(rule, 31.0)


@given(st.floats(-179.0, 179.0), st.integers(10, 100_000))
def test_grid_centre_is_near_and_stable(degrees: float, cell_m: int) -> None:
    rule = MaskRule(MaskKind.GRID, cell_m=cell_m)
    centre = apply(rule, degrees)
    assert isinstance(centre, float)
    assert abs(centre - degrees) <= cell_m / 111_320 / 2 + 1e-6
    assert apply(rule, centre) == centre


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("north", "grid masking needs a number of degrees; the string is not one"),
        (True, "grid masking needs a number of degrees, got bool"),
        ([121.4, 31.2], "grid masking needs a number of degrees, got list"),
        (float("nan"), "grid masking needs a finite coordinate between -180 and 180 degrees"),
        (float("inf"), "grid masking needs a finite coordinate between -180 and 180 degrees"),
        (181.0, "grid masking needs a finite coordinate between -180 and 180 degrees"),
    ],
)
def test_grid_of_something_else_is_invalid(value: object, detail: str) -> None:
    with pytest.raises(Invalid) as caught:
        apply(parse_rule("grid:1000"), value, field="location.lon")
    problem = caught.value.errors[0]
    assert (problem.field, problem.rule, problem.detail) == ("location.lon", "mask-value", detail)


def test_grid_centre_stays_a_coordinate_at_the_edges() -> None:
    rule = parse_rule("grid:100000")
    for edge in (180.0, -180.0):
        centre = apply(rule, edge)
        assert isinstance(centre, float)
        assert -180.0 <= centre <= 180.0


def _pseudonym(value: object, department: str, purpose: str) -> object:
    key = KEYRING.pseudonym_key(department, purpose)
    return apply(parse_rule("pseudonym"), value, pseudonym_key=key)


def test_pseudonym_shape_and_no_raw_value_inside() -> None:
    masked = _pseudonym(ID_NUMBER, "police", "public.safety")
    assert isinstance(masked, str)
    assert re.fullmatch(r"p_[a-z2-7]{16}", masked)
    assert ID_NUMBER.lower() not in masked
    assert "002x" not in masked
    assert "110105" not in masked


def test_pseudonym_is_stable_for_one_department_and_purpose() -> None:
    first = _pseudonym(ID_NUMBER, "police", "public.safety")
    again = apply(
        parse_rule("pseudonym"),
        ID_NUMBER,
        pseudonym_key=Keyring(ROOT).pseudonym_key("police", "public.safety"),
    )
    assert first == again


def test_pseudonym_differs_across_departments_purposes_and_values() -> None:
    pseudonyms = {
        _pseudonym(ID_NUMBER, "police", "public.safety"),
        _pseudonym(ID_NUMBER, "health", "public.safety"),
        _pseudonym(ID_NUMBER, "police", "epidemic.tracing"),
        _pseudonym(ID_NUMBER, "health", "epidemic.tracing"),
        _pseudonym("310101199001011234", "police", "public.safety"),
    }
    assert len(pseudonyms) == 5


def test_pseudonym_works_on_str_of_the_value() -> None:
    assert _pseudonym(42, "police", "public.safety") == _pseudonym("42", "police", "public.safety")


def test_pseudonym_needs_a_key() -> None:
    with pytest.raises(ValueError, match="needs the pseudonym key"):
        apply(parse_rule("pseudonym"), ID_NUMBER)


def test_pseudonym_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        apply(parse_rule("pseudonym"), ID_NUMBER, pseudonym_key=b"short")


@given(
    spec=st.sampled_from(["keep", "redact", "partial:1:0", "partial:3:4", "partial:6:4", "year"]),
    value=st.one_of(
        st.none(),
        st.text(max_size=30),
        st.dates().map(lambda d: d),
        st.integers(),
    ),
)
def test_masker_masks_exactly_like_apply(spec: str, value: object) -> None:
    from twonets.governance.masking import masker

    rule = parse_rule(spec)

    def outcome(mask: object) -> object:
        try:
            return ("value", mask(value))  # type: ignore[operator]
        except Invalid as exc:
            return ("invalid", exc.errors)

    assert outcome(masker(rule)) == outcome(lambda v: apply(rule, v))


def _masked(call: Callable[[], object]) -> object:
    try:
        return call()
    except Invalid as exc:
        return ("error", exc.detail)


@given(
    st.sampled_from(
        [
            "keep",
            "redact",
            "partial:3:4",
            "partial:0:1",
            "partial:6:4",
            "year",
            "grid:500",
            "grid:10",
            "pseudonym",
        ]
    ),
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=12),
            st.integers(-(10**6), 10**6),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-181, 181).map(lambda x: f"{x:.6f}"),
            st.dates(),
            st.booleans(),
            st.decimals(allow_nan=False, allow_infinity=False, places=3),
        ),
        max_size=8,
    ),
)
def test_masking_a_column_is_masking_each_value(spec: str, values: list[object]) -> None:
    """``column_masker`` gives what ``apply`` gives value by value, errors included."""
    rule = parse_rule(spec)
    key = b"k" * 32
    one_by_one = [
        _masked(lambda v=value: apply(rule, v, pseudonym_key=key, field="f")) for value in values
    ]
    errors = [value for value in one_by_one if isinstance(value, tuple)]
    column = _masked(lambda: column_masker(rule, pseudonym_key=key, field="f")(values))
    assert column == (errors[0] if errors else one_by_one)
