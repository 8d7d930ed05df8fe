//! Constant-time signing (GB/T 32918.2-2016 §6.1) and nonce generation
//! (RFC 6979 §3.2 with HMAC-SM3, hedged with OS randomness per §3.6).
//!
//! Every operation on the private key `d` and the nonce `k` is
//! constant-time: scalar arithmetic mod n (Montgomery, masked reduction),
//! Fermat inversion with a public exponent, and the fixed-base comb
//! [`JacobianPoint::mul_base`]. The only branches are on events of
//! negligible probability whose outcome is public anyway (a rejected
//! candidate nonce, r = 0, r + k = n, s = 0).

use super::point::{AffinePoint, JacobianPoint};
use super::scalar::Scalar;
use crate::hmac::HmacSm3;
use crate::sm3::DIGEST_LEN;
use zeroize::{Zeroize, Zeroizing};

/// HMAC-SM3 over the concatenation of `parts`, without concatenating the
/// secrets into a temporary buffer (the keyed states are wiped on drop).
fn hmac_sm3(key: &[u8; DIGEST_LEN], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut mac = HmacSm3::new(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
}

/// HMAC-DRBG state of RFC 6979 §3.2 (qlen = hlen = 256, so bits2int is the
/// identity on 32-byte strings).
pub(crate) struct NonceGenerator {
    k: Zeroizing<[u8; 32]>,
    v: Zeroizing<[u8; 32]>,
}

impl NonceGenerator {
    /// Steps a–g: seeds with `x = int2octets(d)`, `bits2octets(e) = e mod n`
    /// and optional additional data (§3.6; 32 bytes of OS randomness when
    /// hedged, empty for the plain deterministic variant).
    pub(crate) fn new(d: &[u8; 32], e: &[u8; 32], extra: &[u8]) -> Self {
        let h1 = Scalar::from_bytes_reduced(e).to_bytes();
        let mut k = Zeroizing::new([0u8; 32]);
        let mut v = Zeroizing::new([1u8; 32]);
        *k = hmac_sm3(&k, &[&v[..], &[0x00], d, &h1, extra]);
        *v = hmac_sm3(&k, &[&v[..]]);
        *k = hmac_sm3(&k, &[&v[..], &[0x01], d, &h1, extra]);
        *v = hmac_sm3(&k, &[&v[..]]);
        NonceGenerator { k, v }
    }

    /// Step h: the next candidate in `[1, n−1]`.
    pub(crate) fn next_nonce(&mut self) -> Scalar {
        loop {
            *self.v = hmac_sm3(&self.k, &[&self.v[..]]);
            let candidate = Scalar::from_bytes(&self.v);
            let ok = candidate.is_some() & !candidate.unwrap_or(Scalar::ZERO).is_zero();
            let k = candidate.unwrap_or(Scalar::ZERO);
            // Advance the state either way so that a retry after an
            // unusable signature (r = 0, r + k = n, s = 0) gets a fresh k.
            *self.k = hmac_sm3(&self.k, &[&self.v[..], &[0x00]]);
            *self.v = hmac_sm3(&self.k, &[&self.v[..]]);
            // Out-of-range candidates occur with probability < 2^-32.
            if bool::from(ok) {
                return k;
            }
        }
    }
}

/// Why a nonce could not be used (the caller draws another, or reports
/// `Malformed` for a caller-supplied nonce).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// r = 0 or r + k = n.
    BadR,
    /// s = 0.
    ZeroS,
}

/// Steps A4–A6 for a nonce `k ∈ [1, n−1]`: `(x1, y1) = k·G`,
/// `r = (e + x1) mod n`, `s = (1 + d)⁻¹·(k − r·d) mod n`.
/// `d_plus_1_inv` is `(1 + d)⁻¹`, precomputed per key.
pub(crate) fn sign_with_nonce(
    d: &Scalar,
    d_plus_1_inv: &Scalar,
    e: &[u8; 32],
    k: &Scalar,
) -> Result<([u8; 32], [u8; 32]), Unusable> {
    let mut kg = JacobianPoint::mul_base(k);
    // k ∈ [1, n−1], so k·G is never the point at infinity.
    let mut p1 = kg.to_affine().unwrap_or(AffinePoint::default());
    kg.zeroize();
    let x1 = Scalar::from_bytes_reduced(&p1.x().to_bytes());
    p1.zeroize();
    let r = Scalar::from_bytes_reduced(e).add(&x1);
    if bool::from(r.is_zero() | r.add(k).is_zero()) {
        return Err(Unusable::BadR);
    }
    let mut rd = r.mul(d);
    let mut s = d_plus_1_inv.mul(&k.sub(&rd));
    rd.zeroize();
    if bool::from(s.is_zero()) {
        return Err(Unusable::ZeroS);
    }
    let out = (r.to_bytes(), s.to_bytes());
    s.zeroize();
    Ok(out)
}

/// Full signing of a digest with a nonce from the hedged RFC 6979
/// generator. `extra` is the additional data (OS randomness, or empty).
pub(crate) fn sign_digest(
    d_bytes: &[u8; 32],
    d: &Scalar,
    d_plus_1_inv: &Scalar,
    e: &[u8; 32],
    extra: &[u8],
) -> ([u8; 32], [u8; 32]) {
    let mut gen = NonceGenerator::new(d_bytes, e, extra);
    loop {
        let mut k = gen.next_nonce();
        let res = sign_with_nonce(d, d_plus_1_inv, e, &k);
        k.zeroize();
        if let Ok(sig) = res {
            return sig;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm3::sm3_parts;

    #[test]
    fn hmac_matches_rfc2104_definition_for_a_short_key() {
        // HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), computed by hand.
        let key = [0x0bu8; 32];
        let msg = b"Hi There";
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for i in 0..32 {
            ipad[i] ^= key[i];
            opad[i] ^= key[i];
        }
        let inner = sm3_parts(&[&ipad, msg]);
        let want = sm3_parts(&[&opad, &inner]);
        assert_eq!(hmac_sm3(&key, &[b"Hi ", b"There"]), want);
    }

    /// Without additional data our nonce generator is plain RFC 6979 with
    /// HMAC-SM3, which RustCrypto's `sm2` also uses for deterministic
    /// signing: the signatures must be identical.
    #[test]
    fn deterministic_signatures_match_rustcrypto() {
        use sm2::dsa::signature::hazmat::PrehashSigner;
        for seed in 1u8..=8 {
            let d_bytes = [seed.wrapping_mul(37) ^ 0x5a; 32];
            let e: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(seed) ^ 0xa5);
            let d = Scalar::from_bytes(&d_bytes).unwrap();
            let dinv = d.add(&Scalar::ONE).invert().unwrap();
            let (r, s) = sign_digest(&d_bytes, &d, &dinv, &e, &[]);
            let rc = sm2::dsa::SigningKey::from_slice("", &d_bytes).unwrap();
            let rc_sig: sm2::dsa::Signature = rc.sign_prehash(&e).unwrap();
            let raw = rc_sig.to_bytes();
            assert_eq!(r[..], raw[..32], "r, seed {seed}");
            assert_eq!(s[..], raw[32..], "s, seed {seed}");
        }
    }

    #[test]
    fn nonces_are_deterministic_and_extra_data_changes_them() {
        let d = [7u8; 32];
        let e = [9u8; 32];
        let a = NonceGenerator::new(&d, &e, &[]).next_nonce();
        let b = NonceGenerator::new(&d, &e, &[]).next_nonce();
        let c = NonceGenerator::new(&d, &e, &[1u8; 32]).next_nonce();
        let mut g = NonceGenerator::new(&d, &e, &[]);
        g.next_nonce();
        let second = g.next_nonce();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, second);
    }
}
