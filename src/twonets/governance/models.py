"""Tables of governance: purposes, versioned policies, the access ledger, tree heads, changes,
and break-glass reads waiting for the officer's review."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    insert,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import all_public, personal


class LegalBasis(StrEnum):
    """The legal bases of processing of PIPL Art. 13."""

    CONSENT = "consent"
    CONTRACT = "contract"
    STATUTORY_DUTY = "statutory-duty"
    PUBLIC_HEALTH_EMERGENCY = "public-health-emergency"
    PUBLIC_INTEREST_NEWS = "public-interest-news"
    PUBLICLY_DISCLOSED = "publicly-disclosed"
    OTHER_LAW = "other-law"


class PurposeStatus(StrEnum):
    """Whether a purpose may grant anything now."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class GranteeKind(StrEnum):
    """Who a policy grants to: one department, every department of a function, or a role."""

    DEPARTMENT = "department"
    FUNCTION = "function"
    ROLE = "role"


class Purpose(Base):
    """A named, legally based reason to process personal data, with a window and retention."""

    __tablename__ = "gov_purpose"
    __table_args__ = {"info": all_public()}

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[LegalBasis] = mapped_column(String(32))
    owner_department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retention_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[PurposeStatus] = mapped_column(String(16), default=PurposeStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Policy(Base):
    """One version of what a grantee may read of a dataset for a purpose, and how masked."""

    __tablename__ = "gov_policy"
    __table_args__ = (
        UniqueConstraint("grantee_kind", "grantee", "purpose_code", "dataset", "version"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grantee_kind: Mapped[GranteeKind] = mapped_column(String(16))
    grantee: Mapped[str] = mapped_column(String(64))
    purpose_code: Mapped[str] = mapped_column(ForeignKey("gov_purpose.code"), index=True)
    dataset: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    row_filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GrantStamp(Base):
    """One row whose ``stamp`` changes with every write of a purpose or a policy.

    The door keeps the grants it has worked out per stamp (``service.grants``): reading this
    one row tells it whether anything that grants may have changed since. Each write puts a
    new random stamp (not a counter), so a write rolled back leaves no stamp behind that a
    later write could take again. Without the row (a database emptied by hand) the door
    works its grants out on every read.
    """

    __tablename__ = "gov_grant_stamp"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stamp: Mapped[str] = mapped_column(String(32))


GRANT_STAMP_ID = 1


def new_grant_stamp(session: Session) -> None:
    """Put a new stamp in ``gov_grant_stamp`` in ``session``'s transaction (the row if none)."""
    connection = session.connection(bind_arguments={"mapper": GrantStamp})
    table = GrantStamp.__table__
    assert isinstance(table, Table)
    values = {"id": GRANT_STAMP_ID, "stamp": uuid.uuid4().hex}
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        upsert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(table).values(values)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.id], set_={"stamp": upsert.excluded.stamp}
            )
        )
        return
    changed = connection.execute(
        update(table).where(table.c.id == GRANT_STAMP_ID).values(stamp=values["stamp"])
    )
    if changed.rowcount == 0:
        connection.execute(insert(table).values(values))


@event.listens_for(Session, "before_flush")
def _stamp_grant_writes(session: Session, flush_context: object, instances: object) -> None:
    """Every flush that writes a purpose or a policy puts a new grant stamp, in its transaction.

    Listening on every session, whoever writes (the services, the demo, a test, a script)
    cannot forget it; writes that bypass the ORM must call ``new_grant_stamp`` themselves.
    """
    for changed in (session.new, session.dirty, session.deleted):
        if any(isinstance(row, Purpose | Policy) for row in changed):
            new_grant_stamp(session)
            return


class DatasetKey(Base):
    """The current key version of a dataset's sealed fields (keys themselves are derived)."""

    __tablename__ = "gov_dataset_key"
    __table_args__ = {"info": all_public()}

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GovernanceChange(Base):
    """An audit record of every change to purposes, policies and keys."""

    __tablename__ = "gov_change"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: the officer's overview lists the newest changes by this date.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), info=personal())
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


class PendingAccess(Base):
    """A read recorded in the reader's transaction, waiting to be sequenced into the ledger.

    One row per read (however many subjects it returned) keeps the read path to a single
    insert; the sequencer expands it into one ledger entry per subject.
    """

    __tablename__ = "gov_access_pending"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64), info=personal())
    department_code: Mapped[str | None] = mapped_column(String(64))
    purpose_code: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_ids: Mapped[list[int]] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16), default="read")


class LedgerEntry(Base):
    """One read of one data subject: append-only, hash-chained, a leaf of the Merkle tree."""

    __tablename__ = "gov_ledger_entry"
    __table_args__ = {"info": all_public()}

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True, info=personal())
    department_code: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose_code: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(BigInteger, index=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))


class TreeHead(Base):
    """A signed Merkle tree head over the first ``tree_size`` ledger entries."""

    __tablename__ = "gov_tree_head"
    __table_args__ = {"info": all_public()}

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    # The Merkle accumulator after this head: (height, hash) of each perfect subtree.
    state: Mapped[list[list[Any]]] = mapped_column(JSON)


class BreakGlassRead(Base):
    """A read outside every policy, made in an emergency: its reason and the officer's review.

    The read itself is in the ledger like any other (its kind ``break-glass``, hashed into
    the leaf); this row keeps what the ledger does not: the reader's reason, and whether and
    how the data protection officer reviewed it.
    """

    __tablename__ = "gov_break_glass"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64), index=True, info=personal())
    department_code: Mapped[str | None] = mapped_column(String(64))
    purpose_code: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_ids: Mapped[list[int]] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON)
    # A reason may name the emergency's circumstances: personal.
    reason: Mapped[str] = mapped_column(Text, info=personal())
    # Unreviewed reads are what the officer's overview shows first.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), info=personal())
    review_note: Mapped[str] = mapped_column(Text, default="")
