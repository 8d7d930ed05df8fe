//! Property tests of the Merkle tree: for random trees (1..300 leaves, SM3
//! and SHA-256)
//!
//! - roots, inclusion proofs and consistency proofs generated from stored
//!   complete subtrees equal the recursive definitions of RFC 9162 §2.1
//!   (MTH, PATH, PROOF), written here independently as oracles;
//! - every inclusion proof and consistency proof (random pairs) verifies;
//! - every single-bit flip of a proof element, root or leaf fails, and so
//!   does truncating or extending the proof;
//! - index ± 1 and size ± 1 fail, except where the RFC 9162 algorithm
//!   cannot tell: when the changed parameters walk the proof with the same
//!   sequence of left/right steps, the same hashes are computed and the
//!   proof verifies (the SM3 vector set has such cases too).

use proptest::prelude::*;
use sidian_core::merkle::{
    consistency_proof_len, inclusion_proof_len, verify_consistency, verify_inclusion, Hash,
    HashAlg, MemoryTree, ProofPlan,
};
use sidian_core::Error;

fn alg_strategy() -> impl Strategy<Value = HashAlg> {
    prop_oneof![Just(HashAlg::Sm3), Just(HashAlg::Sha256)]
}

fn largest_pow2_below(n: usize) -> usize {
    debug_assert!(n > 1);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn mth(alg: HashAlg, leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => alg.empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_pow2_below(n);
            alg.node_hash(&mth(alg, &leaves[..k]), &mth(alg, &leaves[k..]))
        }
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]).
fn path(alg: HashAlg, m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n == 1 {
        return Vec::new();
    }
    let k = largest_pow2_below(n);
    if m < k {
        let mut p = path(alg, m, &leaves[..k]);
        p.push(mth(alg, &leaves[k..]));
        p
    } else {
        let mut p = path(alg, m - k, &leaves[k..]);
        p.push(mth(alg, &leaves[..k]));
        p
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
fn subproof(alg: HashAlg, m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b {
            Vec::new()
        } else {
            vec![mth(alg, leaves)]
        };
    }
    let k = largest_pow2_below(n);
    if m <= k {
        let mut p = subproof(alg, m, &leaves[..k], b);
        p.push(mth(alg, &leaves[k..]));
        p
    } else {
        let mut p = subproof(alg, m - k, &leaves[k..], false);
        p.push(mth(alg, &leaves[..k]));
        p
    }
}

/// The left/right steps the RFC 9162 inclusion algorithm takes (true: the
/// proof element is the left operand), or None where it fails on sizes alone.
fn inclusion_shape(index: u64, size: u64, len: usize) -> Option<Vec<bool>> {
    if index >= size || inclusion_proof_len(index, size) != Some(len) {
        return None;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut shape = Vec::new();
    for _ in 0..len {
        let left = f_n & 1 == 1 || f_n == s_n;
        shape.push(left);
        if left {
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    Some(shape)
}

/// The steps of the consistency algorithm: whether the old root seeds the
/// walk, and per element whether it enters both running hashes.
fn consistency_shape(size1: u64, size2: u64, len: usize) -> Option<(bool, Vec<bool>)> {
    if size1 == 0 || size1 >= size2 || consistency_proof_len(size1, size2) != Some(len) {
        return None;
    }
    let seeded = size1.is_power_of_two();
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut shape = Vec::new();
    for _ in 1..len + usize::from(seeded) {
        let both = f_n & 1 == 1 || f_n == s_n;
        shape.push(both);
        if both {
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    Some((seeded, shape))
}

fn build(alg: HashAlg, size: usize, seed: u64) -> (MemoryTree, Vec<Hash>) {
    let mut tree = MemoryTree::new(alg);
    let mut leaves = Vec::with_capacity(size);
    for i in 0..size as u64 {
        let data = [seed.to_le_bytes(), i.to_le_bytes()].concat();
        leaves.push(alg.leaf_hash(&data));
        tree.push_data(&data);
    }
    (tree, leaves)
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::InvalidProof(_)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn generated_proofs_match_the_rfc_definitions(
        alg in alg_strategy(), size in 1usize..300, seed: u64,
    ) {
        let (tree, leaves) = build(alg, size, seed);
        prop_assert_eq!(tree.root(), mth(alg, &leaves));
        prop_assert_eq!(alg.root(&leaves), mth(alg, &leaves));
        let root = tree.root();
        for m in 0..size {
            let proof = tree.inclusion_proof(m as u64, size as u64).unwrap();
            prop_assert_eq!(&proof, &path(alg, m, &leaves), "PATH({}, D[{}])", m, size);
            prop_assert_eq!(
                verify_inclusion(alg, &leaves[m], m as u64, size as u64, &proof, &root),
                Ok(())
            );
        }
        // Every consistency proof into this tree from every earlier size.
        for m in 1..=size {
            let proof = tree.consistency_proof(m as u64, size as u64).unwrap();
            prop_assert_eq!(&proof, &subproof(alg, m, &leaves, true), "PROOF({}, D[{}])", m, size);
            let old = tree.root_at(m as u64).unwrap();
            prop_assert_eq!(
                verify_consistency(alg, m as u64, size as u64, &proof, &old, &root),
                Ok(())
            );
        }
    }

    #[test]
    fn inclusion_mutations_fail(
        alg in alg_strategy(), size in 1u64..300, seed: u64,
        pick in any::<prop::sample::Index>(), bit in 0usize..256, other: [u8; 32],
    ) {
        let (tree, leaves) = build(alg, size as usize, seed);
        let index = pick.index(size as usize) as u64;
        let leaf = leaves[index as usize];
        let root = tree.root();
        let proof = tree.inclusion_proof(index, size).unwrap();
        let verify = |leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash| {
            verify_inclusion(alg, leaf, index, size, proof, root)
        };
        prop_assert_eq!(verify(&leaf, index, size, &proof, &root), Ok(()));

        prop_assert!(is_invalid(verify(&flip(&leaf, bit), index, size, &proof, &root)));
        prop_assert!(is_invalid(verify(&leaf, index, size, &proof, &flip(&root, bit))));
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(is_invalid(verify(&leaf, index, size, &bad, &root)), "element {}", i);
        }
        if !proof.is_empty() {
            prop_assert!(is_invalid(verify(&leaf, index, size, &proof[..proof.len() - 1], &root)));
            prop_assert!(is_invalid(verify(&leaf, index, size, &proof[1..], &root)));
        }
        let mut longer = proof.clone();
        longer.push(other);
        prop_assert!(is_invalid(verify(&leaf, index, size, &longer, &root)));
        longer.insert(0, root);
        longer.pop();
        prop_assert!(is_invalid(verify(&leaf, index, size, &longer, &root)));

        let shape = inclusion_shape(index, size, proof.len());
        let candidates = [
            (index.wrapping_sub(1), size),
            (index + 1, size),
            (index, size - 1),
            (index, size + 1),
        ];
        for (i2, s2) in candidates {
            let result = verify(&leaf, i2, s2, &proof, &root);
            if inclusion_shape(i2, s2, proof.len()) == shape {
                prop_assert_eq!(result, Ok(()), "same walk for index {} size {}", i2, s2);
            } else {
                prop_assert!(is_invalid(result), "index {} size {}", i2, s2);
            }
        }
    }

    #[test]
    fn consistency_mutations_fail(
        alg in alg_strategy(), size2 in 2u64..300, seed: u64,
        pick in any::<prop::sample::Index>(), bit in 0usize..256, other: [u8; 32],
    ) {
        let (tree, _) = build(alg, size2 as usize, seed);
        let size1 = 1 + pick.index(size2 as usize - 1) as u64; // 1..size2
        let root1 = tree.root_at(size1).unwrap();
        let root2 = tree.root();
        let proof = tree.consistency_proof(size1, size2).unwrap();
        let verify = |s1: u64, s2: u64, proof: &[Hash], r1: &Hash, r2: &Hash| {
            verify_consistency(alg, s1, s2, proof, r1, r2)
        };
        prop_assert_eq!(verify(size1, size2, &proof, &root1, &root2), Ok(()));

        prop_assert!(is_invalid(verify(size1, size2, &proof, &flip(&root1, bit), &root2)));
        prop_assert!(is_invalid(verify(size1, size2, &proof, &root1, &flip(&root2, bit))));
        prop_assert!(is_invalid(verify(size1, size2, &proof, &root2, &root1)));
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(is_invalid(verify(size1, size2, &bad, &root1, &root2)), "element {}", i);
        }
        prop_assert!(is_invalid(verify(size1, size2, &proof[..proof.len() - 1], &root1, &root2)));
        let mut longer = proof.clone();
        longer.push(other);
        prop_assert!(is_invalid(verify(size1, size2, &longer, &root1, &root2)));

        let shape = consistency_shape(size1, size2, proof.len());
        for (s1, s2) in [(size1 - 1, size2), (size1 + 1, size2), (size1, size2 - 1), (size1, size2 + 1)] {
            let result = verify(s1, s2, &proof, &root1, &root2);
            if consistency_shape(s1, s2, proof.len()) == shape {
                prop_assert_eq!(result, Ok(()), "same walk for {} -> {}", s1, s2);
            } else {
                prop_assert!(is_invalid(result), "{} -> {}", s1, s2);
            }
        }
    }

    #[test]
    fn plans_tile_their_ranges(index in 0u64..1 << 40, extra in 0u64..1 << 40, size1 in 1u64..1 << 40) {
        let size = index + 1 + extra;
        let plan = ProofPlan::inclusion(index, size).unwrap();
        prop_assert_eq!(Some(plan.len()), inclusion_proof_len(index, size));
        let mut count = 0;
        for &(start, end) in plan.ranges() {
            prop_assert!(start < end && end <= size);
            prop_assert!(!(start..end).contains(&index));
            count += 1;
        }
        prop_assert_eq!(count, plan.len());
        for node in plan.nodes() {
            prop_assert!(node.end() <= size);
        }
        prop_assert!(plan.nodes().len() <= 2 * 41);
        let size2 = size1 + extra;
        let plan = ProofPlan::consistency(size1, size2).unwrap();
        prop_assert_eq!(Some(plan.len()), consistency_proof_len(size1, size2));
        for node in plan.nodes() {
            prop_assert!(node.end() <= size2);
        }
    }
}

#[test]
fn malformed_arguments() {
    let alg = HashAlg::Sm3;
    let h = [0u8; 32];
    let long = vec![h; 65];
    assert!(matches!(
        verify_inclusion(alg, &h, 0, 1, &long, &h),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        verify_inclusion(alg, &h, 0, (1 << 63) + 1, &[], &h),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        verify_consistency(alg, 1, u64::MAX, &[], &h, &h),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        verify_consistency(alg, 1, 2, &long, &h, &h),
        Err(Error::Malformed(_))
    ));
    // Out-of-range indices are a failed proof (RFC 9162 step 1), not malformed.
    assert!(matches!(
        verify_inclusion(alg, &h, 1, 1, &[], &h),
        Err(Error::InvalidProof(_))
    ));
    assert!(matches!(
        verify_inclusion(alg, &h, 0, 0, &[], &h),
        Err(Error::InvalidProof(_))
    ));
}

#[test]
fn largest_tree_sizes_verify_without_overflow() {
    // A proof for the last leaf of a 2^63-leaf tree has 63 elements; its
    // hashes are arbitrary, so it fails on the root, not on arithmetic.
    let alg = HashAlg::Sha256;
    let h = [7u8; 32];
    let max = 1u64 << 63;
    let proof = vec![h; 63];
    assert!(matches!(
        verify_inclusion(alg, &h, max - 1, max, &proof, &h),
        Err(Error::InvalidProof(_))
    ));
    let proof = vec![h; 64];
    assert!(matches!(
        verify_consistency(alg, max - 1, max, &proof, &h, &h),
        Err(Error::InvalidProof(_))
    ));
    assert_eq!(ProofPlan::inclusion(max - 1, max).unwrap().len(), 63);
    assert_eq!(ProofPlan::consistency(max - 1, max).unwrap().len(), 64);
}
