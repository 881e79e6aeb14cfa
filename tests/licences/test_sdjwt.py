"""SD-JWT VCs: the hotel scenario, the IETF reference implementation, and every failing step."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import next_id_number
from twonets.core.errors import Invalid
from twonets.licences.sdjwt import (
    KB_JWT_TYP,
    SD_JWT_TYP,
    JwsSigner,
    PrivateKey,
    PublicKey,
    SdJwtStep,
    SdJwtVerdict,
    UnreadableSdJwt,
    eddsa_signer,
    es256_signer,
    issue,
    key_from_jwk,
    present,
    public_jwk,
    sign_jwt,
    verify_presentation,
)

# Keys are made once: generating them per Hypothesis example would dominate the run time.
ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER_ED_KEY = ed25519.Ed25519PrivateKey.generate()
UNKNOWN_ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())
HOLDER_KEY = ec.generate_private_key(ec.SECP256R1())
HOLDER_ED_KEY = ed25519.Ed25519PrivateKey.generate()
OTHER_HOLDER_KEY = ec.generate_private_key(ec.SECP256R1())

ISSUER = "https://sh.twonets.dev/issuers/public-security"
VCT = "https://twonets.dev/vct/resident-id-card"
KID = "SH-PSB-2026-01"
ED_KID = "SH-PSB-2026-ed"
STATUS = {"status_list": {"idx": 4711, "uri": "https://sh.twonets.dev/status/id-cards/1"}}
ISSUED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2036, 1, 5, 9, 0, tzinfo=UTC)
CHECK_IN = datetime(2026, 7, 1, 14, 30, tzinfo=UTC)
HOTEL = "https://hotel.example/huangpu/front-desk"
NONCE = "c2b6f3a1-0d4e-4f7b-9a55-7d1e2f0c9b11"

HIDDEN = ("name", "id_number", "photo_hash", "address", "birth_date")
FOR_THE_HOTEL = ("name", "id_number", "photo_hash")


def id_card_claims() -> dict[str, Any]:
    """A resident ID card: five selectively disclosable claims and one plain one."""
    return {
        "name": "王小明",
        "id_number": next_id_number(),
        "photo_hash": hashlib.sha256(b"portrait of Wang Xiaoming").hexdigest(),
        "address": "上海市黄浦区南京东路 100 号 1203 室",
        "birth_date": "1990-05-17",
        "issuing_authority": "上海市公安局黄浦分局",
    }


def issued(
    *,
    claims: dict[str, Any] | None = None,
    signer: JwsSigner | None = None,
    holder: PrivateKey = HOLDER_KEY,
    issued_at: datetime = ISSUED,
    expires_at: datetime = EXPIRES,
    decoys: int | None = None,
) -> str:
    """An ID card SD-JWT, with defaults for everything a test does not care about."""
    return issue(
        id_card_claims() if claims is None else claims,
        selectively_disclosable=HIDDEN,
        issuer=ISSUER,
        vct=VCT,
        signer=signer or es256_signer(ISSUER_KEY, KID),
        holder_jwk=public_jwk(holder.public_key()),
        issued_at=issued_at,
        expires_at=expires_at,
        status=STATUS,
        decoys=decoys,
    )


def shown(
    sd_jwt: str,
    *,
    disclose: Sequence[str] = FOR_THE_HOTEL,
    holder_key: PrivateKey | JwsSigner = HOLDER_KEY,
    at: datetime = CHECK_IN,
) -> str:
    """What the holder shows the hotel."""
    return present(
        sd_jwt, disclose=disclose, holder_key=holder_key, audience=HOTEL, nonce=NONCE, at=at
    )


def trusted_keys(kid: str | None, iss: str) -> list[PublicKey]:
    """The hotel's trust list: the Shanghai issuer's two keys, each under its kid."""
    keys: dict[str, PublicKey] = {KID: ISSUER_KEY.public_key(), ED_KID: ISSUER_ED_KEY.public_key()}
    return [keys[kid]] if iss == ISSUER and kid in keys else []


def verified(
    presentation: str,
    *,
    at: datetime = CHECK_IN + timedelta(seconds=20),
    audience: str = HOTEL,
    nonce: str = NONCE,
    keys_for: Callable[[str | None, str], Sequence[PublicKey]] = trusted_keys,
) -> SdJwtVerdict:
    """The hotel's verdict on a presentation."""
    return verify_presentation(
        presentation, keys_for=keys_for, audience=audience, nonce=nonce, at=at
    )


def assert_fails(verdict: SdJwtVerdict, step: SdJwtStep, *words: str) -> None:
    assert not verdict.valid
    assert verdict.step is step, verdict.detail
    for word in words:
        assert word in verdict.detail, verdict.detail


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts_of(sd_jwt: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Header, payload and disclosures of an SD-JWT, unverified."""
    jwt, *disclosures, _ = sd_jwt.split("~")
    header, payload, _ = jwt.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload)), disclosures


def decoded(disclosure: str) -> list[Any]:
    result: list[Any] = json.loads(unb64url(disclosure))
    return result


def digest(text: str) -> str:
    return b64url(hashlib.sha256(text.encode("ascii")).digest())


# --- the hotel scenario --------------------------------------------------------------------


def test_the_hotel_sees_name_id_number_and_photo_hash_but_not_the_address() -> None:
    claims = id_card_claims()
    presentation = shown(issued(claims=claims))

    verdict = verified(presentation)

    assert verdict.valid, verdict.detail
    assert verdict.step is SdJwtStep.OK
    assert verdict.claims == {
        "name": claims["name"],
        "id_number": claims["id_number"],
        "photo_hash": claims["photo_hash"],
        "issuing_authority": claims["issuing_authority"],
    }
    assert sorted(verdict.disclosed) == sorted(FOR_THE_HOTEL)
    assert (verdict.issuer, verdict.vct, verdict.kid) == (ISSUER, VCT, KID)
    assert (verdict.issued_at, verdict.expires_at) == (ISSUED, EXPIRES)
    assert verdict.status == STATUS
    # Not merely hidden from the verdict: the address is not in what the holder sent at all.
    _, payload, disclosures = parts_of(presentation)
    assert claims["address"] not in json.dumps(payload, ensure_ascii=False)
    assert {decoded(d)[1] for d in disclosures} == set(FOR_THE_HOTEL)


def test_an_issued_sd_jwt_is_a_dc_sd_jwt_with_digests_decoys_and_salted_disclosures() -> None:
    sd_jwt = issued(decoys=3)

    header, payload, disclosures = parts_of(sd_jwt)

    assert sd_jwt.endswith("~")
    assert header == {"alg": "ES256", "typ": SD_JWT_TYP, "kid": KID}
    assert payload["cnf"] == {"jwk": public_jwk(HOLDER_KEY.public_key())}
    assert payload["_sd_alg"] == "sha-256"
    assert payload["iat"] == int(ISSUED.timestamp())
    assert payload["exp"] == int(EXPIRES.timestamp())
    assert payload["issuing_authority"] == "上海市公安局黄浦分局"
    assert not set(HIDDEN) & set(payload)
    assert payload["_sd"] == sorted(payload["_sd"])
    assert len(payload["_sd"]) == len(HIDDEN) + 3
    assert {digest(d) for d in disclosures} < set(payload["_sd"])
    for disclosure in disclosures:
        salt, name, _ = decoded(disclosure)
        assert name in HIDDEN
        assert len(unb64url(salt)) == 16
    salts = {decoded(d)[0] for d in disclosures + parts_of(issued(decoys=3))[2]}
    assert len(salts) == 2 * len(HIDDEN)


def test_by_default_a_few_decoys_hide_how_many_claims_are_hidden() -> None:
    counts = {len(parts_of(issued())[1]["_sd"]) - len(HIDDEN) for _ in range(40)}
    assert counts <= {1, 2, 3, 4}
    assert len(counts) > 1


@pytest.mark.parametrize(
    ("signer", "holder"),
    [
        (es256_signer(ISSUER_KEY, KID), HOLDER_ED_KEY),
        (eddsa_signer(ISSUER_ED_KEY, ED_KID), HOLDER_KEY),
        (eddsa_signer(ISSUER_ED_KEY, ED_KID), HOLDER_ED_KEY),
    ],
    ids=["es256-issuer-eddsa-holder", "eddsa-issuer-es256-holder", "eddsa-both"],
)
def test_both_suites_work_for_issuer_and_holder(signer: JwsSigner, holder: PrivateKey) -> None:
    verdict = verified(shown(issued(signer=signer, holder=holder), holder_key=holder))
    assert verdict.valid, verdict.detail


def test_every_key_for_the_kid_is_tried_so_rotation_does_not_break_credentials() -> None:
    def two_keys(kid: str | None, iss: str) -> list[PublicKey]:
        return [UNKNOWN_ISSUER_KEY.public_key(), ISSUER_KEY.public_key()]

    assert verified(shown(issued()), keys_for=two_keys).valid


def test_a_plain_claim_may_be_named_and_nothing_at_all_may_be_disclosed() -> None:
    verdict = verified(shown(issued(), disclose=["issuing_authority"]))
    assert verdict.valid, verdict.detail
    assert verdict.claims == {"issuing_authority": "上海市公安局黄浦分局"}
    assert verdict.disclosed == ()


@pytest.mark.parametrize("key", [ISSUER_KEY.public_key(), ISSUER_ED_KEY.public_key()])
def test_public_jwk_round_trips(key: PublicKey) -> None:
    jwk = public_jwk(key)
    assert jwk["kty"] == ("EC" if isinstance(key, ec.EllipticCurvePublicKey) else "OKP")
    assert public_jwk(key_from_jwk(jwk)) == jwk


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "EC", "crv": "P-256", "x": b64url(b"\1" * 32), "y": b64url(b"\2" * 32)},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
    ],
    ids=["p384", "short-x", "off-curve", "rsa"],
)
def test_unusable_jwks_are_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"unsupported|bytes|not"):
        key_from_jwk(jwk)


# --- the IETF reference implementation (PyPI sd-jwt, with jwcrypto keys) -------------------


@pytest.mark.parametrize(
    ("signer", "issuer_key"),
    [
        (es256_signer(ISSUER_KEY, KID), ISSUER_KEY),
        (eddsa_signer(ISSUER_ED_KEY, ED_KID), ISSUER_ED_KEY),
    ],
    ids=["es256", "eddsa"],
)
def test_the_reference_verifier_accepts_our_presentation(
    signer: JwsSigner, issuer_key: PrivateKey
) -> None:
    verifier_module = pytest.importorskip("sd_jwt.verifier", reason="pip install sd-jwt")
    jwk_module = pytest.importorskip("jwcrypto.jwk")
    claims = id_card_claims()
    presentation = shown(issued(claims=claims, signer=signer))
    asked: list[tuple[str, str]] = []

    def issuer_key_for(iss: str, header: dict[str, Any]) -> Any:
        asked.append((iss, header["kid"]))
        return jwk_module.JWK.from_json(json.dumps(public_jwk(issuer_key.public_key())))

    verifier = verifier_module.SDJWTVerifier(
        presentation, issuer_key_for, expected_aud=HOTEL, expected_nonce=NONCE
    )
    payload = verifier.get_verified_payload()

    assert asked == [(ISSUER, signer.kid)]
    assert {name: payload[name] for name in FOR_THE_HOTEL} == {
        name: claims[name] for name in FOR_THE_HOTEL
    }
    assert "address" not in payload
    assert "birth_date" not in payload
    assert (payload["iss"], payload["vct"], payload["status"]) == (ISSUER, VCT, STATUS)


def test_the_reference_verifier_rejects_our_presentation_for_another_nonce() -> None:
    verifier_module = pytest.importorskip("sd_jwt.verifier", reason="pip install sd-jwt")
    jwk_module = pytest.importorskip("jwcrypto.jwk")
    public = json.dumps(public_jwk(ISSUER_KEY.public_key()))

    with pytest.raises(ValueError, match="nonce"):
        verifier_module.SDJWTVerifier(
            shown(issued()),
            lambda iss, header: jwk_module.JWK.from_json(public),
            expected_aud=HOTEL,
            expected_nonce="replayed-nonce",
        )


def test_our_verifier_accepts_a_presentation_made_by_the_reference_holder() -> None:
    holder_module = pytest.importorskip("sd_jwt.holder", reason="pip install sd-jwt")
    jwk_module = pytest.importorskip("jwcrypto.jwk")
    # The reference holder stamps its KB-JWT with the wall clock, so this test lives in now.
    now = datetime.now(UTC)
    claims = id_card_claims()
    sd_jwt = issued(claims=claims, issued_at=now - timedelta(days=1), expires_at=now + timedelta(1))

    holder = holder_module.SDJWTHolder(sd_jwt)
    holder.create_presentation(
        dict.fromkeys(FOR_THE_HOTEL, True),
        nonce=NONCE,
        aud=HOTEL,
        holder_key=jwk_module.JWK.from_pyca(HOLDER_KEY),
        sign_alg="ES256",
    )
    verdict = verified(holder.sd_jwt_presentation, at=now)

    assert verdict.valid, verdict.detail
    assert verdict.claims == {name: claims[name] for name in (*FOR_THE_HOTEL, "issuing_authority")}


def test_our_verifier_accepts_a_credential_issued_by_the_reference_issuer() -> None:
    issuer_module = pytest.importorskip("sd_jwt.issuer", reason="pip install sd-jwt")
    common = pytest.importorskip("sd_jwt.common")
    jwk_module = pytest.importorskip("jwcrypto.jwk")
    claims = id_card_claims()
    user_claims: dict[Any, Any] = {
        "iss": ISSUER,
        "vct": VCT,
        "iat": int(ISSUED.timestamp()),
        "exp": int(EXPIRES.timestamp()),
        "issuing_authority": claims["issuing_authority"],
        **{common.SDObj(name): claims[name] for name in HIDDEN},
    }
    reference_issuer = issuer_module.SDJWTIssuer(
        user_claims,
        jwk_module.JWK.from_pyca(ISSUER_KEY),
        holder_key=jwk_module.JWK.from_pyca(HOLDER_KEY),
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": SD_JWT_TYP, "kid": KID},
    )

    verdict = verified(shown(reference_issuer.sd_jwt_issuance))

    assert verdict.valid, verdict.detail
    assert verdict.claims == {name: claims[name] for name in (*FOR_THE_HOTEL, "issuing_authority")}


# --- each failing step ---------------------------------------------------------------------


def test_a_disclosure_with_a_changed_value_is_rejected() -> None:
    jwt, *disclosures, kb = shown(issued()).split("~")
    salt, name, _ = decoded(disclosures[0])
    disclosures[0] = b64url(json.dumps([salt, name, "李四"], ensure_ascii=False).encode())

    verdict = verified("~".join([jwt, *disclosures, kb]))

    assert_fails(verdict, SdJwtStep.DISCLOSURE, "disclosure 1", "not in the credential's _sd")
    assert verdict.claims is None


def test_a_disclosure_from_another_credential_is_rejected() -> None:
    other_claims = {**id_card_claims(), "address": "上海市浦东新区世纪大道 1 号"}
    foreign = next(d for d in parts_of(issued(claims=other_claims))[2] if "address" in decoded(d))
    jwt, *disclosures, kb = shown(issued()).split("~")

    verdict = verified("~".join([jwt, *disclosures, foreign, kb]))

    assert_fails(verdict, SdJwtStep.DISCLOSURE, "disclosure 4", "another credential")


def test_a_repeated_disclosure_is_rejected() -> None:
    jwt, *disclosures, kb = shown(issued()).split("~")

    verdict = verified("~".join([jwt, *disclosures, disclosures[1], kb]))

    assert_fails(verdict, SdJwtStep.DISCLOSURE, "disclosure 4 repeats disclosure 2")


def test_a_signature_by_an_unknown_key_is_rejected() -> None:
    forged = issued(signer=es256_signer(UNKNOWN_ISSUER_KEY, KID))

    verdict = verified(shown(forged))

    assert_fails(verdict, SdJwtStep.SIGNATURE, "does not verify", KID, ISSUER)
    assert verdict.issuer == ISSUER
    assert verdict.claims is None


def test_a_kid_that_no_trusted_key_has_is_rejected() -> None:
    verdict = verified(shown(issued(signer=es256_signer(UNKNOWN_ISSUER_KEY, "SH-rogue"))))
    assert_fails(verdict, SdJwtStep.SIGNATURE, "no key known for kid 'SH-rogue'")


def test_alg_none_is_never_accepted() -> None:
    jwt, *rest = shown(issued()).split("~")
    _, payload, _ = jwt.split(".")
    header = b64url(json.dumps({"alg": "none", "typ": SD_JWT_TYP, "kid": KID}).encode())

    verdict = verified("~".join([f"{header}.{payload}.", *rest]))

    assert_fails(verdict, SdJwtStep.SIGNATURE, "'none' is not accepted")


def test_a_plain_jwt_type_is_not_an_sd_jwt_vc() -> None:
    signer = es256_signer(ISSUER_KEY, KID)
    _, payload, disclosures = parts_of(issued())
    jwt = sign_jwt(payload, typ="JWT", signer=signer)

    verdict = verified(shown("~".join([jwt, *disclosures]) + "~"))

    assert_fails(verdict, SdJwtStep.FORMAT, "typ is 'JWT'")


def test_a_signed_disclosure_of_a_claim_that_must_stay_plain_is_rejected() -> None:
    sneaky = b64url(json.dumps(["c2FsdHNhbHRzYWx0c2FsdA", "nbf", 0]).encode())
    _, payload, disclosures = parts_of(issued())
    payload["_sd"] = sorted([*payload["_sd"], digest(sneaky)])
    jwt = sign_jwt(payload, typ=SD_JWT_TYP, signer=es256_signer(ISSUER_KEY, KID))

    verdict = verified(shown("~".join([jwt, *disclosures, sneaky]) + "~", disclose=["nbf"]))

    assert_fails(verdict, SdJwtStep.DISCLOSURE, "'nbf' must not be disclosed")


def test_an_expired_credential_is_rejected() -> None:
    after = EXPIRES + timedelta(days=1)

    verdict = verified(shown(issued(), at=after), at=after)

    assert_fails(verdict, SdJwtStep.EXPIRED, "expired at 2036-01-05T09:00:00Z")
    assert verdict.passed(SdJwtStep.DISCLOSURE)


def test_a_credential_not_yet_valid_is_rejected() -> None:
    before = ISSUED - timedelta(hours=1)

    verdict = verified(shown(issued(), at=before), at=before)

    assert_fails(verdict, SdJwtStep.NOT_YET_VALID, "valid from 2026-01-05T09:00:00Z")


def test_a_presentation_without_a_kb_jwt_is_rejected() -> None:
    verdict = verified(issued())

    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "no KB-JWT")
    assert verdict.passed(SdJwtStep.EXPIRED)


def test_a_kb_jwt_signed_by_another_key_is_rejected() -> None:
    impostor = es256_signer(OTHER_HOLDER_KEY, None)

    verdict = verified(shown(issued(), holder_key=impostor))

    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "not signed by the holder key in cnf.jwk")


def test_present_refuses_a_private_key_that_the_credential_does_not_bind() -> None:
    with pytest.raises(ValueError, match=r"cnf\.jwk"):
        shown(issued(), holder_key=OTHER_HOLDER_KEY)


def test_a_kb_jwt_for_another_nonce_is_rejected() -> None:
    verdict = verified(shown(issued()), nonce="a-fresh-nonce")
    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "nonce", "not the one asked for")


def test_a_kb_jwt_for_another_audience_is_rejected() -> None:
    verdict = verified(shown(issued()), audience="https://bank.example")
    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "aud is", HOTEL)


def test_a_stale_kb_jwt_is_rejected() -> None:
    verdict = verified(shown(issued()), at=CHECK_IN + timedelta(minutes=6))
    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "stale", "2026-07-01T14:30:00Z")


def test_a_kb_jwt_from_the_future_is_rejected() -> None:
    verdict = verified(shown(issued(), at=CHECK_IN + timedelta(minutes=10)), at=CHECK_IN)
    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "in the future")


def test_a_kb_jwt_with_a_modified_sd_hash_is_rejected() -> None:
    presentation = shown(issued())
    presented = presentation[: presentation.rindex("~") + 1]
    kb = {"iat": int(CHECK_IN.timestamp()), "aud": HOTEL, "nonce": NONCE, "sd_hash": digest("x")}
    forged = presented + sign_jwt(kb, typ=KB_JWT_TYP, signer=es256_signer(HOLDER_KEY, None))

    verdict = verified(forged)

    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "sd_hash")


def test_a_disclosure_dropped_after_the_holder_signed_breaks_the_sd_hash() -> None:
    jwt, *disclosures, kb = shown(issued()).split("~")

    verdict = verified("~".join([jwt, *disclosures[:-1], kb]))

    assert_fails(verdict, SdJwtStep.HOLDER_BINDING, "sd_hash", "removed")


def test_a_kb_jwt_of_another_type_is_rejected() -> None:
    presentation = shown(issued())
    presented = presentation[: presentation.rindex("~") + 1]
    kb = {"iat": int(CHECK_IN.timestamp()), "aud": HOTEL, "nonce": NONCE}
    forged = presented + sign_jwt(
        {**kb, "sd_hash": digest(presented)}, typ="JWT", signer=es256_signer(HOLDER_KEY, None)
    )

    assert_fails(verified(forged), SdJwtStep.HOLDER_BINDING, "typ is 'JWT'")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no '~'"),
        ("eyJhbGciOiJFUzI1NiJ9.e30.AA", "no '~'"),
        ("a.b~", "2 part(s)"),
        ("!!.e30.AA~", "not unpadded base64url"),
        ("e30.e30.AA~", "alg is missing"),
        ("W10.e30.AA~", "not a JSON object"),
        ("x~~y", "disclosure 1 is empty"),
        ("證~", "non-ASCII"),
    ],
)
def test_malformed_input_fails_the_format_step(text: str, words: str) -> None:
    assert_fails(verified(text), SdJwtStep.FORMAT, words)


def test_non_text_input_fails_the_format_step() -> None:
    not_text: Any = b"eyJ..~"
    assert_fails(verified(not_text), SdJwtStep.FORMAT, "expected text, got bytes")


# --- issuing and presenting refuse what would go wrong later -------------------------------


@pytest.mark.parametrize(
    ("claims", "field"),
    [
        ({"iss": "https://evil.example"}, "claims.iss"),
        ({"_sd": []}, "claims._sd"),
        ({"address": {"city": "上海", "_sd": ["x"]}}, "claims.address._sd"),
        ({"photo": b"\x89PNG"}, "claims.photo"),
    ],
    ids=["iss", "_sd", "nested-_sd", "bytes"],
)
def test_issue_refuses_reserved_or_non_json_claims(claims: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        issued(claims={**id_card_claims(), **claims})
    assert field in [problem.field for problem in caught.value.errors]


def test_issue_refuses_a_disclosable_name_that_is_not_a_claim() -> None:
    claims = {k: v for k, v in id_card_claims().items() if k != "photo_hash"}
    with pytest.raises(Invalid, match="photo_hash"):
        issued(claims=claims)


def test_issue_refuses_to_bind_a_private_jwk_or_use_a_short_salt() -> None:
    private_jwk = {**public_jwk(HOLDER_KEY.public_key()), "d": "secret"}
    common: dict[str, Any] = {
        "selectively_disclosable": HIDDEN,
        "issuer": ISSUER,
        "vct": VCT,
        "signer": es256_signer(ISSUER_KEY, KID),
        "issued_at": ISSUED,
        "expires_at": EXPIRES,
    }
    with pytest.raises(ValueError, match="private key"):
        issue(id_card_claims(), holder_jwk=private_jwk, **common)
    with pytest.raises(ValueError, match="16"):
        issue(
            id_card_claims(),
            holder_jwk=public_jwk(HOLDER_KEY.public_key()),
            salt=lambda: b"short",
            **common,
        )


def test_present_refuses_a_claim_the_credential_does_not_have() -> None:
    with pytest.raises(Invalid, match="'income'"):
        shown(issued(), disclose=["name", "income"])


def test_present_refuses_what_is_not_an_issued_sd_jwt() -> None:
    with pytest.raises(UnreadableSdJwt):
        shown("not.an.sd-jwt~")
    with pytest.raises(UnreadableSdJwt):
        shown(shown(issued()))  # a presentation, KB-JWT and all


# --- hostile input never raises ------------------------------------------------------------

VALID = shown(issued())
B64URL_AND_SEPARATORS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=B64URL_AND_SEPARATORS)))
def test_random_text_always_gets_a_verdict(text: str) -> None:
    verdict = verified(text)
    assert isinstance(verdict, SdJwtVerdict)
    assert not verdict.valid


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_changed_character_of_a_valid_presentation_invalidates_it(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(VALID) - 1))
    replacement = data.draw(
        st.sampled_from(B64URL_AND_SEPARATORS).filter(lambda c: c != VALID[position])
    )

    verdict = verified(VALID[:position] + replacement + VALID[position + 1 :])

    assert not verdict.valid
