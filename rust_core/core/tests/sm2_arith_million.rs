//! Correctness gate for the (optimised) SM2 arithmetic: every field and
//! scalar operation against a simple num-bigint reference on
//! SIDIAN_ARITH_CASES random inputs per operation (default 1,000,000) plus
//! all pairs of edge values; point operations against an affine big-integer
//! reference on random points (SIDIAN_POINT_CASES, default 256) and on the
//! addition special cases.
//!
//! Inputs come from a seeded splitmix64 generator biased towards edge-ish
//! limbs (0, all-ones, limbs of p and n, ±1 of those). The seed is
//! SIDIAN_ARITH_SEED (default fixed) and every failure message prints the
//! seed, the case number and the inputs in hex. Work is split into chunks
//! with their own derived seed, so results do not depend on the number of
//! threads. `make arith-long` runs this file with 20,000,000 cases per
//! operation in the release profile.
//!
//! Inversion and square roots cost a few microseconds each, so a bigint
//! modpow per case would dominate: every case checks the algebraic
//! identities (`a·a⁻¹ = 1`, `r² = a`, `√(b²) = ±b`, `−b²` has no root since
//! p ≡ 3 mod 4)
//! with the multiplication that the same file verifies, and every 256th
//! case is also compared with a bigint modpow.

use num_bigint::BigUint;
use rayon::prelude::*;
use sidian_core::sm2::field::FieldElement;
use sidian_core::sm2::point::{batch_to_affine, AffinePoint, JacobianPoint, PointTable};
use sidian_core::sm2::scalar::Scalar;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// Configuration, PRNG and input generators.
// ---------------------------------------------------------------------------

const DEFAULT_SEED: u64 = 0x5349_4449_414e_2d32; // "SIDIAN-2"
const CHUNK: usize = 4096;
/// Every BIGINT_SAMPLE-th case of inversion/sqrt is also checked by modpow.
const BIGINT_SAMPLE: usize = 256;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}")),
        Err(_) => default,
    }
}

fn cases() -> usize {
    env_usize("SIDIAN_ARITH_CASES", 1_000_000)
}

fn point_cases() -> usize {
    env_usize("SIDIAN_POINT_CASES", 256)
}

fn seed() -> u64 {
    match std::env::var("SIDIAN_ARITH_SEED") {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("SIDIAN_ARITH_SEED must be a u64, got {v:?}"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

/// splitmix64 (Steele, Lea, Flood 2014).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, chunk: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.0 ^= chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
}

/// Moduli as little-endian limbs (written out here, independent of the
/// crate's constants).
const P_LIMBS: [u64; 4] = [
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_0000_0000,
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFE_FFFF_FFFF,
];
const N_LIMBS: [u64; 4] = [
    0x53BB_F409_39D5_4123,
    0x7203_DF6B_21C6_052B,
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFE_FFFF_FFFF,
];

/// A 256-bit value whose limbs are often special: 0, 1, all-ones, the
/// limb of p or n at that position, ±1 of those, half-limb patterns; or a
/// small value, or m − small for the modulus of interest.
fn biased_u256(rng: &mut Rng, m: &[u64; 4]) -> [u64; 4] {
    match rng.below(16) {
        // Fully random.
        0..=5 => [rng.next(), rng.next(), rng.next(), rng.next()],
        // Small.
        6 => [rng.below(1 << 20), 0, 0, 0],
        // m − small (borrow into the upper limbs only for the low limb).
        7 => {
            let k = rng.below(1 << 20) + 1;
            let (l0, b) = m[0].overflowing_sub(k);
            let mut v = *m;
            v[0] = l0;
            if b {
                // m[0] < k: propagate (never happens for p/n, kept honest).
                v[1] = v[1].wrapping_sub(1);
            }
            v
        }
        // m + small (≥ m, exercises rejection/reduction of unreduced input).
        8 => {
            let mut v = *m;
            v[0] = v[0].wrapping_add(rng.below(1 << 20));
            if v[0] < m[0] {
                v[1] = v[1].wrapping_add(1);
            }
            v
        }
        // Per-limb mixture of special patterns.
        _ => {
            let mut v = [0u64; 4];
            for (i, limb) in v.iter_mut().enumerate() {
                *limb = match rng.below(12) {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    3 => u64::MAX - 1,
                    4 => P_LIMBS[i],
                    5 => N_LIMBS[i],
                    6 => m[i].wrapping_add(1),
                    7 => m[i].wrapping_sub(1),
                    8 => 0xFFFF_FFFF,
                    9 => 0xFFFF_FFFF_0000_0000,
                    10 => 1 << 63,
                    _ => rng.next(),
                };
            }
            v
        }
    }
}

fn lt(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

fn sub_limbs(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(borrow as u64);
        out[i] = d;
        borrow = b1 || b2;
    }
    out
}

/// A value `< m` from the biased generator (values ≥ m are reduced by
/// subtracting m, which maps e.g. m + k to k).
fn biased_below(rng: &mut Rng, m: &[u64; 4]) -> [u64; 4] {
    let mut v = biased_u256(rng, m);
    while !lt(&v, m) {
        v = sub_limbs(&v, m);
    }
    v
}

fn be(limbs: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..4 {
        out[i * 8..i * 8 + 8].copy_from_slice(&limbs[3 - i].to_be_bytes());
    }
    out
}

fn big(bytes: &[u8; 32]) -> BigUint {
    BigUint::from_bytes_be(bytes)
}

fn to32(x: &BigUint) -> [u8; 32] {
    let v = x.to_bytes_be();
    assert!(v.len() <= 32, "reference value wider than 256 bits");
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

fn hex(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn p_big() -> &'static BigUint {
    static P: OnceLock<BigUint> = OnceLock::new();
    P.get_or_init(|| big(&be(&P_LIMBS)))
}

fn n_big() -> &'static BigUint {
    static N: OnceLock<BigUint> = OnceLock::new();
    N.get_or_init(|| big(&be(&N_LIMBS)))
}

/// Edge values below m: small values, m − small, halves, powers of two and
/// their neighbours, R mod m and m − R mod m, single special limbs.
fn edges(m: &[u64; 4]) -> Vec<[u8; 32]> {
    let mb = big(&be(m));
    let one = BigUint::from(1u32);
    let mut v: Vec<BigUint> = vec![
        BigUint::from(0u32),
        one.clone(),
        BigUint::from(2u32),
        BigUint::from(3u32),
        &mb - 1u32,
        &mb - 2u32,
        &mb - 3u32,
        &mb >> 1,
        (&mb >> 1) + 1u32,
        (&mb >> 1) - 1u32,
    ];
    for k in [
        1u32, 31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 159, 160, 191, 192, 223, 224, 255,
    ] {
        let x = &one << k;
        for y in [&x - 1u32, x.clone(), &x + 1u32] {
            if y < mb {
                v.push(y.clone());
                v.push(&mb - &y);
            }
        }
    }
    let r = (&one << 256u32) % &mb;
    v.push(r.clone());
    v.push(&mb - &r);
    v.push((&r * &r) % &mb);
    for i in 0..4 {
        for pat in [u64::MAX, P_LIMBS[i], N_LIMBS[i], 0xFFFF_FFFF_0000_0000] {
            let mut l = [0u64; 4];
            l[i] = pat;
            let x = big(&be(&l)) % &mb;
            v.push(x);
        }
    }
    v.sort();
    v.dedup();
    v.iter().map(to32).collect()
}

/// Runs `check(rng, case)` for `count` cases in parallel chunks; each chunk
/// has its own deterministic generator. Panics with the seed and the first
/// failure (in case order) if any check returned an error.
fn run_cases<F>(name: &str, stream: u64, count: usize, check: F)
where
    F: Fn(&mut Rng, usize) -> Result<(), String> + Sync,
{
    let seed = seed();
    let chunks = count.div_ceil(CHUNK);
    let first_failure = (0..chunks)
        .into_par_iter()
        .filter_map(|c| {
            let mut rng = Rng::new(seed, stream, c as u64);
            let end = ((c + 1) * CHUNK).min(count);
            for case in c * CHUNK..end {
                if let Err(msg) = check(&mut rng, case) {
                    return Some((case, msg));
                }
            }
            None
        })
        .min_by_key(|(case, _)| *case);
    if let Some((case, msg)) = first_failure {
        panic!(
            "{name}: case {case} of {count} failed (SIDIAN_ARITH_SEED={seed:#x}, \
             SIDIAN_ARITH_CASES={count}): {msg}"
        );
    }
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

// ---------------------------------------------------------------------------
// Field.
// ---------------------------------------------------------------------------

fn fe(bytes: &[u8; 32]) -> FieldElement {
    FieldElement::from_bytes(bytes).expect("input below p")
}

/// All binary and cheap unary field operations on (a, b) against bigints.
fn check_field_ops(a: &[u8; 32], b: &[u8; 32]) -> Result<(), String> {
    let p = p_big();
    let (ba, bb) = (big(a), big(b));
    let (fa, fb) = (fe(a), fe(b));
    let ctx = || format!("a = {}, b = {}", hex(a), hex(b));
    ensure!(fa.to_bytes() == *a, "round trip of a: {}", ctx());
    ensure!(
        fa.mul(&fb).to_bytes() == to32(&((&ba * &bb) % p)),
        "mul: {}",
        ctx()
    );
    ensure!(
        fa.square().to_bytes() == to32(&((&ba * &ba) % p)),
        "square: {}",
        ctx()
    );
    ensure!(
        fa.add(&fb).to_bytes() == to32(&((&ba + &bb) % p)),
        "add: {}",
        ctx()
    );
    ensure!(
        fa.sub(&fb).to_bytes() == to32(&((&ba + p - &bb) % p)),
        "sub: {}",
        ctx()
    );
    ensure!(
        fa.neg().to_bytes() == to32(&((p - &ba) % p)),
        "neg: {}",
        ctx()
    );
    ensure!(
        fa.double().to_bytes() == to32(&((&ba << 1u32) % p)),
        "double: {}",
        ctx()
    );
    ensure!(
        bool::from(fa.is_zero()) == (ba == BigUint::from(0u32)),
        "is_zero: {}",
        ctx()
    );
    ensure!(bool::from(fa.is_odd()) == ba.bit(0), "is_odd: {}", ctx());
    Ok(())
}

/// from_bytes on an arbitrary 256-bit value: accepted iff < p, and then the
/// encoding round-trips; from_slice agrees.
fn check_field_decode(raw: &[u8; 32]) -> Result<(), String> {
    let below = big(raw) < *p_big();
    let got = Option::<FieldElement>::from(FieldElement::from_bytes(raw));
    ensure!(
        got.is_some() == below,
        "from_bytes({}) accepted = {}, want {below}",
        hex(raw),
        got.is_some()
    );
    if let Some(x) = got {
        ensure!(x.to_bytes() == *raw, "round trip of {}", hex(raw));
    }
    ensure!(
        FieldElement::from_slice(raw).is_some() == below,
        "from_slice({}) disagrees with from_bytes",
        hex(raw)
    );
    Ok(())
}

fn check_field_invert(a: &[u8; 32], with_bigint: bool) -> Result<(), String> {
    let fa = fe(a);
    let inv = Option::<FieldElement>::from(fa.invert());
    if *a == [0u8; 32] {
        ensure!(inv.is_none(), "invert(0) must be None");
        return Ok(());
    }
    let Some(inv) = inv else {
        return Err(format!("invert({}) returned None", hex(a)));
    };
    ensure!(
        fa.mul(&inv) == FieldElement::ONE,
        "a·a⁻¹ ≠ 1 for a = {}",
        hex(a)
    );
    if with_bigint {
        let p = p_big();
        let want = big(a).modpow(&(p - 2u32), p);
        ensure!(
            inv.to_bytes() == to32(&want),
            "invert({}) differs from modpow",
            hex(a)
        );
    }
    Ok(())
}

/// One square root per case, by `kind`: 0 a random `a` (if a root exists it
/// squares back to `a`; with `with_bigint`, existence matches Euler's
/// criterion), 1 and 2 `b²` (must exist and be ±b), 3 `−b²` (must not exist
/// unless b = 0: −1 is a non-square since p ≡ 3 mod 4).
fn check_field_sqrt(kind: usize, a: &[u8; 32], with_bigint: bool) -> Result<(), String> {
    let fa = fe(a);
    match kind {
        0 => {
            let root = Option::<FieldElement>::from(fa.sqrt());
            if let Some(r) = root {
                ensure!(r.square() == fa, "sqrt({})² ≠ a", hex(a));
            }
            if with_bigint {
                let p = p_big();
                let ba = big(a);
                let is_square = ba == BigUint::from(0u32)
                    || ba.modpow(&((p - 1u32) >> 1), p) == BigUint::from(1u32);
                ensure!(
                    root.is_some() == is_square,
                    "sqrt({}) existence {} but Euler's criterion says {is_square}",
                    hex(a),
                    root.is_some()
                );
            }
        }
        1 | 2 => {
            let Some(r) = Option::<FieldElement>::from(fa.square().sqrt()) else {
                return Err(format!("sqrt(b²) is None for b = {}", hex(a)));
            };
            ensure!(r == fa || r == fa.neg(), "sqrt(b²) ≠ ±b for b = {}", hex(a));
        }
        _ => {
            let neg_root = Option::<FieldElement>::from(fa.square().neg().sqrt());
            ensure!(
                neg_root.is_some() == bool::from(fa.is_zero()),
                "sqrt(−b²) exists = {} for b = {}",
                neg_root.is_some(),
                hex(a)
            );
        }
    }
    Ok(())
}

#[test]
fn field_edge_pairs() {
    let e = edges(&P_LIMBS);
    for a in &e {
        check_field_invert(a, true).unwrap();
        for kind in 0..4 {
            check_field_sqrt(kind, a, true).unwrap();
        }
        for b in &e {
            check_field_ops(a, b).unwrap();
        }
    }
    // Values ≥ p before reduction are rejected by from_bytes.
    let p = p_big();
    let top = (BigUint::from(1u32) << 256u32) - 1u32;
    for x in [
        p.clone(),
        p + 1u32,
        p + 2u32,
        p + (BigUint::from(1u32) << 64u32),
        p + (BigUint::from(1u32) << 224u32) - 1u32,
        top.clone(),
        &top - 1u32,
    ] {
        check_field_decode(&to32(&x)).unwrap();
    }
}

#[test]
fn field_mul_square_add_sub_neg_double_random() {
    run_cases("field ops", 1, cases(), |rng, _| {
        let a = be(&biased_below(rng, &P_LIMBS));
        let b = be(&biased_below(rng, &P_LIMBS));
        check_field_ops(&a, &b)
    });
}

#[test]
fn field_bytes_round_trip_random() {
    run_cases("field from_bytes/to_bytes", 2, cases(), |rng, _| {
        check_field_decode(&be(&biased_u256(rng, &P_LIMBS)))
    });
}

#[test]
fn field_invert_random() {
    run_cases("field invert", 3, cases(), |rng, case| {
        let a = be(&biased_below(rng, &P_LIMBS));
        check_field_invert(&a, case % BIGINT_SAMPLE == 0)
    });
}

#[test]
fn field_sqrt_random() {
    run_cases("field sqrt", 4, cases(), |rng, case| {
        let a = be(&biased_below(rng, &P_LIMBS));
        check_field_sqrt(case % 4, &a, case % BIGINT_SAMPLE == 0)
    });
}

// ---------------------------------------------------------------------------
// Scalars.
// ---------------------------------------------------------------------------

fn sc(bytes: &[u8; 32]) -> Scalar {
    Scalar::from_bytes(bytes).expect("input below n")
}

fn check_scalar_ops(a: &[u8; 32], b: &[u8; 32]) -> Result<(), String> {
    let n = n_big();
    let (ba, bb) = (big(a), big(b));
    let (sa, sb) = (sc(a), sc(b));
    let ctx = || format!("a = {}, b = {}", hex(a), hex(b));
    ensure!(sa.to_bytes() == *a, "round trip of a: {}", ctx());
    ensure!(
        sa.mul(&sb).to_bytes() == to32(&((&ba * &bb) % n)),
        "mul: {}",
        ctx()
    );
    ensure!(
        sa.square().to_bytes() == to32(&((&ba * &ba) % n)),
        "square: {}",
        ctx()
    );
    ensure!(
        sa.add(&sb).to_bytes() == to32(&((&ba + &bb) % n)),
        "add: {}",
        ctx()
    );
    ensure!(
        sa.sub(&sb).to_bytes() == to32(&((&ba + n - &bb) % n)),
        "sub: {}",
        ctx()
    );
    ensure!(
        sa.neg().to_bytes() == to32(&((n - &ba) % n)),
        "neg: {}",
        ctx()
    );
    ensure!(
        bool::from(sa.is_zero()) == (ba == BigUint::from(0u32)),
        "is_zero: {}",
        ctx()
    );
    Ok(())
}

/// from_bytes_reduced of any 256-bit value is the value mod n; from_bytes
/// accepts exactly the values below n.
fn check_scalar_decode(raw: &[u8; 32]) -> Result<(), String> {
    let n = n_big();
    let x = big(raw);
    ensure!(
        Scalar::from_bytes_reduced(raw).to_bytes() == to32(&(&x % n)),
        "from_bytes_reduced({})",
        hex(raw)
    );
    let got = Option::<Scalar>::from(Scalar::from_bytes(raw));
    ensure!(
        got.is_some() == (x < *n),
        "from_bytes({}) accepted = {}",
        hex(raw),
        got.is_some()
    );
    if let Some(s) = got {
        ensure!(s.to_bytes() == *raw, "round trip of {}", hex(raw));
    }
    Ok(())
}

fn check_scalar_invert(a: &[u8; 32], with_bigint: bool) -> Result<(), String> {
    let sa = sc(a);
    let inv = Option::<Scalar>::from(sa.invert());
    if *a == [0u8; 32] {
        ensure!(inv.is_none(), "invert(0) must be None");
        return Ok(());
    }
    let Some(inv) = inv else {
        return Err(format!("invert({}) returned None", hex(a)));
    };
    ensure!(sa.mul(&inv) == Scalar::ONE, "a·a⁻¹ ≠ 1 for a = {}", hex(a));
    if with_bigint {
        let n = n_big();
        let want = big(a).modpow(&(n - 2u32), n);
        ensure!(
            inv.to_bytes() == to32(&want),
            "invert({}) differs from modpow",
            hex(a)
        );
    }
    Ok(())
}

#[test]
fn scalar_edge_pairs() {
    let e = edges(&N_LIMBS);
    for a in &e {
        check_scalar_invert(a, true).unwrap();
        check_scalar_decode(a).unwrap();
        for b in &e {
            check_scalar_ops(a, b).unwrap();
        }
    }
    // 256-bit values at and above n, and p (≥ n).
    let n = n_big();
    let top = (BigUint::from(1u32) << 256u32) - 1u32;
    for x in [
        n.clone(),
        n + 1u32,
        n + (BigUint::from(1u32) << 128u32),
        top.clone(),
        &top - n,
        &top - n + 1u32,
        p_big().clone(),
        p_big() - 1u32,
    ] {
        check_scalar_decode(&to32(&x)).unwrap();
    }
}

#[test]
fn scalar_mul_square_add_sub_neg_random() {
    run_cases("scalar ops", 5, cases(), |rng, _| {
        let a = be(&biased_below(rng, &N_LIMBS));
        let b = be(&biased_below(rng, &N_LIMBS));
        check_scalar_ops(&a, &b)
    });
}

#[test]
fn scalar_from_bytes_reduced_random() {
    run_cases("scalar from_bytes_reduced", 6, cases(), |rng, _| {
        check_scalar_decode(&be(&biased_u256(rng, &N_LIMBS)))
    });
}

#[test]
fn scalar_invert_random() {
    run_cases("scalar invert", 7, cases(), |rng, case| {
        let a = be(&biased_below(rng, &N_LIMBS));
        check_scalar_invert(&a, case % BIGINT_SAMPLE == 0)
    });
}

// ---------------------------------------------------------------------------
// Points: an affine reference on bigints.
// ---------------------------------------------------------------------------

type RefPoint = Option<(BigUint, BigUint)>;

fn hexbig(s: &str) -> BigUint {
    BigUint::parse_bytes(s.as_bytes(), 16).unwrap()
}

fn ref_b() -> BigUint {
    hexbig("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
}

fn ref_g() -> RefPoint {
    Some((
        hexbig("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
        hexbig("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"),
    ))
}

fn ref_inv(x: &BigUint) -> BigUint {
    let p = p_big();
    x.modinv(p).expect("non-zero mod p")
}

/// Textbook affine addition (handles ∞, P + P and P + (−P)).
fn ref_add(a: &RefPoint, b: &RefPoint) -> RefPoint {
    let p = p_big();
    let (a, b) = match (a, b) {
        (None, _) => return b.clone(),
        (_, None) => return a.clone(),
        (Some(a), Some(b)) => (a, b),
    };
    let lambda = if a.0 == b.0 {
        if (&a.1 + &b.1) % p == BigUint::from(0u32) {
            return None;
        }
        let num = (BigUint::from(3u32) * &a.0 * &a.0 + p * 3u32 - 3u32) % p;
        num * ref_inv(&((&a.1 << 1u32) % p)) % p
    } else {
        let num = (&b.1 + p - &a.1) % p;
        num * ref_inv(&((&b.0 + p - &a.0) % p)) % p
    };
    let x3 = (&lambda * &lambda + p * 2u32 - &a.0 - &b.0) % p;
    let y3 = (&lambda * ((&a.0 + p - &x3) % p) + p - &a.1) % p;
    Some((x3, y3))
}

fn ref_neg(a: &RefPoint) -> RefPoint {
    a.as_ref()
        .map(|(x, y)| (x.clone(), (p_big() - y) % p_big()))
}

/// 2^i·G for i = 0..256, by the reference.
fn ref_g_powers() -> &'static Vec<RefPoint> {
    static T: OnceLock<Vec<RefPoint>> = OnceLock::new();
    T.get_or_init(|| {
        let mut v = Vec::with_capacity(256);
        let mut g = ref_g();
        for _ in 0..256 {
            v.push(g.clone());
            g = ref_add(&g, &g);
        }
        v
    })
}

/// k·G as Σ bits·2^i·G (k < 2^256).
fn ref_mul_g(k: &BigUint) -> RefPoint {
    let table = ref_g_powers();
    let mut acc = None;
    for (i, t) in table.iter().enumerate() {
        if k.bit(i as u64) {
            acc = ref_add(&acc, t);
        }
    }
    acc
}

/// Generic double-and-add (for a non-G base).
fn ref_mul(k: &BigUint, pt: &RefPoint) -> RefPoint {
    let mut acc: RefPoint = None;
    for i in (0..k.bits()).rev() {
        acc = ref_add(&acc, &acc);
        if k.bit(i) {
            acc = ref_add(&acc, pt);
        }
    }
    acc
}

fn on_curve(pt: &RefPoint) -> bool {
    let p = p_big();
    match pt {
        None => true,
        Some((x, y)) => (y * y) % p == (x * x * x + p * 3u32 - (x * 3u32) % p + ref_b()) % p,
    }
}

fn to_ref(pt: &JacobianPoint) -> RefPoint {
    Option::<AffinePoint>::from(pt.to_affine())
        .map(|a| (big(&a.x().to_bytes()), big(&a.y().to_bytes())))
}

fn aff_ref(a: &AffinePoint) -> RefPoint {
    Some((big(&a.x().to_bytes()), big(&a.y().to_bytes())))
}

fn from_ref(pt: &RefPoint) -> AffinePoint {
    let (x, y) = pt.as_ref().expect("finite point");
    AffinePoint::from_coordinates(fe(&to32(x)), fe(&to32(y))).expect("reference point on curve")
}

fn show(pt: &RefPoint) -> String {
    match pt {
        None => "∞".to_string(),
        Some((x, y)) => format!("({x:x}, {y:x})"),
    }
}

macro_rules! ensure_pt {
    ($got:expr, $want:expr, $($fmt:tt)+) => {{
        let got: RefPoint = $got;
        let want: &RefPoint = &$want;
        if got != *want {
            return Err(format!(
                "{}: got {}, want {}",
                format!($($fmt)+),
                show(&got),
                show(want)
            ));
        }
    }};
}

/// One random case: k, j, u1, u2 from the biased generator (mod n).
fn check_point_case(rng: &mut Rng) -> Result<(), String> {
    let n = n_big();
    let k_b = be(&biased_below(rng, &N_LIMBS));
    let j_b = be(&biased_below(rng, &N_LIMBS));
    let (k_big, j_big) = (big(&k_b), big(&j_b));
    let (k, j) = (sc(&k_b), sc(&j_b));
    let ctx = format!("k = {}, j = {}", hex(&k_b), hex(&j_b));
    let kg = ref_mul_g(&k_big);
    let jg = ref_mul_g(&j_big);

    // Scalar multiplication: constant-time comb, wNAF, reference.
    let pk = JacobianPoint::mul_base(&k);
    ensure_pt!(to_ref(&pk), kg, "mul_base, {ctx}");
    let pk_v = JacobianPoint::GENERATOR.mul_vartime(&k);
    ensure_pt!(to_ref(&pk_v), kg, "G.mul_vartime, {ctx}");
    let pj = JacobianPoint::mul_base(&j);
    ensure_pt!(to_ref(&pj), jg, "mul_base(j), {ctx}");

    // Additions with Jacobian operands (Z ≠ 1 in general).
    let sum = ref_add(&kg, &jg);
    ensure_pt!(to_ref(&pk.add_vartime(&pj)), sum, "P + Q, {ctx}");
    ensure_pt!(to_ref(&pj.add_vartime(&pk_v)), sum, "Q + P, {ctx}");
    ensure_pt!(
        to_ref(&pk.add_vartime(&pk_v)),
        ref_add(&kg, &kg),
        "P + P, {ctx}"
    );
    ensure_pt!(to_ref(&pk.double()), ref_add(&kg, &kg), "2P, {ctx}");
    ensure_pt!(
        to_ref(&pk.add_vartime(&pk_v.neg())),
        None,
        "P + (−P), {ctx}"
    );
    ensure_pt!(to_ref(&pk.neg()), ref_neg(&kg), "−P, {ctx}");
    let inf = JacobianPoint::IDENTITY;
    ensure_pt!(to_ref(&pk.add_vartime(&inf)), kg, "P + ∞, {ctx}");
    ensure_pt!(to_ref(&inf.add_vartime(&pk)), kg, "∞ + P, {ctx}");
    let dn = (rng.below(9)) as u32;
    let mut want_dn = kg.clone();
    for _ in 0..dn {
        want_dn = ref_add(&want_dn, &want_dn);
    }
    ensure_pt!(to_ref(&pk.double_n(dn)), want_dn, "double_n({dn}), {ctx}");

    if let (Some(ka), Some(ja)) = (
        Option::<AffinePoint>::from(pk.to_affine()),
        Option::<AffinePoint>::from(pj.to_affine()),
    ) {
        // Mixed additions, including the special cases.
        ensure_pt!(
            to_ref(&pk.add_mixed_vartime(&ja)),
            sum,
            "P + Q mixed, {ctx}"
        );
        ensure_pt!(
            to_ref(&pk.add_mixed_vartime(&ka)),
            ref_add(&kg, &kg),
            "P + P mixed, {ctx}"
        );
        ensure_pt!(
            to_ref(&pk.add_mixed_vartime(&ka.neg())),
            None,
            "P + (−P) mixed, {ctx}"
        );
        ensure_pt!(
            to_ref(&inf.add_mixed_vartime(&ka)),
            kg,
            "∞ + P mixed, {ctx}"
        );
        ensure_pt!(aff_ref(&ka), kg, "to_affine, {ctx}");

        // Double-scalar multiplication u1·G + u2·Q with Q = j·G.
        let u1_b = be(&biased_below(rng, &N_LIMBS));
        let u2_b = be(&biased_below(rng, &N_LIMBS));
        let (u1, u2) = (sc(&u1_b), sc(&u2_b));
        let want = ref_mul_g(&((big(&u1_b) + big(&u2_b) * &j_big) % n));
        let dctx = format!("u1 = {}, u2 = {}, {ctx}", hex(&u1_b), hex(&u2_b));
        ensure_pt!(
            to_ref(&JacobianPoint::double_mul_base_vartime(&u1, &u2, &ja)),
            want,
            "double_mul_base_vartime, {dctx}"
        );
        let table = PointTable::new(&ja);
        ensure!(*table.point() == ja, "PointTable::point, {ctx}");
        ensure_pt!(
            to_ref(&table.double_mul_base_vartime(&u1, &u2)),
            want,
            "PointTable::double_mul_base_vartime, {dctx}"
        );
        // A cancelling pair: u1 = −u2·j → ∞.
        let u1c = u2.mul(&j).neg();
        ensure_pt!(
            to_ref(&table.double_mul_base_vartime(&u1c, &u2)),
            None,
            "PointTable cancellation, {dctx}"
        );
        ensure_pt!(
            to_ref(&JacobianPoint::double_mul_base_vartime(&u1c, &u2, &ja)),
            None,
            "double_mul_base_vartime cancellation, {dctx}"
        );
        // k·Q with the generic wNAF path.
        let kq = JacobianPoint::from_affine(&ja).mul_vartime(&k);
        ensure_pt!(
            to_ref(&kq),
            ref_mul_g(&((&k_big * &j_big) % n)),
            "Q.mul_vartime(k), {ctx}"
        );
        // Batch conversion of a mixed batch (finite points only).
        let batch = [pk, pj, pk.double(), pk.add_vartime(&pj), kq, pk_v];
        let finite: Vec<JacobianPoint> = batch
            .iter()
            .copied()
            .filter(|p| !bool::from(p.is_identity()))
            .collect();
        for (p, a) in finite.iter().zip(batch_to_affine(&finite)) {
            ensure_pt!(aff_ref(&a), to_ref(p), "batch_to_affine, {ctx}");
        }
    }
    Ok(())
}

#[test]
fn points_random_against_reference() {
    run_cases("points", 8, point_cases(), |rng, _| check_point_case(rng));
}

#[test]
fn points_special_cases() {
    let n = n_big();
    let g = JacobianPoint::GENERATOR;
    let ga = AffinePoint::GENERATOR;
    let inf = JacobianPoint::IDENTITY;
    assert_eq!(aff_ref(&ga), ref_g());
    assert!(on_curve(&ref_g()));
    // Cofactor 1 and order n: n·G = ∞ (so no point has y = 0, and doubling
    // never meets one).
    assert_eq!(ref_mul(n, &ref_g()), None);
    assert!(bool::from(
        g.mul_vartime(&sc(&to32(&(n - 1u32))))
            .add_vartime(&g)
            .is_identity()
    ));

    // ∞ in every operation.
    assert!(bool::from(inf.add_vartime(&inf).is_identity()));
    assert!(bool::from(inf.double().is_identity()));
    assert!(bool::from(inf.double_n(5).is_identity()));
    assert!(bool::from(inf.neg().is_identity()));
    assert!(Option::<AffinePoint>::from(inf.to_affine()).is_none());
    assert!(bool::from(
        inf.mul_vartime(&Scalar::from_u64(12345)).is_identity()
    ));
    assert!(bool::from(
        JacobianPoint::mul_base(&Scalar::ZERO).is_identity()
    ));
    assert!(bool::from(g.mul_vartime(&Scalar::ZERO).is_identity()));
    assert!(bool::from(
        JacobianPoint::double_mul_base_vartime(&Scalar::ZERO, &Scalar::ZERO, &ga).is_identity()
    ));
    assert!(bool::from(
        PointTable::new(&ga)
            .double_mul_base_vartime(&Scalar::ZERO, &Scalar::ZERO)
            .is_identity()
    ));
    assert_eq!(inf, JacobianPoint::IDENTITY.double());
    assert_ne!(g, inf);

    // Special scalars for every multiplication path.
    let one = BigUint::from(1u32);
    let mut ks: Vec<BigUint> = vec![
        one.clone(),
        BigUint::from(2u32),
        BigUint::from(3u32),
        BigUint::from(15u32),
        BigUint::from(16u32),
        BigUint::from(17u32),
        n - 1u32,
        n - 2u32,
        n - 16u32,
        n >> 1,
        (n >> 1) + 1u32,
    ];
    for bit in [63u32, 64, 127, 128, 251, 252, 255] {
        ks.push(&one << bit);
        ks.push((&one << bit) - 1u32);
    }
    ks.push(hexbig(
        "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF00000000000000000000000000000000",
    ));
    ks.push(hexbig("F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0") % n);
    for k in &ks {
        let want = ref_mul_g(k);
        assert_eq!(want, ref_mul(k, &ref_g()), "reference paths, k = {k:x}");
        let s = sc(&to32(k));
        assert_eq!(
            to_ref(&JacobianPoint::mul_base(&s)),
            want,
            "mul_base k = {k:x}"
        );
        assert_eq!(to_ref(&g.mul_vartime(&s)), want, "mul_vartime k = {k:x}");
        assert_eq!(
            to_ref(&JacobianPoint::double_mul_base_vartime(
                &s,
                &Scalar::ZERO,
                &ga
            )),
            want,
            "u1 only, k = {k:x}"
        );
        assert_eq!(
            to_ref(&JacobianPoint::double_mul_base_vartime(
                &Scalar::ZERO,
                &s,
                &ga
            )),
            want,
            "u2 only, k = {k:x}"
        );
        assert_eq!(
            to_ref(&PointTable::new(&ga).double_mul_base_vartime(&Scalar::ONE, &s)),
            ref_mul_g(&((k + 1u32) % n)),
            "table with Q = G, k = {k:x}"
        );
    }

    // Addition special cases on fixed points with non-trivial Z.
    let g2 = g.double();
    let g3 = g2.add_vartime(&g);
    let g3a = from_ref(&ref_mul_g(&BigUint::from(3u32)));
    assert_eq!(to_ref(&g3), aff_ref(&g3a));
    assert_eq!(g3.add_vartime(&g3), g3.double()); // P + P
    assert_eq!(g3.add_mixed_vartime(&g3a), g3.double()); // P + P, mixed
    assert!(bool::from(g3.add_vartime(&g3.neg()).is_identity())); // P + (−P)
    assert!(bool::from(g3.add_mixed_vartime(&g3a.neg()).is_identity()));
    assert_eq!(g3.add_vartime(&inf), g3); // P + ∞
    assert_eq!(inf.add_vartime(&g3), g3);
    assert_eq!(inf.add_mixed_vartime(&g3a), g3);
    // A PointTable for a point whose multiples hit the doubling case: Q = G
    // and u1 = u2 makes the first digits coincide.
    let t = PointTable::new(&ga);
    for u in [1u64, 3, 5, 63, 64, 127] {
        let s = Scalar::from_u64(u);
        assert_eq!(
            to_ref(&t.double_mul_base_vartime(&s, &s)),
            ref_mul_g(&BigUint::from(2 * u)),
            "u1 = u2 = {u}"
        );
    }

    // batch_to_affine: empty, single, and the documented panic on ∞.
    assert!(batch_to_affine(&[]).is_empty());
    assert_eq!(batch_to_affine(&[g3]), vec![g3a]);
    let with_inf = std::panic::catch_unwind(|| batch_to_affine(&[g, inf, g3]));
    assert!(
        with_inf.is_err(),
        "batch_to_affine must reject ∞ (documented)"
    );
}
