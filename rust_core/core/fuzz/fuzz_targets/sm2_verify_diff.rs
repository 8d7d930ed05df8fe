//! Differential fuzzing of SM2 verification: sidian-core against the
//! RustCrypto `sm2` crate (0.14). From the input we derive a public key, a
//! signer ID, a message and a raw signature `r ‖ s`, either directly from
//! the bytes or as a valid signature (made by either implementation) that
//! the remaining bytes then mutate. Both sides must agree on whether the
//! public key parses and whether the signature verifies; every verification
//! path of ours (message, digest, cached `Verifier`, `verify_batch`) must
//! give the same answer. A digest-level mode builds, for an input-chosen s
//! (often small, so that s + n fits in 256 bits), the public key for which
//! (r, s) is valid, and mutates from there: this reaches the range checks
//! (r, s ≥ n but ≡ a valid value) that real signatures almost never can.
//!
//! Comparison is on raw `r ‖ s` (RustCrypto rejects r or s outside
//! [1, n−1] when the signature is constructed, we at verification: both
//! count as "does not verify"). RustCrypto takes the signer ID as `&str`,
//! so the ID is made valid UTF-8 first and both sides get the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::sm2::{verify_batch, PrivateKey, PublicKey, Signature, Verifier};
use sm2::dsa::signature::hazmat::PrehashVerifier;
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::{Group, PrimeField};
use sm2::{FieldBytes, ProjectivePoint};

const N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];
const P: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];

/// Reads the input front to back; past the end it yields zeros.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn arr32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let src = self.take(32);
        out[..src.len()].copy_from_slice(src);
        out
    }
    fn rest(&mut self) -> &'a [u8] {
        self.take(self.0.len())
    }
}

/// `a + b` (big-endian); None on overflow past 256 bits.
fn add256(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    (carry == 0).then_some(out)
}

/// `a − b` (big-endian, wrapping mod 2^256).
fn sub256(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = a[i] as i16 - b[i] as i16 - borrow;
        out[i] = d as u8;
        borrow = (d < 0) as i16;
    }
    out
}

fn uid_from(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Our verdict and RustCrypto's on the same (key bytes, uid, message, r, s).
/// With `all_paths`, every verification path of ours is checked too (they
/// cost a table build and a thread-pool hop, so only on half the inputs).
fn compare(
    key: &[u8],
    uid: &str,
    msg: &[u8],
    r: &[u8; 32],
    s: &[u8; 32],
    all_paths: bool,
) -> Option<bool> {
    let ours_key = PublicKey::from_sec1(key);
    let theirs_key = sm2::dsa::VerifyingKey::from_sec1_bytes(uid, key);
    // Hybrid SEC1 (06/07 prefixes) and the 1-byte identity are outside our
    // accepted forms; compare acceptance on 04/02/03 encodings only.
    if matches!(key.first(), Some(0x02..=0x04)) {
        assert_eq!(
            ours_key.is_ok(),
            theirs_key.is_ok(),
            "public key acceptance differs for {} (uid {uid:?}): ours {:?}",
            hex(key),
            ours_key.as_ref().err()
        );
    }
    let (Ok(ours_key), Ok(theirs_key)) = (ours_key, theirs_key) else {
        return None;
    };
    let sig = Signature::from_scalars(*r, *s);
    let ours = ours_key.verify(msg, &sig, uid.as_bytes()).is_ok();
    let theirs = match sm2::dsa::Signature::from_scalars(*r, *s) {
        Ok(rc_sig) => theirs_key.verify(msg, &rc_sig).is_ok(),
        Err(_) => false,
    };
    let ctx = || {
        format!(
            "key {} uid {uid:?} msg {} r {} s {}",
            hex(key),
            hex(msg),
            hex(r),
            hex(s)
        )
    };
    assert_eq!(ours, theirs, "verify differs (ours, RustCrypto): {}", ctx());
    if !all_paths {
        return Some(ours);
    }

    // Our other paths agree with the first.
    let e = ours_key.message_digest(msg, uid.as_bytes()).unwrap();
    assert_eq!(
        ours_key.verify_digest(&e, &sig).is_ok(),
        ours,
        "verify_digest: {}",
        ctx()
    );
    let v = Verifier::new(ours_key, uid.as_bytes()).unwrap();
    assert_eq!(
        v.verify(msg, &sig).is_ok(),
        ours,
        "Verifier::verify: {}",
        ctx()
    );
    assert_eq!(
        v.verify_digest(&e, &sig).is_ok(),
        ours,
        "Verifier::verify_digest: {}",
        ctx()
    );
    let raw = sig.to_raw();
    let batch = verify_batch(&[(key, msg, &raw[..])], uid.as_bytes());
    assert_eq!(batch, vec![ours], "verify_batch: {}", ctx());
    // RustCrypto's prehash path agrees with its message path.
    if let Ok(rc_sig) = sm2::dsa::Signature::from_scalars(*r, *s) {
        assert_eq!(
            theirs_key.verify_prehash(&e, &rc_sig).is_ok(),
            theirs,
            "RustCrypto prehash: {}",
            ctx()
        );
    }
    Some(ours)
}

/// Digest-level comparison: ours (`verify_digest`, and the cached table
/// path) against RustCrypto's `verify_prehash`, for an arbitrary digest e.
fn compare_prehash(key: &[u8], e: &[u8; 32], r: &[u8; 32], s: &[u8; 32]) -> Option<bool> {
    let ours_key = PublicKey::from_sec1(key).ok()?;
    let theirs_key = sm2::dsa::VerifyingKey::from_sec1_bytes("", key).expect("RustCrypto key");
    let sig = Signature::from_scalars(*r, *s);
    let ours = ours_key.verify_digest(e, &sig).is_ok();
    let theirs = match sm2::dsa::Signature::from_scalars(*r, *s) {
        Ok(rc_sig) => theirs_key.verify_prehash(e, &rc_sig).is_ok(),
        Err(_) => false,
    };
    let ctx = || format!("key {} e {} r {} s {}", hex(key), hex(e), hex(r), hex(s));
    assert_eq!(
        ours,
        theirs,
        "verify_digest differs (ours, RustCrypto): {}",
        ctx()
    );
    let v = Verifier::new(ours_key, b"").unwrap();
    assert_eq!(
        v.verify_digest(e, &sig).is_ok(),
        ours,
        "Verifier: {}",
        ctx()
    );
    Some(ours)
}

/// A public key for which (r, s) with an input-chosen s (e.g. a small one,
/// so that s + n still fits in 256 bits) is a valid signature on digest e:
/// with R = k·G, r = (e + x_R) mod n and t = r + s, the key
/// d = (k − s)·t⁻¹ satisfies s·G + t·(d·G) = R. Computed with RustCrypto's
/// arithmetic. None if a degenerate value comes up.
fn key_for_signature(e: &[u8; 32], k: &[u8; 32], s: &[u8; 32]) -> Option<(Vec<u8>, [u8; 32])> {
    let scalar = |b: &[u8; 32]| sm2::Scalar::from_repr(FieldBytes::from(*b)).into_option();
    let (k, s_rc) = (scalar(k)?, scalar(s)?);
    let x = ProjectivePoint::mul_by_generator(&k).to_affine().x();
    let r = <sm2::Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e))
        + <sm2::Scalar as Reduce<FieldBytes>>::reduce(&x);
    if bool::from(k.is_zero() | r.is_zero() | s_rc.is_zero()) {
        return None; // R = ∞, or not a signature
    }
    let t_inv = (r + s_rc).invert().into_option()?;
    let d = (k - s_rc) * t_inv;
    let private = PrivateKey::from_bytes(&d.to_repr()).ok()?;
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&r.to_repr());
    Some((private.public_key().to_uncompressed().to_vec(), r_bytes))
}

/// Applies one input-chosen mutation to a (valid) signature case.
fn mutate(
    input: &mut Reader,
    key: &mut Vec<u8>,
    uid: &mut String,
    msg: &mut Vec<u8>,
    r: &mut [u8; 32],
    s: &mut [u8; 32],
) {
    let op = input.u8();
    let arg = input.u8() as usize;
    match op % 14 {
        0 => r[arg % 32] ^= 1 << (arg % 8),
        1 => s[arg % 32] ^= 1 << (arg % 8),
        2 => *r = sub256(&N, r),
        3 => *s = sub256(&N, s),
        // Same value mod n but not below n: must be rejected.
        4 => {
            if let Some(v) = add256(r, &N) {
                *r = v
            }
        }
        5 => {
            if let Some(v) = add256(s, &N) {
                *s = v
            }
        }
        6 => core::mem::swap(r, s),
        7 => {
            if msg.is_empty() {
                msg.push(arg as u8);
            } else {
                let i = arg % msg.len();
                msg[i] ^= 1 << (arg % 8);
            }
        }
        8 => uid.push(char::from(b' ' + (arg % 95) as u8)),
        9 => *r = [0; 32],
        10 => *s = [0; 32],
        // t = r + s = n.
        11 => *s = sub256(&N, r),
        // The opposite key (x, p − y): same x, so a classic mix-up.
        12 => {
            if key.len() == 65 {
                let mut y = [0u8; 32];
                y.copy_from_slice(&key[33..]);
                key[33..].copy_from_slice(&sub256(&P, &y));
            }
        }
        // A small value, or n − 1 / n − small.
        _ => {
            let mut v = [0u8; 32];
            v[31] = arg as u8;
            let target = if arg & 1 == 0 { r } else { s };
            *target = if arg & 2 == 0 { v } else { sub256(&N, &v) };
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Reader(data);
    let mode = input.u8();
    let all_paths = mode & 0x80 != 0;
    let uid_len = input.u8() as usize;
    let mut uid = if uid_len == 0xff {
        "1234567812345678".to_string()
    } else {
        uid_from(input.take(uid_len % 64))
    };
    if mode % 8 >= 4 {
        // Digest level, a valid signature with a chosen (often small) s,
        // then up to 3 mutations (r + n and s + n fit when they are small).
        let e = input.arr32();
        let k = input.arr32();
        let s_len = (input.u8() % 33) as usize;
        let mut s = [0u8; 32];
        s[32 - s_len..].copy_from_slice(&{
            let mut v = input.take(s_len).to_vec();
            v.resize(s_len, 0);
            v
        });
        let Some((mut key, mut r)) = key_for_signature(&e, &k, &s) else {
            return;
        };
        let mutations = (input.u8() % 4) as usize;
        if mutations == 0 {
            assert_eq!(
                compare_prehash(&key, &e, &r, &s),
                Some(true),
                "constructed signature did not verify (e {}, k {})",
                hex(&e),
                hex(&k)
            );
            return;
        }
        let (mut dummy_uid, mut dummy_msg) = (String::new(), Vec::new());
        for _ in 0..mutations {
            mutate(
                &mut input,
                &mut key,
                &mut dummy_uid,
                &mut dummy_msg,
                &mut r,
                &mut s,
            );
        }
        compare_prehash(&key, &e, &r, &s);
        return;
    }
    match mode % 4 {
        // Everything raw: key bytes (65 or 33), r, s, message.
        0 => {
            let compressed = input.u8() & 1 == 1;
            let key = input.take(if compressed { 33 } else { 65 }).to_vec();
            let (r, s) = (input.arr32(), input.arr32());
            let msg = input.rest();
            compare(&key, &uid, msg, &r, &s, all_paths);
        }
        // A valid key from d, raw r, s.
        1 => {
            let d = input.arr32();
            let Ok(private) = PrivateKey::from_bytes(&d) else {
                return;
            };
            let compressed = input.u8() & 1 == 1;
            let key = private.public_key().to_sec1(compressed);
            let (r, s) = (input.arr32(), input.arr32());
            let msg = input.rest();
            compare(&key, &uid, msg, &r, &s, all_paths);
        }
        // A valid signature (ours with a chosen nonce, or RustCrypto's
        // deterministic one), then up to 4 mutations.
        _ => {
            let d = input.arr32();
            let k = input.arr32();
            let msg_len = input.u8() as usize;
            let mut msg = input.take(msg_len).to_vec();
            let Ok(private) = PrivateKey::from_bytes(&d) else {
                return;
            };
            let (mut r, mut s) = if mode % 4 == 2 {
                let e = private
                    .public_key()
                    .message_digest(&msg, uid.as_bytes())
                    .unwrap();
                let Ok(sig) = private.sign_digest_with_nonce(&e, &k) else {
                    return;
                };
                (*sig.r(), *sig.s())
            } else {
                let Ok(sk) = sm2::dsa::SigningKey::from_slice(&uid, &d) else {
                    panic!("RustCrypto rejects private key {} that we accept", hex(&d));
                };
                let Ok(sig) = sk.try_sign(&msg) else {
                    return; // RustCrypto does not retry an unusable nonce
                };
                let sig: sm2::dsa::Signature = sig;
                let raw = sig.to_bytes();
                let mut r = [0u8; 32];
                let mut s = [0u8; 32];
                r.copy_from_slice(&raw[..32]);
                s.copy_from_slice(&raw[32..]);
                (r, s)
            };
            let mut key = private.public_key().to_uncompressed().to_vec();
            let mutations = (input.u8() % 5) as usize;
            if mutations == 0 {
                assert_eq!(
                    compare(&key, &uid, &msg, &r, &s, all_paths),
                    Some(true),
                    "a valid signature did not verify (d {}, k {})",
                    hex(&d),
                    hex(&k)
                );
                return;
            }
            for _ in 0..mutations {
                mutate(&mut input, &mut key, &mut uid, &mut msg, &mut r, &mut s);
            }
            compare(&key, &uid, &msg, &r, &s, all_paths);
        }
    }
});
