//! Proof verification: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency), with the exact proof length checked before any hashing.

use super::{check_proof_len, check_size, Hash, HashAlg};
use crate::error::{Error, Result};

/// Number of elements of the inclusion proof of `index` in a tree of
/// `size` leaves, or `None` if `index >= size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Option<usize> {
    if index >= size {
        return None;
    }
    // Levels below the one where the paths to `index` and to the last leaf
    // join each give a sibling ("inner"); above it, the path runs along the
    // right edge and only left siblings exist (one per set bit: "border").
    let inner = u64::BITS - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    Some((inner + border) as usize)
}

/// Number of elements of the consistency proof from `size1` to `size2`, or
/// `None` unless `0 < size1 <= size2`.
pub fn consistency_proof_len(size1: u64, size2: u64) -> Option<usize> {
    if size1 == 0 || size1 > size2 {
        return None;
    }
    if size1 == size2 {
        return Some(0);
    }
    // The proof is the path of the last complete subtree of the old tree
    // (level = trailing zeros of size1) in the new tree, preceded by that
    // subtree's hash unless it is the whole old tree (size1 a power of two).
    let level = size1.trailing_zeros();
    let index = (size1 - 1) >> level;
    let size = ((size2 - 1) >> level) + 1;
    let path = inclusion_proof_len(index, size)?;
    Some(path + usize::from(index != 0))
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidProof(msg.into())
}

/// Verifies that `leaf_hash` is the leaf at `index` of the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// Errors: [`Error::Malformed`] for `size > 2^63` or a proof longer than
/// [`MAX_PROOF_LEN`](super::MAX_PROOF_LEN); [`Error::InvalidProof`] for
/// everything else (size 0, `index >= size`, wrong proof length, mismatch).
pub fn verify_inclusion(
    alg: HashAlg,
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    check_size("tree size", size)?;
    check_proof_len(proof.len())?;
    if size == 0 {
        return Err(invalid("a tree of size 0 has no leaves"));
    }
    let Some(expected) = inclusion_proof_len(index, size) else {
        return Err(invalid(format!(
            "leaf index {index} is not below tree size {size}"
        )));
    };
    if proof.len() != expected {
        return Err(invalid(format!(
            "inclusion proof for index {index} in size {size} needs {expected} elements, got {}",
            proof.len()
        )));
    }

    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(invalid("inclusion proof is too long"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = alg.node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = alg.node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(invalid("inclusion proof is too short"));
    }
    if r != *root {
        return Err(invalid("inclusion proof does not lead to the root"));
    }
    Ok(())
}

/// Verifies that the tree of `size1` leaves with root `root1` is a prefix of
/// the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2).
///
/// `size1 == size2` needs an empty proof and equal roots. `size1 == 0` is
/// rejected: RFC 9162 defines consistency proofs for `0 < size1`, and every
/// tree trivially extends the empty one, so such a "proof" proves nothing
/// (the RFC 6962 vector set agrees).
///
/// Errors: [`Error::Malformed`] for sizes over 2^63 or a proof longer than
/// [`MAX_PROOF_LEN`](super::MAX_PROOF_LEN); [`Error::InvalidProof`] otherwise.
pub fn verify_consistency(
    alg: HashAlg,
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<()> {
    check_size("size1", size1)?;
    check_size("size2", size2)?;
    check_proof_len(proof.len())?;
    if size1 > size2 {
        return Err(invalid(format!(
            "size1 {size1} is greater than size2 {size2}"
        )));
    }
    if size1 == 0 {
        return Err(invalid(
            "consistency with the empty tree proves nothing (size1 must be > 0)",
        ));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(invalid("equal sizes need an empty consistency proof"));
        }
        if root1 != root2 {
            return Err(invalid("equal sizes but different roots"));
        }
        return Ok(());
    }
    let expected = consistency_proof_len(size1, size2).unwrap_or(usize::MAX);
    if proof.len() != expected {
        return Err(invalid(format!(
            "consistency proof from {size1} to {size2} needs {expected} elements, got {}",
            proof.len()
        )));
    }

    // Step 2: if size1 is a power of two, the old root is the first element.
    let seed = size1.is_power_of_two().then_some(root1);
    let mut path = seed.into_iter().chain(proof);
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let Some(first) = path.next() else {
        return Err(invalid("empty consistency proof"));
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in path {
        if s_n == 0 {
            return Err(invalid("consistency proof is too long"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = alg.node_hash(c, &fr);
            sr = alg.node_hash(c, &sr);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            sr = alg.node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(invalid("consistency proof is too short"));
    }
    if fr != *root1 {
        return Err(invalid("consistency proof does not lead to root1"));
    }
    if sr != *root2 {
        return Err(invalid("consistency proof does not lead to root2"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_small_trees() {
        // Size 7: index 6 has siblings MTH(4,5) and MTH(0..4).
        assert_eq!(inclusion_proof_len(6, 7), Some(2));
        assert_eq!(inclusion_proof_len(0, 1), Some(0));
        assert_eq!(inclusion_proof_len(0, 8), Some(3));
        assert_eq!(inclusion_proof_len(1, 1), None);
        // RFC 9162 §2.1.5 examples (tree of 7): PROOF(3) = [c, d, g, l],
        // PROOF(4) = [l], PROOF(6) = [i, j, k].
        assert_eq!(consistency_proof_len(3, 7), Some(4));
        assert_eq!(consistency_proof_len(4, 7), Some(1));
        assert_eq!(consistency_proof_len(6, 7), Some(3));
        assert_eq!(consistency_proof_len(0, 7), None);
        assert_eq!(consistency_proof_len(7, 7), Some(0));
        assert_eq!(consistency_proof_len(8, 7), None);
    }

    #[test]
    fn largest_sizes_do_not_overflow() {
        let max = super::super::MAX_TREE_SIZE;
        assert_eq!(inclusion_proof_len(max - 1, max), Some(63));
        assert_eq!(inclusion_proof_len(0, max), Some(63));
        assert_eq!(consistency_proof_len(1, max), Some(63));
        assert_eq!(consistency_proof_len(max - 1, max), Some(64));
    }
}
