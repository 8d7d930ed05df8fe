//! RFC 9162 §2.1 Merkle tree, generic over the hash (SM3 for the ledger,
//! SHA-256 to prove the algorithm against the public RFC 6962 vectors).
//!
//! - [`HashAlg`]: leaf hash `H(0x00 ‖ data)`, node hash `H(0x01 ‖ l ‖ r)`,
//!   the empty tree's root `H("")`, and [`HashAlg::root`] (MTH of a list of
//!   leaf hashes).
//! - [`verify_inclusion`] and [`verify_consistency`]: the iterative
//!   algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 with the strict checks
//!   (exact proof length, `index < size`, `0 < size1 ≤ size2`, equal sizes
//!   need an empty proof and equal roots).
//! - Proof generation from stored **complete** subtree hashes: a
//!   [`ProofPlan`] lists the complete subtrees ([`NodeId`]) a proof needs —
//!   O(log n) of them — and assembles the proof (including the hashes of
//!   incomplete right-edge subtrees) from their hashes. [`SubtreeSource`]
//!   abstracts the store; [`MemoryTree`] is the in-memory one;
//!   [`append_subtrees`] lists the hashes a store inserts on (batch) append.
//!
//! Failures of a well-formed proof are [`Error::InvalidProof`]; arguments
//! out of range (more than [`MAX_PROOF_LEN`] elements, sizes over
//! [`MAX_TREE_SIZE`], unknown hash names) are [`Error::Malformed`].

mod memory;
mod proof;
mod verify;

pub use memory::MemoryTree;
pub use proof::{
    append_subtrees, consistency_proof, inclusion_proof, root_at, NodeId, ProofPlan, SubtreeSource,
};
pub use verify::{
    consistency_proof_len, inclusion_proof_len, verify_consistency, verify_inclusion,
};

use crate::error::{Error, Result};

/// A hash value: both supported hashes have 32-byte digests.
pub type Hash = [u8; 32];

/// Longest proof accepted: a tree of at most 2^63 leaves needs at most 63
/// elements for inclusion and 64 for consistency.
pub const MAX_PROOF_LEN: usize = 64;

/// Largest tree size (and index bound) accepted.
pub const MAX_TREE_SIZE: u64 = 1 << 63;

/// Domain-separation prefix of leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes.
const NODE_PREFIX: u8 = 0x01;

/// The hash function of a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HashAlg {
    /// SM3 (GB/T 32905): the ledger's hash.
    #[default]
    Sm3,
    /// SHA-256: RFC 6962 / RFC 9162 test vectors.
    Sha256,
}

impl HashAlg {
    /// Parses `"sm3"` or `"sha256"` (exactly these spellings).
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "sm3" => Ok(HashAlg::Sm3),
            "sha256" => Ok(HashAlg::Sha256),
            other => Err(Error::malformed(format!(
                "unknown Merkle hash {other:?} (expected \"sm3\" or \"sha256\")"
            ))),
        }
    }

    /// The name [`from_name`](Self::from_name) accepts.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sm3 => "sm3",
            HashAlg::Sha256 => "sha256",
        }
    }

    /// `H(data)` (not domain-separated; used for the empty tree).
    pub fn digest(self, data: &[u8]) -> Hash {
        match self {
            HashAlg::Sm3 => crate::sm3::sm3(data),
            HashAlg::Sha256 => {
                use sha2::Digest;
                sha2::Sha256::digest(data).into()
            }
        }
    }

    /// Root of the empty tree: `H("")`.
    pub fn empty_root(self) -> Hash {
        self.digest(b"")
    }

    /// Leaf hash `H(0x00 ‖ data)`.
    pub fn leaf_hash(self, data: &[u8]) -> Hash {
        match self {
            HashAlg::Sm3 => {
                let mut h = crate::sm3::Sm3::new();
                h.update(&[LEAF_PREFIX]);
                h.update(data);
                h.finalize()
            }
            HashAlg::Sha256 => {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                h.update([LEAF_PREFIX]);
                h.update(data);
                h.finalize().into()
            }
        }
    }

    /// Interior node hash `H(0x01 ‖ left ‖ right)`.
    #[inline]
    pub fn node_hash(self, left: &Hash, right: &Hash) -> Hash {
        match self {
            HashAlg::Sm3 => crate::sm3::sm3_prefixed_pair(NODE_PREFIX, left, right),
            HashAlg::Sha256 => {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                h.update([NODE_PREFIX]);
                h.update(left);
                h.update(right);
                h.finalize().into()
            }
        }
    }

    /// MTH of a list of leaf hashes (RFC 9162 §2.1.1): the empty tree's root
    /// for no leaves; otherwise the tree that splits at the largest power of
    /// two below the size. Computed with a stack of complete subtrees, so it
    /// takes n − 1 node hashes and O(log n) memory.
    pub fn root(self, leaf_hashes: &[Hash]) -> Hash {
        if leaf_hashes.is_empty() {
            return self.empty_root();
        }
        // stack[i] = (level, hash): complete subtrees of strictly decreasing
        // size, like the set bits of the number of leaves seen so far.
        let mut stack: Vec<(u32, Hash)> = Vec::with_capacity(64);
        for leaf in leaf_hashes {
            let mut node = (0u32, *leaf);
            while let Some(&(level, left)) = stack.last() {
                if level != node.0 {
                    break;
                }
                stack.pop();
                node = (level + 1, self.node_hash(&left, &node.1));
            }
            stack.push(node);
        }
        self.fold_right(stack.iter().map(|(_, h)| h))
    }

    /// Folds complete subtree hashes listed left to right (decreasing size)
    /// into the root of their concatenation: `H(c0, H(c1, … H(ck-1, ck)))`.
    pub(crate) fn fold_right<'a, I>(self, hashes: I) -> Hash
    where
        I: DoubleEndedIterator<Item = &'a Hash>,
    {
        let mut iter = hashes.rev();
        let Some(mut acc) = iter.next().copied() else {
            return self.empty_root();
        };
        for left in iter {
            acc = self.node_hash(left, &acc);
        }
        acc
    }
}

/// Converts a byte slice to a [`Hash`], or reports a malformed argument.
pub fn hash_from_slice(what: &str, bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::malformed(format!("{what} must be 32 bytes, got {}", bytes.len())))
}

/// Converts proof elements given as byte slices; each must be 32 bytes and
/// there may be at most [`MAX_PROOF_LEN`] of them.
pub fn proof_from_slices<B: AsRef<[u8]>>(elements: &[B]) -> Result<Vec<Hash>> {
    check_proof_len(elements.len())?;
    elements
        .iter()
        .enumerate()
        .map(|(i, e)| hash_from_slice(&format!("proof element {i}"), e.as_ref()))
        .collect()
}

fn check_proof_len(len: usize) -> Result<()> {
    if len > MAX_PROOF_LEN {
        return Err(Error::malformed(format!(
            "proof has {len} elements, at most {MAX_PROOF_LEN} allowed"
        )));
    }
    Ok(())
}

fn check_size(what: &str, value: u64) -> Result<()> {
    if value > MAX_TREE_SIZE {
        return Err(Error::malformed(format!(
            "{what} {value} is over the maximum 2^63"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC definition, recursively, as an oracle.
    fn mth(alg: HashAlg, leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => alg.empty_root(),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                alg.node_hash(&mth(alg, &leaves[..k]), &mth(alg, &leaves[k..]))
            }
        }
    }

    #[test]
    fn root_matches_recursive_definition() {
        for alg in [HashAlg::Sm3, HashAlg::Sha256] {
            let leaves: Vec<Hash> = (0..70u32)
                .map(|i| alg.leaf_hash(&i.to_be_bytes()))
                .collect();
            for n in 0..=leaves.len() {
                assert_eq!(alg.root(&leaves[..n]), mth(alg, &leaves[..n]), "n={n}");
            }
        }
    }

    #[test]
    fn known_empty_roots() {
        assert_eq!(
            HashAlg::Sm3.empty_root()[..4],
            [0x1a, 0xb2, 0x1d, 0x83],
            "SM3(\"\") per the shared vectors"
        );
        assert_eq!(HashAlg::Sha256.empty_root()[..4], [0xe3, 0xb0, 0xc4, 0x42]);
    }

    #[test]
    fn node_hash_is_prefixed() {
        let (l, r) = ([1u8; 32], [2u8; 32]);
        let mut msg = vec![1u8];
        msg.extend_from_slice(&l);
        msg.extend_from_slice(&r);
        for alg in [HashAlg::Sm3, HashAlg::Sha256] {
            assert_eq!(alg.node_hash(&l, &r), alg.digest(&msg));
            assert_eq!(alg.leaf_hash(b"x"), alg.digest(b"\x00x"));
        }
    }

    #[test]
    fn names_round_trip() {
        for alg in [HashAlg::Sm3, HashAlg::Sha256] {
            assert_eq!(HashAlg::from_name(alg.name()), Ok(alg));
        }
        assert!(matches!(
            HashAlg::from_name("SM3"),
            Err(Error::Malformed(_))
        ));
    }
}
