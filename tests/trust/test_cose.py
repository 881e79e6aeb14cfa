"""The credential codec (CWT in COSE_Sign1): round trips and each failing step's verdict."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.errors import Invalid
from twonets.trust.base45 import b45decode, b45encode
from twonets.trust.cose import (
    MAX_PAYLOAD_BYTES,
    CoseAlg,
    PrivateKey,
    PublicKeyCandidate,
    Step,
    UnreadableQr,
    Verdict,
    cose_signer,
    decode_unverified,
    encode,
    kid_from_public_key,
    verify,
)

B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# Keys are made once: generating them per Hypothesis example would dominate the run time.
ES256_KEY = ec.generate_private_key(ec.SECP256R1())
ES384_KEY = ec.generate_private_key(ec.SECP384R1())
ED25519_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_ES256_KEY = ec.generate_private_key(ec.SECP256R1())

KID = b"SH-2025-01"
ISSUED = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES = datetime(2030, 2, 28, 16, 0, tzinfo=UTC)
DURING = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLAIMS = {"name": "王小明", "licence_number": "SH-FS-2025-000123", "type": "food_business"}


def licence_qr(
    *,
    claims: Mapping[Any, Any] = CLAIMS,
    key: PrivateKey = ES256_KEY,
    kid: bytes = KID,
    prefix: str = "SH1:",
    issuer: str = "SH",
    issued_at: datetime = ISSUED,
    expires_at: datetime = EXPIRES,
) -> str:
    """A QR text signed with ``key``, with defaults for everything a test does not care about."""
    alg, sign = cose_signer(key)
    return encode(
        claims,
        prefix=prefix,
        kid=kid,
        sign=sign,
        alg=alg,
        issuer=issuer,
        issued_at=issued_at,
        expires_at=expires_at,
    )


def candidate(
    key: PrivateKey = ES256_KEY,
    *,
    label: str = "Shanghai 2025",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> PublicKeyCandidate:
    """The public half of ``key`` as a verifier would hold it."""
    return PublicKeyCandidate(
        key=key.public_key(), label=label, not_before=not_before, not_after=not_after
    )


def trust(
    keys: Mapping[bytes, Sequence[PublicKeyCandidate]],
) -> Callable[[bytes], Sequence[PublicKeyCandidate]]:
    """A ``keys_for`` over a fixed kid → keys table."""
    return lambda kid: keys.get(kid, ())


SHANGHAI = trust({KID: [candidate()]})


def check(text: str, *, keys_for: Any = SHANGHAI, at: datetime = DURING) -> Verdict:
    """Verify with the Shanghai trust list and the "SH1:" prefix unless told otherwise."""
    return verify(text, keys_for=keys_for, at=at, prefixes=("SH1:", "JS1:"))


def raw_qr(
    *,
    payload: Any,
    protected: Mapping[int, Any] | None = None,
    unprotected: Mapping[int, Any] | None = None,
    key: PrivateKey = ES256_KEY,
    prefix: str = "SH1:",
) -> str:
    """A QR text built by hand (correctly signed), for structures :func:`encode` never makes."""
    alg, sign = cose_signer(key)
    protected_bytes = cbor2.dumps(dict(protected) if protected is not None else {1: alg, 4: KID})
    payload_bytes = cbor2.dumps(payload)
    signature = sign(cbor2.dumps(["Signature1", protected_bytes, b"", payload_bytes]))
    message = [protected_bytes, dict(unprotected or {}), payload_bytes, signature]
    return prefix + b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, message))))


def cwt(**overrides: Any) -> dict[int, Any]:
    """A CWT payload with iss, iat, exp and the claims; ``missing=[4]`` drops claim keys."""
    payload: dict[int, Any] = {
        1: "SH",
        6: int(ISSUED.timestamp()),
        4: int(EXPIRES.timestamp()),
        -260: {1: dict(CLAIMS)},
    }
    for key in overrides.pop("missing", ()):
        del payload[key]
    payload.update(overrides.pop("claims", {}))
    assert not overrides, overrides
    return payload


def cose_parts(text: str, prefix: str = "SH1:") -> list[Any]:
    """The four COSE_Sign1 items of a QR text, to tamper with."""
    message = cbor2.loads(zlib.decompress(b45decode(text.removeprefix(prefix))))
    return list(message.value)


def reassemble(parts: list[Any], prefix: str = "SH1:") -> str:
    """A QR text from (possibly tampered) COSE_Sign1 items."""
    return prefix + b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, parts))))


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (ES256_KEY, CoseAlg.ES256),
        (ED25519_KEY, CoseAlg.EDDSA),
        (ES384_KEY, CoseAlg.ES384),
        (RSA_KEY, CoseAlg.PS256),
    ],
    ids=["ES256", "EdDSA", "ES384", "PS256"],
)
def test_encode_then_verify_round_trips(key: PrivateKey, alg: CoseAlg) -> None:
    text = licence_qr(key=key)

    verdict = check(text, keys_for=trust({KID: [candidate(key, label="Shanghai")]}))

    assert verdict == Verdict(
        valid=True,
        step=Step.OK,
        detail=verdict.detail,
        kid=base64.b64encode(KID).decode(),
        issuer="SH",
        issued_at=ISSUED,
        expires_at=EXPIRES,
        claims=CLAIMS,
        signer="Shanghai",
    )
    assert verdict.detail.startswith(f"{alg.name} signature verified with 'Shanghai'")
    assert text.startswith("SH1:")
    assert set(text) <= set(B45_ALPHABET)


def test_ecdsa_signatures_are_raw_r_and_s_as_cose_wants() -> None:
    alg, sign = cose_signer(ES256_KEY)

    assert alg == CoseAlg.ES256
    assert len(sign(b"to be signed")) == 64
    assert len(cose_parts(licence_qr())[3]) == 64


def test_a_region_prefix_among_several_is_accepted_and_a_string_counts_as_one_prefix() -> None:
    text = licence_qr(prefix="JS1:")

    assert check(text).valid
    assert verify(text, keys_for=SHANGHAI, at=DURING, prefixes="JS1:").valid


def test_kid_from_public_key_is_eight_bytes_of_the_key_hash() -> None:
    kid = kid_from_public_key(ES256_KEY.public_key())

    assert len(kid) == 8
    assert kid != kid_from_public_key(OTHER_ES256_KEY.public_key())


# --- every failing step --------------------------------------------------------------------


def test_unknown_prefix_fails_at_prefix() -> None:
    verdict = verify(licence_qr(prefix="ZJ1:"), keys_for=SHANGHAI, at=DURING)

    assert (verdict.valid, verdict.step) == (False, Step.PREFIX)
    assert verdict.detail == "unknown prefix: text starts 'ZJ1:'; known: 'HC1:'"


def test_bad_base45_fails_at_base45_with_the_position() -> None:
    text = licence_qr()
    broken = text[:10] + "a" + text[11:]

    verdict = check(broken)

    assert verdict.step == Step.BASE45
    assert verdict.detail == "bad base45 after 'SH1:': character 'a' at position 6 is not base45"


@pytest.mark.parametrize(
    ("compressed", "detail"),
    [
        (b"not zlib at all", "not a zlib stream (RFC 1950): Error -3"),
        (zlib.compress(cbor2.dumps(cwt()))[:-6], "the zlib stream is truncated"),
        (zlib.compress(b"x") + b"junk", "4 byte(s) after the end of the zlib stream"),
        (b"", "nothing to decompress"),
        (zlib.compress(bytes(MAX_PAYLOAD_BYTES + 1)), f"decompresses to over {MAX_PAYLOAD_BYTES}"),
    ],
    ids=["not-zlib", "truncated", "trailing-bytes", "empty", "bomb"],
)
def test_bad_compression_fails_at_compression(compressed: bytes, detail: str) -> None:
    verdict = check("SH1:" + b45encode(compressed))

    assert verdict.step == Step.COMPRESSION
    assert verdict.detail.startswith(detail)


def test_an_uncompressed_cose_message_fails_at_compression_and_says_so() -> None:
    message = zlib.decompress(b45decode(licence_qr().removeprefix("SH1:")))

    verdict = check("SH1:" + b45encode(message))

    assert verdict.step == Step.COMPRESSION
    assert verdict.detail.endswith("(it looks like an uncompressed COSE message)")


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        (b"\xff\xff", "COSE message: invalid CBOR"),
        (cbor2.dumps({"a": 1}), "not a COSE_Sign1 array of 4 items: a map"),
        (cbor2.dumps(cbor2.CBORTag(98, [b"", {}, b"", []])), "CBOR tag 98 is not COSE_Sign1"),
        (cbor2.dumps([b"", {}, b""]), "not a COSE_Sign1 array of 4 items: an array of 3"),
        (cbor2.dumps([b"", {}, None, b"sig"]), "detached payload (nil)"),
        (cbor2.dumps([b"\xa1\x04", {}, b"\xa0", b"sig"]), "protected header: invalid CBOR"),
        (cbor2.dumps([b"", {}, b"\xa0", b"sig"]), "no alg (label 1)"),
        (cbor2.dumps([b"", {1: -7}, b"\xa0", b"sig"]), "CWT payload has no claim -260"),
        (cbor2.dumps(0) + b"\x00", "COSE message: 1 byte(s) after the CBOR item"),
    ],
    ids=[
        "not-cbor",
        "a-map",
        "cose-sign-tag",
        "three-items",
        "detached",
        "bad-protected",
        "no-alg",
        "empty-payload",
        "trailing",
    ],
)
def test_bad_cbor_fails_at_cbor(message: bytes, detail: str) -> None:
    verdict = check("SH1:" + b45encode(zlib.compress(message)))

    assert verdict.passed(Step.COMPRESSION)
    assert not verdict.valid
    assert verdict.detail.startswith(detail)


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (cwt(missing=[4]), "exp (claim 4) is missing"),
        (cwt(missing=[6]), "iat (claim 6) is missing"),
        (cwt(claims={4: "tomorrow"}), "exp (claim 4) is text, not a NumericDate"),
        (cwt(claims={6: 10**30}), "iat (claim 6) 10"),
        (cwt(claims={1: 7}), "iss (claim 1) is an integer, not text"),
        (cwt(claims={-260: {1: b"\xa0"}}), "claim -260/1 is bytes, not a map"),
        (cwt(claims={-260: {2: {}}}), "claim -260/1 is nil, not a map"),
        ([1, 2], "CWT payload is an array of 2, not a map"),
    ],
)
def test_a_broken_cwt_fails_at_cbor_even_when_signed(payload: Any, detail: str) -> None:
    verdict = check(raw_qr(payload=payload))

    assert verdict.step == Step.CBOR
    assert verdict.detail.startswith(detail)


def test_unknown_kid_fails_at_kid() -> None:
    verdict = check(licence_qr(kid=b"JS-2025-01"))

    assert verdict.step == Step.KID
    assert verdict.detail == "no key known for kid SlMtMjAyNS0wMQ=="
    assert verdict.kid == "SlMtMjAyNS0wMQ=="
    assert verdict.issuer == "SH"
    assert verdict.claims is None


def test_missing_kid_fails_at_kid() -> None:
    verdict = check(raw_qr(payload=cwt(), protected={1: -7}))

    assert verdict.step == Step.KID
    assert verdict.detail == "no kid (label 4) in the protected or unprotected header"


def test_a_kid_in_the_unprotected_header_is_used_when_the_protected_one_has_none() -> None:
    assert check(raw_qr(payload=cwt(), protected={1: -7}, unprotected={4: KID})).valid


def test_the_protected_kid_wins_over_the_unprotected_one() -> None:
    text = raw_qr(payload=cwt(), protected={1: -7, 4: b"nobody"}, unprotected={4: KID})

    assert check(text).step == Step.KID


def test_a_kid_that_is_not_bytes_fails_at_kid() -> None:
    verdict = check(raw_qr(payload=cwt(), protected={1: -7, 4: "SH-2025-01"}))

    assert verdict.step == Step.KID
    assert verdict.detail == "kid in the protected header is text, not bytes"


def test_a_different_key_with_the_same_kid_fails_at_signature() -> None:
    verdict = check(licence_qr(key=OTHER_ES256_KEY))

    assert verdict.step == Step.SIGNATURE
    assert verdict.detail == (
        "ES256 signature does not verify with the 1 key(s) for kid U0gtMjAyNS0wMQ==: "
        "'Shanghai 2025': signature does not match"
    )
    assert verdict.claims is None
    assert verdict.signer is None


def test_a_tampered_payload_fails_at_signature() -> None:
    parts = cose_parts(licence_qr())
    payload = cbor2.loads(parts[2])
    payload[-260][1]["type"] = "pharmacy"
    parts[2] = cbor2.dumps(payload)

    assert check(reassemble(parts)).step == Step.SIGNATURE


def test_a_tampered_protected_header_fails_at_signature() -> None:
    parts = cose_parts(licence_qr())
    parts[0] = cbor2.dumps({4: KID, 1: -7})  # same content, other byte order

    assert check(reassemble(parts)).step == Step.SIGNATURE


def test_a_key_of_the_wrong_type_for_the_alg_fails_at_signature() -> None:
    verdict = check(licence_qr(key=ED25519_KEY))

    assert verdict.step == Step.SIGNATURE
    assert verdict.detail.endswith(
        "'Shanghai 2025': EdDSA needs an Ed25519 or Ed448 key, this is an EC secp256r1 key"
    )


def test_an_unsupported_alg_fails_at_signature() -> None:
    verdict = check(raw_qr(payload=cwt(), protected={1: -257, 4: KID}))

    assert verdict.step == Step.SIGNATURE
    assert verdict.detail.startswith("unsupported alg -257; supported: ES256 (-7)")


def test_a_signature_of_the_wrong_length_fails_at_signature() -> None:
    parts = cose_parts(licence_qr())
    parts[3] = parts[3][:3]

    verdict = check(reassemble(parts))

    assert verdict.step == Step.SIGNATURE
    assert verdict.detail.endswith("signature is 3 bytes; ES256 r||s is 64")


def test_two_keys_with_the_same_kid_where_only_the_second_verifies_is_valid() -> None:
    keys = trust({KID: [candidate(OTHER_ES256_KEY, label="old"), candidate(label="new")]})

    verdict = check(licence_qr(), keys_for=keys)

    assert verdict.valid
    assert verdict.signer == "new"


def test_two_keys_with_the_same_kid_where_neither_verifies_lists_both() -> None:
    keys = trust({KID: [candidate(OTHER_ES256_KEY, label="a"), candidate(ED25519_KEY, label="b")]})

    verdict = check(licence_qr(), keys_for=keys)

    assert verdict.step == Step.SIGNATURE
    assert "the 2 key(s)" in verdict.detail
    assert "'a': signature does not match; 'b': ES256 needs an EC secp256r1 key" in verdict.detail


def test_a_key_whose_signing_window_misses_iat_is_not_used() -> None:
    later = candidate(not_before=ISSUED + timedelta(days=1))

    verdict = check(licence_qr(), keys_for=trust({KID: [later]}))

    assert verdict.step == Step.KID
    assert verdict.detail == (
        "1 key(s) for kid U0gtMjAyNS0wMQ==, none may sign at iat 2025-03-01T08:00:00Z: "
        "'Shanghai 2025' signs 2025-03-02T08:00:00Z to any time"
    )


def test_a_retired_key_still_verifies_what_it_signed_while_it_was_current() -> None:
    retired = candidate(not_before=ISSUED - timedelta(days=365), not_after=ISSUED)

    assert check(licence_qr(), keys_for=trust({KID: [retired]})).valid


def test_expired_fails_at_expired_from_the_exp_instant_on() -> None:
    verdict = check(licence_qr(), at=EXPIRES)

    assert verdict == Verdict(
        valid=False,
        step=Step.EXPIRED,
        detail="expired at 2030-02-28T16:00:00Z; verification time 2030-02-28T16:00:00Z",
        kid=base64.b64encode(KID).decode(),
        issuer="SH",
        issued_at=ISSUED,
        expires_at=EXPIRES,
        claims=CLAIMS,
        signer="Shanghai 2025",
    )
    assert check(licence_qr(), at=EXPIRES - timedelta(seconds=1)).valid


def test_not_yet_valid_fails_before_iat() -> None:
    verdict = check(licence_qr(), at=ISSUED - timedelta(seconds=1))

    assert verdict.step == Step.NOT_YET_VALID
    assert verdict.detail == (
        "issued at 2025-03-01T08:00:00Z, after the verification time 2025-03-01T07:59:59Z"
    )
    assert check(licence_qr(), at=ISSUED).valid


def test_the_clock_may_be_in_any_time_zone() -> None:
    shanghai_time = DURING.astimezone(timezone(timedelta(hours=8)))

    assert check(licence_qr(), at=shanghai_time).valid


def test_passed_orders_the_steps() -> None:
    verdict = check(licence_qr(), at=EXPIRES)

    assert verdict.passed(Step.SIGNATURE)
    assert verdict.passed(Step.NOT_YET_VALID)
    assert not verdict.passed(Step.EXPIRED)
    assert check(licence_qr()).passed(Step.EXPIRED)


# --- programming errors raise; display decoding --------------------------------------------


def test_a_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at must be a timezone-aware datetime"):
        verify(licence_qr(), keys_for=SHANGHAI, at=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prefix": "sh1:"}, "prefix 'sh1:' must be non-empty QR alphanumeric text"),
        ({"prefix": ""}, "prefix '' must be"),
        ({"kid": b""}, "kid must be a non-empty byte string"),
        ({"expires_at": ISSUED}, "expires_at must be after issued_at"),
        ({"issued_at": datetime(2025, 1, 1)}, "issued_at must be a timezone-aware datetime"),
    ],
)
def test_encode_rejects_bad_arguments(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        licence_qr(**overrides)


def test_encode_rejects_an_alg_it_could_not_verify() -> None:
    with pytest.raises(ValueError, match="-257 is not a valid CoseAlg"):
        encode(
            CLAIMS,
            prefix="SH1:",
            kid=KID,
            sign=lambda data: b"",
            alg=-257,
            issuer="SH",
            issued_at=ISSUED,
            expires_at=EXPIRES,
        )


def test_a_key_window_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="not_before must be a timezone-aware datetime"):
        candidate(not_before=datetime(2025, 1, 1))


def test_decode_unverified_shows_the_claims_without_any_key() -> None:
    decoded = decode_unverified(licence_qr(key=OTHER_ES256_KEY), prefixes=("SH1:",))

    assert decoded.prefix == "SH1:"
    assert decoded.alg == CoseAlg.ES256
    assert decoded.kid == base64.b64encode(KID).decode()
    assert (decoded.issuer, decoded.issued_at, decoded.expires_at) == ("SH", ISSUED, EXPIRES)
    assert decoded.claims == CLAIMS


def test_decode_unverified_raises_an_invalid_that_names_the_step() -> None:
    with pytest.raises(UnreadableQr) as caught:
        decode_unverified("SH1:" + b45encode(b"not zlib"), prefixes=("SH1:",))

    error = caught.value
    assert isinstance(error, Invalid)
    assert error.step == Step.COMPRESSION
    problem = error.to_problem()
    assert problem["status"] == 422
    assert problem["type"].endswith("/unreadable-qr")
    assert problem["errors"][0]["field"] == "qr"
    assert problem["errors"][0]["rule"] == "compression"


def test_cbor_only_values_in_claims_come_out_json_friendly() -> None:
    claims = {
        "photo": b"\x89PNG",
        "signed_on": datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
        "tagged": cbor2.CBORTag(4000, "x"),
        7: [1, 2],
    }

    verdict = check(licence_qr(claims=claims))

    assert verdict.claims == {
        "photo": "iVBORw==",
        "signed_on": "2025-03-01T08:00:00Z",
        "tagged": {"tag": 4000, "value": "x"},
        7: [1, 2],
    }
    json.dumps(verdict.claims)


# --- never raises on bad input -------------------------------------------------------------


@settings(database=None, max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gets_a_verdict(text: str) -> None:
    verdict = check(text)

    assert isinstance(verdict, Verdict)
    assert not verdict.valid


@settings(database=None, max_examples=300, deadline=None)
@given(st.text(alphabet=B45_ALPHABET, max_size=200))
def test_any_base45_text_after_a_known_prefix_gets_a_verdict(body: str) -> None:
    verdict = check("SH1:" + body)

    assert verdict.step in {Step.BASE45, Step.COMPRESSION, Step.CBOR}


@settings(database=None, max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_compressed_bytes_get_a_verdict(message: bytes) -> None:
    verdict = check("SH1:" + b45encode(zlib.compress(message)))

    assert verdict.passed(Step.COMPRESSION)
    assert not verdict.valid


CBOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.integers(-300, 300) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(database=None, max_examples=200, deadline=None)
@given(
    protected=st.dictionaries(st.integers(-5, 5), CBOR_VALUES, max_size=3),
    unprotected=st.dictionaries(st.integers(-5, 5), CBOR_VALUES, max_size=3),
    payload=CBOR_VALUES,
)
def test_any_signed_structure_gets_a_verdict(
    protected: dict[int, Any], unprotected: dict[int, Any], payload: Any
) -> None:
    text = raw_qr(payload=payload, protected=protected, unprotected=unprotected)

    verdict = check(text)

    assert isinstance(verdict, Verdict)
    json.dumps(verdict.claims)


@settings(database=None, max_examples=200, deadline=None)
@given(position=st.integers(min_value=4), char=st.sampled_from(B45_ALPHABET + "a=\n"))
def test_a_mutated_qr_never_raises_and_never_verifies_other_claims(
    position: int, char: str
) -> None:
    text = licence_qr()
    position %= len(text)
    mutated = text[:position] + char + text[position + 1 :]

    verdict = check(mutated)

    assert not verdict.valid or verdict.claims == CLAIMS


CLAIM_KEYS = st.text(max_size=20) | st.integers(min_value=-(2**31), max_value=2**31)
CLAIM_VALUES = st.text(max_size=40) | st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(database=None, max_examples=150, deadline=None)
@given(claims=st.dictionaries(CLAIM_KEYS, CLAIM_VALUES, max_size=12))
def test_random_claims_round_trip(claims: dict[str | int, str | int]) -> None:
    verdict = check(licence_qr(claims=claims))

    assert verdict.valid
    assert verdict.claims == claims
    json.dumps(verdict.claims)
