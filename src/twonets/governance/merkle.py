"""RFC 9162 Merkle trees: tree hashes, inclusion and consistency proofs, an append-only root."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
# Domain separation (RFC 9162 §2.1.1): a leaf can never be passed off as an interior node.
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}): the root of the tree with no leaves."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): where MTH splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of the leaves ``hashes[start:end]``, level by level, without slicing the input."""
    if start == end:
        return EMPTY_ROOT
    if end - start == 1:
        return hashes[start]
    # Pairing neighbours and promoting an unpaired last node unchanged builds exactly the
    # RFC tree (left subtrees are always perfect), with n - 1 hashes and no recursion.
    sha256 = hashlib.sha256
    level = [
        sha256(_NODE_PREFIX + hashes[i] + hashes[i + 1]).digest() for i in range(start, end - 1, 2)
    ]
    if (end - start) % 2:
        level.append(hashes[end - 1])
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        level = [
            sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if odd is not None:
            level.append(odd)
    return level[0]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash (RFC 9162 §2.1.1) over already-hashed leaves."""
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 §2.1.3.1: sibling hashes from the leaf up to the root."""
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            siblings.append(_range_root(leaf_hashes, middle, end))
            end = middle
        else:
            siblings.append(_range_root(leaf_hashes, start, middle))
            start = middle
    # Collected from the root down; the proof lists them from the leaf up.
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1: how the old tree's root grew into the new."""
    size = len(leaf_hashes)
    if not 1 <= old_size <= size:
        raise ValueError(f"old size {old_size} is not between 1 and the tree size {size}")
    siblings: list[bytes] = []
    start, end = 0, size
    # ``whole`` is SUBPROOF's b: still true while the subtree examined starts at leaf 0, in
    # which case the verifier already knows the old root and it need not be sent.
    whole = True
    while old_size < end:
        middle = start + _split(end - start)
        if old_size <= middle:
            siblings.append(_range_root(leaf_hashes, middle, end))
            end = middle
        else:
            siblings.append(_range_root(leaf_hashes, start, middle))
            start = middle
            whole = False
    siblings.reverse()
    if whole:
        return siblings
    return [_range_root(leaf_hashes, start, end), *siblings]


def _well_formed(*hashes: object) -> bool:
    """Whether every value is a SHA-256 digest, so untrusted input cannot make us raise."""
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether ``proof`` shows the leaf at ``index`` in the tree of ``tree_size`` (§2.1.3.2)."""
    if not _well_formed(leaf_hash, root_hash, *proof):
        return False
    # Step 1.
    if not 0 <= index < tree_size:
        return False
    # Steps 2 and 3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # On the right border a node may have no sibling at some levels: skip them.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5: sn == 0 proves the path had exactly the length the tree's shape demands.
    return sn == 0 and r == root_hash


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``new_size`` extends that of ``old_size`` (§2.1.4.2)."""
    if not _well_formed(old_root, new_root, *proof):
        return False
    if not 0 <= old_size <= new_size:
        return False
    # The RFC defines no proof for these two cases; like transparency-dev and sigsum we
    # accept them with an empty proof: the empty tree is a prefix of every tree, and a
    # tree is consistent with itself.
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    # Step 1.
    if not proof:
        return False
    path = list(proof)
    # Step 2: a perfect old tree is itself a node of the new one, so it is not sent.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Steps 3 and 4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    return sn == 0 and fr == old_root and sr == new_root


class MerkleAccumulator:
    """An append-only Merkle tree that keeps only the roots of its perfect subtrees."""

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        # (subtree size, subtree root), sizes strictly decreasing powers of two: the binary
        # digits of the tree size. O(log n) memory however many leaves were appended.
        self._peaks: list[tuple[int, bytes]] = []
        self._size = 0

    @property
    def size(self) -> int:
        """How many leaves have been appended."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Add one already-hashed leaf, merging equal perfect subtrees as a binary counter would."""
        if not _well_formed(leaf_hash):
            raise ValueError("a leaf hash must be a 32-byte SHA-256 digest")
        width, digest = 1, leaf_hash
        while self._peaks and self._peaks[-1][0] == width:
            _, left = self._peaks.pop()
            width, digest = 2 * width, node_hash(left, digest)
        self._peaks.append((width, digest))
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add a batch of already-hashed leaves, in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of every leaf appended so far, equal to ``root()`` over the same leaves."""
        if not self._peaks:
            return EMPTY_ROOT
        # MTH splits off the largest perfect subtree on the left, so the peaks fold right to left.
        digest = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            digest = node_hash(left, digest)
        return digest

    def to_state(self) -> list[tuple[int, bytes]]:
        """The peaks as (subtree size, subtree root), largest first, for persisting."""
        return list(self._peaks)

    @classmethod
    def from_state(cls, state: Iterable[tuple[int, bytes]]) -> MerkleAccumulator:
        """Rebuild an accumulator from ``to_state()``, rejecting anything it could not produce."""
        accumulator = cls()
        previous: int | None = None
        for entry in state:
            width, digest = entry
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                raise ValueError(f"subtree size {width!r} is not a positive integer")
            if width & (width - 1):
                raise ValueError(f"subtree size {width} is not a power of two")
            if previous is not None and width >= previous:
                raise ValueError("subtree sizes must strictly decrease")
            if not _well_formed(digest):
                raise ValueError("a subtree root must be a 32-byte SHA-256 digest")
            accumulator._peaks.append((width, digest))
            accumulator._size += width
            previous = width
        return accumulator
