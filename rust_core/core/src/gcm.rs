//! SM4-GCM (NIST SP 800-38D with SM4 as the block cipher; named by RFC 8998).
//! Used to wrap private keys and secrets at rest.
//!
//! # Constant time
//!
//! SM4 is bitsliced (see [`crate::sm4`]). GHASH multiplies in GF(2^128)
//! without tables: a 64×64-bit carry-less product is assembled from 25
//! ordinary integer multiplications of operands masked to every fifth bit
//! ("multiplications with holes"): a product of two such operands sums at
//! most 13 one-bits per column, less than 2^5, so carries never reach the next
//! bit of the same residue class and each wanted bit is an exact parity. Three
//! of these (Karatsuba) give the 128×128 product, reduced by shifts. Integer
//! multiplication is constant time on the targets we build for (x86-64,
//! AArch64). The tag is compared with `subtle`, and on decryption before any
//! plaintext is produced.

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::sm4::{Sm4, BATCH, BLOCK_LEN, KEY_LEN};

/// From this many remaining blocks on, CTR mode uses the 64-block bitsliced
/// SM4 (whose cost does not depend on how many of its lanes are used).
const BATCH_THRESHOLD: usize = 12;

/// Tag length in bytes (always the full 16).
pub const TAG_LEN: usize = 16;
/// The recommended nonce length (the fast path of SP 800-38D).
pub const NONCE_LEN: usize = 12;
/// Shortest accepted nonce.
pub const MIN_NONCE_LEN: usize = 1;
/// Longest accepted nonce.
pub const MAX_NONCE_LEN: usize = 64;
/// Longest plaintext: 2^39 − 256 bits (SP 800-38D §5.2.1.1).
pub const MAX_PLAINTEXT_LEN: u64 = (1 << 36) - 32;
/// Longest associated data: 2^64 − 1 bits, rounded down to whole bytes.
pub const MAX_AAD_LEN: u64 = (1 << 61) - 1;

// ---------------------------------------------------------------------------
// GHASH
// ---------------------------------------------------------------------------

/// Masks selecting bits at positions ≡ r (mod 5), for 64- and 128-bit words.
const M64: [u64; 5] = {
    let mut m = [0u64; 5];
    let mut i = 0;
    while i < 64 {
        m[i % 5] |= 1 << i;
        i += 1;
    }
    m
};
const M128: [u128; 5] = {
    let mut m = [0u128; 5];
    let mut i = 0;
    while i < 128 {
        m[i % 5] |= 1 << i;
        i += 1;
    }
    m
};

type Split = [u64; 5];

#[inline(always)]
fn split(x: u64) -> Split {
    [x & M64[0], x & M64[1], x & M64[2], x & M64[3], x & M64[4]]
}

/// Carry-less 64×64 → 128-bit product of two split operands.
#[inline(always)]
fn clmul64(x: &Split, y: &Split) -> u128 {
    let mut z = [0u128; 5];
    for (i, &xi) in x.iter().enumerate() {
        for (j, &yj) in y.iter().enumerate() {
            z[(i + j) % 5] ^= u128::from(xi) * u128::from(yj);
        }
    }
    (z[0] & M128[0]) | (z[1] & M128[1]) | (z[2] & M128[2]) | (z[3] & M128[3]) | (z[4] & M128[4])
}

/// GHASH with a fixed key H. Field elements are `u128`s read big-endian, so
/// the coefficient of x^k sits in bit 127 − k (GCM's reflected order).
struct Ghash {
    /// Split halves of H: low, high, and low ⊕ high (for Karatsuba).
    h: [Split; 3],
    acc: u128,
}

impl Drop for Ghash {
    fn drop(&mut self) {
        for s in self.h.iter_mut() {
            s.zeroize();
        }
        self.acc.zeroize();
    }
}

impl Ghash {
    fn new(h: &[u8; BLOCK_LEN]) -> Self {
        let h = u128::from_be_bytes(*h);
        let (lo, hi) = (h as u64, (h >> 64) as u64);
        Ghash {
            h: [split(lo), split(hi), split(lo ^ hi)],
            acc: 0,
        }
    }

    /// `acc ← acc · H`.
    #[inline(always)]
    fn mul_h(&mut self) {
        let a = self.acc;
        let (a0, a1) = (a as u64, (a >> 64) as u64);
        let lo = clmul64(&split(a0), &self.h[0]);
        let hi = clmul64(&split(a1), &self.h[1]);
        let mid = clmul64(&split(a0 ^ a1), &self.h[2]) ^ lo ^ hi;
        // 255-bit product as (p_hi, p_lo), then shifted left by one so that
        // p_hi holds degrees 0..=127 and p_lo degrees 128..=255 (reflected).
        let mut p_lo = lo ^ (mid << 64);
        let mut p_hi = hi ^ (mid >> 64);
        p_hi = (p_hi << 1) | (p_lo >> 127);
        p_lo <<= 1;
        // Reduce: x^128 = x^7 + x^2 + x + 1. Multiplying by x^j is a right
        // shift here; what falls off (degree ≥ 128) is folded once more.
        let overflow = (p_lo << 127) ^ (p_lo << 126) ^ (p_lo << 121);
        let folded = p_lo ^ (p_lo >> 1) ^ (p_lo >> 2) ^ (p_lo >> 7);
        self.acc = p_hi ^ folded ^ overflow ^ (overflow >> 1) ^ (overflow >> 2) ^ (overflow >> 7);
    }

    #[inline(always)]
    fn update_block(&mut self, block: &[u8; BLOCK_LEN]) {
        self.acc ^= u128::from_be_bytes(*block);
        self.mul_h();
    }

    /// Absorbs `data`, zero-padding the last partial block.
    fn update_padded(&mut self, data: &[u8]) {
        let mut chunks = data.chunks_exact(BLOCK_LEN);
        for c in &mut chunks {
            let mut block = [0u8; BLOCK_LEN];
            block.copy_from_slice(c);
            self.update_block(&block);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut block = [0u8; BLOCK_LEN];
            block[..rest.len()].copy_from_slice(rest);
            self.update_block(&block);
            block.zeroize();
        }
    }

    /// Absorbs the final length block `[len(A)]_64 ‖ [len(C)]_64` (bits).
    fn update_lengths(&mut self, a_bytes: usize, c_bytes: usize) {
        let mut block = [0u8; BLOCK_LEN];
        block[..8].copy_from_slice(&(a_bytes as u64).wrapping_mul(8).to_be_bytes());
        block[8..].copy_from_slice(&(c_bytes as u64).wrapping_mul(8).to_be_bytes());
        self.update_block(&block);
    }

    fn value(&self) -> [u8; BLOCK_LEN] {
        self.acc.to_be_bytes()
    }
}

// ---------------------------------------------------------------------------
// GCM
// ---------------------------------------------------------------------------

/// Everything derived from the key and nonce.
struct Context {
    cipher: Sm4,
    /// GHASH key H = E_K(0^128), held split inside.
    hash_key: [u8; BLOCK_LEN],
    /// Pre-counter block J0.
    j0: [u8; BLOCK_LEN],
    /// E_K(J0), which masks the tag.
    tag_mask: [u8; BLOCK_LEN],
}

impl Drop for Context {
    fn drop(&mut self) {
        self.hash_key.zeroize();
        self.j0.zeroize();
        self.tag_mask.zeroize();
    }
}

impl Context {
    fn new(key: &[u8], nonce: &[u8]) -> Result<Self> {
        let key: &[u8; KEY_LEN] = key.try_into().map_err(|_| {
            Error::malformed(format!(
                "SM4-GCM key must be {KEY_LEN} bytes, got {}",
                key.len()
            ))
        })?;
        if !(MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&nonce.len()) {
            return Err(Error::malformed(format!(
                "SM4-GCM nonce must be {MIN_NONCE_LEN}..={MAX_NONCE_LEN} bytes, got {}",
                nonce.len()
            )));
        }
        let cipher = Sm4::new(key);
        let mut hash_key = [0u8; BLOCK_LEN];
        let mut j0 = [0u8; BLOCK_LEN];
        let mut tag_mask;
        if nonce.len() == NONCE_LEN {
            j0[..NONCE_LEN].copy_from_slice(nonce);
            j0[BLOCK_LEN - 1] = 1;
            // H and E_K(J0) in one pass of the two-block cipher.
            tag_mask = j0;
            cipher.encrypt_two_blocks(&mut hash_key, &mut tag_mask);
        } else {
            cipher.encrypt_block(&mut hash_key);
            // J0 = GHASH_H(IV ‖ 0^(s+64) ‖ [len(IV)]_64).
            let mut g = Ghash::new(&hash_key);
            g.update_padded(nonce);
            g.update_lengths(0, nonce.len());
            j0 = g.value();
            tag_mask = j0;
            cipher.encrypt_block(&mut tag_mask);
        }
        Ok(Context {
            cipher,
            hash_key,
            j0,
            tag_mask,
        })
    }

    /// GCTR starting at inc32(J0): XORs the keystream into `data`.
    fn ctr(&self, data: &mut [u8]) {
        let prefix = u128::from_be_bytes(self.j0) & !0xffff_ffff_u128;
        let mut counter = (u128::from_be_bytes(self.j0) as u32).wrapping_add(1);
        let mut next_block = || {
            let b = (prefix | u128::from(counter)).to_be_bytes();
            counter = counter.wrapping_add(1);
            b
        };
        let mut data = data;
        // Bulk: 64 blocks per bitsliced batch while enough blocks remain.
        while data.len() > (BATCH_THRESHOLD - 1) * BLOCK_LEN {
            let take = data.len().min(BATCH * BLOCK_LEN);
            let (chunk, rest) = data.split_at_mut(take);
            let mut ks = [[0u8; BLOCK_LEN]; BATCH];
            for k in ks.iter_mut().take(take.div_ceil(BLOCK_LEN)) {
                *k = next_block();
            }
            self.cipher.encrypt_batch(&mut ks);
            for (d, k) in chunk.iter_mut().zip(ks.iter().flatten()) {
                *d ^= k;
            }
            for k in ks.iter_mut() {
                k.zeroize();
            }
            data = rest;
        }
        let mut pairs = data.chunks_exact_mut(2 * BLOCK_LEN);
        for pair in &mut pairs {
            let (mut ka, mut kb) = (next_block(), next_block());
            self.cipher.encrypt_two_blocks(&mut ka, &mut kb);
            for (d, k) in pair.iter_mut().zip(ka.iter().chain(kb.iter())) {
                *d ^= k;
            }
            ka.zeroize();
            kb.zeroize();
        }
        for chunk in pairs.into_remainder().chunks_mut(BLOCK_LEN) {
            let mut k = next_block();
            self.cipher.encrypt_block(&mut k);
            for (d, k) in chunk.iter_mut().zip(k.iter()) {
                *d ^= k;
            }
            k.zeroize();
        }
    }

    /// T = E_K(J0) ⊕ GHASH_H(A ‖ 0 ‖ C ‖ 0 ‖ [len(A)]_64 ‖ [len(C)]_64).
    fn tag(&self, aad: &[u8], ciphertext: &[u8]) -> [u8; TAG_LEN] {
        let mut g = Ghash::new(&self.hash_key);
        g.update_padded(aad);
        g.update_padded(ciphertext);
        g.update_lengths(aad.len(), ciphertext.len());
        let mut tag = self.tag_mask;
        for (t, s) in tag.iter_mut().zip(g.value()) {
            *t ^= s;
        }
        tag
    }
}

fn check_lengths(text_len: usize, aad_len: usize) -> Result<()> {
    if text_len as u64 > MAX_PLAINTEXT_LEN {
        return Err(Error::malformed(format!(
            "SM4-GCM text longer than {MAX_PLAINTEXT_LEN} bytes"
        )));
    }
    if aad_len as u64 > MAX_AAD_LEN {
        return Err(Error::malformed(format!(
            "SM4-GCM associated data longer than {MAX_AAD_LEN} bytes"
        )));
    }
    Ok(())
}

/// Encrypts `plaintext` under a 16-byte `key` with `nonce` (12 bytes
/// recommended; any length 1..=64 accepted per SP 800-38D) and `aad`.
/// Returns `ciphertext ‖ tag`. Wrong key or nonce length → `Error::Malformed`.
pub fn sm4_gcm_encrypt(key: &[u8], nonce: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let ctx = Context::new(key, nonce)?;
    check_lengths(plaintext.len(), aad.len())?;
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    ctx.ctr(&mut out);
    let tag = ctx.tag(aad, &out);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts `ciphertext ‖ tag`. Tag mismatch → `Error::InvalidTag` (checked
/// in constant time before any plaintext is released); wrong key/nonce
/// length or input shorter than the tag → `Error::Malformed`.
pub fn sm4_gcm_decrypt(key: &[u8], nonce: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let ctx = Context::new(key, nonce)?;
    if sealed.len() < TAG_LEN {
        return Err(Error::malformed(format!(
            "SM4-GCM input of {} bytes is shorter than the {TAG_LEN}-byte tag",
            sealed.len()
        )));
    }
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    check_lengths(ciphertext.len(), aad.len())?;
    let mut expected = ctx.tag(aad, ciphertext);
    let ok: bool = expected.ct_eq(tag).into();
    expected.zeroize();
    if !ok {
        return Err(Error::InvalidTag);
    }
    let mut out = ciphertext.to_vec();
    ctx.ctr(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GF(2^128) multiplication exactly as SP 800-38D §6.3 Algorithm 1
    /// (bit by bit), to check the fast path against.
    fn slow_mul(x: u128, y: u128) -> u128 {
        const R: u128 = 0xe1 << 120;
        let mut z = 0u128;
        let mut v = y;
        for i in 0..128 {
            if (x >> (127 - i)) & 1 == 1 {
                z ^= v;
            }
            v = if v & 1 == 0 { v >> 1 } else { (v >> 1) ^ R };
        }
        z
    }

    #[test]
    fn clmul64_matches_schoolbook() {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..2000 {
            let (x, y) = match case {
                0 => (u64::MAX, u64::MAX),
                1 => (u64::MAX, 1),
                2 => (1 << 63, 1 << 63),
                _ => (next(), next()),
            };
            let mut want = 0u128;
            for i in 0..64 {
                if (y >> i) & 1 == 1 {
                    want ^= u128::from(x) << i;
                }
            }
            assert_eq!(clmul64(&split(x), &split(y)), want, "{x:#x} * {y:#x}");
        }
    }

    #[test]
    fn field_multiplication_matches_sp800_38d_algorithm_1() {
        let mut s = 0x0123_4567_89ab_cdef_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..1000 {
            let (x, h) = match case {
                0 => (u128::MAX, u128::MAX),
                1 => (1 << 127, u128::MAX), // 1 · H
                2 => (1, 1),
                _ => (
                    (u128::from(next()) << 64) | u128::from(next()),
                    (u128::from(next()) << 64) | u128::from(next()),
                ),
            };
            let mut g = Ghash::new(&h.to_be_bytes());
            g.acc = x;
            g.mul_h();
            assert_eq!(g.acc, slow_mul(x, h), "{x:#x} * {h:#x}");
        }
    }

    #[test]
    fn rfc8998_appendix_a1() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let key = hex("0123456789ABCDEFFEDCBA9876543210");
        let nonce = hex("00001234567800000000ABCD");
        let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let pt = hex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA");
        let want = hex("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D83DE3541E4C2B58177E065A9BF7B62EC");
        let sealed = sm4_gcm_encrypt(&key, &nonce, &pt, &aad).unwrap();
        assert_eq!(sealed, want);
        assert_eq!(sm4_gcm_decrypt(&key, &nonce, &sealed, &aad).unwrap(), pt);
    }

    #[test]
    fn counter_wraps_modulo_2_32_in_the_low_word_only() {
        let ctx = Context::new(&[3u8; 16], &[1u8; 12]).unwrap();
        let mut ctx = ctx;
        ctx.j0 = [0xab; 16];
        ctx.j0[12..].copy_from_slice(&0xffff_fffd_u32.to_be_bytes());
        let mut data = vec![0u8; 5 * BLOCK_LEN + 3];
        ctx.ctr(&mut data);
        // Expected counters: ..fffe, ..ffff, ..0000, ..0001, ..0002, ..0003,
        // with the upper 96 bits untouched.
        for (i, low) in [0xffff_fffe_u32, 0xffff_ffff, 0, 1, 2, 3]
            .iter()
            .enumerate()
        {
            let mut block = ctx.j0;
            block[12..].copy_from_slice(&low.to_be_bytes());
            ctx.cipher.encrypt_block(&mut block);
            let chunk = &data[i * BLOCK_LEN..((i + 1) * BLOCK_LEN).min(data.len())];
            assert_eq!(chunk, &block[..chunk.len()], "block {i}");
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn sp800_38d_size_limits() {
        assert!(check_lengths(0, 0).is_ok());
        let max_text = MAX_PLAINTEXT_LEN as usize;
        assert!(check_lengths(max_text, 0).is_ok());
        assert!(matches!(
            check_lengths(max_text + 1, 0),
            Err(Error::Malformed(_))
        ));
        let max_aad = MAX_AAD_LEN as usize;
        assert!(check_lengths(0, max_aad).is_ok());
        assert!(matches!(
            check_lengths(0, max_aad + 1),
            Err(Error::Malformed(_))
        ));
        // 2^39 − 256 bits of plaintext, in bytes.
        assert_eq!(MAX_PLAINTEXT_LEN * 8, (1u64 << 39) - 256);
    }
}
