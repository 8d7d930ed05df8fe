//! Proof generation from stored complete-subtree hashes.
//!
//! A store (the ledger's database later, [`MemoryTree`](super::MemoryTree)
//! now) keeps the hash of every *complete* subtree: node `(level h, index k)`
//! covers leaves `[k·2^h, (k+1)·2^h)`; level 0 are the leaf hashes. A proof
//! element is the MTH of an aligned leaf range that may be cut short by the
//! tree's right edge; its hash is the right fold of the complete subtrees
//! that tile the range (the binary decomposition of its length). So every
//! proof needs O(log n) reads, listed up front by a [`ProofPlan`] — which
//! lets a database fetch them in one query — and then [`ProofPlan::assemble`]
//! hashes only the incomplete right-edge element (at most log n hashes).

use super::{check_size, Hash, HashAlg};
use crate::error::{Error, Result};

/// A complete subtree: leaves `[index·2^level, (index+1)·2^level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf hash).
    pub level: u32,
    /// Position among the nodes of this level, from 0 at the left.
    pub index: u64,
}

impl NodeId {
    /// First leaf covered.
    pub fn start(self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered.
    pub fn end(self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// Where proof generation reads complete-subtree hashes from.
pub trait SubtreeSource {
    /// The hash of the complete subtree `node`; an error if it is not stored.
    fn subtree(&self, node: NodeId) -> Result<Hash>;

    /// Several hashes at once, in the order asked (a database answers them
    /// with one query). The default asks [`subtree`](Self::subtree) for each.
    fn subtrees(&self, nodes: &[NodeId]) -> Result<Vec<Hash>> {
        nodes.iter().map(|&node| self.subtree(node)).collect()
    }
}

/// The complete subtrees a proof (or a root) needs, and how to combine them.
///
/// Element `i` of the proof is the MTH of leaves `ranges[i]`, computed from
/// `nodes[bounds[i]..bounds[i + 1]]` (left to right, decreasing size).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    ranges: Vec<(u64, u64)>,
    nodes: Vec<NodeId>,
    bounds: Vec<usize>,
}

impl ProofPlan {
    fn empty() -> Self {
        ProofPlan {
            ranges: Vec::new(),
            nodes: Vec::new(),
            bounds: vec![0],
        }
    }

    /// Adds an element: the MTH of leaves `[start, end)`.
    fn push_range(&mut self, start: u64, end: u64) {
        debug_assert!(start < end);
        let mut pos = start;
        while pos < end {
            // Largest aligned block at `pos` that fits before `end`.
            let align = if pos == 0 { 63 } else { pos.trailing_zeros() };
            let fit = u64::BITS - 1 - (end - pos).leading_zeros();
            let level = align.min(fit);
            self.nodes.push(NodeId {
                level,
                index: pos >> level,
            });
            pos += 1u64 << level;
        }
        self.ranges.push((start, end));
        self.bounds.push(self.nodes.len());
    }

    /// Adds the audit path (RFC 9162 PATH, bottom-up) of block `index` among
    /// `blocks` blocks of `2^base` leaves, in a tree of `leaves` leaves.
    fn push_path(&mut self, base: u32, index: u64, blocks: u64, leaves: u64) {
        let inner = u64::BITS - (index ^ (blocks - 1)).leading_zeros();
        for i in 0..inner {
            let level = base + i;
            let start = ((index >> i) ^ 1) << level;
            let end = start.saturating_add(1u64 << level).min(leaves);
            self.push_range(start, end);
        }
        for j in inner..u64::BITS - base {
            if (index >> j) & 1 == 1 {
                let level = base + j;
                let start = ((index >> j) ^ 1) << level;
                self.push_range(start, start + (1u64 << level));
            }
        }
    }

    /// Plan of the inclusion proof of leaf `index` in the tree of `size`
    /// leaves. `index >= size` or `size > 2^63` is [`Error::Malformed`].
    pub fn inclusion(index: u64, size: u64) -> Result<Self> {
        check_size("tree size", size)?;
        if index >= size {
            return Err(Error::malformed(format!(
                "leaf index {index} is not below tree size {size}"
            )));
        }
        let mut plan = Self::empty();
        plan.push_path(0, index, size, size);
        Ok(plan)
    }

    /// Plan of the consistency proof from `size1` to `size2` (RFC 9162
    /// PROOF); needs `0 < size1 <= size2` (else [`Error::Malformed`]). Equal
    /// sizes give the empty proof.
    pub fn consistency(size1: u64, size2: u64) -> Result<Self> {
        check_size("size2", size2)?;
        if size1 == 0 || size1 > size2 {
            return Err(Error::malformed(format!(
                "a consistency proof needs 0 < size1 <= size2, got {size1} and {size2}"
            )));
        }
        let mut plan = Self::empty();
        if size1 == size2 {
            return Ok(plan);
        }
        // The last complete subtree of the old tree, then its path in the
        // new tree (counted in blocks of its size). When it is the whole old
        // tree (size1 a power of two) the verifier already has its hash.
        let level = size1.trailing_zeros();
        let index = (size1 - 1) >> level;
        if index != 0 {
            plan.push_range(index << level, size1);
        }
        plan.push_path(level, index, ((size2 - 1) >> level) + 1, size2);
        Ok(plan)
    }

    /// Plan of the root of the first `size` leaves: one element (none for
    /// the empty tree, whose root is `H("")`).
    pub fn root(size: u64) -> Result<Self> {
        check_size("tree size", size)?;
        let mut plan = Self::empty();
        if size > 0 {
            plan.push_range(0, size);
        }
        Ok(plan)
    }

    /// The complete subtrees to read, in the order `assemble` wants them.
    /// They are distinct (proof elements cover disjoint leaf ranges).
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The leaf range `[start, end)` of each proof element, bottom-up.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Number of proof elements.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True for the empty proof.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The proof from the hashes of [`nodes`](Self::nodes), in that order.
    pub fn assemble(&self, alg: HashAlg, hashes: &[Hash]) -> Result<Vec<Hash>> {
        if hashes.len() != self.nodes.len() {
            return Err(Error::malformed(format!(
                "proof plan needs {} subtree hashes, got {}",
                self.nodes.len(),
                hashes.len()
            )));
        }
        Ok(self
            .bounds
            .windows(2)
            .map(|w| alg.fold_right(hashes[w[0]..w[1]].iter()))
            .collect())
    }
}

/// Inclusion proof of leaf `index` in the tree of the first `size` leaves
/// held by `source`.
pub fn inclusion_proof<S: SubtreeSource + ?Sized>(
    alg: HashAlg,
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    let plan = ProofPlan::inclusion(index, size)?;
    plan.assemble(alg, &source.subtrees(plan.nodes())?)
}

/// Consistency proof from the first `size1` to the first `size2` leaves
/// held by `source`.
pub fn consistency_proof<S: SubtreeSource + ?Sized>(
    alg: HashAlg,
    source: &S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>> {
    let plan = ProofPlan::consistency(size1, size2)?;
    plan.assemble(alg, &source.subtrees(plan.nodes())?)
}

/// Root of the first `size` leaves held by `source` (popcount(size) reads).
pub fn root_at<S: SubtreeSource + ?Sized>(alg: HashAlg, source: &S, size: u64) -> Result<Hash> {
    let plan = ProofPlan::root(size)?;
    let hashes = source.subtrees(plan.nodes())?;
    Ok(alg.fold_right(hashes.iter()))
}

/// The complete subtrees created by appending `leaves` to a tree of `size`
/// leaves, for a store to insert: each leaf as `(level 0, index)` and every
/// interior node it completes, in creation order.
///
/// `frontier` holds the hashes of [`ProofPlan::root(size)`](ProofPlan::root)'s
/// nodes (the complete subtrees of the current tree, largest first): the
/// only reads an append needs. Work is O(leaves + log size).
pub fn append_subtrees(
    alg: HashAlg,
    size: u64,
    frontier: &[Hash],
    leaves: &[Hash],
) -> Result<Vec<(NodeId, Hash)>> {
    let plan = ProofPlan::root(size)?;
    if frontier.len() != plan.nodes().len() {
        return Err(Error::malformed(format!(
            "a tree of {size} leaves has {} frontier subtrees, got {}",
            plan.nodes().len(),
            frontier.len()
        )));
    }
    let end = u64::try_from(leaves.len())
        .ok()
        .and_then(|n| size.checked_add(n))
        .filter(|&end| end <= super::MAX_TREE_SIZE);
    if end.is_none() {
        return Err(Error::malformed("appending would exceed 2^63 leaves"));
    }
    let mut stack: Vec<(NodeId, Hash)> = plan
        .nodes()
        .iter()
        .copied()
        .zip(frontier.iter().copied())
        .collect();
    let mut out = Vec::with_capacity(2 * leaves.len());
    for (offset, leaf) in (0u64..).zip(leaves) {
        let mut node = (
            NodeId {
                level: 0,
                index: size + offset,
            },
            *leaf,
        );
        out.push(node);
        while let Some(&(left_id, left)) = stack.last() {
            if left_id.level != node.0.level {
                break;
            }
            stack.pop();
            node = (
                NodeId {
                    level: left_id.level + 1,
                    index: left_id.index >> 1,
                },
                alg.node_hash(&left, &node.1),
            );
            out.push(node);
        }
        stack.push(node);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_read_logarithmically_many_nodes() {
        let size = (1u64 << 40) + 12345;
        for index in [0, 1, size / 2, size - 2, size - 1] {
            let plan = ProofPlan::inclusion(index, size).unwrap();
            assert_eq!(
                Some(plan.len()),
                super::super::inclusion_proof_len(index, size)
            );
            assert!(plan.nodes().len() <= 2 * 41, "{}", plan.nodes().len());
        }
        let plan = ProofPlan::consistency(777, size).unwrap();
        assert_eq!(
            Some(plan.len()),
            super::super::consistency_proof_len(777, size)
        );
    }

    #[test]
    fn root_plan_is_the_binary_decomposition() {
        let plan = ProofPlan::root(13).unwrap();
        let nodes: Vec<(u32, u64)> = plan.nodes().iter().map(|n| (n.level, n.index)).collect();
        assert_eq!(nodes, [(3, 0), (2, 2), (0, 12)]);
        assert!(ProofPlan::root(0).unwrap().is_empty());
    }

    #[test]
    fn append_subtrees_match_a_memory_tree() {
        use super::super::MemoryTree;
        let alg = HashAlg::Sm3;
        let leaves: Vec<Hash> = (0..100u32)
            .map(|i| alg.leaf_hash(&i.to_le_bytes()))
            .collect();
        let mut tree = MemoryTree::new(alg);
        let mut size = 0usize;
        for batch in [1usize, 2, 3, 7, 16, 1, 30, 40] {
            let frontier = tree
                .subtrees(ProofPlan::root(size as u64).unwrap().nodes())
                .unwrap();
            let new =
                append_subtrees(alg, size as u64, &frontier, &leaves[size..size + batch]).unwrap();
            for &leaf in &leaves[size..size + batch] {
                tree.push(leaf);
            }
            size += batch;
            for (node, hash) in &new {
                assert_eq!(tree.subtree(*node).unwrap(), *hash, "{node:?}");
            }
            // Exactly the nodes that became complete.
            let complete = |n: u64| -> u64 { (0..64).map(|h| n >> h).sum() };
            assert_eq!(
                new.len() as u64,
                complete(size as u64) - complete((size - batch) as u64)
            );
        }
        assert!(matches!(
            append_subtrees(alg, 3, &[[0; 32]], &[]),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn bad_arguments_are_malformed() {
        assert!(matches!(
            ProofPlan::inclusion(3, 3),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            ProofPlan::consistency(0, 3),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            ProofPlan::consistency(4, 3),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            ProofPlan::root((1 << 63) + 1),
            Err(Error::Malformed(_))
        ));
    }
}
