//! Criterion benchmarks for SM3, HMAC-SM3, SM4 and SM4-GCM.
//! Run: `cargo bench -p sidian-core --bench symmetric`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sidian_core::gcm::{sm4_gcm_decrypt, sm4_gcm_encrypt};
use sidian_core::hmac::hmac_sm3;
use sidian_core::sm3::sm3;
use sidian_core::sm4::Sm4;

fn bench_sm3(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm3");
    for (name, len) in [("64B", 64usize), ("1KiB", 1024), ("1MiB", 1 << 20)] {
        let data = vec![0x61u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(name, |b| b.iter(|| sm3(black_box(&data))));
    }
    g.finish();
}

fn bench_hmac(c: &mut Criterion) {
    let mut g = c.benchmark_group("hmac_sm3");
    let key = [0x0bu8; 32];
    let data = vec![0x61u8; 1024];
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("1KiB", |b| {
        b.iter(|| hmac_sm3(black_box(&key), black_box(&data)))
    });
    g.finish();
}

fn bench_sm4(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm4");
    let cipher = Sm4::new(&[7u8; 16]);
    let mut block = [0x42u8; 16];
    g.throughput(Throughput::Bytes(16));
    g.bench_function("encrypt_block", |b| {
        b.iter(|| cipher.encrypt_block(black_box(&mut block)))
    });
    g.bench_function("decrypt_block", |b| {
        b.iter(|| cipher.decrypt_block(black_box(&mut block)))
    });
    g.bench_function("key_schedule", |b| {
        b.iter(|| Sm4::new(black_box(&[9u8; 16])))
    });
    g.finish();
}

fn bench_gcm(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm4_gcm");
    let key = [7u8; 16];
    let nonce = [1u8; 12];
    let aad = [2u8; 16];
    let pt = vec![0x61u8; 1024];
    let sealed = sm4_gcm_encrypt(&key, &nonce, &pt, &aad).unwrap();
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("encrypt_1KiB", |b| {
        b.iter(|| sm4_gcm_encrypt(&key, &nonce, black_box(&pt), &aad).unwrap())
    });
    g.bench_function("decrypt_1KiB", |b| {
        b.iter(|| sm4_gcm_decrypt(&key, &nonce, black_box(&sealed), &aad).unwrap())
    });
    // Key wrapping: a 32-byte private key.
    let sk = [5u8; 32];
    g.throughput(Throughput::Bytes(32));
    g.bench_function("encrypt_32B", |b| {
        b.iter(|| sm4_gcm_encrypt(&key, &nonce, black_box(&sk), &aad).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench_sm3, bench_hmac, bench_sm4, bench_gcm
}
criterion_main!(benches);
