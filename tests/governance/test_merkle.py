"""Tests for the RFC 9162 Merkle tree in twonets.governance.merkle."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.governance.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The test vectors of the Certificate Transparency implementations (transparency-dev/merkle
# proof/verify_test.go, from Google's C++ and Go CT code): eight leaves and the roots of the
# trees made of their first 1..8.
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
VECTOR_HASHES = [leaf_hash(d) for d in VECTOR_LEAVES]

# (leaf index, tree size, audit path) from the same suite, which numbers leaves from 1.
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]

# (old size, new size, consistency proof) from the same suite.
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# Which subtrees a proof is made of, from transparency-dev/merkle proof/proof_test.go, written
# as leaf ranges [start, end) instead of node ids (a "rehashed" pair of ids is one range).
INCLUSION_SHAPES = [
    (1, 0, []),
    (2, 0, [(1, 2)]),
    (2, 1, [(0, 1)]),
    (3, 1, [(0, 1), (2, 3)]),
    (7, 0, [(1, 2), (2, 4), (4, 7)]),
    (7, 2, [(3, 4), (0, 2), (4, 7)]),
    (7, 4, [(5, 6), (6, 7), (0, 4)]),
    (7, 6, [(4, 6), (0, 4)]),
    (4, 2, [(3, 4), (0, 2)]),
    (5, 3, [(2, 3), (0, 2), (4, 5)]),
    (6, 3, [(2, 3), (0, 2), (4, 6)]),
    (6, 4, [(5, 6), (0, 4)]),
    (15, 10, [(11, 12), (8, 10), (12, 15), (0, 8)]),
    (31, 24, [(25, 26), (26, 28), (28, 31), (16, 24), (0, 16)]),
]
CONSISTENCY_SHAPES = [
    (1, 2, [(1, 2)]),
    (1, 4, [(1, 2), (2, 4)]),
    (1, 6, [(1, 2), (2, 4), (4, 6)]),
    (2, 3, [(2, 3)]),
    (2, 8, [(2, 4), (4, 8)]),
    (3, 7, [(2, 3), (3, 4), (0, 2), (4, 7)]),
    (4, 7, [(4, 7)]),
    (5, 7, [(4, 5), (5, 6), (6, 7), (0, 4)]),
    (6, 7, [(4, 6), (6, 7), (0, 4)]),
    (7, 8, [(6, 7), (7, 8), (4, 6), (0, 4)]),
    (2, 4, [(2, 4)]),
    (3, 5, [(2, 3), (3, 4), (0, 2), (4, 5)]),
    (3, 6, [(2, 3), (3, 4), (0, 2), (4, 6)]),
    (4, 6, [(4, 6)]),
    (1, 7, [(1, 2), (2, 4), (4, 7)]),
    (10, 15, [(8, 10), (10, 12), (12, 15), (0, 8)]),
    (24, 31, [(16, 24), (24, 31), (0, 16)]),
    (4, 4, []),
]


# --- An outside auditor: RFC 9162 §2.1 read literally, sharing no code with merkle.py. ---


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n, found the slow and obvious way."""
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def auditor_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the recursive definition, over leaf hashes."""
    if not hashes:
        return _sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return _sha256(b"\x01" + auditor_mth(hashes[:k]) + auditor_mth(hashes[k:]))


def auditor_inclusion_root(m: int, n: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that PATH(m, D[n]) implies for ``leaf``, undoing the definition's recursion."""
    if not 0 <= m < n:
        return None
    if n == 1:
        return leaf if not path else None
    if not path:
        return None
    k = _k(n)
    *below, sibling = path
    if m < k:
        left = auditor_inclusion_root(m, k, leaf, below)
        return None if left is None else _sha256(b"\x01" + left + sibling)
    right = auditor_inclusion_root(m - k, n - k, leaf, below)
    return None if right is None else _sha256(b"\x01" + sibling + right)


def auditor_includes(m: int, n: int, leaf: bytes, path: Sequence[bytes], mth: bytes) -> bool:
    """The auditor's verdict on an inclusion proof."""
    return auditor_inclusion_root(m, n, leaf, path) == mth


def _auditor_subproof_roots(
    m: int, n: int, proof: Sequence[bytes], b: bool, old_root: bytes
) -> tuple[bytes, bytes] | None:
    """The (old, new) subtree roots that SUBPROOF(m, D[n], b) implies."""
    if m == n:
        if b:
            return (old_root, old_root) if not proof else None
        return (proof[0], proof[0]) if len(proof) == 1 else None
    if not proof:
        return None
    k = _k(n)
    *below, sibling = proof
    if m <= k:
        inner = _auditor_subproof_roots(m, k, below, b, old_root)
        if inner is None:
            return None
        return inner[0], _sha256(b"\x01" + inner[1] + sibling)
    inner = _auditor_subproof_roots(m - k, n - k, below, False, old_root)
    if inner is None:
        return None
    return _sha256(b"\x01" + sibling + inner[0]), _sha256(b"\x01" + sibling + inner[1])


def auditor_consistent(m: int, n: int, proof: Sequence[bytes], old: bytes, new: bytes) -> bool:
    """The auditor's verdict on a consistency proof between sizes 0 < m <= n."""
    if not 0 < m <= n:
        return False
    return _auditor_subproof_roots(m, n, proof, True, old) == (old, new)


# --- Builders. ---


def make_leaves(*, count: int, salt: int = 0) -> list[bytes]:
    """``count`` distinct leaf hashes."""
    return [leaf_hash(f"entry {salt}:{i}".encode()) for i in range(count)]


def flip(proof: Sequence[bytes], *, element: int, position: int) -> list[bytes]:
    """A copy of ``proof`` with one byte of one element changed."""
    changed = list(proof)
    digest = bytearray(changed[element])
    digest[position] ^= 0x01
    changed[element] = bytes(digest)
    return changed


def _hashes(hexes: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def _ranges(leaves: Sequence[bytes], ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    return [auditor_mth(leaves[start:end]) for start, end in ranges]


# --- Known answers. ---


def test_hash_primitives_match_rfc6962_vectors() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT
    # The empty tree and a tree holding one empty leaf must differ.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_ct_vectors(size: int) -> None:
    expected = bytes.fromhex(VECTOR_ROOTS[size - 1])
    assert root(VECTOR_HASHES[:size]) == expected
    assert auditor_mth(VECTOR_HASHES[:size]) == expected
    accumulator = MerkleAccumulator()
    accumulator.extend(VECTOR_HASHES[:size])
    assert accumulator.root() == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_ct_vectors(index: int, size: int, path: list[str]) -> None:
    expected = _hashes(path)
    mth = bytes.fromhex(VECTOR_ROOTS[size - 1])
    assert inclusion_proof(index, VECTOR_HASHES[:size]) == expected
    assert verify_inclusion(VECTOR_HASHES[index], index, size, expected, mth)
    assert auditor_includes(index, size, VECTOR_HASHES[index], expected, mth)


@pytest.mark.parametrize(("old_size", "new_size", "path"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_ct_vectors(old_size: int, new_size: int, path: list[str]) -> None:
    expected = _hashes(path)
    old = bytes.fromhex(VECTOR_ROOTS[old_size - 1])
    new = bytes.fromhex(VECTOR_ROOTS[new_size - 1])
    assert consistency_proof(old_size, VECTOR_HASHES[:new_size]) == expected
    assert verify_consistency(old_size, new_size, old, new, expected)
    assert auditor_consistent(old_size, new_size, expected, old, new)


@pytest.mark.parametrize(("size", "index", "ranges"), INCLUSION_SHAPES)
def test_inclusion_proofs_have_the_reference_shape(
    size: int, index: int, ranges: list[tuple[int, int]]
) -> None:
    leaves = make_leaves(count=size)
    assert inclusion_proof(index, leaves) == _ranges(leaves, ranges)


@pytest.mark.parametrize(("old_size", "new_size", "ranges"), CONSISTENCY_SHAPES)
def test_consistency_proofs_have_the_reference_shape(
    old_size: int, new_size: int, ranges: list[tuple[int, int]]
) -> None:
    leaves = make_leaves(count=new_size)
    assert consistency_proof(old_size, leaves) == _ranges(leaves, ranges)


# --- Bad arguments and malformed proofs. ---


@pytest.mark.parametrize(("index", "size"), [(0, 0), (-1, 3), (3, 3), (7, 3)])
def test_inclusion_proof_rejects_an_index_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(index, make_leaves(count=size))


@pytest.mark.parametrize(("old_size", "size"), [(0, 0), (0, 3), (-1, 3), (4, 3)])
def test_consistency_proof_rejects_an_old_size_outside_the_tree(old_size: int, size: int) -> None:
    with pytest.raises(ValueError, match="old size"):
        consistency_proof(old_size, make_leaves(count=size))


def test_verify_inclusion_says_no_to_nonsense_instead_of_raising() -> None:
    leaves = make_leaves(count=5)
    mth, proof = root(leaves), inclusion_proof(2, leaves)
    assert verify_inclusion(leaves[2], 2, 5, proof, mth)
    assert not verify_inclusion(leaves[2], 2, 0, proof, mth)
    assert not verify_inclusion(leaves[2], -1, 5, proof, mth)
    assert not verify_inclusion(leaves[2], 2, -5, proof, mth)
    assert not verify_inclusion(leaves[2], 2, 5, [*proof[:-1], proof[-1][:31]], mth)
    assert not verify_inclusion(leaves[2], 2, 5, [*proof, b""], mth)
    assert not verify_inclusion(leaves[2][:16], 2, 5, proof, mth)
    assert not verify_inclusion(leaves[2], 2, 5, proof, mth.hex().encode())
    untrusted: list[object] = [*proof[:-1], proof[-1].hex()]
    assert not verify_inclusion(leaves[2], 2, 5, untrusted, mth)  # type: ignore[arg-type]
    # A one-leaf tree: the leaf is the root and the proof is empty.
    assert verify_inclusion(leaves[0], 0, 1, [], leaves[0])
    assert not verify_inclusion(leaves[0], 0, 1, [leaves[1]], leaves[0])


def test_verify_consistency_edge_cases() -> None:
    leaves = make_leaves(count=6)
    r3, r6 = root(leaves[:3]), root(leaves)
    proof = consistency_proof(3, leaves)
    # A tree is consistent with itself, with nothing to prove.
    assert verify_consistency(6, 6, r6, r6, [])
    assert not verify_consistency(6, 6, r6, r6, [r6])
    assert not verify_consistency(6, 6, r3, r6, [])
    # The empty tree is a prefix of every tree, but only with the empty root.
    assert verify_consistency(0, 6, EMPTY_ROOT, r6, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, r6, [])
    assert not verify_consistency(0, 6, r3, r6, [])
    assert not verify_consistency(0, 6, EMPTY_ROOT, r6, proof)
    # Time does not run backwards, sizes are not negative, proofs are not empty.
    assert not verify_consistency(6, 3, r6, r3, proof)
    assert not verify_consistency(-3, 6, r3, r6, proof)
    assert not verify_consistency(3, 6, r3, r6, [])
    assert not verify_consistency(3, 6, r3, r6, [*proof, b"\x00"])
    assert not verify_consistency(3, 6, r3[:31], r6, proof)
    assert verify_consistency(3, 6, r3, r6, proof)


def test_accumulator_rejects_a_state_it_could_not_have_written() -> None:
    digest = leaf_hash(b"x")
    for state in (
        [(3, digest)],
        [(0, digest)],
        [(-2, digest)],
        [(True, digest)],
        [(2, digest), (2, digest)],
        [(1, digest), (2, digest)],
        [(1, digest[:31])],
        [(1, digest.hex())],
    ):
        with pytest.raises(ValueError, match="subtree"):
            MerkleAccumulator.from_state(state)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32-byte"):
        MerkleAccumulator().append(b"short")


def test_empty_accumulator() -> None:
    accumulator = MerkleAccumulator()
    assert (accumulator.size, accumulator.root(), accumulator.to_state()) == (0, EMPTY_ROOT, [])
    restored = MerkleAccumulator.from_state([])
    assert (restored.size, restored.root()) == (0, EMPTY_ROOT)


# --- Properties. ---

sizes = st.integers(min_value=1, max_value=200)


@settings(database=None, max_examples=25, deadline=None)
@given(size=sizes, salt=st.integers(0, 2**16))
def test_every_leaf_inclusion_proof_verifies(size: int, salt: int) -> None:
    leaves = make_leaves(count=size, salt=salt)
    mth = root(leaves)
    assert mth == auditor_mth(leaves)
    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(index, leaves)
        assert verify_inclusion(leaf, index, size, proof, mth)
        assert auditor_includes(index, size, leaf, proof, mth)


@settings(database=None, max_examples=40, deadline=None)
@given(data=st.data(), size=sizes)
def test_a_tampered_inclusion_proof_fails(data: st.DataObject, size: int) -> None:
    leaves = make_leaves(count=size)
    mth = root(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, proof = leaves[index], inclusion_proof(index, leaves)

    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        position = data.draw(st.integers(0, 31), label="position")
        bad = flip(proof, element=element, position=position)
        assert not verify_inclusion(leaf, index, size, bad, mth)
        assert not auditor_includes(index, size, leaf, bad, mth)
        assert not verify_inclusion(leaf, index, size, proof[:-1], mth)
        assert not verify_inclusion(leaf, index, size, proof[1:], mth)
    assert not verify_inclusion(leaf, index, size, [*proof, mth], mth)
    assert not verify_inclusion(leaf, index, size, [mth, *proof], mth)

    for other in range(size):
        if other != index:
            assert not verify_inclusion(leaf, other, size, proof, mth)
            assert not verify_inclusion(leaves[other], index, size, proof, mth)

    # The same leaves in a tree of another size have another root, which the proof cannot reach.
    bigger = make_leaves(count=size + 64)
    for other_size in range(index + 1, size + 65):
        if other_size != size:
            other_root = root(bigger[:other_size])
            assert not verify_inclusion(leaf, index, other_size, proof, other_root)
    # Against the right root, a size with another shape fails too (RFC 9162 proofs do not
    # always bind the size: a signed tree head must, as its signature covers it).
    assert not verify_inclusion(leaf, index, size * 2, proof, mth)
    assert not verify_inclusion(leaf, index, size // 2, proof, mth)

    assert not verify_inclusion(leaf, index, size, proof, root(make_leaves(count=size, salt=1)))
    assert not verify_inclusion(leaf, index, size, proof, EMPTY_ROOT)


@settings(database=None, max_examples=40, deadline=None)
@given(data=st.data(), new_size=sizes)
def test_every_consistency_proof_verifies_and_a_tampered_one_fails(
    data: st.DataObject, new_size: int
) -> None:
    leaves = make_leaves(count=new_size)
    old_size = data.draw(st.integers(1, new_size), label="old_size")
    old, new = root(leaves[:old_size]), root(leaves)
    proof = consistency_proof(old_size, leaves)
    assert verify_consistency(old_size, new_size, old, new, proof)
    assert auditor_consistent(old_size, new_size, proof, old, new)
    if old_size == new_size:
        assert proof == []
        return

    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    position = data.draw(st.integers(0, 31), label="position")
    bad = flip(proof, element=element, position=position)
    assert not verify_consistency(old_size, new_size, old, new, bad)
    assert not auditor_consistent(old_size, new_size, bad, old, new)
    assert not verify_consistency(old_size, new_size, old, new, proof[:-1])
    assert not verify_consistency(old_size, new_size, old, new, proof[1:])
    assert not verify_consistency(old_size, new_size, old, new, [*proof, old])
    assert not verify_consistency(old_size, new_size, old, new, [old, *proof])
    assert not verify_consistency(old_size, new_size, old, new, [proof[0], *proof])
    assert not verify_consistency(old_size, new_size, new, old, proof)

    # Another fork of the log: same sizes, different entries after the old tree.
    forked = leaves[:old_size] + make_leaves(count=new_size - old_size, salt=1)
    assert not verify_consistency(old_size, new_size, old, root(forked), proof)
    # A rewritten history: same sizes, different old entries.
    rewritten = make_leaves(count=old_size, salt=2)
    assert not verify_consistency(old_size, new_size, root(rewritten), new, proof)

    # Any other pair of sizes, even with the true roots of those sizes, fails.
    bigger = make_leaves(count=new_size + 8)
    for other_old in range(1, new_size + 1):
        if other_old != old_size:
            other = root(leaves[:other_old])
            assert not verify_consistency(other_old, new_size, other, new, proof)
    for other_new in range(old_size + 1, new_size + 9):
        if other_new != new_size:
            other = root(bigger[:other_new])
            assert not verify_consistency(old_size, other_new, old, other, proof)


@settings(database=None, max_examples=40, deadline=None)
@given(size=st.integers(0, 200), cut=st.integers(0, 200))
def test_accumulator_matches_root_after_every_append_and_survives_its_state(
    size: int, cut: int
) -> None:
    leaves = make_leaves(count=size)
    cut = min(cut, size)
    accumulator = MerkleAccumulator()
    for count, leaf in enumerate(leaves[:cut], start=1):
        accumulator.append(leaf)
        assert (accumulator.size, accumulator.root()) == (count, root(leaves[:count]))

    # The ledger persists the state between batches and resumes from it.
    state = accumulator.to_state()
    assert len(state) == bin(cut).count("1")
    restored = MerkleAccumulator.from_state(state)
    assert (restored.size, restored.root()) == (cut, accumulator.root())
    for count, leaf in enumerate(leaves[cut:], start=cut + 1):
        restored.append(leaf)
        assert (restored.size, restored.root()) == (count, root(leaves[:count]))


def test_a_large_tree() -> None:
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(100_000)]
    accumulator = MerkleAccumulator()
    accumulator.extend(leaves)
    mth = root(leaves)
    assert accumulator.size == 100_000
    assert accumulator.root() == mth
    index = 73_421
    proof = inclusion_proof(index, leaves)
    assert len(proof) == 17
    assert verify_inclusion(leaves[index], index, len(leaves), proof, mth)
    assert auditor_includes(index, len(leaves), leaves[index], proof, mth)
    old_root = root(leaves[:65_537])
    proof = consistency_proof(65_537, leaves)
    assert verify_consistency(65_537, len(leaves), old_root, mth, proof)
