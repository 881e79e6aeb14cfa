"""The one JWS compact codec: round trips, strict reading, the suites' signatures, RFC 7515."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.trust import jws
from twonets.trust.errors import InvalidKey
from twonets.trust.suites import ES256, SM2_SM3, der_to_raw, raw_to_der

ES256_KEY = ec.generate_private_key(ec.SECP256R1())
ED25519_KEY = ed25519.Ed25519PrivateKey.generate()
ED448_KEY = ed448.Ed448PrivateKey.generate()

# RFC 7515 appendix A.3: the ES256 example, its key (figure 21) and compact JWS (figure 27).
RFC7515_A3_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
}
RFC7515_A3_JWS = (
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)
RFC7515_PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'


def _coordinate(name: str) -> int:
    text = RFC7515_A3_JWK[name]
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def _rfc_public_key() -> ec.EllipticCurvePublicKey:
    numbers = ec.EllipticCurvePublicNumbers(_coordinate("x"), _coordinate("y"), ec.SECP256R1())
    return numbers.public_key()


def test_the_rfc_7515_a3_example_verifies_with_its_published_key() -> None:
    parsed = jws.parse_compact(RFC7515_A3_JWS)
    assert parsed.header == {"alg": "ES256"}
    assert parsed.payload == RFC7515_PAYLOAD
    assert parsed.payload_json()["iss"] == "joe"
    assert jws.verify_compact(parsed, _rfc_public_key())


def test_the_rfc_7515_a3_private_key_is_the_published_public_key() -> None:
    private = ec.derive_private_key(_coordinate("d"), ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    assert (numbers.x, numbers.y) == (_coordinate("x"), _coordinate("y"))
    # Signed again with the same key (ECDSA draws a fresh nonce), it verifies with the JWK.
    token = jws.sign_with_key({}, RFC7515_PAYLOAD, private)
    assert jws.verify_compact(jws.parse_compact(token), _rfc_public_key())


def test_the_rfc_7515_a3_example_fails_once_altered() -> None:
    head, body, signature = RFC7515_A3_JWS.split(".")
    other_body = jws.b64url_encode(RFC7515_PAYLOAD.replace(b"joe", b"eve"))
    assert not jws.verify_compact(
        jws.parse_compact(f"{head}.{other_body}.{signature}"), _rfc_public_key()
    )
    # Under another alg the same bytes are refused before any signature is computed.
    none = jws.b64url_encode(b'{"alg":"none"}')
    assert not jws.verify_compact(
        jws.parse_compact(f"{none}.{body}.{signature}"), _rfc_public_key()
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    payload=st.dictionaries(st.text(), json_values, max_size=6),
    extra=st.dictionaries(st.sampled_from(["typ", "kid", "cty"]), st.text(), max_size=3),
    key=st.sampled_from([ES256_KEY, ED25519_KEY, ED448_KEY]),
)
def test_sign_then_parse_gives_back_header_payload_and_a_valid_signature(
    payload: dict[str, Any], extra: dict[str, str], key: jws.JwsPrivateKey
) -> None:
    token = jws.sign_with_key(extra, payload, key)
    parsed = jws.parse_compact(token)
    assert parsed.header == {"alg": jws.alg_of(key), **extra}
    assert parsed.payload_json() == payload
    assert jws.verify_compact(parsed, key.public_key())
    assert len(parsed.signature) == (114 if isinstance(key, ed448.Ed448PrivateKey) else 64)


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=200), flip=st.integers(min_value=0))
def test_any_changed_byte_of_the_signing_input_breaks_the_signature(
    payload: bytes, flip: int
) -> None:
    token = jws.sign_with_key({"typ": "x"}, payload, ED25519_KEY)
    parsed = jws.parse_compact(token)
    assert parsed.payload == payload
    changed = bytearray(parsed.signing_input)
    changed[flip % len(changed)] ^= 0x01
    public = ED25519_KEY.public_key()
    assert not jws.verify_signature("EdDSA", public, bytes(changed), parsed.signature)


@given(data=st.binary(max_size=100))
def test_base64url_round_trips_without_padding(data: bytes) -> None:
    text = jws.b64url_encode(data)
    assert "=" not in text
    assert jws.b64url_decode(text) == data


@given(r=st.integers(1, 2**256 - 1), s=st.integers(1, 2**256 - 1))
def test_raw_and_der_signatures_convert_both_ways(r: int, s: int) -> None:
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert der_to_raw(raw_to_der(raw)) == raw


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.b", "a compact JWS has 3 dot-separated parts, this has 2"),
        ("!!.e30.", "not base64url: '!' is not in the base64url alphabet"),
        ("e30.e30=.", "not base64url: '=' is not in the base64url alphabet"),
        ("e30.e30.A", "not base64url: 1 characters cannot encode whole bytes"),
        ("e30.e30.AB", "non-canonical"),
        (f"{jws.b64url_encode(b'[1]')}.e30.", "not a JSON object"),
        (f"{jws.b64url_encode(b'{')}.e30.", "Expecting property name"),
        (jws.b64url_encode(b'{"a":1,"a":2}') + ".e30.", "duplicate member 'a'"),
        (jws.b64url_encode(b'{"a":NaN}') + ".e30.", "NaN is not JSON"),
    ],
)
def test_malformed_text_names_the_part_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(jws.MalformedJws, match=message):
        jws.parse_compact(text)


def test_the_header_is_written_in_compact_json_and_sorted_on_request() -> None:
    token = jws.sign_compact({"typ": "t", "alg": "EdDSA"}, {"b": 1, "a": "é"}, lambda _: b"s")
    head, body, _ = token.split(".")
    assert base64.urlsafe_b64decode(head + "==") == b'{"typ":"t","alg":"EdDSA"}'
    assert json.loads(base64.urlsafe_b64decode(body + "==")) == {"b": 1, "a": "é"}
    sorted_token = jws.sign_compact({"typ": "t", "alg": "E"}, {}, lambda _: b"", sort_keys=True)
    assert sorted_token.startswith(jws.b64url_encode(b'{"alg":"E","typ":"t"}'))


def test_alg_comes_from_the_key_and_keys_without_one_are_refused() -> None:
    assert jws.alg_of(ES256_KEY) == "ES256"
    assert jws.alg_of(ED25519_KEY.public_key()) == "EdDSA"
    with pytest.raises(InvalidKey, match="got EC P-384"):
        jws.alg_of(ec.generate_private_key(ec.SECP384R1()))
    if SM2_SM3.available:
        with pytest.raises(InvalidKey, match="got SM2"):
            jws.alg_of(SM2_SM3.generate())


def test_only_the_accepted_algs_verify_and_keys_must_match_them() -> None:
    parsed = jws.parse_compact(jws.sign_with_key({}, b"x", ES256_KEY))
    public = ES256_KEY.public_key()
    assert jws.verify_compact(parsed, public)
    assert not jws.verify_compact(parsed, public, algs=("EdDSA",))
    assert not jws.verify_signature("none", public, parsed.signing_input, b"")
    assert not jws.verify_signature("HS256", public, parsed.signing_input, parsed.signature)
    assert not jws.verify_signature("EdDSA", public, parsed.signing_input, parsed.signature)
    assert not jws.verify_signature("ES256", ED25519_KEY.public_key(), b"x", bytes(64))
    assert ES256.verify(public, parsed.signing_input, parsed.signature)
    assert jws.has_crit({"alg": "ES256", "crit": ["b64"]})
