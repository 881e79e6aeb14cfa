"""A licence in QR form: the QR symbol a typical licence needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from builders import next_credit_code, next_id_number
from twonets.licences.qr import qr_version
from twonets.trust.cose import PublicKeyCandidate, Verdict, cose_signer, encode, verify

ES256_KEY = ec.generate_private_key(ec.SECP256R1())
KID = b"SH-2025-01"
ISSUED = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES = datetime(2030, 2, 28, 16, 0, tzinfo=UTC)
DURING = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def licence_qr(*, claims: dict[str, str]) -> str:
    """A licence's QR text under Shanghai's prefix, signed with ES256."""
    alg, sign = cose_signer(ES256_KEY)
    return encode(
        claims,
        prefix="SH1:",
        kid=KID,
        sign=sign,
        alg=alg,
        issuer="SH",
        issued_at=ISSUED,
        expires_at=EXPIRES,
    )


def check(text: str) -> Verdict:
    shanghai = [PublicKeyCandidate(key=ES256_KEY.public_key(), label="Shanghai 2025")]
    return verify(
        text, keys_for=lambda kid: shanghai if kid == KID else [], at=DURING, prefixes=("SH1:",)
    )


PERSONAL_LICENCE = {  # a driving licence: 10 fields
    "name": "王小明",
    "id_number": next_id_number(),
    "licence_number": "SH-DL-2025-000123",
    "type": "driving",
    "class": "C1",
    "department": "上海市公安局交通警察总队",
    "issued_on": "2025-03-01",
    "valid_from": "2025-03-01",
    "valid_until": "2031-03-01",
    "district": "黄浦区",
}
BUSINESS_LICENCE = {  # a food business licence: 11 fields, more Chinese text
    "name": "王小明",
    "id_number": next_id_number(),
    "holder": "上海小明餐饮管理有限公司",
    "credit_code": next_credit_code(),
    "licence_number": "JY13101010012345",
    "type": "food_business",
    "scope": "热食类食品制售",
    "address": "上海市黄浦区南京东路100号",
    "department": "上海市黄浦区市场监督管理局",
    "valid_from": "2025-03-01",
    "valid_until": "2030-02-28",
}


@pytest.mark.parametrize(
    ("claims", "largest_version"),
    [(PERSONAL_LICENCE, 14), (BUSINESS_LICENCE, 16)],
    ids=["personal-10-fields", "business-11-fields"],
)
def test_a_typical_licence_fits_a_mid_size_qr_code(
    claims: dict[str, str], largest_version: int
) -> None:
    # Measured with ES256 at level M: 487 characters → version 14, 616 → version 16 (HCERT
    # recommends level Q, one to three versions more). Short claim keys save about 15%.
    text = licence_qr(claims=claims)

    version = qr_version(text)

    print(f"{len(claims)} fields: {len(text)} characters, QR version {version} at level M")
    assert check(text).valid
    assert version <= largest_version
