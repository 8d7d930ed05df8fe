"""Typed Python API of the ledger's Merkle tree (RFC 9162 §2.1), SM3 by
default, SHA-256 to check against the public RFC 6962 vectors.

This module is the Merkle facade over the native extension: like
:mod:`pyservice.crypto` for the cryptographic primitives, it is the only
module that imports the Merkle functions of ``pyservice._core``.

- ``leaf_hash(data)`` = ``H(0x00 ‖ data)``, ``node_hash(left, right)`` =
  ``H(0x01 ‖ left ‖ right)``, ``root(leaf_hashes)`` = MTH (the empty tree's
  root is ``H("")``);
- ``verify_inclusion(leaf_hash, index, tree_size, proof, root)`` and
  ``verify_consistency(size1, size2, proof, root1, root2)`` return ``None`` or
  raise :class:`~pyservice.errors.InvalidProofError` (RFC 9162 §2.1.3.2 and
  §2.1.4.2 with the strict checks: exact proof length, ``index < tree_size``,
  ``0 < size1 <= size2``, equal sizes need an empty proof and equal roots);
- :class:`MerkleTree`: an append-only in-memory tree with
  ``append``/``append_data``, ``size``, ``root(size=None)``,
  ``inclusion_proof(index, size=None)``, ``consistency_proof(size1, size2=None)``;
- proofs from a store of complete-subtree hashes (the ledger): node
  ``(level, k)`` is the root of leaves ``[k·2^level, (k+1)·2^level)``.
  ``inclusion_plan``/``consistency_plan``/``root_plan`` list the O(log n)
  nodes to read; ``inclusion_proof_from``/``consistency_proof_from``/
  ``root_from`` build the proof (or root) from their hashes, in plan order;
  ``inclusion_proof_from_store`` and friends do both with a
  :class:`SubtreeStore`; ``append_subtrees(tree_size, frontier, leaf_hashes)``
  lists the ``(level, k, hash)`` rows a store inserts when leaves are
  appended (``frontier``: the hashes of ``root_plan(tree_size)``).

Hashes are 32-byte ``bytes``; sizes and indices are ``int`` in ``0..=2^63``.
Malformed arguments (wrong lengths, negative or huge numbers, an unknown
hash name, a proof of more than 64 elements) raise
:class:`~pyservice.errors.MalformedInputError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from pyservice import _core
from pyservice._core import MerkleTree

__all__ = [
    "MAX_PROOF_LEN",
    "HashName",
    "MerkleTree",
    "SubtreeStore",
    "append_subtrees",
    "consistency_plan",
    "consistency_proof_from",
    "consistency_proof_from_store",
    "inclusion_plan",
    "inclusion_proof_from",
    "inclusion_proof_from_store",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from",
    "root_from_store",
    "root_plan",
    "verify_consistency",
    "verify_inclusion",
]

HashName = Literal["sm3", "sha256"]
#: Longest proof accepted (a tree of at most 2^63 leaves needs at most 64).
MAX_PROOF_LEN = 64
#: A complete subtree ``(level, k)``: leaves ``[k·2^level, (k+1)·2^level)``.
Node = tuple[int, int]


class SubtreeStore(Protocol):
    """Where stored complete-subtree hashes come from (the ledger's table)."""

    def subtree_hashes(self, nodes: Sequence[Node], /) -> Sequence[bytes]:
        """The hashes of ``nodes``, in the same order."""
        ...


def leaf_hash(data: bytes, *, hash: HashName = "sm3") -> bytes:
    """``H(0x00 ‖ data)``."""
    return _core.merkle_leaf_hash(data, hash=hash)


def node_hash(left: bytes, right: bytes, *, hash: HashName = "sm3") -> bytes:
    """``H(0x01 ‖ left ‖ right)`` of two 32-byte hashes."""
    return _core.merkle_node_hash(left, right, hash=hash)


def root(leaf_hashes: Iterable[bytes], *, hash: HashName = "sm3") -> bytes:
    """MTH of the leaf hashes; ``H("")`` for none."""
    return _core.merkle_root(leaf_hashes, hash=hash)


def verify_inclusion(
    leaf_hash: bytes,
    index: int,
    tree_size: int,
    proof: Sequence[bytes],
    root: bytes,
    *,
    hash: HashName = "sm3",
) -> None:
    """Raise :class:`~pyservice.errors.InvalidProofError` unless ``proof``
    shows ``leaf_hash`` at ``index`` in the tree of ``tree_size`` leaves
    with root ``root``."""
    _core.merkle_verify_inclusion(leaf_hash, index, tree_size, proof, root, hash=hash)


def verify_consistency(
    size1: int,
    size2: int,
    proof: Sequence[bytes],
    root1: bytes,
    root2: bytes,
    *,
    hash: HashName = "sm3",
) -> None:
    """Raise :class:`~pyservice.errors.InvalidProofError` unless ``proof``
    shows the tree ``(size1, root1)`` is a prefix of ``(size2, root2)``.
    ``size1 == 0`` fails: RFC 9162 defines these proofs for ``0 < size1``."""
    _core.merkle_verify_consistency(size1, size2, proof, root1, root2, hash=hash)


def inclusion_plan(index: int, tree_size: int) -> list[Node]:
    """The complete subtrees an inclusion proof needs, in assembly order."""
    return _core.merkle_inclusion_plan(index, tree_size)


def consistency_plan(size1: int, size2: int) -> list[Node]:
    """The complete subtrees a consistency proof needs, in assembly order."""
    return _core.merkle_consistency_plan(size1, size2)


def root_plan(tree_size: int) -> list[Node]:
    """The complete subtrees whose hashes fold into the root of ``tree_size``."""
    return _core.merkle_root_plan(tree_size)


def inclusion_proof_from(
    index: int, tree_size: int, subtrees: Sequence[bytes], *, hash: HashName = "sm3"
) -> list[bytes]:
    """The inclusion proof from the hashes of ``inclusion_plan(index, tree_size)``."""
    return _core.merkle_inclusion_proof_from(index, tree_size, subtrees, hash=hash)


def consistency_proof_from(
    size1: int, size2: int, subtrees: Sequence[bytes], *, hash: HashName = "sm3"
) -> list[bytes]:
    """The consistency proof from the hashes of ``consistency_plan(size1, size2)``."""
    return _core.merkle_consistency_proof_from(size1, size2, subtrees, hash=hash)


def root_from(tree_size: int, subtrees: Sequence[bytes], *, hash: HashName = "sm3") -> bytes:
    """The root from the hashes of ``root_plan(tree_size)``."""
    return _core.merkle_root_from(tree_size, subtrees, hash=hash)


def inclusion_proof_from_store(
    store: SubtreeStore, index: int, tree_size: int, *, hash: HashName = "sm3"
) -> list[bytes]:
    """Plan, read the planned subtrees from ``store`` (one call), assemble."""
    nodes = inclusion_plan(index, tree_size)
    return inclusion_proof_from(index, tree_size, store.subtree_hashes(nodes), hash=hash)


def consistency_proof_from_store(
    store: SubtreeStore, size1: int, size2: int, *, hash: HashName = "sm3"
) -> list[bytes]:
    """Plan, read the planned subtrees from ``store`` (one call), assemble."""
    nodes = consistency_plan(size1, size2)
    return consistency_proof_from(size1, size2, store.subtree_hashes(nodes), hash=hash)


def root_from_store(store: SubtreeStore, tree_size: int, *, hash: HashName = "sm3") -> bytes:
    """Root of the first ``tree_size`` leaves of ``store``."""
    return root_from(tree_size, store.subtree_hashes(root_plan(tree_size)), hash=hash)


def append_subtrees(
    tree_size: int,
    frontier: Sequence[bytes],
    leaf_hashes: Sequence[bytes],
    *,
    hash: HashName = "sm3",
) -> list[tuple[int, int, bytes]]:
    """The complete subtrees ``(level, k, hash)`` that appending
    ``leaf_hashes`` to a tree of ``tree_size`` leaves creates (the leaves
    themselves at level 0 included), given ``frontier``: the hashes of
    ``root_plan(tree_size)``, the only reads an append needs."""
    return _core.merkle_append_subtrees(tree_size, frontier, leaf_hashes, hash=hash)
