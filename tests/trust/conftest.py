"""Fixtures of the trust tests: a fixed clock, regions' keyrings and anchors, signed lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from twonets.trust.keys import RegionKeyring
from twonets.trust.suites import EDDSA, ES256, PrivateKey, SM2PrivateKey, SM2PublicKey
from twonets.trust.trustlist import TrustList, sign_trust_list

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)

# The SM2 example key of GM/T 0003.5 (see test_sm2.py), whose public point is published.
SM2_EXAMPLE_SCALAR = 0x3945208F_7B2144B1_3F36E38A_C6D39F95_88939369_2860B51A_42FB81EF_4DF7C5B8
SM2_EXAMPLE_POINT = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)


@pytest.fixture
def now() -> datetime:
    """The fixed clock of these tests."""
    return NOW


@pytest.fixture
def sm2_example_key() -> SM2PrivateKey:
    """An SM2 key built without tongsuopy (its public point is given, not computed)."""
    return SM2PrivateKey(SM2_EXAMPLE_SCALAR, SM2PublicKey(SM2_EXAMPLE_POINT))


@pytest.fixture(scope="session")
def anchors() -> dict[str, PrivateKey]:
    """Each region's trust-list signing key: SH signs with ES256, JS with EdDSA."""
    return {"SH": ES256.generate(), "JS": EDDSA.generate()}


KeyringMaker = Callable[..., RegionKeyring]
ListSigner = Callable[..., str]


@pytest.fixture
def make_keyring() -> KeyringMaker:
    """Builds a keyring with one active key: make_keyring(region=, suite=, now=)."""

    def make(*, region: str = "SH", suite: str = "ES256", now: datetime = NOW) -> RegionKeyring:
        keyring = RegionKeyring(region)
        keyring.generate(suite, now)
        return keyring

    return make


@pytest.fixture
def sign_list(anchors: dict[str, PrivateKey]) -> ListSigner:
    """Signs a keyring's trust list with its region's anchor (or ``anchor=``)."""

    def sign(
        keyring: RegionKeyring,
        *,
        sequence: int = 1,
        issued_at: datetime = NOW,
        next_update: datetime = NOW + WEEK,
        anchor: PrivateKey | None = None,
    ) -> str:
        trust_list = TrustList.of_keyring(
            keyring, sequence=sequence, issued_at=issued_at, next_update=next_update
        )
        return sign_trust_list(trust_list, anchor or anchors[keyring.region])

    return sign
