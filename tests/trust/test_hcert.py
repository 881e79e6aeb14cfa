"""HCERT conformance: the EU DCC test data's signer certificates as a PEM trust list.

Each test case (``<country>/2DCode/raw/*.json``) holds the signer's certificate
(``TESTCTX.CERTIFICATE``, base64 DER) and the signed COSE_Sign1 (``COSE``, hex). The cases
declare no ``KID`` field of their own: the key id they declare is the COSE ``kid`` header
(label 4, protected or unprotected), which HCERT defines as the first 8 bytes of the SHA-256
of the signer certificate's DER. So the checks are: every declared kid is the kid our PEM
trust list gives that certificate, and the COSE signature verifies under the key found by
that kid, with our ES256 suite, at the case's validation clock.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest
from cryptography import x509

from shared_data import shared_data
from twonets.trust.certificates import certificate_kid, certificate_pem
from twonets.trust.trustlist import TrustListKind, load_pem_trust_list

COUNTRIES = ["DE", "AT", "FR"]
COSE_KID = 4


def _cases(country: str) -> list[tuple[str, dict[str, Any]]]:
    """The test cases of one country, or a skip naming the missing folder."""
    folder = shared_data("hcert-testdata", country, "2DCode", "raw")
    cases = [
        (p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.json"))
    ]
    return [
        (name, case)
        for name, case in cases
        if "COSE" in case and "CERTIFICATE" in case.get("TESTCTX", {})
    ]


def _decode(data: bytes, offset: int = 0) -> tuple[Any, int]:
    """One CBOR item (the subset COSE_Sign1 headers use) and the offset after it."""
    initial = data[offset]
    major, info = initial >> 5, initial & 0x1F
    offset += 1
    if info < 24:
        value = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        value = int.from_bytes(data[offset : offset + size], "big")
        offset += size
    else:
        raise ValueError(f"CBOR additional info {info} is not supported here")
    if major == 0:
        return value, offset
    if major == 1:
        return -1 - value, offset
    if major in (2, 3):
        raw = data[offset : offset + value]
        return (raw if major == 2 else raw.decode("utf-8")), offset + value
    if major == 4:
        items = []
        for _ in range(value):
            item, offset = _decode(data, offset)
            items.append(item)
        return items, offset
    if major == 5:
        mapping = {}
        for _ in range(value):
            key, offset = _decode(data, offset)
            mapping[key], offset = _decode(data, offset)
        return mapping, offset
    if major == 6:
        return _decode(data, offset)  # the tag is not needed once known to be COSE_Sign1
    raise ValueError(f"CBOR major type {major} is not supported here")


def _head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for info, size in ((24, 1), (25, 2), (26, 4)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | info]) + length.to_bytes(size, "big")
    raise ValueError("too long")


def _bstr(data: bytes) -> bytes:
    return _head(2, len(data)) + data


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The COSE Sig_structure ["Signature1", protected, external_aad = h'', payload]."""
    context = b"Signature1"
    return (
        _head(4, 4)
        + _head(3, len(context))
        + context
        + _bstr(protected)
        + _bstr(b"")
        + _bstr(payload)
    )


def _cose_parts(cose_hex: str) -> tuple[bytes, bytes, bytes, bytes]:
    """The kid, protected header bytes, payload and signature of a COSE_Sign1."""
    message, _ = _decode(bytes.fromhex(cose_hex))
    protected, unprotected, payload, signature = message
    protected_map = _decode(protected)[0] if protected else {}
    kid = protected_map.get(COSE_KID, unprotected.get(COSE_KID))
    return kid, protected, payload, signature


@pytest.mark.parametrize("country", COUNTRIES)
def test_declared_kids_are_the_certificates_kids_and_signatures_verify(country: str) -> None:
    cases = _cases(country)
    assert cases, f"no usable test case in {country}"
    certificates = [
        x509.load_der_x509_certificate(base64.b64decode(case["TESTCTX"]["CERTIFICATE"]))
        for _, case in cases
    ]
    trust_list = load_pem_trust_list("".join(certificate_pem(c) for c in certificates), country)
    assert trust_list.kind is TrustListKind.PEM
    # The same signer signs several cases; the list holds it once.
    assert len(trust_list.keys) == len({certificate_kid(c) for c in certificates})

    for (name, case), certificate in zip(cases, certificates, strict=True):
        kid, protected, payload, signature = _cose_parts(case["COSE"])
        assert kid is not None, f"{country}/{name} declares no kid"
        assert kid == certificate_kid(certificate), f"{country}/{name}"
        (key,) = trust_list.keys_for(kid)
        assert key.suite == "ES256"
        clock = datetime.fromisoformat(case["TESTCTX"]["VALIDATIONCLOCK"])
        assert key.may_verify(clock), f"{country}/{name}: the signer is not valid at {clock}"
        message = _sig_structure(protected, payload)
        verified = key.signature_suite.verify(key.public_key, message, signature)
        # A missing EXPECTEDVERIFY means the case does not test that step.
        if (expected := case.get("EXPECTEDRESULTS", {}).get("EXPECTEDVERIFY")) is not None:
            assert verified is expected, f"{country}/{name}"
        assert not key.signature_suite.verify(key.public_key, message + b"\0", signature)
