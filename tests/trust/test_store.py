"""Tests for a verifier's trust store in twonets.trust.store."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import pytest

from twonets.core.errors import Invalid
from twonets.trust.certificates import (
    certificate_kid,
    certificate_pem,
    make_issuer_certificate,
    make_region_ca,
)
from twonets.trust.errors import (
    BadSignature,
    InvalidTrustList,
    KeyNotFound,
    RegionAlreadyTrusted,
    RegionNotTrusted,
    Rollback,
    SignatureRejected,
    StaleTrustList,
    WrongRegion,
)
from twonets.trust.keys import IssuingKey, RegionKeyring, kid_text
from twonets.trust.store import TrustStore
from twonets.trust.suites import ES256, PrivateKey
from twonets.trust.trustlist import TrustList, TrustListKind, sign_trust_list

KeyringMaker = Callable[..., RegionKeyring]
ListSigner = Callable[..., str]
MESSAGE = "苏 licence 320000".encode()
WEEK = timedelta(days=7)


def raises(kind: type[Exception], message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` of ``kind`` whose message is exactly ``message``."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


@pytest.fixture
def store(
    anchors: dict[str, PrivateKey], make_keyring: KeyringMaker, sign_list: ListSigner, now: datetime
) -> TrustStore:
    """A store that recognises SH."""
    trust_store = TrustStore()
    trust_store.add_region(anchors["SH"].public_key(), sign_list(make_keyring(region="SH")), now)
    return trust_store


def test_a_js_key_is_found_after_adding_js_and_not_after_dropping_it(
    store: TrustStore,
    anchors: dict[str, PrivateKey],
    make_keyring: KeyringMaker,
    sign_list: ListSigner,
    now: datetime,
) -> None:
    js = make_keyring(region="JS", suite="EdDSA")
    js_key = js.signing_key(now)
    signature = js_key.sign(MESSAGE, now)
    assert store.keys_for(js_key.kid) == []
    assert not store.is_trusted("JS")

    added = store.add_region(anchors["JS"].public_key(), sign_list(js), now, region="JS")
    assert added.region == "JS"
    assert store.regions == ("JS", "SH")
    assert store.is_trusted("JS")
    assert store.keys_for(js_key.kid) == [("JS", js_key.public_only())]
    assert store.verify(js_key.kid, MESSAGE, signature, now) == ("JS", js_key.public_only())

    store.drop_region("JS")
    assert not store.is_trusted("JS")
    assert store.keys_for(js_key.kid) == []
    with raises(KeyNotFound, f"no trusted region lists key {kid_text(js_key.kid)}") as caught:
        store.verify(js_key.kid, MESSAGE, signature, now)
    assert caught.value.status == 404


def test_update_takes_a_newer_list_and_refuses_older_and_stale_ones(
    store: TrustStore, make_keyring: KeyringMaker, sign_list: ListSigner, now: datetime
) -> None:
    keyring = make_keyring(region="SH")
    later = now + timedelta(days=1)
    keyring.rotate("EdDSA", later)
    newer = store.update(sign_list(keyring, sequence=2, issued_at=later), later)
    assert newer.sequence == 2
    assert store.trust_list("SH") == newer

    older = sign_list(keyring, sequence=1, issued_at=later)
    with raises(
        Rollback,
        "trust list of SH: sequence 1 is older than sequence 2 already held (rollback refused)",
    ):
        store.update(older, later)

    stale = sign_list(keyring, sequence=3, issued_at=now, next_update=now + timedelta(hours=1))
    with raises(
        StaleTrustList,
        "trust list of SH: expired at 2026-11-30T10:00:00Z (next_update passed, now "
        "2026-12-01T09:00:00Z); fetch a fresh list",
    ):
        store.update(stale, later)
    assert store.trust_list("SH").sequence == 2


def test_the_same_list_again_is_a_no_op_but_a_fork_is_refused(
    store: TrustStore, make_keyring: KeyringMaker, sign_list: ListSigner, now: datetime
) -> None:
    held = store.trust_list("SH")
    assert held.jws is not None
    assert store.update(held.jws, now) == held
    fork = sign_list(make_keyring(region="SH"), sequence=held.sequence)
    with raises(
        Rollback,
        "trust list of SH: sequence 1 is already held with different content "
        "(a region raises the sequence with every list)",
    ):
        store.update(fork, now)


def test_updates_of_unknown_regions_and_foreign_signers_are_refused(
    store: TrustStore,
    anchors: dict[str, PrivateKey],
    make_keyring: KeyringMaker,
    sign_list: ListSigner,
    now: datetime,
) -> None:
    with raises(RegionNotTrusted, "region JS is not trusted; add it with add_region"):
        store.update(sign_list(make_keyring(region="JS")), now)
    # JS's anchor signing a list that claims to be SH's.
    forged = sign_list(make_keyring(region="SH"), sequence=9, anchor=anchors["JS"])
    with pytest.raises(BadSignature, match=r"^trust list: header alg 'EdDSA' is not the anchor's"):
        store.update(forged, now)


def test_adding_a_region_twice_or_under_another_name_is_refused(
    store: TrustStore,
    anchors: dict[str, PrivateKey],
    make_keyring: KeyringMaker,
    sign_list: ListSigner,
    now: datetime,
) -> None:
    sh_list = sign_list(make_keyring(region="SH"), sequence=2)
    with raises(
        RegionAlreadyTrusted, "region SH is already trusted; update it, or drop it first"
    ) as caught:
        store.add_region(anchors["SH"].public_key(), sh_list, now)
    assert caught.value.status == 409
    with raises(WrongRegion, "trust list: it is the list of region SH, expected JS"):
        store.add_region(anchors["SH"].public_key(), sh_list, now, region="JS")
    with raises(RegionNotTrusted, "region ZJ is not trusted; add it with add_region"):
        store.drop_region("ZJ")


def test_verify_says_why_a_signature_is_rejected(
    anchors: dict[str, PrivateKey], sign_list: ListSigner, now: datetime
) -> None:
    keyring = RegionKeyring("SH")
    revoked = keyring.generate("ES256", now - WEEK, lifetime=timedelta(days=365))
    expired = keyring.generate("ES256", now - WEEK, lifetime=timedelta(days=1))
    current = keyring.generate("EdDSA", now)
    signatures = {
        k.kid: k.sign(MESSAGE, now - WEEK if k is not current else now) for k in keyring.keys
    }
    keyring.revoke(revoked)
    store = TrustStore()
    store.add_region(anchors["SH"].public_key(), sign_list(keyring), now)

    with raises(
        SignatureRejected,
        f"signature rejected at 2026-11-30T09:00:00Z: key {kid_text(revoked.kid)} of SH is revoked",
    ) as caught:
        store.verify(revoked.kid, MESSAGE, signatures[revoked.kid], now)
    assert caught.value.status == 403
    with raises(
        SignatureRejected,
        f"signature rejected at 2026-11-30T09:00:00Z: key {kid_text(expired.kid)} of SH "
        "expired at 2026-11-24T09:00:00Z",
    ):
        store.verify(expired.kid, MESSAGE, signatures[expired.kid], now)
    with raises(
        SignatureRejected,
        f"signature rejected at 2026-11-30T09:00:00Z: the signature does not verify under "
        f"key {kid_text(current.kid)} of SH",
    ):
        store.verify(current.kid, MESSAGE + b"!", signatures[current.kid], now)
    assert store.verify(current.kid, MESSAGE, signatures[current.kid], now)[0] == "SH"
    # keys_for without a time lists the revoked key (to explain); with one, it does not.
    assert len(store.keys_for(revoked.kid)) == 1
    assert store.keys_for(revoked.kid, now) == []


def test_one_certificate_listed_by_two_regions_is_found_in_both(
    anchors: dict[str, PrivateKey], now: datetime
) -> None:
    ca_key = ES256.generate()
    ca = make_region_ca(region_name="长三角", private_key=ca_key, now=now)
    signer_key = ES256.generate()
    certificate = make_issuer_certificate(
        region_name="长三角",
        common_name="shared issuer",
        public_key=signer_key.public_key(),
        ca_certificate=ca,
        ca_private_key=ca_key,
        now=now,
    )
    store = TrustStore()
    for region in ("SH", "JS"):
        key = IssuingKey.from_certificate(region, certificate)
        listed = TrustList(
            region=region, keys=(key,), sequence=1, issued_at=now, next_update=now + WEEK
        )
        store.add_region(
            anchors[region].public_key(), sign_trust_list(listed, anchors[region]), now
        )
    found = store.keys_for(certificate_kid(certificate))
    assert [region for region, _ in found] == ["JS", "SH"]
    signature = ES256.sign(signer_key, MESSAGE)
    assert store.verify(certificate_kid(certificate), MESSAGE, signature, now)[0] == "JS"


def test_a_pem_region_is_recognised_but_cannot_be_updated(
    store: TrustStore, make_keyring: KeyringMaker, sign_list: ListSigner, now: datetime
) -> None:
    ca_key = ES256.generate()
    ca = make_region_ca(region_name="Foreign issuer", private_key=ca_key, now=now)
    foreign = store.add_pem_region("XX", certificate_pem(ca))
    assert foreign.kind is TrustListKind.PEM
    assert store.anchor("XX") is None
    assert store.keys_for(certificate_kid(ca))[0][0] == "XX"
    with raises(
        Invalid,
        "region: region XX was added from a PEM bundle and has no anchor to verify updates; "
        "drop it and add it again",
    ):
        store.update(sign_list(make_keyring(region="XX"), anchor=ES256.generate()), now)
    with raises(
        RegionAlreadyTrusted, "region XX is already trusted; drop it first to replace its list"
    ):
        store.add_pem_region("XX", certificate_pem(ca))


def test_stale_regions_are_reported_not_dropped(store: TrustStore, now: datetime) -> None:
    assert store.stale_regions(now) == []
    assert store.stale_regions(now + WEEK) == ["SH"]
    assert store.is_trusted("SH")


def test_json_round_trip_verifies_every_list_again(
    store: TrustStore,
    anchors: dict[str, PrivateKey],
    make_keyring: KeyringMaker,
    sign_list: ListSigner,
    now: datetime,
) -> None:
    store.add_region(anchors["JS"].public_key(), sign_list(make_keyring(region="JS")), now)
    ca = make_region_ca(region_name="Foreign issuer", private_key=ES256.generate(), now=now)
    store.add_pem_region("XX", certificate_pem(ca))
    document = json.loads(json.dumps(store.to_json()))
    loaded = TrustStore.from_json(document)
    assert loaded.regions == ("JS", "SH", "XX")
    for region in loaded.regions:
        assert loaded.trust_list(region) == store.trust_list(region)
        assert loaded.anchor(region) == store.anchor(region)
    # Loading does not check the dates again: a list gone stale since is kept.
    assert TrustStore.from_json(document).stale_regions(now + WEEK) == ["JS", "SH"]

    # An edited stored list fails its signature.
    header, payload, signature = document["regions"][1]["jws"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["keys"] = []
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    document["regions"][1]["jws"] = f"{header}.{forged}.{signature}"
    with pytest.raises(BadSignature, match=r"^trust list: the signature does not verify"):
        TrustStore.from_json(document)


def _region(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """A change to the first region of a store document."""
    return lambda document: change(document["regions"][0])


def _anchor(**values: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the anchor of the first region of a store document."""
    return _region(lambda region: region["anchor"].update(values))


BAD_STORES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "version",
        lambda d: d.update(version=2),
        "format: expected format 'twonets-trust-store' version 1, "
        "got 'twonets-trust-store' version 2",
    ),
    ("regions", lambda d: d.update(regions=None), "regions: expected a list"),
    (
        "kind",
        _region(lambda r: r.update(kind="other")),
        "regions[0].kind: expected 'signed' or 'pem', got 'other'",
    ),
    (
        "region",
        _region(lambda r: r.update(region="JS")),
        "trust list: it is the list of region SH, expected JS",
    ),
    ("spki", _anchor(spki="%%%"), "regions[0].anchor.spki: not valid base64"),
    (
        "suite",
        _anchor(suite="RS256"),
        "regions[0].anchor.suite: suite: unknown signature suite 'RS256'; "
        "known: ES256, EdDSA, SM2-SM3",
    ),
    (
        "kid",
        _anchor(kid="AAAAAAAAAAA="),
        "regions[0].anchor.kid: does not match the anchor's key",
    ),
    (
        "jws",
        _region(lambda r: r.update(jws=None)),
        "regions[0].jws: expected a compact JWS string",
    ),
    (
        "twice",
        lambda d: d["regions"].append(d["regions"][0]),
        "regions[1].region: region SH appears twice",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [(change, message) for _, change, message in BAD_STORES],
    ids=[name for name, _, _ in BAD_STORES],
)
def test_a_broken_store_document_names_the_field(
    store: TrustStore, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    document = json.loads(json.dumps(store.to_json()))
    change(document)
    with pytest.raises((InvalidTrustList, WrongRegion)) as caught:
        TrustStore.from_json(document)
    assert str(caught.value) == message


def test_repr_is_a_summary(store: TrustStore) -> None:
    assert repr(store) == "TrustStore([SH#1:1 keys])"


def _b64json(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_an_update_claiming_a_bad_region_is_refused(store: TrustStore, now: datetime) -> None:
    header = {"alg": "ES256", "typ": "twonets-trust-list+jws", "kid": "x"}
    jws = f"{_b64json(header)}.{_b64json({'region': 'shanghai'})}.AAAA"
    with raises(
        InvalidTrustList,
        "region: expected a region code such as 'SH' (2-8 upper-case letters or digits), "
        "got 'shanghai'",
    ):
        store.update(jws, now)


def _entry_of(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = document["regions"][index]
    return entry


def test_more_broken_store_documents_name_the_field(store: TrustStore) -> None:
    document = store.to_json()
    cases: list[tuple[Any, str]] = [
        ([], "store: expected a JSON object"),
        ({**document, "regions": [7]}, "regions[0]: expected a JSON object"),
        (
            {**document, "regions": [{**_entry_of(document), "region": "sh"}]},
            "regions[0].region: expected a region code such as 'SH' (2-8 upper-case letters "
            "or digits), got 'sh'",
        ),
        (
            {**document, "regions": [{"region": "XX", "kind": "pem", "pem": 1}]},
            "regions[0].pem: expected PEM text",
        ),
        (
            {**document, "regions": [{**_entry_of(document), "anchor": "key"}]},
            "regions[0].anchor: expected a JSON object",
        ),
        (
            {**document, "regions": [{**_entry_of(document), "anchor": {"suite": "ES256"}}]},
            "regions[0].anchor: expected 'suite' and 'spki' strings",
        ),
        (
            {
                **document,
                "regions": [{**_entry_of(document), "anchor": {"suite": "ES256", "spki": "AAAA"}}],
            },
            "regions[0].anchor.spki: public key: not a SubjectPublicKeyInfo in DER",
        ),
    ]
    for broken, message in cases:
        with raises(InvalidTrustList, message):
            TrustStore.from_json(broken)
