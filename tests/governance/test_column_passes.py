"""The whole-column passes of opening and masking give what the value-by-value code gives.

The door opens and masks columns of like values (texts of one length, dates, degrees, tokens
of one key version); those take passes over the whole column, and anything else the
value-by-value code. These properties feed such columns, broken by one odd value or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from twonets.core.errors import Invalid
from twonets.governance.masking import _starred_ascii, apply, column_masker, parse_rule
from twonets.governance.sealing import Keyring, SealError

ROOT = b"column-passes-root-secret-32byte"
DATASET = "health.scan"
FIELD = "place"


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except Invalid as exc:
        return ("invalid", exc.detail)
    except SealError as exc:
        return ("seal", str(exc))


def _one_by_one(masking: Callable[[object], object], values: list[object]) -> object:
    """What the value-by-value code gives: each value, or the first value's error."""
    out = []
    for value in values:
        got = _outcome(lambda v=value: masking(v))  # type: ignore[misc]
        if isinstance(got, tuple):
            return got
        out.append(got)
    return out


_ODD = st.one_of(
    st.none(),
    st.integers(-200, 200),
    st.text(max_size=5),
    st.just(float("nan")),
    st.just(float("-inf")),
    st.just("abc"),
    st.just(" 12.5 "),
)


@st.composite
def _like_columns(draw: st.DrawFn) -> tuple[str, list[object]]:
    kind = draw(st.sampled_from(["text", "dates", "degrees"]))
    size = draw(st.integers(0, 12))
    if kind == "text":
        length = draw(st.integers(0, 20))
        values: list[object] = draw(
            st.lists(st.text(min_size=length, max_size=length), min_size=1, max_size=size + 1)
        )
        spec = draw(st.sampled_from(["partial:3:4", "partial:6:4", "partial:0:1", "partial:2:0"]))
    elif kind == "dates":
        values = draw(
            st.lists(st.one_of(st.dates(), st.datetimes()), min_size=1, max_size=size + 1)
        )
        spec = "year"
    else:
        values = draw(
            st.lists(
                st.one_of(
                    st.floats(-180, 180),
                    st.floats(-181, 181).map(lambda x: f"{x:.6f}"),
                ),
                min_size=1,
                max_size=size + 1,
            )
        )
        spec = draw(st.sampled_from(["grid:500", "grid:10", "grid:100000"]))
    if draw(st.booleans()):
        values.insert(draw(st.integers(0, len(values))), draw(_ODD))
    return spec, values


@given(_like_columns())
def test_masking_a_column_of_like_values_is_masking_each(case: tuple[str, list[object]]) -> None:
    spec, values = case
    rule = parse_rule(spec)
    expected = _one_by_one(lambda v: apply(rule, v, field="f"), values)
    assert _outcome(lambda: column_masker(rule, field="f")(values)) == expected


def test_the_column_passes_are_taken_for_like_values() -> None:
    """The examples the door meets most (and the figures in docs/performance.md measure)."""
    assert column_masker(parse_rule("partial:3:4"))(["13800000000", "13912345678"]) == [
        "138****0000",
        "139****5678",
    ]
    assert column_masker(parse_rule("year"))([date(1987, 6, 5), datetime(912, 1, 1)]) == [
        "1987",
        "0912",
    ]
    centre = apply(parse_rule("grid:500"), "121.473701")
    assert column_masker(parse_rule("grid:500"))(["121.473701", 121.473701]) == [centre, centre]


@st.composite
def _token_columns(draw: st.DrawFn) -> list[object]:
    """Tokens of one field under versions 1 and 2, some broken, some missing."""
    old = Keyring(ROOT, {DATASET: 1})
    new = Keyring(ROOT, {DATASET: 2})
    texts = draw(st.lists(st.text(max_size=30), min_size=1, max_size=10))
    mixed = draw(st.booleans())
    column: list[object] = [
        (old if mixed and draw(st.booleans()) else new).seal(DATASET, FIELD, text) for text in texts
    ]
    if draw(st.booleans()):
        column.insert(draw(st.integers(0, len(column))), None)
    damage = draw(
        st.sampled_from(
            [
                "none",
                "flip",
                "other-field",
                "newline",
                "joined",
                "future-version",
                "padding",
                "short",
                "not-text",
            ]
        )
    )
    at = draw(st.integers(0, len(column) - 1))
    token = column[at]
    if damage == "none" or token is None:
        return column
    assert isinstance(token, str)
    prefix, payload = token.rsplit(":", 1)
    replacement: object = {
        "flip": f"{prefix}:{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}",
        "other-field": new.seal(DATASET, "phone", "x"),
        "newline": token + "\n",
        "joined": token + "\n" + token,
        "future-version": Keyring(ROOT, {DATASET: 3}).seal(DATASET, FIELD, "x"),
        "padding": token + "==",
        "short": f"{prefix}:{payload[:20]}",
        "not-text": token.encode(),
    }[damage]
    column[at] = replacement
    return column


@given(_token_columns())
def test_opening_a_column_of_tokens_is_opening_each(column: list[object]) -> None:
    keyring = Keyring(ROOT, {DATASET: 2})

    def one(token: object) -> object:
        return None if token is None else keyring.unseal(DATASET, FIELD, token)  # type: ignore[arg-type]

    expected = _one_by_one(one, column)
    assert _outcome(lambda: keyring.unseal_many(DATASET, FIELD, column)) == expected
    assert _outcome(lambda: keyring.unseal_many(DATASET, FIELD, iter(column))) == expected


def test_a_column_of_one_version_opens_in_one_pass() -> None:
    keyring = Keyring(ROOT, {DATASET: 2})
    column: list[object] = [keyring.seal(DATASET, FIELD, f"gate {n}") for n in range(5)]
    column.insert(2, None)
    opened = keyring._open_column(DATASET, FIELD, column)
    assert opened == ["gate 0", "gate 1", None, "gate 2", "gate 3", "gate 4"]


@st.composite
def _ascii_texts_of_one_length(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Phone and ID numbers, the starred pass's texts; some with a line break or non-ASCII."""
    length = draw(st.integers(1, 20))
    alphabet = draw(st.sampled_from(["0123456789", "0123456789X", "09X\n\r *é"]))
    text = st.text(alphabet=alphabet, min_size=length, max_size=length)
    values = draw(st.lists(text, min_size=1, max_size=12))
    spec = draw(
        st.sampled_from(["partial:3:4", "partial:6:4", "partial:0:1", "partial:2:0", "partial:1:1"])
    )
    return spec, values


@given(_ascii_texts_of_one_length())
def test_starring_ascii_texts_of_one_length_is_masking_each(case: tuple[str, list[str]]) -> None:
    spec, values = case
    rule = parse_rule(spec)
    assert column_masker(rule, field="f")(values) == [apply(rule, v, field="f") for v in values]


def test_the_starred_pass_is_taken_for_ascii_texts_only() -> None:
    texts = ["13800000000", "13912345678", "1391234567X"]
    assert _starred_ascii(texts, 11, 3, 4) == ["138****0000", "139****5678", "139****567X"]
    assert _starred_ascii(["12\n45", "12345"], 5, 1, 1) is None
    assert _starred_ascii(["1234é", "12345"], 5, 1, 1) is None


@st.composite
def _tokens_of_one_length(draw: st.DrawFn) -> list[object]:
    """Tokens of plaintexts of one length (payloads of one length, every base64 remainder),
    one of them perhaps with a character no url-safe payload has, or one more or less."""
    keyring = Keyring(ROOT, {DATASET: 2})
    length = draw(st.integers(0, 14))
    texts = draw(
        st.lists(st.text("0123456789.-", min_size=length, max_size=length), min_size=1, max_size=8)
    )
    column: list[object] = [keyring.seal(DATASET, FIELD, text) for text in texts]
    at = draw(st.integers(0, len(column) - 1))
    token = column[at]
    assert isinstance(token, str)
    change = draw(st.sampled_from(["none", "plus", "slash", "equals", "dot", "longer", "shorter"]))
    where = draw(st.integers(len("gcm1:2:"), len(token) - 1))
    column[at] = {
        "none": token,
        "plus": token[:where] + "+" + token[where + 1 :],
        "slash": token[:where] + "/" + token[where + 1 :],
        "equals": token[:where] + "=" + token[where + 1 :],
        "dot": token[:where] + "." + token[where + 1 :],
        "longer": token + "A",
        "shorter": token[:-1],
    }[change]
    return column


@given(_tokens_of_one_length())
def test_opening_tokens_of_one_length_is_opening_each(column: list[object]) -> None:
    keyring = Keyring(ROOT, {DATASET: 2})
    expected = _one_by_one(lambda token: keyring.unseal(DATASET, FIELD, token), column)  # type: ignore[arg-type]
    assert _outcome(lambda: keyring.unseal_many(DATASET, FIELD, column)) == expected


def test_tokens_of_one_length_open_in_one_pass_whatever_their_base64_remainder() -> None:
    keyring = Keyring(ROOT, {DATASET: 2})
    # Plaintexts of 0 to 2 bytes give payloads of 38, 39 and 40 characters: 2, 3, 0 mod 4.
    for length in (0, 1, 2):
        texts = [str(n)[:length].rjust(length, "7") for n in range(4)]
        column: list[object] = [keyring.seal(DATASET, FIELD, text) for text in texts]
        assert keyring._open_column(DATASET, FIELD, column) == texts
