"""Use cases of trust: a region's keys and published lists, the regions the platform trusts."""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from twonets.core.errors import Conflict, FieldProblem, Invalid, NotFound, TwonetsError
from twonets.core.events import record_event
from twonets.trust.cose import PreparedSigner
from twonets.trust.keys import IssuingKey, RegionKeyring, parse_time
from twonets.trust.models import IssuingRegion, RecognisedRegion, RemoteDocument, RemoteRegion

__all__ = ["IssuingRegion", "Prepared", "RecognisedRegion"]
from twonets.trust.errors import InvalidKey, InvalidTrustList, StaleTrustList, UntrustedTrustList
from twonets.trust.prepared import Prepared
from twonets.trust.store import TrustStore
from twonets.trust.suites import PublicKey, load_public_key
from twonets.trust.trustlist import (
    TrustList,
    load_pem_trust_list,
    peek_region,
    peek_trust_list,
    sign_trust_list,
    verify_trust_list,
)

log = logging.getLogger(__name__)

LIST_VALIDITY = timedelta(days=30)
ANCHOR_SUITE = "EdDSA"


def _keyring(record: IssuingRegion, root_secret: bytes) -> RegionKeyring:
    return RegionKeyring.from_json(record.keyring, root_secret)


# Opening a keyring decrypts each private key (PBKDF2 in PKCS#8): about a millisecond a
# key, which dominated signing a credential. Signing reads the keyring opened once per
# stored version. The cache is kept per region and root secret (a digest of it); each entry
# holds a copy of the stored keyring it was opened from, and serves only while the stored
# keyring read in the caller's transaction equals that copy: a rotation or a revocation
# stores a new keyring, so a retired or revoked version is never served. Entries are never
# mutated but for the prepared signers they keep: rotation opens its own copy (``_keyring``).
_OPENED_KEYRINGS_MAX = 64
_KEYRINGS_INFO = "twonets.trust.stored_keyrings"


@dataclass
class _Opened:
    """A keyring opened from ``stored``, with its keys' prepared COSE signers."""

    stored: dict[str, Any]
    keyring: RegionKeyring
    signers: dict[int, PreparedSigner] = field(default_factory=dict)


_opened_keyrings: OrderedDict[tuple[str, bytes], _Opened] = OrderedDict()
_opened_lock = threading.Lock()


def _stored_keyring(session: Session, region: str) -> dict[str, Any]:
    """The region's stored keyring, read with one select on a transaction's first use and
    kept in ``session.info`` for the rest of that transaction (``rotate_region_key`` forgets
    it in its own)."""
    kept: tuple[object, dict[str, dict[str, Any]]] | None = session.info.get(_KEYRINGS_INFO)
    transaction = session.get_transaction()
    if kept is not None and kept[0] is transaction and transaction is not None:
        found = kept[1].get(region)
        if found is not None:
            return found
    stored: dict[str, Any] | None = session.scalar(
        select(IssuingRegion.keyring).where(  # governance: the platform's own keys
            IssuingRegion.region_code == region
        )
    )
    if stored is None:
        raise NotFound(f"this platform holds no issuing keys of region {region!r}")
    transaction = session.get_transaction()
    kept = session.info.get(_KEYRINGS_INFO)
    if kept is None or kept[0] is not transaction:
        kept = (transaction, {})
        session.info[_KEYRINGS_INFO] = kept
    kept[1][region] = stored
    return stored


def _forget_stored_keyrings(session: Session) -> None:
    session.info.pop(_KEYRINGS_INFO, None)


def _opened(session: Session, region: str, root_secret: bytes) -> _Opened:
    stored = _stored_keyring(session, region)
    cache_key = (region, hashlib.sha256(b"twonets-keyring-cache" + root_secret).digest())
    with _opened_lock:
        opened = _opened_keyrings.get(cache_key)
        if opened is not None and opened.stored == stored:
            _opened_keyrings.move_to_end(cache_key)
            return opened
    opened = _Opened(copy.deepcopy(stored), RegionKeyring.from_json(stored, root_secret))
    with _opened_lock:
        _opened_keyrings[cache_key] = opened
        _opened_keyrings.move_to_end(cache_key)
        while len(_opened_keyrings) > _OPENED_KEYRINGS_MAX:
            _opened_keyrings.popitem(last=False)
    return opened


def _anchor_key(record: IssuingRegion, root_secret: bytes) -> IssuingKey:
    return RegionKeyring.from_json(record.anchor, root_secret).keys[-1]


def get_issuing_region(session: Session, region: str) -> IssuingRegion:
    """A region whose keys this platform holds."""
    record = session.get(IssuingRegion, region)  # governance: the platform's own keys
    if record is None:
        raise NotFound(f"this platform holds no issuing keys of region {region!r}")
    # The session's identity map holds rows weakly: keep this one for the session's life, so
    # that signing many credentials in one transaction reads the region's keys once.
    session.info.setdefault("twonets.trust.issuing_regions", {})[region] = record
    return record


def holds_region(session: Session, region: str) -> bool:
    """Whether this platform holds the issuing keys of ``region``."""
    found = select(IssuingRegion.region_code).where(IssuingRegion.region_code == region)
    return session.scalar(found) is not None


def ensure_issuing_region(
    session: Session,
    *,
    region: str,
    root_secret: bytes,
    now: datetime,
    suite: str = "ES256",
    recognise: bool = True,
) -> IssuingRegion:
    """Create a region's first issuing key and trust-list anchor, publish its list (once)."""
    record = session.get(IssuingRegion, region)  # governance: the platform's own keys
    if record is not None:
        return record
    keyring = RegionKeyring(region)
    keyring.generate(suite, now)
    anchor = RegionKeyring(region)
    anchor.generate(ANCHOR_SUITE, now, lifetime=timedelta(days=3650))
    record = IssuingRegion(
        region_code=region,
        suite=suite,
        keyring=keyring.to_json(root_secret),
        anchor=anchor.to_json(root_secret),
        sequence=0,
        created_at=now,
    )
    session.add(record)
    session.flush()
    jws = publish_trust_list(session, region=region, root_secret=root_secret, now=now)
    if recognise:
        session.add(
            RecognisedRegion(
                region_code=region,
                anchor_pem=anchor_pem(session, region, root_secret),
                trust_list=jws,
                kind="signed",
                home=True,
                added_at=now,
                updated_at=now,
            )
        )
        session.flush()
    return record


def publish_trust_list(session: Session, *, region: str, root_secret: bytes, now: datetime) -> str:
    """Sign a new trust list of the region's keys (sequence + 1) and keep it for verifiers."""
    record = get_issuing_region(session, region)
    keyring = _keyring(record, root_secret)
    record.sequence += 1
    trust_list = TrustList.of_keyring(
        keyring, sequence=record.sequence, issued_at=now, next_update=now + LIST_VALIDITY
    )
    anchor = _anchor_key(record, root_secret)
    assert anchor.private_key is not None
    jws = sign_trust_list(trust_list, anchor.private_key)
    record.trust_list = jws
    record.published_at = now
    recognised = session.get(RecognisedRegion, region)
    if recognised is not None and recognised.kind == "signed":
        recognised.trust_list = jws
        recognised.updated_at = now
    record_event(session, "trust.list.published", {"region": region, "sequence": record.sequence})
    session.flush()
    return jws


def anchor_pem(session: Session, region: str, root_secret: bytes) -> str:
    """The public key that signs the region's trust lists (PEM), for verifiers to pin."""
    record = get_issuing_region(session, region)
    anchor = _anchor_key(record, root_secret)
    return anchor.signature_suite.public_bytes(anchor.public_key, "PEM").decode("ascii")


def signing_key(
    session: Session, *, region: str, root_secret: bytes, now: datetime, valid_for: timedelta
) -> IssuingKey:
    """The key that signs credentials of the region now (the newest active one)."""
    return _opened(session, region, root_secret).keyring.signing_key(now, valid_for=valid_for)


def prepared_signer(
    session: Session, *, region: str, root_secret: bytes, now: datetime, valid_for: timedelta
) -> PreparedSigner:
    """The COSE signer of ``signing_key``, its constant parts encoded once per key."""
    opened = _opened(session, region, root_secret)
    key = opened.keyring.signing_key(now, valid_for=valid_for)
    signer = opened.signers.get(id(key))
    if signer is None:
        assert key.private_key is not None
        signer = PreparedSigner.of(key.private_key, key.kid)  # type: ignore[arg-type]
        opened.signers[id(key)] = signer
    return signer


def rotate_region_key(
    session: Session, *, region: str, root_secret: bytes, now: datetime
) -> IssuingKey:
    """A new signing key for the region; older keys retire (they still verify), list republished."""
    record = get_issuing_region(session, region)
    keyring = _keyring(record, root_secret)
    key = keyring.rotate(record.suite, now)
    record.keyring = keyring.to_json(root_secret)
    _forget_stored_keyrings(session)
    publish_trust_list(session, region=region, root_secret=root_secret, now=now)
    return key


def recognise_region(
    session: Session, *, anchor: str, trust_list: str, now: datetime
) -> RecognisedRegion:
    """Trust another region: check its signed list against its anchor, keep both."""
    store = TrustStore()
    key = _load_anchor(anchor)
    try:
        listed = store.add_region(key, trust_list, now)
    except (InvalidTrustList, UntrustedTrustList) as exc:
        # Name the field at fault, so that a form shows the refusal beside the list.
        problem = FieldProblem("trust_list", exc.slug, exc.detail)
        raise type(exc)(exc.detail, errors=exc.errors or [problem], extra=exc.extra) from exc
    if session.get(RecognisedRegion, listed.region) is not None:
        raise Conflict(f"region {listed.region} is already recognised; drop it first")
    record = RecognisedRegion(
        region_code=listed.region,
        anchor_pem=anchor,
        trust_list=trust_list,
        kind="signed",
        home=False,
        added_at=now,
        updated_at=now,
    )
    session.add(record)
    record_event(session, "trust.region.recognised", {"region": listed.region})
    session.flush()
    return record


def recognise_pem_issuer(session: Session, *, region: str, pem: str, now: datetime) -> None:
    """Trust a foreign issuer from a PEM bundle of its signing certificates."""
    load_pem_trust_list(pem, region)
    if session.get(RecognisedRegion, region) is not None:
        raise Conflict(f"region {region} is already recognised; drop it first")
    session.add(
        RecognisedRegion(
            region_code=region,
            anchor_pem=None,
            trust_list=pem,
            kind="pem",
            home=False,
            added_at=now,
            updated_at=now,
        )
    )
    session.flush()


def drop_region(session: Session, *, region: str) -> None:
    """Stop trusting a region: its credentials no longer verify here."""
    record = session.get(RecognisedRegion, region)
    if record is None:
        raise NotFound(f"region {region!r} is not recognised")
    if record.home:
        raise Invalid.field("region", "not-home", "the home region cannot be dropped")
    session.delete(record)
    # A region running its own deployment: where it publishes, and what was kept of it.
    remote = session.get(RemoteRegion, region)
    if remote is not None:
        session.delete(remote)
    for doc in session.scalars(select(RemoteDocument).where(RemoteDocument.region_code == region)):
        session.delete(doc)
    record_event(session, "trust.region.dropped", {"region": region})
    session.flush()


def list_recognised(session: Session) -> Sequence[RecognisedRegion]:
    """The regions this platform's verifiers trust, home first."""
    return session.scalars(
        select(RecognisedRegion).order_by(
            RecognisedRegion.home.desc(), RecognisedRegion.region_code
        )
    ).all()


@dataclass(frozen=True)
class ListFacts:
    """What a recognised region's list says, and whether it holds now: ``current``, ``stale``
    (its next update has passed), ``broken`` (it does not verify under the pinned anchor) or
    ``certificates`` (a foreign issuer's certificates, which carry no list to check)."""

    sequence: int | None
    issued_at: str | None
    next_update: str | None
    keys: int | None
    state: str
    problem: str = ""


def describe_recognised(record: RecognisedRegion, now: datetime) -> ListFacts:
    """The facts of a recognised region's list as people read them, checked at ``now``."""
    if record.kind == "pem":
        return ListFacts(None, None, None, None, "certificates")
    try:
        # What the list claims is shown even when it does not verify, beside the problem.
        payload = peek_trust_list(record.trust_list)
    except InvalidTrustList:
        payload = {}
    keys, sequence = payload.get("keys"), payload.get("sequence")
    issued_at, next_update = payload.get("issued_at"), payload.get("next_update")

    def facts(state: str, problem: str = "") -> ListFacts:
        return ListFacts(
            sequence=sequence if isinstance(sequence, int) else None,
            issued_at=issued_at if isinstance(issued_at, str) else None,
            next_update=next_update if isinstance(next_update, str) else None,
            keys=len(keys) if isinstance(keys, list) else None,
            state=state,
            problem=problem,
        )

    try:
        verify_trust_list(record.trust_list, _load_anchor(record.anchor_pem or ""), now)
    except StaleTrustList as exc:
        return facts("stale", exc.detail)
    except (TwonetsError, ValueError) as exc:
        return facts("broken", exc.detail if isinstance(exc, TwonetsError) else str(exc))
    return facts("current")


def trust_store(session: Session, *, now: datetime, root_secret: bytes | None = None) -> TrustStore:
    """The verifier's trust store of this platform, every list checked against its anchor.

    A region whose list has gone stale is left out (its credentials fail at "trust") rather
    than failing every verification; with ``root_secret``, the lists of regions whose keys
    this platform holds are republished when stale.
    """
    store = TrustStore()
    for record in list_recognised(session):
        if record.kind == "pem":
            store.add_pem_region(record.region_code, record.trust_list)
            continue
        assert record.anchor_pem is not None
        try:
            store.add_region(_load_anchor(record.anchor_pem), record.trust_list, now)
        except StaleTrustList:
            if root_secret is None or not holds_region(session, record.region_code):
                log.warning("trust list of %s is stale; its credentials fail", record.region_code)
                continue
            fresh = publish_trust_list(
                session, region=record.region_code, root_secret=root_secret, now=now
            )
            store.add_region(_load_anchor(record.anchor_pem), fresh, now)
    return store


# What a kept trust store stands for, read in one statement: per recognised region its kind,
# when it changed, its anchor and the length and end of its list (a signed list ends with its
# signature, a PEM bundle with its last certificate's); the regions whose keys are held here;
# the regions running their own deployment. Any write to those tables changes the answer.
# The first column tags the part; callers may add parts of their own with other tags.
_TAIL = 96
_recognised = RecognisedRegion.__table__
_issuing = IssuingRegion.__table__
_remote = RemoteRegion.__table__
_list_length = func.length(_recognised.c.trust_list)
STATE_SELECTS = (
    select(
        literal_column("'recognised'"),
        _recognised.c.region_code,
        _recognised.c.kind,
        _recognised.c.updated_at,
        _recognised.c.anchor_pem,
        _list_length,
        case(
            (
                _list_length > literal_column(str(_TAIL)),
                func.substr(
                    _recognised.c.trust_list, _list_length - literal_column(str(_TAIL - 1))
                ),
            ),
            else_=_recognised.c.trust_list,
        ),
    ),
    select(
        literal_column("'issuing'"), _issuing.c.region_code, null(), null(), null(), null(), null()
    ),
    select(
        literal_column("'remote'"), _remote.c.region_code, null(), null(), null(), null(), null()
    ),
)
STATE_TAGS = frozenset({"recognised", "issuing", "remote"})
_STATE = Prepared(union_all(*STATE_SELECTS))


@dataclass(frozen=True)
class TrustState:
    """The trust store kept for verifiers, with what verification asks beside it: the regions
    whose keys this platform holds (their status is read here) and the regions that run a
    deployment of their own (their status lists are fetched)."""

    store: TrustStore
    held: frozenset[str]
    remote: frozenset[str]


class CachedTrustStore:
    """A verifier's trust store kept between verifications, rebuilt only when it must be.

    Rebuilt when a recognised list changes (a region added, dropped or republished, in this
    process or another one), when a list in it goes stale, and at least every ``max_age``.
    Whether anything changed is one statement of a few short columns per region, asked at
    most every ``recheck`` (0: on every call), so a busy scan path need not query per
    request; a dropped region then stops verifying within ``recheck``.
    """

    def __init__(
        self,
        root_secret: bytes | None,
        *,
        max_age: timedelta = timedelta(hours=1),
        recheck: timedelta = timedelta(0),
    ) -> None:
        self.root_secret = root_secret
        self.max_age = max_age
        self.recheck = recheck
        self._built: tuple[frozenset[tuple[object, ...]], datetime, TrustState] | None = None
        self._checked_at: datetime | None = None

    def get(self, session: Session, now: datetime) -> TrustStore:
        """The trust store as of ``now``."""
        return self.state(session, now).store

    def state(self, session: Session, now: datetime) -> TrustState:
        """The trust store as of ``now``, with the regions held here and the remote ones."""
        built = self._built
        checked = self._checked_at
        if (
            built is not None
            and checked is not None
            and timedelta(0) <= now - checked < self.recheck
        ):
            return built[2]
        # Unflushed changes of this session count, as they did for an ORM query.
        if session.autoflush:
            session.flush()
        key = frozenset(_STATE.rows(session))
        self._checked_at = now
        if built is not None and built[0] == key and self.kept(now) is built[2]:
            return built[2]
        store = trust_store(session, now=now, root_secret=self.root_secret)
        state = TrustState(
            store,
            held=frozenset(r[1] for r in key if r[0] == "issuing"),
            remote=frozenset(r[1] for r in key if r[0] == "remote"),
        )
        self._built = (key, now, state)
        return state

    def kept(self, now: datetime) -> TrustState | None:
        """The kept state, if only a change recorded in the database could make it wrong at
        ``now`` (built within ``max_age``, no list in it stale); ``confirm`` it before use."""
        built = self._built
        if built is None or not timedelta(0) <= now - built[1] < self.max_age:
            return None
        if built[2].store.stale_regions(now):
            return None
        return built[2]

    def confirm(self, rows: Iterable[tuple[object, ...]], now: datetime) -> bool:
        """Whether the rows of ``STATE_SELECTS`` (run through ``Prepared``, maybe beside rows
        of other tags) are those the kept state was built from: if so, it holds at ``now``."""
        built = self._built
        if built is None or frozenset(r for r in rows if r[0] in STATE_TAGS) != built[0]:
            return False
        self._checked_at = now
        return True

    def confirm_now(self, session: Session, now: datetime) -> bool:
        """``confirm`` with the rows read now."""
        if session.autoflush:
            session.flush()
        return self.confirm(_STATE.rows(session), now)

    def forget(self) -> None:
        """Drop the kept store (the next call rebuilds it)."""
        self._built = None
        self._checked_at = None


def load_anchor(pem: str) -> PublicKey:
    """A region's trust-list anchor from its PEM text (a field problem naming ``anchor``)."""
    return _load_anchor(pem)


def _load_anchor(pem: str) -> PublicKey:
    try:
        return load_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeError):
        raise Invalid.field("anchor", "pem", "should be a PEM public key") from None
    except InvalidKey as exc:
        problem = FieldProblem("anchor", "pem", f"not a PEM public key ({exc.detail})")
        raise InvalidKey(exc.detail, errors=[problem]) from exc


def next_update_of(trust_list: str) -> datetime | None:
    """When a published list says it should be fetched again (unchecked: for cache headers)."""
    try:
        value = peek_trust_list(trust_list).get("next_update")
        return parse_time(value, "next_update", InvalidTrustList.field) if value else None
    except TwonetsError:
        return None


def region_of(trust_list: str) -> str:
    """The region a signed trust list says it is of (unchecked: for routing only)."""
    return peek_region(trust_list)
