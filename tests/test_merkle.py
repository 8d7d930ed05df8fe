"""Tests of pyservice.merkle (RFC 9162 Merkle tree; SM3 and SHA-256).

- Every case of ``merkle/rfc6962-sha256/`` (inclusion and consistency) with
  ``hash="sha256"``, ``wantErr`` honoured; the happy paths are also
  regenerated from the known RFC 6962 leaves. Hashes are 32 bytes by
  contract, so the set's short placeholders raise MalformedInputError; each
  case is therefore also run with 32-byte stand-ins for them, where
  ``wantErr`` decides exactly between success and InvalidProofError (as in
  rust_core/core/tests/merkle_vectors.rs).
- ``merkle/sm3-inclusion.json`` / ``sm3-consistency.json`` with SM3, leaf
  hashes recomputed from ``leafData`` (hex).
- Hypothesis: proofs of random trees verify, equal the ones built from a
  store through the plan functions, and any mutation fails.
- Bad arguments raise MalformedInputError (or TypeError for wrong types).

Vectors come from ../shared/vectors (override: SIDIAN_VECTORS); missing
vectors fail collection.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyservice import merkle
from pyservice.errors import InvalidProofError, MalformedInputError, SidianError
from tests import crypto_testkit as K

Case = dict[str, Any]

RFC_DIR = K.vectors_dir() / "merkle" / "rfc6962-sha256"
RFC_FILES = sorted(RFC_DIR.rglob("*.json"))
SM3_INCLUSION = K.load_vectors("merkle/sm3-inclusion.json")
SM3_CONSISTENCY = K.load_vectors("merkle/sm3-consistency.json")

#: The one ``wantErr: false`` case whose (placeholder) roots are not 32 bytes.
SHORT_PLACEHOLDER_OK = "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"
#: ``wantErr`` cases whose only defect is a placeholder's length.
ONLY_LENGTH_IS_WRONG = {"inclusion/single-entry/empty-root-and-leaf.json"}

#: The RFC 6962 test leaves behind the rfc6962-sha256 set.
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rel(path: Path) -> str:
    return path.relative_to(RFC_DIR).as_posix()


def _load(path: Path) -> Case:
    case: Case = json.loads(path.read_text(encoding="utf-8"))
    return case


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _proof(case: Case) -> list[bytes]:
    return [_b64(p) for p in case["proof"] or []]


def _stand_in(value: bytes) -> bytes:
    """32-byte values are kept; others map injectively to a foreign hash."""
    return value if len(value) == 32 else hashlib.sha256(b"stand-in:" + value).digest()


def _is_short(*values: bytes, proof: Sequence[bytes]) -> bool:
    return any(len(v) != 32 for v in (*values, *proof))


def _rfc6962_tree() -> merkle.MerkleTree:
    tree = merkle.MerkleTree(hash="sha256")
    for leaf in RFC6962_LEAVES:
        tree.append_data(leaf)
    return tree


def test_vector_sets_are_complete() -> None:
    assert len([p for p in RFC_FILES if _rel(p).startswith("inclusion/")]) == 98
    assert len([p for p in RFC_FILES if _rel(p).startswith("consistency/")]) == 98
    assert len(SM3_INCLUSION["cases"]) == 274
    assert len(SM3_CONSISTENCY["cases"]) == 174
    assert bytes.fromhex(SM3_INCLUSION["empty_root"]) == merkle.root([])
    assert merkle.root([], hash="sha256") == hashlib.sha256(b"").digest()


# ------------------------------------------------------ RFC 6962 SHA-256 --


def _check_rfc_case(name: str, case: Case, exact: Any, stood_in: Any) -> None:
    short = _is_short(
        *(_b64(case[k]) for k in ("leafHash", "root", "root1", "root2") if k in case),
        proof=_proof(case),
    )
    if case["wantErr"]:
        with pytest.raises((InvalidProofError, MalformedInputError)):
            exact()
        if name in ONLY_LENGTH_IS_WRONG:
            stood_in()
        else:
            with pytest.raises(InvalidProofError):
                stood_in()
        return
    if short:
        assert name == SHORT_PLACEHOLDER_OK
        with pytest.raises(MalformedInputError):
            exact()
    else:
        exact()
    stood_in()


INCLUSION_FILES = [p for p in RFC_FILES if _rel(p).startswith("inclusion/")]
CONSISTENCY_FILES = [p for p in RFC_FILES if _rel(p).startswith("consistency/")]


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_rel)
def test_rfc6962_inclusion(path: Path) -> None:
    name, case = _rel(path), _load(path)
    leaf, root, proof = _b64(case["leafHash"]), _b64(case["root"]), _proof(case)
    index, size = case["leafIdx"], case["treeSize"]

    def exact() -> None:
        merkle.verify_inclusion(leaf, index, size, proof, root, hash="sha256")

    def stood_in() -> None:
        merkle.verify_inclusion(
            _stand_in(leaf),
            index,
            size,
            [_stand_in(p) for p in proof],
            _stand_in(root),
            hash="sha256",
        )

    _check_rfc_case(name, case, exact, stood_in)
    if not case["wantErr"] and not name.startswith("inclusion/single-entry/"):
        tree = _rfc6962_tree()
        assert tree.inclusion_proof(index, size) == proof
        assert tree.root(size) == root
        assert tree.leaf_hash(index) == leaf


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_rel)
def test_rfc6962_consistency(path: Path) -> None:
    name, case = _rel(path), _load(path)
    root1, root2, proof = _b64(case["root1"]), _b64(case["root2"]), _proof(case)
    size1, size2 = case["size1"], case["size2"]

    def exact() -> None:
        merkle.verify_consistency(size1, size2, proof, root1, root2, hash="sha256")

    def stood_in() -> None:
        merkle.verify_consistency(
            size1,
            size2,
            [_stand_in(p) for p in proof],
            _stand_in(root1),
            _stand_in(root2),
            hash="sha256",
        )

    _check_rfc_case(name, case, exact, stood_in)
    if not case["wantErr"] and name != SHORT_PLACEHOLDER_OK and size2 <= len(RFC6962_LEAVES):
        tree = _rfc6962_tree()
        assert tree.consistency_proof(size1, size2) == proof
        assert (tree.root(size1), tree.root(size2)) == (root1, root2)


# ------------------------------------------------------------------ SM3 --


def _sm3_ids(cases: list[Case]) -> list[str]:
    return [f"{i}-{c['desc'].split(' (')[0].replace(' ', '_')}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", SM3_INCLUSION["cases"], ids=_sm3_ids(SM3_INCLUSION["cases"]))
def test_sm3_inclusion(case: Case) -> None:
    leaf = merkle.leaf_hash(bytes.fromhex(case["leafData"]))
    assert leaf == _b64(case["leafHash"])
    args = (leaf, case["leafIdx"], case["treeSize"], _proof(case), _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(InvalidProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)
        merkle.verify_inclusion(*args, hash="sm3")


@pytest.mark.parametrize("case", SM3_CONSISTENCY["cases"], ids=_sm3_ids(SM3_CONSISTENCY["cases"]))
def test_sm3_consistency(case: Case) -> None:
    args = (
        case["size1"],
        case["size2"],
        _proof(case),
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(InvalidProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


# ----------------------------------------------------------- properties --


class DictStore:
    """A SubtreeStore over a dict of complete-subtree hashes, counting reads."""

    def __init__(self, hashes: dict[tuple[int, int], bytes]) -> None:
        self.hashes = hashes
        self.reads = 0

    def subtree_hashes(self, nodes: Sequence[tuple[int, int]], /) -> list[bytes]:
        self.reads += len(nodes)
        return [self.hashes[node] for node in nodes]


def _store_of(leaves: list[bytes], hash: merkle.HashName) -> DictStore:
    hashes: dict[tuple[int, int], bytes] = {}
    level, row = 0, leaves
    while row:
        for k, h in enumerate(row):
            hashes[(level, k)] = h
        row = [merkle.node_hash(row[i], row[i + 1], hash=hash) for i in range(0, len(row) - 1, 2)]
        level += 1
    return DictStore(hashes)


hash_names = st.sampled_from(["sm3", "sha256"])


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@FAST
@given(
    hash=hash_names,
    size=st.integers(1, 100),
    seed=st.binary(max_size=8),
    data=st.data(),
)
def test_random_trees(hash: merkle.HashName, size: int, seed: bytes, data: st.DataObject) -> None:
    tree = merkle.MerkleTree(hash=hash)
    leaves = [merkle.leaf_hash(seed + i.to_bytes(4, "big"), hash=hash) for i in range(size)]
    for leaf in leaves:
        tree.append(leaf)
    assert tree.size == len(tree) == size
    root = tree.root()
    assert root == merkle.root(leaves, hash=hash)
    store = _store_of(leaves, hash)
    assert merkle.root_from_store(store, size, hash=hash) == root

    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index)
    assert merkle.inclusion_proof_from_store(store, index, size, hash=hash) == proof
    merkle.verify_inclusion(leaves[index], index, size, proof, root, hash=hash)

    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(_flip(leaves[index], bit), index, size, proof, root, hash=hash)
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(leaves[index], index, size, proof, _flip(root, bit), hash=hash)
    for i in range(len(proof)):
        bad = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        with pytest.raises(InvalidProofError):
            merkle.verify_inclusion(leaves[index], index, size, bad, root, hash=hash)
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(leaves[index], index, size, [*proof, root], root, hash=hash)
    if proof:
        with pytest.raises(InvalidProofError):
            merkle.verify_inclusion(leaves[index], index, size, proof[:-1], root, hash=hash)
    other: merkle.HashName = "sha256" if hash == "sm3" else "sm3"
    if proof:
        with pytest.raises(InvalidProofError):
            merkle.verify_inclusion(leaves[index], index, size, proof, root, hash=other)

    size1 = data.draw(st.integers(1, size), label="size1")
    root1 = tree.root(size1)
    cproof = tree.consistency_proof(size1)
    assert merkle.consistency_proof_from_store(store, size1, size, hash=hash) == cproof
    merkle.verify_consistency(size1, size, cproof, root1, root, hash=hash)
    for i in range(len(cproof)):
        bad = [*cproof[:i], _flip(cproof[i], bit), *cproof[i + 1 :]]
        with pytest.raises(InvalidProofError):
            merkle.verify_consistency(size1, size, bad, root1, root, hash=hash)
    with pytest.raises(InvalidProofError):
        merkle.verify_consistency(size1, size, cproof, _flip(root1, bit), root, hash=hash)
    with pytest.raises(InvalidProofError):
        merkle.verify_consistency(size1, size, [*cproof, root], root1, root, hash=hash)


@FAST
@given(
    hash=hash_names,
    batches=st.lists(st.integers(0, 40), min_size=1, max_size=8),
)
def test_append_subtrees_build_the_store(hash: merkle.HashName, batches: list[int]) -> None:
    store = DictStore({})
    leaves: list[bytes] = []
    for batch in batches:
        size = len(leaves)
        new = [merkle.leaf_hash(i.to_bytes(4, "big"), hash=hash) for i in range(size, size + batch)]
        frontier = store.subtree_hashes(merkle.root_plan(size))
        for level, k, h in merkle.append_subtrees(size, frontier, new, hash=hash):
            assert (level, k) not in store.hashes
            store.hashes[(level, k)] = h
        leaves += new
        assert store.hashes == _store_of(leaves, hash).hashes
        root = merkle.root(leaves, hash=hash)
        assert merkle.root_from_store(store, len(leaves), hash=hash) == root


def test_proof_reads_are_logarithmic() -> None:
    size = 1000
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store = _store_of(leaves, "sm3")
    tree = merkle.MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    for index in (0, 1, 511, 512, 998, 999):
        store.reads = 0
        assert merkle.inclusion_proof_from_store(store, index, size) == tree.inclusion_proof(index)
        assert store.reads <= 2 * 10
    assert merkle.root_plan(13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.root_plan(0) == []
    assert merkle.root_from(0, []) == merkle.root([])


def test_rfc9162_example_sizes() -> None:
    # RFC 9162 §2.1.5: the tree of 7 leaves; PROOF(3) = [c, d, g, l],
    # PROOF(4) = [l], PROOF(6) = [i, j, k]; PATH(3) = [c, g, l].
    tree = merkle.MerkleTree()
    for i in range(7):
        tree.append_data(bytes([i]))
    assert [len(tree.consistency_proof(m)) for m in (3, 4, 6, 7)] == [4, 1, 3, 0]
    assert len(tree.inclusion_proof(3)) == 3
    assert len(merkle.consistency_plan(3, 7)) >= 4


# ------------------------------------------------------- bad arguments --


H = bytes(32)


@pytest.mark.parametrize(
    "call",
    [
        lambda: merkle.node_hash(bytes(31), H),
        lambda: merkle.node_hash(H, bytes(33)),
        lambda: merkle.root([H, bytes(31)]),
        lambda: merkle.leaf_hash(b"x", hash="md5"),  # type: ignore[arg-type]
        lambda: merkle.leaf_hash(b"x", hash="SM3"),  # type: ignore[arg-type]
        lambda: merkle.verify_inclusion(H, -1, 2, [H], H),
        lambda: merkle.verify_inclusion(H, 0, -1, [], H),
        lambda: merkle.verify_inclusion(H, 0, 2**64, [], H),
        lambda: merkle.verify_inclusion(H, 0, 2**63 + 1, [], H),
        lambda: merkle.verify_inclusion(bytes(31), 0, 1, [], H),
        lambda: merkle.verify_inclusion(H, 0, 1, [], b""),
        lambda: merkle.verify_inclusion(H, 0, 2, [bytes(33)], H),
        lambda: merkle.verify_inclusion(H, 0, 2, [H] * 65, H),
        lambda: merkle.verify_consistency(-1, 2, [H], H, H),
        lambda: merkle.verify_consistency(1, 2**64, [H], H, H),
        lambda: merkle.verify_consistency(1, 2, [H] * 65, H, H),
        lambda: merkle.verify_consistency(1, 2, [H], bytes(31), H),
        lambda: merkle.inclusion_plan(2, 2),
        lambda: merkle.consistency_plan(0, 2),
        lambda: merkle.consistency_plan(3, 2),
        lambda: merkle.inclusion_proof_from(0, 2, []),
        lambda: merkle.inclusion_proof_from(0, 2, [H, H]),
        lambda: merkle.append_subtrees(3, [H], [H]),
        lambda: merkle.append_subtrees(2**63, [H], [H]),
        lambda: merkle.MerkleTree(hash="sha1"),  # type: ignore[arg-type]
        lambda: merkle.MerkleTree().append(bytes(31)),
        lambda: merkle.MerkleTree().root(1),
        lambda: merkle.MerkleTree().inclusion_proof(0),
        lambda: merkle.MerkleTree().leaf_hash(0),
    ],
)
def test_malformed_arguments(call: Any) -> None:
    with pytest.raises(MalformedInputError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: merkle.verify_inclusion(H, 0, 2, [H], H),  # wrong hashes
        lambda: merkle.verify_inclusion(H, 2, 2, [H], H),  # index >= size
        lambda: merkle.verify_inclusion(H, 0, 0, [], H),  # empty tree
        lambda: merkle.verify_inclusion(H, 0, 2, [], H),  # proof too short
        lambda: merkle.verify_inclusion(H, 0, 1, [], bytes([1]) * 32),
        lambda: merkle.verify_consistency(0, 0, [], H, H),  # from the empty tree
        lambda: merkle.verify_consistency(0, 5, [], H, H),
        lambda: merkle.verify_consistency(3, 2, [], H, H),
        lambda: merkle.verify_consistency(2, 2, [H], H, H),  # equal sizes, proof
        lambda: merkle.verify_consistency(2, 2, [], H, bytes([1]) * 32),
        lambda: merkle.verify_consistency(1, 2, [], H, H),
    ],
)
def test_invalid_proofs(call: Any) -> None:
    with pytest.raises(InvalidProofError) as info:
        call()
    assert isinstance(info.value, SidianError)
    assert info.value.code == "invalid_proof"
    assert info.value.http_status == 422


@pytest.mark.parametrize(
    "call",
    [
        lambda: merkle.verify_inclusion(H, "0", 1, [], H),  # type: ignore[arg-type]
        lambda: merkle.verify_inclusion(H, 0, 1.0, [], H),  # type: ignore[arg-type]
        lambda: merkle.verify_inclusion(H, 0, 2, ["00" * 32], H),  # type: ignore[list-item]
        lambda: merkle.verify_inclusion(H, 0, 2, 5, H),  # type: ignore[arg-type]
        lambda: merkle.root([bytearray(32)]),  # type: ignore[list-item]
    ],
)
def test_wrong_types(call: Any) -> None:
    with pytest.raises(TypeError):
        call()


def test_tree_api() -> None:
    tree = merkle.MerkleTree()
    assert (tree.hash, tree.size, tree.root()) == ("sm3", 0, merkle.root([]))
    assert tree.append_data(b"a") == 0
    assert tree.append(merkle.leaf_hash(b"b")) == 1
    assert tree.leaf_hash(0) == merkle.leaf_hash(b"a")
    assert tree.root() == merkle.node_hash(merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b"))
    assert tree.root(1) == merkle.leaf_hash(b"a")
    assert tree.inclusion_proof(0) == [merkle.leaf_hash(b"b")]
    assert tree.inclusion_proof(0, 1) == []
    assert tree.consistency_proof(1) == [merkle.leaf_hash(b"b")]
    assert tree.consistency_proof(2, 2) == []
    assert repr(tree) == "MerkleTree(hash='sm3', size=2)"
    assert merkle.MerkleTree(hash="sha256").hash == "sha256"
