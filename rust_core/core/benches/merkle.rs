//! Merkle benchmarks: inclusion proof generation from an in-memory tree of
//! 2^24 leaves, and proof verification against the cost of the SM3
//! compressions it needs.
//!
//! Run: `cargo bench -p sidian-core --bench merkle`. The tree size is
//! `2^SIDIAN_MERKLE_BENCH_LOG2` (default 24). Leaf hashes are synthesized
//! (distinct 32-byte values, no leaf hashing) to keep the build short; every
//! interior node is a real SM3 node hash and proofs read the stored
//! complete-subtree hashes exactly as for any other tree.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sidian_core::merkle::{
    inclusion_proof_len, verify_consistency, verify_inclusion, Hash, HashAlg, MemoryTree,
};
use sidian_core::sm3::sm3;

fn log2_size() -> u32 {
    std::env::var("SIDIAN_MERKLE_BENCH_LOG2")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

fn synthetic_leaf(i: u64) -> Hash {
    let mut h = [0x5au8; 32];
    h[..8].copy_from_slice(&i.to_le_bytes());
    h[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    h
}

/// Deterministic pseudo-random indices below `n` (xorshift).
fn indices(n: u64, count: usize) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        })
        .collect()
}

/// Median time of one call of `f`, over `rounds` batches of `batch` calls.
fn median_ns(rounds: usize, batch: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn bench_merkle(c: &mut Criterion) {
    let alg = HashAlg::Sm3;
    let log2 = log2_size();
    let n = 1u64 << log2;
    let t = Instant::now();
    let mut tree = MemoryTree::new(alg);
    for i in 0..n {
        tree.push(synthetic_leaf(i));
    }
    let root = tree.root();
    eprintln!(
        "built a tree of 2^{log2} leaves in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // A historical size that is not a power of two: proofs need incomplete
    // right-edge subtrees, computed from the stored complete ones.
    let partial = n - 12_345;
    let partial_root = tree.root_at(partial).expect("size within the tree");

    let idx = indices(partial, 1024);
    let mut g = c.benchmark_group("merkle");
    g.measurement_time(Duration::from_secs(3));
    let mut k = 0usize;
    g.bench_function(format!("inclusion_proof/2^{log2}"), |b| {
        b.iter(|| {
            k = (k + 1) % idx.len();
            tree.inclusion_proof(black_box(idx[k]), n)
        })
    });
    g.bench_function(format!("inclusion_proof/2^{log2}-12345"), |b| {
        b.iter(|| {
            k = (k + 1) % idx.len();
            tree.inclusion_proof(black_box(idx[k]), partial)
        })
    });
    g.bench_function(format!("consistency_proof/2^{log2}-12345->2^{log2}"), |b| {
        b.iter(|| tree.consistency_proof(black_box(partial), n))
    });

    // Verification: a full-depth proof (log2 elements = log2 node hashes,
    // 2 SM3 compressions each) against the same number of compressions.
    let index = idx[0];
    let leaf = tree.leaf(index).expect("leaf");
    let proof = tree.inclusion_proof(index, n).expect("proof");
    assert_eq!(proof.len(), inclusion_proof_len(index, n).unwrap());
    verify_inclusion(alg, &leaf, index, n, &proof, &root).expect("verifies");
    let compressions = 2 * proof.len();
    // A message of 64·c − 9 bytes pads to exactly c blocks.
    let message = vec![0x61u8; 64 * compressions - 9];
    g.bench_function(format!("verify_inclusion/2^{log2}"), |b| {
        b.iter(|| verify_inclusion(alg, black_box(&leaf), index, n, &proof, &root))
    });
    g.bench_function(format!("sm3_{compressions}_compressions"), |b| {
        b.iter(|| sm3(black_box(&message)))
    });

    let cproof = tree.consistency_proof(partial, n).expect("proof");
    let c_hashes = consistency_hash_count(partial, n, cproof.len());
    let c_message = vec![0x61u8; 64 * 2 * c_hashes - 9];
    g.bench_function(
        format!("verify_consistency/2^{log2}-12345->2^{log2}"),
        |b| {
            b.iter(|| verify_consistency(alg, black_box(partial), n, &cproof, &partial_root, &root))
        },
    );
    g.finish();

    // The ratios, measured side by side with the same method.
    // One node hash against two compressions (chained, as in verification).
    let mut h = root;
    let node = median_ns(51, 20_000, || {
        h = alg.node_hash(black_box(&h), &leaf);
    });
    let two = vec![0x61u8; 64 * 2 - 9];
    let s = median_ns(51, 20_000, || {
        black_box(sm3(black_box(&two)));
    });
    eprintln!(
        "node_hash: {node:.0} ns; 2 SM3 compressions (sm3 of 119 bytes): {s:.0} ns; ratio {:.3}",
        node / s
    );
    let v = median_ns(51, 2000, || {
        black_box(verify_inclusion(
            alg,
            black_box(&leaf),
            index,
            n,
            &proof,
            &root,
        ))
        .ok();
    });
    let s = median_ns(51, 2000, || {
        black_box(sm3(black_box(&message)));
    });
    eprintln!(
        "verify_inclusion 2^{log2}: {v:.0} ns; {compressions} SM3 compressions: {s:.0} ns; ratio {:.3}",
        v / s
    );
    let v = median_ns(51, 2000, || {
        black_box(verify_consistency(
            alg,
            partial,
            n,
            &cproof,
            &partial_root,
            &root,
        ))
        .ok();
    });
    let s = median_ns(51, 2000, || {
        black_box(sm3(black_box(&c_message)));
    });
    eprintln!(
        "verify_consistency {partial}->{n}: {v:.0} ns; {} SM3 compressions: {s:.0} ns; ratio {:.3}",
        2 * c_hashes,
        v / s
    );
    let p = median_ns(51, 200, || {
        k = (k + 1) % idx.len();
        black_box(tree.inclusion_proof(idx[k], n)).ok();
    });
    eprintln!(
        "inclusion_proof 2^{log2}: median {:.2} µs (target <= 1000 µs)",
        p / 1000.0
    );
}

/// Node hashes the RFC 9162 consistency check computes: a proof element
/// hashed into both running roots counts twice, one hashed into the second
/// only once. Replays the verifier's index walk without hashing.
fn consistency_hash_count(size1: u64, size2: u64, proof_len: usize) -> usize {
    let seeded = usize::from(size1.is_power_of_two());
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut count = 0;
    for _ in 1..proof_len + seeded {
        if f_n & 1 == 1 || f_n == s_n {
            count += 2;
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            count += 1;
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    count
}

criterion_group!(benches, bench_merkle);
criterion_main!(benches);
