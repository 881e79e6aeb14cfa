"""The access ledger on a real database: sequencing, tamper evidence, proofs an auditor checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import NOW
from scan_world import World, build_world, scan_tables
from twonets.core.db import unit_of_work
from twonets.governance import ledger, merkle
from twonets.governance.models import LedgerEntry, PendingAccess, TreeHead
from twonets.governance.service import ReadQuery, read


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def _reads(factory: sessionmaker[Session], world: World, times: int) -> None:
    for n in range(times):
        with unit_of_work(factory) as session:
            read(
                session,
                world.gov,
                world.health,
                purpose="epidemic.tracing",
                dataset="health.scan",
                query=ReadQuery(limit=100),
                now=NOW + timedelta(seconds=n),
            )


def _sequence(factory: sessionmaker[Session], world: World, batch: int = 1) -> list[int]:
    """Sequence ``batch`` reads (of 3 subjects each) at a time; the tree sizes signed."""
    sizes = []
    while True:
        with unit_of_work(factory) as session:
            if not ledger.sequence_pending(session, world.gov.signer, now=NOW, batch_size=batch):
                return sizes
            head = ledger.latest_tree_head(session)
            assert head is not None
            sizes.append(head.tree_size)


def test_sequencing_chains_entries_and_signs_heads(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    _reads(session_factory, world, 4)  # 4 reads x 3 subjects
    assert _sequence(session_factory, world) == [3, 6, 9, 12]
    with session_factory() as session:
        assert session.scalars(select(PendingAccess)).all() == []
        report = ledger.verify_ledger(session, world.gov.signer.public_key)
        entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert report.ok, report.problems
    assert (report.entries, report.tree_heads) == (12, 4)
    assert [e.seq for e in entries] == list(range(12))
    # The chain: each entry's chain hash covers the previous one.
    chain = bytes(32)
    for e in entries:
        chain = hashlib.sha256(chain + bytes.fromhex(e.leaf_hash)).digest()
        assert e.chain_hash == chain.hex()


@pytest.mark.parametrize(
    ("column", "value"),
    [("department_code", "sh.other"), ("fields", ["name"]), ("subject_id", 999_999)],
)
def test_altering_any_entry_is_found_and_named(
    world: World, session_factory: sessionmaker[Session], column: str, value: object
) -> None:
    _reads(session_factory, world, 3)
    _sequence(session_factory, world)
    with unit_of_work(session_factory) as session:
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 5).values({column: value}))
    with session_factory() as session:
        report = ledger.verify_ledger(session, world.gov.signer.public_key)
    assert not report.ok
    assert report.problems == ["entry 5: its content does not match its leaf hash (altered)"]


def test_a_rewritten_hash_breaks_the_chain_and_a_deleted_entry_is_missing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    _reads(session_factory, world, 3)
    _sequence(session_factory, world)
    with unit_of_work(session_factory) as session:
        entry = session.get(LedgerEntry, 2)
        assert entry is not None
        entry.department_code = "sh.other"
        values = ledger.entry_values(entry)
        entry.leaf_hash = merkle.leaf_hash(ledger.canonical_entry(values)).hex()
    with session_factory() as session:
        report = ledger.verify_ledger(session, world.gov.signer.public_key)
    assert report.problems == ["entry 2: the hash chain breaks here"]
    with unit_of_work(session_factory) as session:
        session.execute(text("DELETE FROM gov_ledger_entry WHERE seq = 1"))
    with session_factory() as session:
        report = ledger.verify_ledger(session, world.gov.signer.public_key)
    assert report.problems == ["entry 1 is missing (next stored entry is 2)"]


def test_a_forged_tree_head_is_found(world: World, session_factory: sessionmaker[Session]) -> None:
    _reads(session_factory, world, 2)
    _sequence(session_factory, world)
    with unit_of_work(session_factory) as session:
        session.execute(update(TreeHead).where(TreeHead.tree_size == 3).values(root_hash="00" * 32))
    with session_factory() as session:
        report = ledger.verify_ledger(session, world.gov.signer.public_key)
    assert report.problems == ["tree head 3: its root does not match entries 0..2"]


# --- an outside auditor's check, written here from RFC 9162 without the platform's code ----


def _auditor_leaf(entry: dict[str, object]) -> bytes:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + canonical.encode()).digest()


def _auditor_verify(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2, straight from the text."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_an_inclusion_proof_of_a_citizens_entry_verifies_independently(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    _reads(session_factory, world, 5)
    _sequence(session_factory, world, batch=2)
    with session_factory() as session:
        seq = session.scalar(
            select(LedgerEntry.seq)
            .where(LedgerEntry.subject_id == world.citizens[1])
            .order_by(LedgerEntry.seq.desc())
            .limit(1)
        )
        assert seq is not None
        proof = ledger.inclusion(session, seq)
    head = proof["tree_head"]
    leaf = _auditor_leaf(proof["entry"])
    assert leaf.hex() == proof["leaf_hash"]
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    root = bytes.fromhex(head["root_hash"])
    assert _auditor_verify(leaf, seq, head["tree_size"], path, root)
    assert not _auditor_verify(leaf, seq ^ 1, head["tree_size"], path, root)
    forged = dict(proof["entry"], department_code="sh.police")
    assert not _auditor_verify(_auditor_leaf(forged), seq, head["tree_size"], path, root)
    # ... and the head is signed by the platform's published key.
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(world.gov.signer.public_key_pem().encode())
    message = f"twonets-tree-head:v1\n{head['tree_size']}\n{head['root_hash']}\n{head['signed_at']}"
    import base64

    key.verify(base64.b64decode(head["signature"]), message.encode())  # type: ignore[call-arg,union-attr]


def test_consistency_between_two_published_heads(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    _reads(session_factory, world, 4)
    _sequence(session_factory, world, batch=3)  # heads at 9 and 12
    with session_factory() as session:
        proof = ledger.consistency(session, 9, 12)
    assert merkle.verify_consistency(
        9,
        12,
        bytes.fromhex(proof["first"]["root_hash"]),
        bytes.fromhex(proof["second"]["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )


def test_the_command_names_the_first_bad_entry(
    world: World, session_factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    from twonets.cli import app

    if engine.dialect.name != "sqlite":
        pytest.skip("the command is exercised on the SQLite file; the check itself runs on both")
    _reads(session_factory, world, 2)
    _sequence(session_factory, world)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret.key").write_text((b"k" * 48).decode())
    env = {
        "TWONETS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "TWONETS_VAR_DIR": str(tmp_path / "var"),
    }
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "ledger ok: 6 entries, 2 signed tree heads" in ok.output
    with unit_of_work(session_factory) as session:
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 3).values(actor="someone"))
    broken = runner.invoke(app, ["ledger", "verify"], env=env)
    assert broken.exit_code == 1
    assert "ledger broken: entry 3: its content does not match its leaf hash" in broken.output
