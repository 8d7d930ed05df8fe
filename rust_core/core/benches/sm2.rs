//! SM2 / SM3 micro-benchmarks (criterion). Run with
//! `cargo bench -p sidian-core --bench sm2`. Absolute numbers move from run
//! to run on shared machines; compare ratios measured in the same run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sidian_core::sm2::field::FieldElement;
use sidian_core::sm2::point::{AffinePoint, JacobianPoint, PointTable};
use sidian_core::sm2::scalar::Scalar;
use sidian_core::sm2::{verify_batch, PrivateKey, PublicKey, Signature, Verifier, DEFAULT_UID};
use std::hint::black_box;

/// A QR-token-sized message (formats.md: 40 signed bytes).
const MSG: &[u8] = b"sidian qr token bytes 0..40, 40 bytes!!!";

fn sm2_benches(c: &mut Criterion) {
    let key = PrivateKey::from_bytes(&[0x42; 32]).unwrap();
    let public = *key.public_key();
    let sec1 = public.to_uncompressed();
    let sig = key.sign(MSG, DEFAULT_UID).unwrap();
    let der = sig.to_der();
    let e = public.message_digest(MSG, DEFAULT_UID).unwrap();
    let verifier = Verifier::new(public, DEFAULT_UID).unwrap();

    let mut g = c.benchmark_group("sm2");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify/fresh_key (parse SEC1 + DER, Z_A, verify)", |b| {
        b.iter(|| {
            let k = PublicKey::from_bytes(black_box(&sec1)).unwrap();
            let s = Signature::from_bytes(black_box(&der)).unwrap();
            k.verify(black_box(MSG), &s, DEFAULT_UID).unwrap()
        })
    });
    // Same, with the MULX/ADX field code switched off (portable backend).
    sidian_core::sm2::field_adx::set_adx_enabled(false);
    g.bench_function("verify/fresh_key, portable field code", |b| {
        b.iter(|| {
            let k = PublicKey::from_bytes(black_box(&sec1)).unwrap();
            let s = Signature::from_bytes(black_box(&der)).unwrap();
            k.verify(black_box(MSG), &s, DEFAULT_UID).unwrap()
        })
    });
    sidian_core::sm2::field_adx::set_adx_enabled(true);
    g.bench_function("verify/digest (no table)", |b| {
        b.iter(|| {
            public
                .verify_digest(black_box(&e), black_box(&sig))
                .unwrap()
        })
    });
    g.bench_function("verify/Verifier (cached Z_A + table)", |b| {
        b.iter(|| verifier.verify(black_box(MSG), black_box(&sig)).unwrap())
    });
    g.bench_function("Verifier::new", |b| {
        b.iter(|| Verifier::new(black_box(public), DEFAULT_UID).unwrap())
    });
    g.bench_function("sign (hedged RFC 6979, constant-time)", |b| {
        b.iter(|| key.sign(black_box(MSG), DEFAULT_UID).unwrap())
    });
    g.bench_function("sign_digest_with_nonce (no nonce derivation)", |b| {
        let k = [0x17u8; 32];
        b.iter(|| key.sign_digest_with_nonce(black_box(&e), &k).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("sm2-internals");
    let x = FieldElement::from_u64(0x1234_5678_9abc_def1)
        .invert()
        .unwrap();
    let y = x.square().add(&FieldElement::ONE);
    g.bench_function("field/mul", |b| b.iter(|| black_box(x).mul(&black_box(y))));
    g.bench_function("field/square", |b| b.iter(|| black_box(x).square()));
    g.bench_function("field/mul_portable", |b| {
        b.iter(|| black_box(x).mul_portable(&black_box(y)))
    });
    g.bench_function("field/add", |b| b.iter(|| black_box(x).add(&black_box(y))));
    g.bench_function("field/sub", |b| b.iter(|| black_box(x).sub(&black_box(y))));
    g.bench_function("field/invert", |b| {
        b.iter(|| black_box(x).invert().unwrap())
    });
    let s1 = Scalar::from_bytes_reduced(&[0x5a; 32]);
    let s2 = Scalar::from_bytes_reduced(&[0xa5; 32]);
    g.bench_function("scalar/mul", |b| {
        b.iter(|| black_box(s1).mul(&black_box(s2)))
    });
    g.bench_function("scalar/invert", |b| {
        b.iter(|| black_box(s1).invert().unwrap())
    });
    let p = JacobianPoint::mul_base(&s1);
    let pa = Option::<AffinePoint>::from(p.to_affine()).unwrap();
    g.bench_function("point/double", |b| b.iter(|| black_box(p).double()));
    g.bench_function("point/add_mixed_vartime", |b| {
        b.iter(|| black_box(p).add_mixed_vartime(black_box(&AffinePoint::GENERATOR)))
    });
    g.bench_function("point/add_vartime (Jacobian)", |b| {
        let q = p.double();
        b.iter(|| black_box(p).add_vartime(black_box(&q)))
    });
    g.bench_function("point/mul_base (CT)", |b| {
        b.iter(|| JacobianPoint::mul_base(black_box(&s2)))
    });
    g.bench_function("point/double_mul_base_vartime", |b| {
        b.iter(|| JacobianPoint::double_mul_base_vartime(black_box(&s1), black_box(&s2), &pa))
    });
    // The issue asks for both: interleaved (Straus, above) vs two separate
    // products added at the end (fixed-base comb for G + wNAF for Q).
    g.bench_function("point/separate products (mul_base + mul_vartime)", |b| {
        let qa = JacobianPoint::from_affine(&pa);
        b.iter(|| {
            JacobianPoint::mul_base(black_box(&s1)).add_vartime(&qa.mul_vartime(black_box(&s2)))
        })
    });
    let table = PointTable::new(&pa);
    g.bench_function("point/PointTable::double_mul_base_vartime", |b| {
        b.iter(|| table.double_mul_base_vartime(black_box(&s1), black_box(&s2)))
    });
    g.finish();

    // Same-run reference point: the RustCrypto `sm2` crate (pure Rust,
    // generic primeorder arithmetic) on the same key and message.
    let mut g = c.benchmark_group("baseline-rustcrypto-sm2");
    g.throughput(Throughput::Elements(1));
    {
        use sm2::dsa::signature::{Signer as _, Verifier as _};
        let rc_sk = sm2::dsa::SigningKey::from_slice("1234567812345678", &[0x42; 32]).unwrap();
        let rc_vk = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &sec1).unwrap();
        let rc_sig = sm2::dsa::Signature::from_slice(&sig.to_raw()).unwrap();
        g.bench_function("verify (cached Z)", |b| {
            b.iter(|| rc_vk.verify(black_box(MSG), black_box(&rc_sig)).unwrap())
        });
        g.bench_function("sign (deterministic)", |b| {
            b.iter(|| {
                let s: sm2::dsa::Signature = rc_sk.sign(black_box(MSG));
                s
            })
        });
    }
    g.finish();

    // Batch of 10,000 distinct keys: verify_batch (pool, all cores) vs the
    // same items verified one after another on this thread.
    let mut g = c.benchmark_group("sm2-batch");
    g.sample_size(10);
    let owned: Vec<(Vec<u8>, Vec<u8>)> = (0..10_000u32)
        .map(|i| {
            let mut d = [0x42u8; 32];
            d[..4].copy_from_slice(&i.to_be_bytes());
            let k = PrivateKey::from_bytes(&d).unwrap();
            let sig = k.sign(MSG, DEFAULT_UID).unwrap().to_der();
            (k.public_key().to_uncompressed().to_vec(), sig)
        })
        .collect();
    let items: Vec<(&[u8], &[u8], &[u8])> = owned
        .iter()
        .map(|(k, s)| (k.as_slice(), MSG, s.as_slice()))
        .collect();
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("verify_batch 10k (pool)", |b| {
        b.iter(|| {
            let r = verify_batch(black_box(&items), DEFAULT_UID);
            assert!(r.iter().all(|&ok| ok));
        })
    });
    g.bench_function("10k one by one (1 thread)", |b| {
        b.iter(|| {
            for (k, m, s) in &items {
                let k = PublicKey::from_bytes(k).unwrap();
                let s = Signature::from_bytes(s).unwrap();
                k.verify(m, &s, DEFAULT_UID).unwrap();
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("sm3");
    let data = vec![0xabu8; 1024];
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("1KiB", |b| {
        b.iter(|| sidian_core::sm3::sm3(black_box(&data)))
    });
    g.finish();
}

criterion_group!(benches, sm2_benches);
criterion_main!(benches);
