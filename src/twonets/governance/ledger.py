"""The access ledger: append-only, hash-chained, Merkle tree heads signed (RFC 9162 style).

A read records one ``PendingAccess`` row per data subject inside the reader's own transaction
(cheap: a bulk insert, no hashing, no lock), so a read and its record commit together. The
sequencer then moves pending rows, in order, into ``LedgerEntry`` rows: each gets the next
sequence number, its leaf hash (SHA-256 of 0x00 and the canonical JSON of the entry), and a
chain hash linking it to the one before; after each batch a new tree head over all entries is
signed with the platform's ledger key. Appending thus never slows a read down, and one
sequencer at a time (a PostgreSQL advisory lock) keeps the chain linear.

An auditor holding a published tree head can check that a citizen's entry is in the tree
(inclusion proof) and that a later head extends an earlier one (consistency proof) without
trusting the database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from twonets.core.errors import Invalid, NotFound
from twonets.core.prepared import Prepared
from twonets.governance import merkle
from twonets.governance.models import LedgerEntry, PendingAccess, TreeHead

GENESIS = bytes(32)
ENTRY_FIELDS = (
    "seq",
    "read_at",
    "actor",
    "department_code",
    "purpose_code",
    "dataset",
    "subject_kind",
    "subject_id",
    "fields",
    "request_id",
    "kind",
)
_PENDING = cast(Table, PendingAccess.__table__)
_ENTRIES = cast(Table, LedgerEntry.__table__)
_ADVISORY_LOCK = 0x7477_6E65_7473  # "twnets": one sequencer at a time on PostgreSQL


def canonical_entry(values: dict[str, Any]) -> bytes:
    """The bytes a leaf hashes: the entry's fields as canonical JSON (sorted, compact, UTF-8)."""
    document = {}
    for name in ENTRY_FIELDS:
        value = values[name]
        if isinstance(value, datetime):
            value = value.isoformat()
        document[name] = value
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_values(entry: LedgerEntry) -> dict[str, Any]:
    """The hashed fields of a stored entry."""
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


class LedgerSigner:
    """The platform's Ed25519 key for tree heads, derived from the root secret (never stored)."""

    def __init__(self, root_secret: bytes) -> None:
        seed = HKDF(
            algorithm=SHA256(), length=32, salt=b"twonets-ledger", info=b"tree-head-signing"
        ).derive(root_secret)
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._private.public_key()
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = hashlib.sha256(raw).digest()[:8].hex()

    def __repr__(self) -> str:
        return f"LedgerSigner(key_id={self.key_id!r})"

    def sign(self, tree_size: int, root_hash: bytes, signed_at: datetime) -> str:
        """The base64 signature of a tree head."""
        return base64.b64encode(
            self._private.sign(tree_head_message(tree_size, root_hash, signed_at))
        ).decode()

    def public_key_pem(self) -> str:
        """The verification key, for auditors."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def tree_head_message(tree_size: int, root_hash: bytes, signed_at: datetime) -> bytes:
    """What a tree head signature covers."""
    return f"twonets-tree-head:v1\n{tree_size}\n{root_hash.hex()}\n{signed_at.isoformat()}".encode()


def verify_tree_head(public_key: Ed25519PublicKey, head: TreeHead) -> bool:
    """Whether a stored tree head carries a valid signature of its size, root and time."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(
            base64.b64decode(head.signature),
            tree_head_message(head.tree_size, bytes.fromhex(head.root_hash), head.signed_at),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


_INSERT_PENDING = insert(_PENDING)
# Every column of a pending read but its key: a read's record names them all.
_PENDING_KEYS = frozenset(c.key for c in _PENDING.columns if not c.primary_key)
_INSERT_ONE = Prepared(_INSERT_PENDING.inline(), columns=sorted(_PENDING_KEYS))


def record_reads(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record reads (each with its ``subject_ids``) in the caller's transaction."""
    if len(rows) == 1:
        row = rows[0]
        if row.keys() == _PENDING_KEYS:
            # One read, every column given: on the driver's cursor, the insert compiled once
            # (a read must not pay for SQLAlchemy's execution, let alone the ORM's).
            _INSERT_ONE.execute(session, row)
        else:
            session.execute(_INSERT_PENDING, row)
    elif rows:
        session.execute(_INSERT_PENDING, list(rows))


def latest_tree_head(session: Session) -> TreeHead | None:
    """The newest signed tree head."""
    return session.scalar(select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1))


def sequence_pending(
    session: Session, signer: LedgerSigner, *, now: datetime, batch_size: int = 20_000
) -> int:
    """Move up to ``batch_size`` pending reads into the ledger and sign a new tree head."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
    table = _PENDING
    pending = session.execute(select(table).order_by(table.c.id).limit(batch_size)).all()
    if not pending:
        return 0
    head = latest_tree_head(session)
    size = head.tree_size if head else 0
    accumulator = (
        merkle.MerkleAccumulator.from_state([(int(h), bytes.fromhex(x)) for h, x in head.state])
        if head
        else merkle.MerkleAccumulator()
    )
    if accumulator.size != size:
        raise RuntimeError("ledger state does not match its tree head")
    last = session.scalar(select(LedgerEntry.chain_hash).where(LedgerEntry.seq == size - 1))
    chain = bytes.fromhex(last) if last else GENESIS
    entries = []
    seq = size
    for row in pending:
        for subject_id in row.subject_ids:
            values = {
                "seq": seq,
                "read_at": row.read_at,
                "actor": row.actor,
                "department_code": row.department_code,
                "purpose_code": row.purpose_code,
                "dataset": row.dataset,
                "subject_kind": row.subject_kind,
                "subject_id": subject_id,
                "fields": list(row.fields),
                "request_id": row.request_id,
                "kind": row.kind,
            }
            leaf = merkle.leaf_hash(canonical_entry(values))
            chain = hashlib.sha256(chain + leaf).digest()
            accumulator.append(leaf)
            entries.append({**values, "leaf_hash": leaf.hex(), "chain_hash": chain.hex()})
            seq += 1
    session.execute(delete(table).where(table.c.id <= pending[-1].id))
    if not entries:
        return 0
    session.execute(insert(_ENTRIES), entries)
    new_size = size + len(entries)
    root_hash = accumulator.root()
    session.add(
        TreeHead(
            tree_size=new_size,
            root_hash=root_hash.hex(),
            signed_at=now,
            key_id=signer.key_id,
            signature=signer.sign(new_size, root_hash, now),
            state=[[h, x.hex()] for h, x in accumulator.to_state()],
        )
    )
    session.flush()
    return len(entries)


def leaf_hashes(session: Session, tree_size: int) -> list[bytes]:
    """The leaf hashes of the first ``tree_size`` entries."""
    rows = session.scalars(
        select(LedgerEntry.leaf_hash).where(LedgerEntry.seq < tree_size).order_by(LedgerEntry.seq)
    ).all()
    return [bytes.fromhex(r) for r in rows]


def tree_head_json(head: TreeHead) -> dict[str, Any]:
    """A tree head as published to auditors."""
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "signed_at": head.signed_at.isoformat(),
        "key_id": head.key_id,
        "signature": head.signature,
    }


def _head_at(session: Session, tree_size: int | None) -> TreeHead:
    if tree_size is None:
        head = latest_tree_head(session)
        if head is None:
            raise NotFound("the ledger has no signed tree head yet")
        return head
    head = session.get(TreeHead, tree_size)
    if head is None:
        raise NotFound(f"no signed tree head of size {tree_size}")
    return head


def inclusion(session: Session, seq: int, tree_size: int | None = None) -> dict[str, Any]:
    """An inclusion proof of entry ``seq`` in a signed tree head (the newest by default)."""
    head = _head_at(session, tree_size)
    if not 0 <= seq < head.tree_size:
        raise Invalid.field(
            "seq", "in-tree", f"should be below the tree size {head.tree_size}, got {seq}"
        )
    leaves = leaf_hashes(session, head.tree_size)
    entry = session.get(LedgerEntry, seq)
    assert entry is not None
    return {
        "seq": seq,
        "entry": json.loads(canonical_entry(entry_values(entry))),
        "leaf_hash": leaves[seq].hex(),
        "audit_path": [h.hex() for h in merkle.inclusion_proof(seq, leaves)],
        "tree_head": tree_head_json(head),
    }


def consistency(session: Session, first: int, second: int | None = None) -> dict[str, Any]:
    """A consistency proof between two signed tree heads."""
    old = _head_at(session, first)
    new = _head_at(session, second)
    if old.tree_size > new.tree_size:
        raise Invalid.field("first", "order", "should not be larger than the second tree size")
    leaves = leaf_hashes(session, new.tree_size)
    return {
        "first": tree_head_json(old),
        "second": tree_head_json(new),
        "proof": [h.hex() for h in merkle.consistency_proof(old.tree_size, leaves)]
        if old.tree_size
        else [],
    }


@dataclass
class VerifyReport:
    """What ``verify_ledger`` found: counts, and the first problem if any."""

    entries: int = 0
    tree_heads: int = 0
    pending: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the whole ledger checked out."""
        return not self.problems


def _entries(session: Session) -> Generator[LedgerEntry, None, None]:
    result = session.scalars(
        select(LedgerEntry).order_by(LedgerEntry.seq).execution_options(yield_per=5000)
    )
    try:
        yield from result
    finally:
        # Stopping at the first fault leaves a server-side cursor open on PostgreSQL.
        result.close()


def verify_ledger(session: Session, public_key: Ed25519PublicKey) -> VerifyReport:
    """Check every entry's hash and chain, and every tree head's root and signature."""
    report = VerifyReport()
    heads = {h.tree_size: h for h in session.scalars(select(TreeHead))}
    report.tree_heads = len(heads)
    report.pending = int(session.scalar(select(func.count()).select_from(PendingAccess)) or 0)
    entries = _entries(session)
    try:
        return _walk(entries, heads, public_key, report)
    finally:
        entries.close()


def _walk(
    entries: Iterator[LedgerEntry],
    heads: dict[int, TreeHead],
    public_key: Ed25519PublicKey,
    report: VerifyReport,
) -> VerifyReport:
    accumulator = merkle.MerkleAccumulator()
    chain = GENESIS
    expected = 0
    for entry in entries:
        if entry.seq != expected:
            report.problems.append(
                f"entry {expected} is missing (next stored entry is {entry.seq})"
            )
            return report
        leaf = merkle.leaf_hash(canonical_entry(entry_values(entry)))
        if leaf.hex() != entry.leaf_hash:
            report.problems.append(
                f"entry {entry.seq}: its content does not match its leaf hash (altered)"
            )
            return report
        chain = hashlib.sha256(chain + leaf).digest()
        if chain.hex() != entry.chain_hash:
            report.problems.append(f"entry {entry.seq}: the hash chain breaks here")
            return report
        accumulator.append(leaf)
        expected += 1
        head = heads.get(expected)
        if head is not None:
            if accumulator.root().hex() != head.root_hash:
                report.problems.append(
                    f"tree head {expected}: its root does not match entries 0..{expected - 1}"
                )
                return report
            if not verify_tree_head(public_key, head):
                report.problems.append(f"tree head {expected}: the signature does not verify")
                return report
    report.entries = expected
    beyond = [size for size in heads if size > expected]
    if beyond:
        report.problems.append(
            f"tree head {min(beyond)} covers entries that are missing (only {expected} stored)"
        )
    return report
