"""What every licence use case shares: the licensing context, the status-list settings,
where a region's status list is published, and opening a licence's sealed claims."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from twonets.governance.catalogue import Catalogue
from twonets.governance.sealing import Keyring
from twonets.governance.service import Governance
from twonets.licences.models import (
    Licence,
)
from twonets.trust import remote
from twonets.trust import service as trust
from twonets.trust.store import TrustStore

DATASET = "licences.licence"
# Positions in one status list; a region has as many numbered lists as its licences need.
STATUS_LIST_SIZE = 1 << 17
# A list takes new licences until this many of its positions are used, then the region's next
# list is opened: at half full a random draw finds a free position in two tries on average,
# whereas each one gets dearer as a list fills (ten tries at 90%); see docs/licences.md.
STATUS_LIST_FILL = STATUS_LIST_SIZE // 2
STATUS_BITS = 2
STATUS_TTL_SECONDS = 300
QR_LIFETIME = timedelta(days=365)
BUNDLE_LIFETIME = timedelta(days=1)
# How long a published status list token holds: a verifier that cannot reach the region
# verifies from the one it keeps this long, then says "cannot check revocation".
STATUS_LIST_LIFETIME = timedelta(hours=1)
STORE_MAX_AGE = timedelta(hours=1)
SD_JWT_LIFETIME = timedelta(days=30)
# What a holder may always leave out of an SD-JWT presentation: every field of the type.
ALWAYS_SHOWN = ("licence",)
# The changes a region's administrator may delegate to another department of the region.
CHANGES = ("amend", "suspend", "resume", "revoke")


@dataclass
class Licensing:
    """What licence use cases need besides a session: the root secret (keys derive from it)."""

    root_secret: bytes = field(repr=False)
    gov: Governance | None = field(default=None, repr=False)
    # How another region's published lists are fetched (HTTP; tests pass their own).
    fetch: Callable[[str], str] | None = field(default=None, repr=False)
    # The verifier's trust store, kept while the recognised lists stay the same.
    _store: trust.CachedTrustStore | None = field(default=None, repr=False)

    def fetcher(self) -> Callable[[str], str]:
        """The fetch of other regions' documents: the one given, else over HTTP."""
        return self.fetch or remote.http_get

    def trust_store(self, session: Session, now: datetime) -> TrustStore:
        """The platform's trust store, rebuilt when a recognised list changes or hourly."""
        return self.trust_state(session, now).store

    def trust_state(self, session: Session, now: datetime) -> trust.TrustState:
        """The trust store with the regions held here and the remote ones (see ``trust``)."""
        return self.trust_cache().state(session, now)

    def trust_cache(self) -> trust.CachedTrustStore:
        """The trust store kept between verifications (made on first use)."""
        if self._store is None:
            self._store = trust.CachedTrustStore(self.root_secret, max_age=STORE_MAX_AGE)
        return self._store

    def keyring(self, session: Session) -> Keyring:
        """The at-rest keyring, at the key versions governance keeps."""
        if self.gov is None:
            self.gov = Governance(Catalogue(), self.root_secret)
        return self.gov.keyring(session)


STATUS_LISTS_PATH = "/api/v1/status-lists/"


def status_uri(region: str, n: int = 0) -> str:
    """Where a region's status list ``n`` is published (also its key in an offline bundle):
    list 0 at the URI the first credentials named, list n > 0 under it by number."""
    if n == 0:
        return f"{STATUS_LISTS_PATH}{region}"
    return f"{STATUS_LISTS_PATH}{region}/{n}"


def parse_status_uri(uri: str) -> tuple[str, int] | None:
    """The region and list number a status ``uri`` names; None when it names no list here
    (only the exact form ``status_uri`` writes is read, so one list has one URI)."""
    if not uri.startswith(STATUS_LISTS_PATH):
        return None
    parts = uri[len(STATUS_LISTS_PATH) :].split("/")
    if len(parts) == 1:
        region, n = parts[0], 0
    elif len(parts) == 2 and parts[1].isdecimal() and parts[1].isascii():
        region, n = parts[0], int(parts[1])
    else:
        return None
    if not region or status_uri(region, n) != uri:
        return None
    return region, n


def list_fill() -> int:
    """How many positions of a list are used before the next list is opened."""
    return min(STATUS_LIST_FILL, STATUS_LIST_SIZE)


def claims_of(session: Session, ctx: Licensing, licence: Licence) -> dict[str, str]:
    """The opened claims of a licence (for its holder or its issuer, not for other readers)."""
    claims: dict[str, str] = json.loads(
        ctx.keyring(session).unseal(DATASET, "claims", licence.claims)
    )
    return claims
