"""The code service's context: secrets, timings, and the caches that keep scans fast."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.codes import token
from twonets.codes.models import Scenario
from twonets.governance.sealing import Keyring
from twonets.governance.service import Governance
from twonets.trust import remote
from twonets.trust import service as trust
from twonets.trust.keys import IssuingKey
from twonets.trust.store import TrustStore

ROTATION = timedelta(seconds=60)
GRACE = timedelta(seconds=30)
STORE_TTL = timedelta(seconds=60)
SCENARIO_TTL = timedelta(seconds=30)
KEY_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class ScenarioRule:
    """A scenario as the scan path uses it (a snapshot, cached briefly)."""

    code: str
    name_en: str
    holder_kinds: frozenset[str]
    disclosed: tuple[str, ...]
    verifiers: frozenset[str]
    purpose_code: str
    retention_days: int
    health: bool
    active: bool
    authority: str = ""

    @classmethod
    def of(cls, row: Scenario) -> ScenarioRule:
        """The snapshot of a scenario row."""
        return cls(
            row.code,
            row.name_en,
            frozenset(row.holder_kinds),
            tuple(row.disclosed),
            frozenset(row.verifiers),
            row.purpose_code,
            row.retention_days,
            row.health,
            row.active,
            row.authority,
        )


@dataclass
class Coding:
    """What code use cases need besides a session: secrets, timings and the verifier's caches.

    ``rotation`` is how long a code is valid, ``grace`` how long after that (and before its
    ``iat``) a verifier still accepts it, ``replay_window`` how long two sightings of one code
    at different places count as a replay (by default the code's whole life).
    """

    root_secret: bytes = field(repr=False)
    gov: Governance = field(repr=False)
    region: str = "SH"
    rotation: timedelta = ROTATION
    grace: timedelta = GRACE
    replay_window: timedelta | None = None
    # How other regions' published lists are fetched (HTTP; tests may pass their own).
    fetch: Callable[[str], str] | None = field(default=None, repr=False)
    _store: trust.CachedTrustStore | None = field(default=None, repr=False)
    _keys: dict[str, tuple[datetime, IssuingKey]] = field(default_factory=dict, repr=False)
    _scenarios: tuple[datetime, dict[str, ScenarioRule]] | None = field(default=None, repr=False)
    _keyring: tuple[datetime, Keyring] | None = field(default=None, repr=False)
    _held: tuple[datetime, frozenset[str]] | None = field(default=None, repr=False)
    _orgs: dict[int, str] = field(default_factory=dict, repr=False)

    def fetcher(self) -> Callable[[str], str]:
        """The fetch of other regions' documents: the one given, else over HTTP."""
        return self.fetch or remote.http_get

    @property
    def window(self) -> timedelta:
        """How long a code seen at one place makes a sighting elsewhere a replay."""
        return self.replay_window or self.rotation + 2 * self.grace

    def forget(self) -> None:
        """Drop every cache (after changing scenarios, trust or keys in tests and commands)."""
        self._store = None
        self._scenarios = self._keyring = self._held = None
        self._keys.clear()
        self._orgs.clear()

    def trust_store(self, session: Session, now: datetime) -> TrustStore:
        """The verifier's trust store; whether a list changed is asked every minute."""
        if self._store is None:
            # With the root secret, lists of regions this platform holds are republished when
            # stale; a dropped region stops verifying within the minute.
            self._store = trust.CachedTrustStore(self.root_secret, recheck=STORE_TTL)
        return self._store.get(session, now)

    def signing_key(self, session: Session, region: str, now: datetime) -> IssuingKey:
        """The region's current signing key (decrypted once per ten minutes, not per code)."""
        cached = self._keys.get(region)
        if cached is not None and timedelta(0) <= now - cached[0] < KEY_TTL:
            key = cached[1]
            if key.not_after is None or key.not_after > now + self.rotation:
                return key
        key = trust.signing_key(
            session, region=region, root_secret=self.root_secret, now=now, valid_for=self.rotation
        )
        self._keys[region] = (now, key)
        return key

    def scenarios(self, session: Session, now: datetime) -> dict[str, ScenarioRule]:
        """Every scenario by code (read again after thirty seconds: admins edit them)."""
        cached = self._scenarios
        if cached is None or not timedelta(0) <= now - cached[0] < SCENARIO_TTL:
            rows = session.scalars(select(Scenario)).all()
            self._scenarios = cached = (now, {r.code: ScenarioRule.of(r) for r in rows})
        return cached[1]

    def keyring(self, session: Session, now: datetime) -> Keyring:
        """The at-rest keyring (its key versions read again every minute)."""
        cached = self._keyring
        if cached is None or not timedelta(0) <= now - cached[0] < STORE_TTL:
            self._keyring = cached = (now, self.gov.keyring(session))
        return cached[1]

    def holds(self, session: Session, region: str, now: datetime) -> bool:
        """Whether this platform issues the codes of ``region`` (and so knows its holders)."""
        cached = self._held
        if cached is None or not timedelta(0) <= now - cached[0] < STORE_TTL:
            regions = frozenset(session.scalars(select(trust.IssuingRegion.region_code)))
            self._held = cached = (now, regions)
        return region in cached[1]

    def token_secret(self) -> bytes:
        """The secret under which holder tokens and place keys are computed."""
        return hmac.new(self.root_secret, b"twonets-codes", hashlib.sha256).digest()

    def place_key(self, organisation: str, place: str) -> str:
        """A keyed hash of a checkpoint: replay checks compare places without reading them."""
        message = f"{organisation}|{' '.join(place.lower().split())}".encode()
        digest = hmac.new(self.token_secret(), message, hashlib.sha256).digest()[:16]
        return token.token_text(digest)
