"""The prepared COSE signer writes the bytes cbor2 writes: signing many credentials faster
changes no credential."""

from __future__ import annotations

import hashlib
import zlib
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from twonets.trust import base45, cose
from twonets.trust.cose_steps import CoseAlg, PublicKeyCandidate

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _fake_sign(seen: list[bytes]):  # type: ignore[no-untyped-def]
    def sign(data: bytes) -> bytes:
        seen.append(data)
        return hashlib.sha512(data).digest()

    return sign


@pytest.mark.parametrize("claims_size", [0, 5, 30, 300, 3000])
def test_a_prepared_signer_writes_the_structures_cbor2_writes(claims_size: int) -> None:
    seen: list[bytes] = []
    kid = bytes(range(8))
    signer = cose.PreparedSigner(int(CoseAlg.ES256), kid, _fake_sign(seen))
    claims = {"n": "x" * claims_size, "id": "310101198506010012"}
    text = signer.encode(
        claims, prefix="SH1:", issuer="SH:sh.police", issued_at=NOW, expires_at=NOW + timedelta(1)
    )
    protected = cbor2.dumps({1: int(CoseAlg.ES256), 4: kid})
    payload = cbor2.dumps(
        {
            1: "SH:sh.police",
            6: int(NOW.timestamp()),
            4: int((NOW + timedelta(1)).timestamp()),
            -260: {1: claims},
        }
    )
    assert seen == [cbor2.dumps(["Signature1", protected, b"", payload])]
    signature = hashlib.sha512(seen[0]).digest()
    expected = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    assert text.startswith("SH1:")
    assert zlib.decompress(base45.b45decode(text[4:])) == expected


def test_encode_and_a_prepared_signer_agree_and_verify() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = cose.kid_from_public_key(private.public_key())
    alg, sign = cose.cose_signer(private)
    prepared = cose.PreparedSigner.of(private, kid)
    times = {"issued_at": NOW, "expires_at": NOW + timedelta(days=1)}
    texts = [
        cose.encode({"a": "b"}, prefix="SH1:", kid=kid, sign=sign, alg=alg, issuer="SH:x", **times),
        prepared.encode({"a": "b"}, prefix="SH1:", issuer="SH:x", **times),
    ]
    for text in texts:
        verdict = cose.verify(
            text,
            keys_for=lambda k: [PublicKeyCandidate(private.public_key(), "k")],
            at=NOW + timedelta(hours=1),
            prefixes=("SH1:",),
        )
        assert verdict.valid, verdict
        assert verdict.claims == {"a": "b"}


def test_a_prepared_signer_refuses_what_encode_refuses() -> None:
    prepared = cose.PreparedSigner(int(CoseAlg.ES256), b"k", _fake_sign([]))
    with pytest.raises(ValueError, match="prefix"):
        prepared.encode({}, prefix="sh1:", issuer="x", issued_at=NOW, expires_at=NOW + timedelta(1))
    with pytest.raises(ValueError, match="expires_at"):
        prepared.encode({}, prefix="SH1:", issuer="x", issued_at=NOW, expires_at=NOW)
    with pytest.raises(ValueError, match="kid"):
        cose.PreparedSigner(int(CoseAlg.ES256), b"", _fake_sign([]))
