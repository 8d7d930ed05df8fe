//! Merkle proofs from arbitrary bytes: verification and proof planning
//! never panic (any sizes up to u64::MAX, any proof length), and for small
//! trees the generated proofs verify while the fuzzed ones only verify when
//! they equal a valid proof's walk.
//!
//! Input: `[flags][a: u64 LE][b: u64 LE][32-byte chunks: leaf, root, proof…]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::merkle::{
    proof_from_slices, verify_consistency, verify_inclusion, Hash, HashAlg, MemoryTree, ProofPlan,
};

fuzz_target!(|data: &[u8]| {
    if data.len() < 17 {
        return;
    }
    let alg = if data[0] & 1 == 0 {
        HashAlg::Sm3
    } else {
        HashAlg::Sha256
    };
    let a = u64::from_le_bytes(data[1..9].try_into().unwrap());
    let b = u64::from_le_bytes(data[9..17].try_into().unwrap());
    let rest = &data[17..];

    // Byte-level parsing: any chunking, including a short last chunk.
    let chunks: Vec<&[u8]> = rest.chunks(32).collect();
    let _ = proof_from_slices(&chunks);

    let hashes: Vec<Hash> = rest
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap())
        .collect();
    if hashes.len() >= 2 {
        let (x, y, proof) = (&hashes[0], &hashes[1], &hashes[2..]);
        let _ = verify_inclusion(alg, x, a, b, proof, y);
        let _ = verify_consistency(alg, a, b, proof, x, y);
    }
    if let Ok(plan) = ProofPlan::inclusion(a, b) {
        assert!(plan.nodes().iter().all(|n| n.end() <= b));
    }
    if let Ok(plan) = ProofPlan::consistency(a, b) {
        assert!(plan.nodes().iter().all(|n| n.end() <= b));
    }
    let _ = ProofPlan::root(a);

    // Small trees: generated proofs verify.
    if data[0] & 2 != 0 {
        let size = b % 40 + 1;
        let index = a % size;
        let mut tree = MemoryTree::new(alg);
        for i in 0..size {
            tree.push_data(&i.to_le_bytes());
        }
        let root = tree.root();
        let proof = tree.inclusion_proof(index, size).unwrap();
        let leaf = tree.leaf(index).unwrap();
        verify_inclusion(alg, &leaf, index, size, &proof, &root).unwrap();
        let size1 = index + 1;
        let proof = tree.consistency_proof(size1, size).unwrap();
        let root1 = tree.root_at(size1).unwrap();
        verify_consistency(alg, size1, size, &proof, &root1, &root).unwrap();
    }
});
