//! An append-only in-memory tree that stores every complete subtree hash,
//! for tests, tools and benchmarks. The ledger stores the same hashes in
//! its database and generates proofs through the same [`SubtreeSource`].

use super::proof::{self, NodeId, SubtreeSource};
use super::{Hash, HashAlg};
use crate::error::{Error, Result};

/// Append-only Merkle tree: `levels[h][k]` is the hash of complete subtree
/// `(h, k)`. Appending a leaf adds at most log n node hashes; memory is
/// about 2 × 32 bytes per leaf.
#[derive(Clone, Debug)]
pub struct MemoryTree {
    alg: HashAlg,
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree using `alg`.
    pub fn new(alg: HashAlg) -> Self {
        MemoryTree {
            alg,
            levels: vec![Vec::new()],
        }
    }

    /// The tree's hash.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Appends a leaf hash and returns its index.
    pub fn push(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size();
        self.levels[0].push(leaf_hash);
        // Each level whose node count became even completes a parent.
        let mut level = 0;
        while self.levels[level].len() % 2 == 0 {
            let row = &self.levels[level];
            let parent = self.alg.node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
        index
    }

    /// Appends the leaf `H(0x00 ‖ data)` and returns its index.
    pub fn push_data(&mut self, data: &[u8]) -> u64 {
        self.push(self.alg.leaf_hash(data))
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[0].get(i).copied())
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(Error::malformed(format!(
                "size {size} exceeds the tree size {}",
                self.size()
            )));
        }
        Ok(())
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        // Cannot fail: every complete subtree of the current size is stored.
        self.root_at(self.size())
            .unwrap_or_else(|_| unreachable!("stored subtrees cover the tree"))
    }

    /// Root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        proof::root_at(self.alg, self, size)
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        proof::inclusion_proof(self.alg, self, index, size)
    }

    /// Consistency proof from the first `size1` to the first `size2` leaves.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>> {
        self.check_size(size2)?;
        proof::consistency_proof(self.alg, self, size1, size2)
    }
}

impl SubtreeSource for MemoryTree {
    fn subtree(&self, node: NodeId) -> Result<Hash> {
        usize::try_from(node.level)
            .ok()
            .and_then(|level| self.levels.get(level))
            .zip(usize::try_from(node.index).ok())
            .and_then(|(row, index)| row.get(index).copied())
            .ok_or_else(|| {
                Error::malformed(format!(
                    "subtree (level {}, index {}) is not stored",
                    node.level, node.index
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_of_every_prefix_match_the_list_root() {
        for alg in [HashAlg::Sm3, HashAlg::Sha256] {
            let mut tree = MemoryTree::new(alg);
            let mut leaves = Vec::new();
            assert_eq!(tree.root(), alg.empty_root());
            for i in 0..40u32 {
                tree.push_data(&i.to_le_bytes());
                leaves.push(alg.leaf_hash(&i.to_le_bytes()));
                assert_eq!(tree.root(), alg.root(&leaves));
            }
            for size in 0..=40 {
                assert_eq!(
                    tree.root_at(size).unwrap(),
                    alg.root(&leaves[..size as usize])
                );
            }
            assert!(tree.root_at(41).is_err());
        }
    }
}
