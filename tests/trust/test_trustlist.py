"""Tests for signed trust lists and PEM trust lists in twonets.trust.trustlist."""

from __future__ import annotations

import base64
import json
import re
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.errors import Invalid
from twonets.trust.certificates import (
    certificate_der,
    certificate_kid,
    certificate_pem,
    make_issuer_certificate,
    make_region_ca,
)
from twonets.trust.errors import (
    BadSignature,
    InvalidCertificate,
    InvalidTrustList,
    Rollback,
    StaleTrustList,
    WrongRegion,
)
from twonets.trust.keys import IssuingKey, KeyStatus, RegionKeyring, key_id, kid_text
from twonets.trust.suites import (
    EDDSA,
    ES256,
    PrivateKey,
    SM2PrivateKey,
    raw_to_der,
    suite_for_key,
)
from twonets.trust.trustlist import (
    TRUST_LIST_TYPE,
    TrustList,
    TrustListKind,
    load_pem_trust_list,
    sign_trust_list,
    verify_trust_list,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
SH_ANCHOR = ES256.generate()
JS_ANCHOR = EDDSA.generate()


def raises(kind: type[Exception], message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` of ``kind`` whose message is exactly ``message``."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign_raw(header: dict[str, Any], payload: bytes, key: PrivateKey) -> str:
    """A compact JWS over arbitrary payload bytes, to test what a verified payload may hold."""
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(payload)}"
    signature = suite_for_key(key).sign(key, signing_input.encode())
    return f"{signing_input}.{_b64url(signature)}"


def _header(key: PrivateKey = SH_ANCHOR, **changes: Any) -> dict[str, Any]:
    suite = suite_for_key(key)
    header = {
        "alg": suite.jws_alg,
        "typ": TRUST_LIST_TYPE,
        "kid": kid_text(key_id(key.public_key())),
    }
    header.update(changes)
    return header


def _sh_list(sequence: int = 1) -> tuple[RegionKeyring, str]:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    keyring.generate("EdDSA", NOW)
    trust_list = TrustList.of_keyring(
        keyring, sequence=sequence, issued_at=NOW, next_update=NOW + WEEK
    )
    return keyring, sign_trust_list(trust_list, SH_ANCHOR)


@pytest.mark.parametrize("anchor", [SH_ANCHOR, JS_ANCHOR], ids=["ES256", "EdDSA"])
def test_sign_then_verify_round_trip(anchor: PrivateKey) -> None:
    keyring = RegionKeyring("SH")
    retired = keyring.generate("ES256", NOW - WEEK)
    keyring.rotate("EdDSA", NOW)
    trust_list = TrustList.of_keyring(keyring, sequence=3, issued_at=NOW, next_update=NOW + WEEK)
    jws = sign_trust_list(trust_list, anchor)
    verified = verify_trust_list(jws, anchor.public_key(), NOW + timedelta(hours=1))
    assert verified == trust_list
    assert verified.jws == jws
    assert verified.kind is TrustListKind.SIGNED
    assert [k.status for k in verified.keys_for(retired.kid)] == [KeyStatus.RETIRED]
    assert all(k.private_key is None for k in verified.keys)


def test_jws_shape_header_and_payload() -> None:
    keyring, jws = _sh_list(sequence=4)
    header_part, payload_part, signature_part = jws.split(".")
    header = json.loads(_unb64url(header_part))
    assert header == {
        "alg": "ES256",
        "typ": "twonets-trust-list+jws",
        "kid": kid_text(key_id(SH_ANCHOR.public_key())),
    }
    payload = json.loads(_unb64url(payload_part))
    assert set(payload) == {"region", "issued_at", "next_update", "sequence", "keys"}
    assert (payload["region"], payload["sequence"]) == ("SH", 4)
    assert (payload["issued_at"], payload["next_update"]) == (
        "2026-11-30T09:00:00Z",
        "2026-12-07T09:00:00Z",
    )
    first = payload["keys"][0]
    assert set(first) == {"kid", "suite", "spki", "not_before", "not_after", "status"}
    assert base64.b64decode(first["kid"]) == keyring.keys[0].kid
    assert base64.b64decode(first["spki"]) == keyring.keys[0].spki()
    # The signature is an RFC 7518 ES256 one: raw r||s over "header.payload", which
    # cryptography checks here on its own.
    signature = _unb64url(signature_part)
    assert len(signature) == 64
    public = SH_ANCHOR.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        raw_to_der(signature), f"{header_part}.{payload_part}".encode(), ec.ECDSA(hashes.SHA256())
    )


def test_a_tampered_payload_fails_the_signature() -> None:
    _, jws = _sh_list(sequence=1)
    header_part, payload_part, signature_part = jws.split(".")
    payload = json.loads(_unb64url(payload_part))
    payload["keys"][0]["status"] = "active"
    payload["sequence"] = 99
    forged = f"{header_part}.{_b64url(json.dumps(payload).encode())}.{signature_part}"
    anchor_kid = kid_text(key_id(SH_ANCHOR.public_key()))
    message = f"trust list: the signature does not verify under the anchor key {anchor_kid}"
    with raises(BadSignature, message) as caught:
        verify_trust_list(forged, SH_ANCHOR.public_key(), NOW)
    assert caught.value.status == 403


def test_a_wrong_anchor_is_refused() -> None:
    _, jws = _sh_list()
    other = ES256.generate()
    signer, anchor = kid_text(key_id(SH_ANCHOR.public_key())), kid_text(key_id(other.public_key()))
    with raises(
        BadSignature, f"trust list: signed by key {signer}, but the anchor is key {anchor}"
    ):
        verify_trust_list(jws, other.public_key(), NOW)
    # A forger who copies the anchor's kid into the header still fails on the signature.
    forged = _sign_raw(_header(SH_ANCHOR), _unb64url(jws.split(".")[1]), other)
    with raises(
        BadSignature, f"trust list: the signature does not verify under the anchor key {signer}"
    ):
        verify_trust_list(forged, SH_ANCHOR.public_key(), NOW)


def test_the_algorithm_is_the_anchors_not_the_headers() -> None:
    _, jws = _sh_list()
    anchor = kid_text(key_id(JS_ANCHOR.public_key()))
    with raises(
        BadSignature, f"trust list: header alg 'ES256' is not the anchor's (EdDSA, key {anchor})"
    ):
        verify_trust_list(jws, JS_ANCHOR.public_key(), NOW)


def test_an_expired_list_is_stale() -> None:
    _, jws = _sh_list()
    message = (
        "trust list of SH: expired at 2026-12-07T09:00:00Z (next_update passed, now "
        "2026-12-07T09:00:00Z); fetch a fresh list"
    )
    with raises(StaleTrustList, message) as caught:
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW + WEEK)
    assert caught.value.status == 403
    verify_trust_list(jws, SH_ANCHOR.public_key(), NOW + WEEK - timedelta(seconds=1))


def test_a_list_from_the_future_is_refused() -> None:
    _, jws = _sh_list()
    early = NOW - timedelta(minutes=6)
    with raises(
        StaleTrustList,
        "trust list of SH: issued at 2026-11-30T09:00:00Z, in the future "
        "(now 2026-11-30T08:54:00Z)",
    ):
        verify_trust_list(jws, SH_ANCHOR.public_key(), early)
    # Five minutes of clock skew are tolerated.
    verify_trust_list(jws, SH_ANCHOR.public_key(), NOW - timedelta(minutes=5))


def test_an_older_sequence_than_held_is_a_rollback() -> None:
    _, jws = _sh_list(sequence=3)
    with raises(
        Rollback,
        "trust list of SH: sequence 3 is older than sequence 5 already held (rollback refused)",
    ):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW, held_sequence=5)
    assert verify_trust_list(jws, SH_ANCHOR.public_key(), NOW, held_sequence=3).sequence == 3


def test_the_list_of_another_region_is_refused() -> None:
    _, jws = _sh_list()
    with raises(WrongRegion, "trust list: it is the list of region SH, expected JS"):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW, region="JS")


BAD_JWS = [
    ("not-a-string", 42, "trust list: expected a compact JWS string, got int"),
    ("two-parts", "a.b", "trust list: a compact JWS has 3 dot-separated parts, got 2"),
    ("padding", "eyJ9.e30=.AA", "trust list: the JWS payload is not unpadded base64url"),
    ("alphabet", "e+.e30.AA", "trust list: the JWS header is not unpadded base64url"),
    ("length", "eyJhIjox.e30.A", "trust list: the JWS signature is not unpadded base64url"),
    ("header-json", f"{_b64url(b'{')}.e30.AA", "trust list: the JWS header is not JSON"),
    ("header-array", f"{_b64url(b'[]')}.e30.AA", "trust list: the JWS header is not a JSON object"),
]


@pytest.mark.parametrize(
    ("jws", "message"), [(j, m) for _, j, m in BAD_JWS], ids=[n for n, _, _ in BAD_JWS]
)
def test_a_malformed_jws_says_what_is_wrong(jws: Any, message: str) -> None:
    with raises(InvalidTrustList, message) as caught:
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"typ": "JWT"}, "trust list: header typ must be 'twonets-trust-list+jws', got 'JWT'"),
        ({"crit": ["exp"]}, "trust list: header parameter 'crit' is not supported"),
        ({"kid": 7}, "trust list: header kid must be a string"),
        ({"alg": None}, "trust list: header alg must be a string"),
    ],
)
def test_a_bad_header_is_refused(changes: dict[str, Any], message: str) -> None:
    jws = _sign_raw(_header(**changes), b"{}", SH_ANCHOR)
    with raises(InvalidTrustList, message):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)


def _payload(**changes: Any) -> dict[str, Any]:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    payload = TrustList.of_keyring(
        keyring, sequence=1, issued_at=NOW, next_update=NOW + WEEK
    ).payload()
    payload.update(changes)
    return payload


def _entry(**changes: Any) -> dict[str, Any]:
    entry = _payload()["keys"][0]
    entry.update(changes)
    return entry


REGION_RULE = "expected a region code such as 'SH' (2-8 upper-case letters or digits)"
BAD_PAYLOADS = [
    ("unknown", _payload(colour="red"), "colour: unknown field"),
    ("region", _payload(region="Shanghai"), f"region: {REGION_RULE}, got 'Shanghai'"),
    (
        "issued_at",
        _payload(issued_at=1700000000),
        "issued_at: expected an ISO 8601 time as a string, got 1700000000",
    ),
    (
        "order",
        _payload(next_update="2026-11-29T00:00:00Z"),
        "next_update: must be later than issued_at",
    ),
    ("sequence", _payload(sequence=-1), "sequence: expected a non-negative integer, got -1"),
    (
        "sequence-bool",
        _payload(sequence=True),
        "sequence: expected a non-negative integer, got True",
    ),
    ("keys", _payload(keys="all"), "keys: expected a list of keys"),
    (
        "key-status",
        _payload(keys=[_entry(status="paused")]),
        "keys[0].status: expected one of active, retired, revoked, got 'paused'",
    ),
    ("private", _payload(keys=[_entry(private_key="x")]), "keys[0].private_key: unknown field"),
    (
        "spki",
        _payload(keys=[_entry(spki="AAAA")]),
        "keys[0].spki: public key: not a SubjectPublicKeyInfo in DER",
    ),
]


@pytest.mark.parametrize(
    ("payload", "message"),
    [(p, m) for _, p, m in BAD_PAYLOADS],
    ids=[n for n, _, _ in BAD_PAYLOADS],
)
def test_a_signed_but_malformed_payload_names_the_field(
    payload: dict[str, Any], message: str
) -> None:
    jws = _sign_raw(_header(), json.dumps(payload).encode(), SH_ANCHOR)
    with raises(InvalidTrustList, message):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)


def test_a_payload_that_is_not_json_is_refused() -> None:
    jws = _sign_raw(_header(), b"\xff not json", SH_ANCHOR)
    with raises(InvalidTrustList, "trust list: the payload is not JSON"):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)


def test_a_key_id_that_does_not_match_its_key_is_refused() -> None:
    entry = _entry()
    spki = base64.b64decode(entry["spki"])
    other = _entry()  # another key, another kid
    entry["kid"] = other["kid"]
    jws = _sign_raw(_header(), json.dumps(_payload(keys=[entry])).encode(), SH_ANCHOR)
    expected = base64.b64encode(sha256(spki).digest()[:8]).decode()
    with raises(
        InvalidTrustList,
        f"keys[0].kid: does not match the key: expected {expected} (first 8 bytes of SHA-256 "
        f"of the spki), got {other['kid']}",
    ):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)


def test_sm2_cannot_sign_trust_lists(sm2_example_key: SM2PrivateKey) -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    trust_list = TrustList.of_keyring(keyring, sequence=1, issued_at=NOW, next_update=NOW + WEEK)
    with raises(
        Invalid, "anchor: trust lists are signed with ES256 or EdDSA; SM2-SM3 has no JWS algorithm"
    ):
        sign_trust_list(trust_list, sm2_example_key)


def test_sm2_keys_are_listed_as_bare_keys(sm2_example_key: SM2PrivateKey) -> None:
    public = sm2_example_key.public_key()
    key = IssuingKey(
        region="SH",
        suite="SM2-SM3",
        kid=key_id(public),
        public_key=public,
        not_before=NOW,
        not_after=NOW + WEEK,
    )
    trust_list = TrustList(
        region="SH", keys=(key,), sequence=1, issued_at=NOW, next_update=NOW + WEEK
    )
    verified = verify_trust_list(
        sign_trust_list(trust_list, SH_ANCHOR), SH_ANCHOR.public_key(), NOW
    )
    assert verified.keys == (key,)
    assert verified.keys[0].public_key == public


def test_certificates_are_listed_as_x5c_with_their_hcert_kid() -> None:
    ca_key = ES256.generate()
    ca = make_region_ca(region_name="上海市", private_key=ca_key, now=NOW)
    issuer_key = EDDSA.generate()
    certificate = make_issuer_certificate(
        region_name="上海市",
        common_name="issuer 1",
        public_key=issuer_key.public_key(),
        ca_certificate=ca,
        ca_private_key=ca_key,
        now=NOW,
    )
    key = IssuingKey.from_certificate("SH", certificate, chain=[ca])
    trust_list = TrustList(
        region="SH", keys=(key,), sequence=1, issued_at=NOW, next_update=NOW + WEEK
    )
    jws = sign_trust_list(trust_list, SH_ANCHOR)
    entry = json.loads(_unb64url(jws.split(".")[1]))["keys"][0]
    assert entry["x5c"] == [
        base64.b64encode(certificate_der(c)).decode() for c in (certificate, ca)
    ]
    assert base64.b64decode(entry["kid"]) == certificate_kid(certificate)
    verified = verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)
    assert verified.keys_for(certificate_kid(certificate)) == [key]
    assert verified.keys[0].suite == "EdDSA"
    # A chain whose second certificate did not issue the first is refused.
    stranger = make_region_ca(region_name="江苏省", private_key=ES256.generate(), now=NOW)
    entry["x5c"][1] = base64.b64encode(certificate_der(stranger)).decode()
    bad = _sign_raw(_header(), json.dumps(_payload(keys=[entry])).encode(), SH_ANCHOR)
    with pytest.raises(
        InvalidTrustList, match=r"^keys\[0\]\.x5c\[0\]: certificate .*: not issued by"
    ):
        verify_trust_list(bad, SH_ANCHOR.public_key(), NOW)


def test_a_list_holds_only_its_regions_keys_and_no_private_keys() -> None:
    foreign = IssuingKey.generate("JS", "ES256", NOW)
    with raises(Invalid, f"keys: key {kid_text(foreign.kid)} of JS cannot be listed by region SH"):
        TrustList(region="SH", keys=(foreign,), sequence=1, issued_at=NOW, next_update=NOW + WEEK)
    own = IssuingKey.generate("SH", "ES256", NOW)
    listed = TrustList(region="SH", keys=(own,), sequence=1, issued_at=NOW, next_update=NOW + WEEK)
    assert listed.keys[0].private_key is None
    with raises(Invalid, "next_update: a signed trust list has issued_at and next_update"):
        TrustList(region="SH", keys=())


def test_a_pem_bundle_becomes_an_unsigned_list() -> None:
    ca_key = ES256.generate()
    ca = make_region_ca(region_name="Foreign issuer", private_key=ca_key, now=NOW)
    signers = [
        make_issuer_certificate(
            region_name="Foreign issuer",
            common_name=f"signer {i}",
            public_key=suite.generate().public_key(),
            ca_certificate=ca,
            ca_private_key=ca_key,
            now=NOW,
        )
        for i, suite in enumerate([ES256, EDDSA])
    ]
    bundle = "".join(certificate_pem(c) for c in [*signers, signers[0]])
    trust_list = load_pem_trust_list(bundle, "XX")
    assert trust_list.kind is TrustListKind.PEM
    assert trust_list.region == "XX"
    assert [k.kid for k in trust_list.keys] == [certificate_kid(c) for c in signers]
    assert [k.suite for k in trust_list.keys] == ["ES256", "EdDSA"]
    assert trust_list.issued_at is None
    assert not trust_list.is_stale(NOW + timedelta(days=10_000))
    with raises(Invalid, "a PEM trust list has no dates and cannot be signed as it is"):
        trust_list.payload()


def test_a_pem_bundle_without_certificates_is_refused() -> None:
    with raises(InvalidCertificate, "certificates: the PEM bundle holds no CERTIFICATE block"):
        load_pem_trust_list("nothing here", "XX")
    with raises(
        Invalid,
        "region: expected a region code such as 'SH' (2-8 upper-case letters or digits), got 'xx'",
    ):
        load_pem_trust_list("nothing here", "xx")


_SH_KEYS = [ES256.generate() for _ in range(2)] + [EDDSA.generate() for _ in range(2)]


@settings(max_examples=30, deadline=None)
@given(
    chosen=st.lists(st.sampled_from(range(4)), unique=True, max_size=4),
    statuses=st.lists(st.sampled_from(KeyStatus), min_size=4, max_size=4),
    sequence=st.integers(0, 2**53),
    issued_offset=st.integers(-(10**7), 0),
    lifetime=st.integers(1, 10**7),
)
def test_any_list_survives_signing_and_verification(
    chosen: list[int], statuses: list[KeyStatus], sequence: int, issued_offset: int, lifetime: int
) -> None:
    keys = []
    for index in chosen:
        public = _SH_KEYS[index].public_key()
        keys.append(
            IssuingKey(
                region="SH",
                suite=suite_for_key(public).name,
                kid=key_id(public),
                public_key=public,
                not_before=NOW - timedelta(days=30),
                not_after=NOW + timedelta(days=30),
                status=statuses[index],
            )
        )
    issued_at = NOW + timedelta(seconds=issued_offset)
    trust_list = TrustList(
        region="SH",
        keys=tuple(keys),
        sequence=sequence,
        issued_at=issued_at,
        next_update=NOW + timedelta(seconds=lifetime),
    )
    verified = verify_trust_list(
        sign_trust_list(trust_list, JS_ANCHOR), JS_ANCHOR.public_key(), NOW
    )
    assert verified == trust_list


def test_a_trust_list_checks_its_own_fields() -> None:
    with raises(Invalid, "sequence: expected an integer"):
        TrustList(region="SH", keys=(), sequence=True, issued_at=NOW, next_update=NOW + WEEK)
    with raises(Invalid, "sequence: must not be negative"):
        TrustList(region="SH", keys=(), sequence=-1, issued_at=NOW, next_update=NOW + WEEK)
    with raises(Invalid, "next_update: must be later than issued_at"):
        TrustList(region="SH", keys=(), issued_at=NOW, next_update=NOW)


def test_a_pem_list_cannot_be_signed() -> None:
    ca = make_region_ca(region_name="Foreign issuer", private_key=ES256.generate(), now=NOW)
    pem_list = load_pem_trust_list(certificate_pem(ca), "XX")
    with raises(Invalid, "kind: only a list of kind 'signed' can be signed"):
        sign_trust_list(pem_list, SH_ANCHOR)


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    jws = _sign_raw(_header(), b"[1, 2]", SH_ANCHOR)
    with raises(InvalidTrustList, "trust list: the payload is not a JSON object"):
        verify_trust_list(jws, SH_ANCHOR.public_key(), NOW)
