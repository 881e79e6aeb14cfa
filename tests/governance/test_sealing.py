"""Tests for sealing sensitive fields at rest in twonets.governance.sealing."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from twonets.governance.sealing import Keyring, SealError, is_sealed, version_of

ROOT = bytes(range(32))
OTHER_ROOT = bytes(range(1, 33))
DATASET = "core.citizen"
FIELD = "id_number"
AUTH_FAILED = "authentication failed: the value was altered or belongs to another field"


def _reference_key(root: bytes, info: str) -> bytes:
    """The key as the design defines it, computed independently of the keyring."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"twonets-at-rest", info=info.encode())
    return hkdf.derive(root)


def _payload(token: str) -> bytes:
    """The raw nonce||ciphertext of a token."""
    encoded = token.split(":", 2)[2]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def _token(version: int, raw: bytes) -> str:
    """A token around raw bytes, as ``seal`` writes it."""
    return f"gcm1:{version}:" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@given(st.text())
def test_round_trip_of_any_text(plaintext: str) -> None:
    keyring = Keyring(ROOT)
    token = keyring.seal(DATASET, FIELD, plaintext)
    assert keyring.unseal(DATASET, FIELD, token) == plaintext


@pytest.mark.parametrize("plaintext", ["", "张三", "上海市浦东新区世纪大道100号", "🙂 ok"])
def test_round_trip_of_cjk_emoji_and_empty(plaintext: str) -> None:
    keyring = Keyring(ROOT)
    assert keyring.unseal(DATASET, FIELD, keyring.seal(DATASET, FIELD, plaintext)) == plaintext


def test_token_is_compact_ascii_with_version_and_unpadded_urlsafe_payload() -> None:
    token = Keyring(ROOT).seal(DATASET, FIELD, "11010519491231002X")
    prefix, version, payload = token.split(":")
    assert (prefix, version) == ("gcm1", "1")
    assert token.isascii()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", payload)
    # 12-byte nonce, 18 bytes of text, 16-byte tag.
    assert len(_payload(token)) == 12 + 18 + 16


def test_key_is_hkdf_of_root_with_dataset_and_version() -> None:
    token = Keyring(ROOT).seal(DATASET, FIELD, "secret")
    raw = _payload(token)
    key = _reference_key(ROOT, f"at-rest:{DATASET}:v1")
    opened = AESGCM(key).decrypt(raw[:12], raw[12:], f"{DATASET}.{FIELD}".encode())
    assert opened == b"secret"


def test_same_plaintext_twice_gives_different_tokens() -> None:
    keyring = Keyring(ROOT)
    tokens = {keyring.seal(DATASET, FIELD, "same") for _ in range(20)}
    assert len(tokens) == 20
    assert len({_payload(t)[:12] for t in tokens}) == 20


def test_plaintext_does_not_appear_in_token() -> None:
    token = Keyring(ROOT).seal(DATASET, FIELD, "11010519491231002X")
    assert "11010519491231002X" not in token
    assert b"11010519491231002X" not in _payload(token)


@pytest.mark.parametrize(
    ("dataset", "field"),
    [(DATASET, "name"), ("health.record", FIELD), ("core", "citizen.id_number")],
)
def test_token_moved_to_another_field_or_dataset_fails(dataset: str, field: str) -> None:
    keyring = Keyring(ROOT)
    token = keyring.seal(DATASET, FIELD, "11010519491231002X")
    with pytest.raises(SealError) as caught:
        keyring.unseal(dataset, field, token)
    assert str(caught.value) == AUTH_FAILED


@pytest.mark.parametrize("position", [0, 11, 12, 20, -1])
def test_flipped_byte_fails(position: int) -> None:
    keyring = Keyring(ROOT)
    token = keyring.seal(DATASET, FIELD, "11010519491231002X")
    raw = bytearray(_payload(token))
    raw[position] ^= 0x01
    with pytest.raises(SealError, match=r"^authentication failed"):
        keyring.unseal(DATASET, FIELD, _token(1, bytes(raw)))


def test_truncated_payload_fails() -> None:
    keyring = Keyring(ROOT)
    raw = _payload(keyring.seal(DATASET, FIELD, "11010519491231002X"))
    with pytest.raises(SealError, match=r"^authentication failed"):
        keyring.unseal(DATASET, FIELD, _token(1, raw[:-1]))


def test_token_from_another_root_secret_fails() -> None:
    token = Keyring(OTHER_ROOT).seal(DATASET, FIELD, "secret")
    with pytest.raises(SealError) as caught:
        Keyring(ROOT).unseal(DATASET, FIELD, token)
    assert str(caught.value) == AUTH_FAILED


def test_rotation_keeps_old_tokens_open_and_seals_new_ones_under_v2() -> None:
    keyring = Keyring(ROOT)
    old = keyring.seal(DATASET, FIELD, "before")
    assert keyring.rotate(DATASET) == 2
    assert keyring.current_version(DATASET) == 2
    new = keyring.seal(DATASET, FIELD, "after")
    assert version_of(old) == 1
    assert version_of(new) == 2
    assert keyring.unseal(DATASET, FIELD, old) == "before"
    assert keyring.unseal(DATASET, FIELD, new) == "after"


def test_rotation_is_per_dataset() -> None:
    keyring = Keyring(ROOT)
    keyring.rotate(DATASET)
    assert version_of(keyring.seal("health.record", "diagnosis", "x")) == 1
    assert keyring.versions == {DATASET: 2}


def test_versions_given_at_construction_are_current_and_older_ones_open() -> None:
    v1 = Keyring(ROOT).seal(DATASET, FIELD, "old")
    keyring = Keyring(ROOT, versions={DATASET: 3})
    assert version_of(keyring.seal(DATASET, FIELD, "new")) == 3
    assert keyring.unseal(DATASET, FIELD, v1) == "old"


def test_needs_rewrap_and_rewrap() -> None:
    keyring = Keyring(ROOT)
    old = keyring.seal(DATASET, FIELD, "11010519491231002X")
    assert not keyring.needs_rewrap(DATASET, old)
    assert keyring.rewrap(DATASET, FIELD, old) == old  # already current: nothing to write
    keyring.rotate(DATASET)
    assert keyring.needs_rewrap(DATASET, old)
    new = keyring.rewrap(DATASET, FIELD, old)
    assert version_of(new) == 2
    assert not keyring.needs_rewrap(DATASET, new)
    assert keyring.unseal(DATASET, FIELD, new) == "11010519491231002X"
    # During the batch job both versions keep opening.
    assert keyring.unseal(DATASET, FIELD, old) == "11010519491231002X"


def test_rewrap_of_a_misplaced_token_fails_even_when_current() -> None:
    keyring = Keyring(ROOT)
    token = keyring.seal(DATASET, "name", "张三")
    with pytest.raises(SealError, match=r"^authentication failed"):
        keyring.rewrap(DATASET, FIELD, token)
    keyring.rotate(DATASET)
    with pytest.raises(SealError, match=r"^authentication failed"):
        keyring.rewrap(DATASET, FIELD, token)


def test_unknown_version_error() -> None:
    keyring = Keyring(ROOT)
    token = Keyring(ROOT, versions={DATASET: 7}).seal(DATASET, FIELD, "x")
    with pytest.raises(SealError) as caught:
        keyring.unseal(DATASET, FIELD, token)
    assert str(caught.value) == "unknown key version 7 for dataset core.citizen"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "11010519491231002X",
        "gcm1:1",
        "gcm1:1:",
        "gcm2:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "gcm1:0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "gcm1:01:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "gcm1:-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "gcm1:1:AAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "gcm1:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        "gcm1:1:AAAAA",
        "gcm1:1:AAAAAAAA",
        " gcm1:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_values_are_not_sealed(value: str) -> None:
    keyring = Keyring(ROOT)
    assert not is_sealed(value)
    with pytest.raises(SealError, match=r"^not a sealed value"):
        keyring.unseal(DATASET, FIELD, value)
    with pytest.raises(SealError, match=r"^not a sealed value"):
        version_of(value)


def test_is_sealed_on_tokens_and_other_values() -> None:
    token = Keyring(ROOT).seal(DATASET, FIELD, "x")
    assert is_sealed(token)
    assert not is_sealed(None)
    assert not is_sealed(42)
    assert not is_sealed(token.encode())


def test_messages_hold_neither_plaintext_nor_key() -> None:
    keyring = Keyring(ROOT)
    token = keyring.seal(DATASET, FIELD, "11010519491231002X")
    key_hex = _reference_key(ROOT, f"at-rest:{DATASET}:v1").hex()
    for dataset, field in [(DATASET, "name"), ("other", FIELD)]:
        with pytest.raises(SealError) as caught:
            keyring.unseal(dataset, field, token)
        assert "11010519491231002X" not in str(caught.value)
        assert key_hex not in str(caught.value)


def test_lone_surrogate_is_refused_without_quoting_it() -> None:
    with pytest.raises(SealError) as caught:
        Keyring(ROOT).seal(DATASET, FIELD, "ab\ud800cd")
    assert "\ud800" not in str(caught.value)


def test_repr_and_str_hold_no_key_material() -> None:
    keyring = Keyring(ROOT, versions={DATASET: 2})
    keyring.seal(DATASET, FIELD, "warm the cache")
    keyring.unseal(DATASET, FIELD, Keyring(ROOT).seal(DATASET, FIELD, "v1 too"))
    pseudonym_key = keyring.pseudonym_key("police", "public.safety")
    keys = [
        ROOT,
        pseudonym_key,
        _reference_key(ROOT, f"at-rest:{DATASET}:v1"),
        _reference_key(ROOT, f"at-rest:{DATASET}:v2"),
    ]
    for text in (repr(keyring), str(keyring)):
        assert "core.citizen" in text
        for key in keys:
            for shown in (
                key.hex(),
                key.hex().upper(),
                base64.b64encode(key).decode(),
                base64.urlsafe_b64encode(key).decode().rstrip("="),
                repr(key),
            ):
                assert shown not in text


def test_pseudonym_keys_are_derived_independent_and_stable() -> None:
    keyring = Keyring(ROOT)
    police = keyring.pseudonym_key("police", "public.safety")
    assert police == _reference_key(ROOT, "pseudonym:police:public.safety")
    assert police == Keyring(ROOT).pseudonym_key("police", "public.safety")
    assert len(police) == 32
    assert police != keyring.pseudonym_key("health", "public.safety")
    assert police != keyring.pseudonym_key("police", "epidemic.tracing")
    assert police != Keyring(OTHER_ROOT).pseudonym_key("police", "public.safety")


def test_pseudonym_key_refuses_ambiguous_department() -> None:
    with pytest.raises(ValueError, match="must not contain ':'"):
        Keyring(ROOT).pseudonym_key("a:b", "c")


@pytest.mark.parametrize("root", [b"", b"short"])
def test_short_root_secret_is_refused_without_showing_it(root: bytes) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes") as caught:
        Keyring(root)
    if root:
        assert "short" not in str(caught.value)


@pytest.mark.parametrize("version", [0, -1, True])
def test_bad_configured_version_is_refused(version: int) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        Keyring(ROOT, versions={DATASET: version})


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except SealError as exc:
        return ("error", str(exc))


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=20),
            st.sampled_from(["gcm1:1:", "gcm1:2:AAAA", "gcm1:1:A", "gcm1:01:AAAA", "x"]),
            st.binary(min_size=0, max_size=40).map(lambda raw: _token(1, raw)),
        ),
        max_size=6,
    )
)
def test_opening_a_column_is_opening_each_value(junk: list[str | None]) -> None:
    """``unseal_many`` gives what ``unseal`` gives value by value, errors included."""
    keyring = Keyring(ROOT, {DATASET: 2})
    good = [keyring.seal(DATASET, FIELD, f"31010119900101{n:04d}") for n in range(3)]
    for column in ([*good, None], [*good, *junk], junk):
        one_by_one = [
            None if token is None else _outcome(lambda t=token: keyring.unseal(DATASET, FIELD, t))
            for token in column
        ]
        errors = [value for value in one_by_one if isinstance(value, tuple)]
        if errors:
            assert _outcome(lambda c=column: keyring.unseal_many(DATASET, FIELD, c)) == errors[0]
        else:
            assert keyring.unseal_many(DATASET, FIELD, column) == one_by_one


@given(st.lists(st.text(max_size=40), max_size=8))
def test_seal_many_seals_each_value_as_seal_does(values: list[str]) -> None:
    keyring = Keyring(ROOT, {"core.citizen": 3})
    tokens = keyring.seal_many("core.citizen", "name", values)
    assert len(tokens) == len(values)
    assert all(version_of(t) == 3 and is_sealed(t) for t in tokens)
    assert [keyring.unseal("core.citizen", "name", t) for t in tokens] == values
    # Each value its own nonce: equal plaintexts never give equal tokens.
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        with pytest.raises(SealError):
            keyring.unseal("core.citizen", "address", token)


def test_seal_many_refuses_a_lone_surrogate_as_seal_does() -> None:
    with pytest.raises(SealError, match="lone surrogate"):
        Keyring(ROOT).seal_many("core.citizen", "name", ["ok", "\ud800"])
