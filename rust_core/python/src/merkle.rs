//! The RFC 9162 Merkle tree (ledger): hashing, verification, proof plans
//! and assembly from stored subtree hashes, and an in-memory tree.
//!
//! Every function takes the hash by name (`hash="sm3"` or `"sha256"`).
//! Hashes are `bytes` of 32; sizes and indices are `int`s in `0..=2^63`
//! (anything else is `MalformedInputError`, a non-int `TypeError`).

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyTuple};
use sidian_core::merkle::{self, Hash, HashAlg, MemoryTree, ProofPlan};

use crate::detach_if_large;
use crate::errors::{malformed, CoreError, CoreResult};

/// Hashing this many node hashes or more runs detached (about 1 µs each).
const DETACH_MIN_HASHES: usize = 256;

fn alg(name: &str) -> CoreResult<HashAlg> {
    HashAlg::from_name(name).map_err(CoreError)
}

/// An `int` in `0..2^64` (the core checks the tighter `2^63` bounds).
fn u64_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    let int = obj
        .cast::<PyInt>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be an int")))?;
    int.extract::<u64>()
        .map_err(|_| malformed(format!("{what} must be in 0..=2^63, got {int}")).into())
}

fn hash_arg(what: &str, bytes: &[u8]) -> CoreResult<Hash> {
    merkle::hash_from_slice(what, bytes).map_err(CoreError)
}

/// A sequence (any iterable) of 32-byte `bytes`; at most `limit` of them.
fn hashes_arg(obj: &Bound<'_, PyAny>, what: &str, limit: Option<usize>) -> PyResult<Vec<Hash>> {
    let mut out = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        if limit.is_some_and(|limit| i >= limit) {
            return Err(malformed(format!(
                "{what} has more than {} elements",
                limit.unwrap_or(0)
            ))
            .into());
        }
        let item = item?;
        let bytes = item
            .cast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err(format!("{what} must contain bytes")))?;
        out.push(hash_arg(&format!("{what}[{i}]"), bytes.as_bytes())?);
    }
    Ok(out)
}

fn proof_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Hash>> {
    hashes_arg(obj, "proof", Some(merkle::MAX_PROOF_LEN))
}

fn bytes_list<'py>(py: Python<'py>, hashes: &[Hash]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, hashes.iter().map(|h| PyBytes::new(py, h)))
}

fn plan_list<'py>(py: Python<'py>, plan: &ProofPlan) -> PyResult<Bound<'py, PyList>> {
    let items = plan
        .nodes()
        .iter()
        .map(|n| PyTuple::new(py, [n.level.into_pyobject(py)?, n.index.into_pyobject(py)?]))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// `merkle_leaf_hash(data, *, hash="sm3") -> bytes`: `H(0x00 ‖ data)`.
#[pyfunction]
#[pyo3(signature = (data, *, hash = "sm3"))]
pub fn merkle_leaf_hash<'py>(
    py: Python<'py>,
    data: &[u8],
    hash: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let alg = alg(hash)?;
    let digest = detach_if_large(py, data.len(), || alg.leaf_hash(data));
    Ok(PyBytes::new(py, &digest))
}

/// `merkle_node_hash(left, right, *, hash="sm3") -> bytes`: `H(0x01 ‖ left ‖ right)`.
#[pyfunction]
#[pyo3(signature = (left, right, *, hash = "sm3"))]
pub fn merkle_node_hash<'py>(
    py: Python<'py>,
    left: &[u8],
    right: &[u8],
    hash: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let alg = alg(hash)?;
    let (left, right) = (hash_arg("left", left)?, hash_arg("right", right)?);
    Ok(PyBytes::new(py, &alg.node_hash(&left, &right)))
}

/// `merkle_root(leaf_hashes, *, hash="sm3") -> bytes`: MTH of the leaf hashes.
#[pyfunction]
#[pyo3(signature = (leaf_hashes, *, hash = "sm3"))]
pub fn merkle_root<'py>(
    py: Python<'py>,
    leaf_hashes: &Bound<'py, PyAny>,
    hash: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let alg = alg(hash)?;
    let leaves = hashes_arg(leaf_hashes, "leaf_hashes", None)?;
    let root = if leaves.len() >= DETACH_MIN_HASHES {
        py.detach(|| alg.root(&leaves))
    } else {
        alg.root(&leaves)
    };
    Ok(PyBytes::new(py, &root))
}

/// `merkle_verify_inclusion(leaf_hash, index, tree_size, proof, root, *, hash="sm3")`.
#[pyfunction]
#[pyo3(signature = (leaf_hash, index, tree_size, proof, root, *, hash = "sm3"))]
pub fn merkle_verify_inclusion(
    leaf_hash: &[u8],
    index: &Bound<'_, PyAny>,
    tree_size: &Bound<'_, PyAny>,
    proof: &Bound<'_, PyAny>,
    root: &[u8],
    hash: &str,
) -> PyResult<()> {
    let alg = alg(hash)?;
    let leaf = hash_arg("leaf_hash", leaf_hash)?;
    let index = u64_arg(index, "index")?;
    let size = u64_arg(tree_size, "tree_size")?;
    let proof = proof_arg(proof)?;
    let root = hash_arg("root", root)?;
    merkle::verify_inclusion(alg, &leaf, index, size, &proof, &root).map_err(CoreError)?;
    Ok(())
}

/// `merkle_verify_consistency(size1, size2, proof, root1, root2, *, hash="sm3")`.
#[pyfunction]
#[pyo3(signature = (size1, size2, proof, root1, root2, *, hash = "sm3"))]
pub fn merkle_verify_consistency(
    size1: &Bound<'_, PyAny>,
    size2: &Bound<'_, PyAny>,
    proof: &Bound<'_, PyAny>,
    root1: &[u8],
    root2: &[u8],
    hash: &str,
) -> PyResult<()> {
    let alg = alg(hash)?;
    let size1 = u64_arg(size1, "size1")?;
    let size2 = u64_arg(size2, "size2")?;
    let proof = proof_arg(proof)?;
    let root1 = hash_arg("root1", root1)?;
    let root2 = hash_arg("root2", root2)?;
    merkle::verify_consistency(alg, size1, size2, &proof, &root1, &root2).map_err(CoreError)?;
    Ok(())
}

/// `merkle_inclusion_plan(index, tree_size) -> [(level, k), ...]`: the
/// complete subtrees an inclusion proof needs, in the order
/// `merkle_inclusion_proof_from` wants their hashes.
#[pyfunction]
pub fn merkle_inclusion_plan<'py>(
    py: Python<'py>,
    index: &Bound<'py, PyAny>,
    tree_size: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let plan = ProofPlan::inclusion(u64_arg(index, "index")?, u64_arg(tree_size, "tree_size")?)
        .map_err(CoreError)?;
    plan_list(py, &plan)
}

/// `merkle_consistency_plan(size1, size2) -> [(level, k), ...]`.
#[pyfunction]
pub fn merkle_consistency_plan<'py>(
    py: Python<'py>,
    size1: &Bound<'py, PyAny>,
    size2: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let plan = ProofPlan::consistency(u64_arg(size1, "size1")?, u64_arg(size2, "size2")?)
        .map_err(CoreError)?;
    plan_list(py, &plan)
}

/// `merkle_root_plan(tree_size) -> [(level, k), ...]`.
#[pyfunction]
pub fn merkle_root_plan<'py>(
    py: Python<'py>,
    tree_size: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let plan = ProofPlan::root(u64_arg(tree_size, "tree_size")?).map_err(CoreError)?;
    plan_list(py, &plan)
}

/// `merkle_inclusion_proof_from(index, tree_size, subtrees, *, hash="sm3")
/// -> list[bytes]`: the proof from the hashes of the planned subtrees.
#[pyfunction]
#[pyo3(signature = (index, tree_size, subtrees, *, hash = "sm3"))]
pub fn merkle_inclusion_proof_from<'py>(
    py: Python<'py>,
    index: &Bound<'py, PyAny>,
    tree_size: &Bound<'py, PyAny>,
    subtrees: &Bound<'py, PyAny>,
    hash: &str,
) -> PyResult<Bound<'py, PyList>> {
    let alg = alg(hash)?;
    let plan = ProofPlan::inclusion(u64_arg(index, "index")?, u64_arg(tree_size, "tree_size")?)
        .map_err(CoreError)?;
    let hashes = hashes_arg(subtrees, "subtrees", Some(plan.nodes().len()))?;
    bytes_list(py, &plan.assemble(alg, &hashes).map_err(CoreError)?)
}

/// `merkle_consistency_proof_from(size1, size2, subtrees, *, hash="sm3") -> list[bytes]`.
#[pyfunction]
#[pyo3(signature = (size1, size2, subtrees, *, hash = "sm3"))]
pub fn merkle_consistency_proof_from<'py>(
    py: Python<'py>,
    size1: &Bound<'py, PyAny>,
    size2: &Bound<'py, PyAny>,
    subtrees: &Bound<'py, PyAny>,
    hash: &str,
) -> PyResult<Bound<'py, PyList>> {
    let alg = alg(hash)?;
    let plan = ProofPlan::consistency(u64_arg(size1, "size1")?, u64_arg(size2, "size2")?)
        .map_err(CoreError)?;
    let hashes = hashes_arg(subtrees, "subtrees", Some(plan.nodes().len()))?;
    bytes_list(py, &plan.assemble(alg, &hashes).map_err(CoreError)?)
}

/// `merkle_root_from(tree_size, subtrees, *, hash="sm3") -> bytes`.
#[pyfunction]
#[pyo3(signature = (tree_size, subtrees, *, hash = "sm3"))]
pub fn merkle_root_from<'py>(
    py: Python<'py>,
    tree_size: &Bound<'py, PyAny>,
    subtrees: &Bound<'py, PyAny>,
    hash: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let alg = alg(hash)?;
    let plan = ProofPlan::root(u64_arg(tree_size, "tree_size")?).map_err(CoreError)?;
    let hashes = hashes_arg(subtrees, "subtrees", Some(plan.nodes().len()))?;
    let root = match plan.assemble(alg, &hashes).map_err(CoreError)?.first() {
        Some(root) => *root,
        None => alg.empty_root(),
    };
    Ok(PyBytes::new(py, &root))
}

/// `merkle_append_subtrees(tree_size, frontier, leaf_hashes, *, hash="sm3")
/// -> [(level, k, hash), ...]`: the complete subtrees that appending
/// `leaf_hashes` creates (the leaves included), given the hashes of
/// `merkle_root_plan(tree_size)` as `frontier`.
#[pyfunction]
#[pyo3(signature = (tree_size, frontier, leaf_hashes, *, hash = "sm3"))]
pub fn merkle_append_subtrees<'py>(
    py: Python<'py>,
    tree_size: &Bound<'py, PyAny>,
    frontier: &Bound<'py, PyAny>,
    leaf_hashes: &Bound<'py, PyAny>,
    hash: &str,
) -> PyResult<Bound<'py, PyList>> {
    let alg = alg(hash)?;
    let size = u64_arg(tree_size, "tree_size")?;
    let frontier = hashes_arg(frontier, "frontier", Some(64))?;
    let leaves = hashes_arg(leaf_hashes, "leaf_hashes", None)?;
    let nodes = if leaves.len() >= DETACH_MIN_HASHES {
        py.detach(|| merkle::append_subtrees(alg, size, &frontier, &leaves))
    } else {
        merkle::append_subtrees(alg, size, &frontier, &leaves)
    }
    .map_err(CoreError)?;
    let items = nodes
        .iter()
        .map(|(node, hash)| {
            PyTuple::new(
                py,
                [
                    node.level.into_pyobject(py)?.into_any(),
                    node.index.into_pyobject(py)?.into_any(),
                    PyBytes::new(py, hash).into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// Append-only in-memory Merkle tree storing every complete subtree hash.
/// Thread-safe: calls are serialised.
#[pyclass(module = "pyservice._core", name = "MerkleTree", frozen)]
pub struct PyMerkleTree {
    tree: Mutex<MemoryTree>,
}

impl PyMerkleTree {
    fn tree(&self) -> MutexGuard<'_, MemoryTree> {
        // No method panics while holding the lock with the tree half-updated
        // (appends push complete values), so a poisoned lock is consistent.
        self.tree.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn size_or_current(&self, size: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<u64> {
        match size {
            Some(size) => u64_arg(size, what),
            None => Ok(self.tree().size()),
        }
    }
}

#[pymethods]
impl PyMerkleTree {
    #[new]
    #[pyo3(signature = (*, hash = "sm3"))]
    fn new(hash: &str) -> PyResult<Self> {
        Ok(PyMerkleTree {
            tree: Mutex::new(MemoryTree::new(alg(hash)?)),
        })
    }

    /// The hash name (`"sm3"` or `"sha256"`).
    #[getter]
    fn hash(&self) -> &'static str {
        self.tree().alg().name()
    }

    /// Number of leaves.
    #[getter]
    fn size(&self) -> u64 {
        self.tree().size()
    }

    fn __len__(&self) -> usize {
        self.tree().size() as usize
    }

    fn __repr__(&self) -> String {
        let tree = self.tree();
        format!(
            "MerkleTree(hash='{}', size={})",
            tree.alg().name(),
            tree.size()
        )
    }

    /// Appends a 32-byte leaf hash; returns its index.
    fn append(&self, leaf_hash: &[u8]) -> PyResult<u64> {
        let leaf = hash_arg("leaf_hash", leaf_hash)?;
        Ok(self.tree().push(leaf))
    }

    /// Appends the leaf `H(0x00 ‖ data)`; returns its index.
    fn append_data(&self, data: &[u8]) -> u64 {
        self.tree().push_data(data)
    }

    /// The leaf hash at `index`.
    fn leaf_hash<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let index = u64_arg(index, "index")?;
        let tree = self.tree();
        let leaf = tree.leaf(index).ok_or_else(|| {
            malformed(format!(
                "leaf index {index} is not below tree size {}",
                tree.size()
            ))
        })?;
        Ok(PyBytes::new(py, &leaf))
    }

    /// Root of the first `size` leaves (default: all).
    #[pyo3(signature = (size = None))]
    fn root<'py>(
        &self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let size = self.size_or_current(size, "size")?;
        let root = self.tree().root_at(size).map_err(CoreError)?;
        Ok(PyBytes::new(py, &root))
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves.
    #[pyo3(signature = (index, size = None))]
    fn inclusion_proof<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let index = u64_arg(index, "index")?;
        let size = self.size_or_current(size, "size")?;
        let proof = self
            .tree()
            .inclusion_proof(index, size)
            .map_err(CoreError)?;
        bytes_list(py, &proof)
    }

    /// Consistency proof from the first `size1` to the first `size2` leaves.
    #[pyo3(signature = (size1, size2 = None))]
    fn consistency_proof<'py>(
        &self,
        py: Python<'py>,
        size1: &Bound<'py, PyAny>,
        size2: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let size1 = u64_arg(size1, "size1")?;
        let size2 = self.size_or_current(size2, "size2")?;
        let proof = self
            .tree()
            .consistency_proof(size1, size2)
            .map_err(CoreError)?;
        bytes_list(py, &proof)
    }
}
