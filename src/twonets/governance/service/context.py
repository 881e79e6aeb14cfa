"""What governance's use cases share: the limits, the roles that oversee, the door's context."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import (
    Forbidden,
)
from twonets.core.models import Role
from twonets.governance import ledger
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import (
    DatasetKey,
)
from twonets.governance.models import (
    GranteeKind as GranteeKind,  # re-exported: domains set policies with it
)
from twonets.governance.models import (
    LegalBasis as LegalBasis,  # re-exported: domains define purposes with it
)
from twonets.governance.sealing import Keyring

SUBJECT_ACCESS = "subject.access"
# The rules of a purpose's fields (the API's schema, the pages and the demo all go through
# ``create_purpose``, which checks them).
PURPOSE_CODE_PATTERN = r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)+"
PURPOSE_CODE_MAX = 64
PURPOSE_NAME_MAX = 128
RETENTION_MAX_DAYS = 36_500
REASON_MAX = 2000
# Separation of duties: the roles that grant access (dpo) or administer the platform (admin)
# never read personal data, and are never granted it.
OVERSIGHT_ROLES = frozenset({Role.DPO, Role.ADMIN})
MAX_READ_ROWS = 1000
MAX_EXPORT_ROWS = 100_000
MINOR_AGE = 14


class PurposeState(StrEnum):
    """Whether a purpose grants anything at a given time."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"


KEY_VERSIONS_INFO = "twonets.governance.key_versions"


_KEY_VERSIONS = select(DatasetKey.dataset, DatasetKey.version)
# Grants kept per stamp: a few stamps (a writer's own transaction sees its new stamp before
# it commits), a bounded number of (reader, purpose, dataset) per stamp.
KEPT_STAMPS = 4
KEPT_GRANTS = 4096
# Read statements kept for reuse (``reading._read_statement``).
KEPT_STATEMENTS = 512


class KeptGrants:
    """The grants the door worked out, per grant stamp (``models.GrantStamp``).

    A kept grant is valid for exactly the stamp it was worked out under: every write of a
    purpose or a policy puts a new stamp, so the next read, in this process or another,
    reads the new stamp and works the grant out again. Safe to share between threads: each
    step is one dictionary operation, and a full table is replaced, never emptied in place.
    """

    def __init__(self) -> None:
        self._by_stamp: dict[str, dict[Hashable, Any]] = {}

    def get(self, stamp: str, key: Hashable) -> Any:
        """What was kept for ``key`` under ``stamp``, or ``None``."""
        kept = self._by_stamp.get(stamp)
        return None if kept is None else kept.get(key)

    def put(self, stamp: str, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` under ``stamp`` (older stamps are let go first)."""
        kept = self._by_stamp.get(stamp)
        if kept is None:
            if len(self._by_stamp) >= KEPT_STAMPS:
                self._by_stamp = {}
            kept = self._by_stamp.setdefault(stamp, {})
        if len(kept) < KEPT_GRANTS:
            kept[key] = value


@dataclass
class Governance:
    """What the door needs besides a session: the catalogue and the root secret's keys."""

    catalogue: Catalogue
    root_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        self.signer = ledger.LedgerSigner(self.root_secret)
        self.kept_grants = KeptGrants()
        self.read_statements: dict[Hashable, tuple[Any, Any]] = {}
        self._keyrings: dict[tuple[tuple[str, int], ...], Keyring] = {}

    def keyring(self, session: Session) -> Keyring:
        """The keyring at each dataset's current key version (read once per session: rotation).

        The versions are read on a transaction's first use and kept in ``session.info`` for
        the rest of that transaction (a request, a batch): sealing or opening a thousand
        values reads them once. A new transaction reads them again, and
        ``keys.rotate_dataset_key`` forgets them in its own.
        """
        versions = kept_key_versions(session)
        if versions is None:
            versions = keep_key_versions(session, session.execute(_KEY_VERSIONS).all())
        keyring = self._keyrings.get(versions)
        if keyring is None:
            # Derived keys are cached inside a keyring; keep one per set of versions.
            keyring = Keyring(self.root_secret, dict(versions))
            self._keyrings = {versions: keyring}
        return keyring


def kept_key_versions(session: Session) -> tuple[tuple[str, int], ...] | None:
    """The key versions this transaction has read (``Governance.keyring``), or ``None``."""
    transaction = session.get_transaction()
    kept = session.info.get(KEY_VERSIONS_INFO)
    if transaction is not None and kept is not None and kept[0] is transaction:
        versions: tuple[tuple[str, int], ...] = kept[1]
        return versions
    return None


def keep_key_versions(
    session: Session, rows: Iterable[tuple[Any, Any]]
) -> tuple[tuple[str, int], ...]:
    """Keep the (dataset, version) rows of ``gov_dataset_key`` for the rest of the transaction.

    Read by ``Governance.keyring`` on a transaction's first use, or by the door together with
    the grant stamp (``grants.kept_grant``); ``keys.rotate_dataset_key`` forgets them.
    """
    versions = tuple(sorted((str(d), int(v)) for d, v in rows))
    session.info[KEY_VERSIONS_INFO] = (session.get_transaction(), versions)
    return versions


# --- separation of duties ---------------------------------------------------------------------


def check_officer(principal: Principal) -> None:
    """Only a data protection officer keeps purposes, policies and the ledger's review.

    An administrator is not one: administration and data protection are separate roles.
    """
    if Role.DPO not in principal.roles:
        raise Forbidden(
            "this needs the role dpo (data protection officer); administration is a separate role",
            extra={"rule": "separation-of-duties"},
        )


def check_may_read(principal: Principal) -> None:
    """Refuse a reader holding a role that grants access or administers the platform."""
    held = sorted(r.value for r in principal.roles & OVERSIGHT_ROLES)
    if held:
        raise Forbidden(
            "separation of duties: an account holding the role "
            f"{' and '.join(held)} grants access or administers the platform, and reads no "
            "personal data; read with a member of staff's account",
            extra={"rule": "separation-of-duties", "roles": held},
        )


def grantable_roles() -> list[Role]:
    """The roles a policy may grant reads to: every role but those that grant or administer."""
    return [role for role in Role if role not in OVERSIGHT_ROLES]
