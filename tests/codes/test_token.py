"""The code format on its own: round trip, grace, forgery, trust, and hostile input."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.codes import token
from twonets.licences import qr
from twonets.trust import base45, cose
from twonets.trust.keys import RegionKeyring
from twonets.trust.store import TrustStore
from twonets.trust.trustlist import TrustList, sign_trust_list

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GRACE = timedelta(seconds=30)
ROTATION = timedelta(seconds=60)


def _region(code: str) -> tuple[RegionKeyring, RegionKeyring]:
    keys = RegionKeyring(code)
    keys.generate("ES256", NOW - timedelta(days=1))
    anchor = RegionKeyring(code)
    anchor.generate("EdDSA", NOW - timedelta(days=1), lifetime=timedelta(days=3650))
    return keys, anchor


def _trusting(*regions: tuple[RegionKeyring, RegionKeyring]) -> TrustStore:
    store = TrustStore()
    for keys, anchor in regions:
        listed = TrustList.of_keyring(
            keys,
            sequence=1,
            issued_at=NOW - timedelta(hours=1),
            next_update=NOW + timedelta(days=30),
        )
        signer = anchor.keys[-1]
        assert signer.private_key is not None
        store.add_region(signer.public_key, sign_trust_list(listed, signer.private_key), NOW)
    return store


SH = _region("SH")
JS = _region("JS")
STORE = _trusting(SH)


def _claims(**changes: object) -> token.CodeClaims:
    base: dict[str, object] = {
        "token": bytes(range(16)),
        "holder_kind": "citizen",
        "scenario": "library",
        "status": "valid",
        "nonce": bytes(8),
        "disclosed": {"status": "valid", "name_initial": "王"},
    }
    base.update(changes)
    return token.CodeClaims(**base)  # type: ignore[arg-type]


def _sign(
    region: tuple[RegionKeyring, RegionKeyring] = SH, *, at: datetime = NOW, **changes: object
) -> str:
    key = region[0].signing_key(at)
    assert key.private_key is not None
    return token.encode_code(
        _claims(**changes),
        region=region[0].region,
        private_key=key.private_key,  # type: ignore[arg-type]
        kid=key.kid,
        issued_at=at,
        rotation=ROTATION,
    )


def test_round_trip_gives_back_the_claims() -> None:
    text = _sign()
    assert text.startswith("SHC1:")
    verdict = token.verify_code(text, store=STORE, at=NOW + timedelta(seconds=5), grace=GRACE)
    assert verdict.valid
    assert verdict.region == "SH"
    assert verdict.disclosed == {"status": "valid", "name_initial": "王"}
    assert verdict.token == token.token_text(bytes(range(16)))
    assert qr.qr_version(text) <= 12  # small enough for a phone screen at arm's length


@pytest.mark.parametrize(
    ("offset", "valid", "step", "in_grace"),
    [
        (-31, False, "not_yet_valid", False),
        (-20, True, "ok", False),  # a verifier's clock a little behind
        (59, True, "ok", False),
        (60, True, "ok", True),
        (89, True, "ok", True),
        (90, False, "expired", False),
    ],
)
def test_validity_is_one_rotation_plus_the_grace_window(
    offset: int, valid: bool, step: str, in_grace: bool
) -> None:
    verdict = token.verify_code(
        _sign(), store=STORE, at=NOW + timedelta(seconds=offset), grace=GRACE
    )
    assert (verdict.valid, verdict.step, verdict.in_grace) == (valid, step, in_grace)


def test_an_untrusted_region_fails_at_trust_or_prefix() -> None:
    verdict = token.verify_code(_sign(JS), store=STORE, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step == "prefix"
    assert "does not trust" in verdict.detail
    both = _trusting(SH, JS)
    assert token.verify_code(_sign(JS), store=both, at=NOW, grace=GRACE).valid


def test_a_code_claiming_another_region_than_its_signer_fails() -> None:
    both = _trusting(SH, JS)
    key = JS[0].signing_key(NOW)
    assert key.private_key is not None
    alg, sign = cose.cose_signer(key.private_key)  # type: ignore[arg-type]
    text = cose.encode(
        _claims().to_cbor(),
        prefix="SHC1:",
        kid=key.kid,
        sign=sign,
        alg=alg,
        issuer="SH",
        issued_at=NOW,
        expires_at=NOW + ROTATION,
    )
    verdict = token.verify_code(text, store=both, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step == "trust"


def test_a_changed_claim_breaks_the_signature() -> None:
    text = _sign()
    message = cbor2.loads(zlib.decompress(base45.b45decode(text[len("SHC1:") :])))
    protected, unprotected, payload, signature = message.value
    claims = cbor2.loads(payload)
    claims[-260][1]["st"] = "green"
    forged = cbor2.dumps(
        cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(claims), signature])
    )
    text = "SHC1:" + base45.b45encode(zlib.compress(forged))
    verdict = token.verify_code(text, store=STORE, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step == "signature"


def test_signed_claims_that_are_not_a_code_s_fail_at_claims() -> None:
    verdict = token.verify_code(_sign(nonce=bytes(3)), store=STORE, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step == "claims"


def test_the_same_code_re_encoded_keeps_its_id() -> None:
    text = _sign()
    raw = zlib.decompress(base45.b45decode(text[len("SHC1:") :]))
    other = "SHC1:" + base45.b45encode(zlib.compress(raw, 1))
    assert other != text
    first = token.verify_code(text, store=STORE, at=NOW, grace=GRACE)
    second = token.verify_code(other, store=STORE, at=NOW, grace=GRACE)
    assert second.valid
    assert first.code_id == second.code_id


STEPS = {"prefix", "base45", "compression", "cbor", "kid", "trust", "signature", "claims"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_only_ever_gives_a_clear_failure(text: str) -> None:
    verdict = token.verify_code(text, store=STORE, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step in STEPS
    assert verdict.detail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_behind_the_prefix_give_a_clear_failure(data: bytes, compress: bool) -> None:
    body = zlib.compress(data) if compress else data
    verdict = token.verify_code("SHC1:" + base45.b45encode(body), store=STORE, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step in STEPS
    assert verdict.detail


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["v", "t", "k", "s", "st", "n", "d", "x"]),
        st.one_of(st.integers(), st.text(max_size=5), st.binary(max_size=20), st.none()),
    )
)
def test_signed_but_malformed_claims_fail_at_claims(payload: dict[str, object]) -> None:
    key = SH[0].signing_key(NOW)
    assert key.private_key is not None
    alg, sign = cose.cose_signer(key.private_key)  # type: ignore[arg-type]
    text = cose.encode(
        payload,
        prefix="SHC1:",
        kid=key.kid,
        sign=sign,
        alg=alg,
        issuer="SH",
        issued_at=NOW,
        expires_at=NOW + ROTATION,
    )
    verdict = token.verify_code(text, store=STORE, at=NOW, grace=GRACE)
    assert not verdict.valid
    assert verdict.step == "claims"


@given(st.binary(max_size=64))
def test_token_text_reads_back_to_the_same_bytes(raw: bytes) -> None:
    text = token.token_text(raw)
    assert "=" not in text
    assert token.token_bytes(text) == raw
