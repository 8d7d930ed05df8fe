//! HMAC-SM3 (RFC 2104 with SM3; block size 64, output 32).
//!
//! The key is absorbed once into an inner and an outer SM3 state
//! (`SM3(K ⊕ ipad ‖ …)`, `SM3(K ⊕ opad ‖ …)`); the padded key blocks are
//! wiped as soon as they are absorbed, and the two keyed states — which are
//! as good as the key — are wiped on drop and after finalisation.

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::sm3::{Sm3, BLOCK_LEN, DIGEST_LEN};

const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// Streaming HMAC-SM3.
#[derive(Clone)]
pub struct HmacSm3 {
    inner: Sm3,
    outer: Sm3,
}

impl std::fmt::Debug for HmacSm3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSm3 { .. }")
    }
}

impl Drop for HmacSm3 {
    fn drop(&mut self) {
        self.inner.wipe();
        self.outer.wipe();
    }
}

impl HmacSm3 {
    /// Keyed with `key` (any length; keys over 64 bytes are hashed first).
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            let mut h = Sm3::new();
            h.update(key);
            let mut digest = h.finalize_and_wipe();
            block[..DIGEST_LEN].copy_from_slice(&digest);
            digest.zeroize();
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut pad = [0u8; BLOCK_LEN];
        for (p, k) in pad.iter_mut().zip(block.iter()) {
            *p = k ^ IPAD;
        }
        let mut inner = Sm3::new();
        inner.update(&pad);
        for (p, k) in pad.iter_mut().zip(block.iter()) {
            *p = k ^ OPAD;
        }
        let mut outer = Sm3::new();
        outer.update(&pad);
        pad.zeroize();
        block.zeroize();
        HmacSm3 { inner, outer }
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The tag.
    pub fn finalize(mut self) -> [u8; DIGEST_LEN] {
        let mut inner_digest = self.inner.finalize_and_wipe();
        self.outer.update(&inner_digest);
        inner_digest.zeroize();
        self.outer.finalize_and_wipe()
    }

    /// Constant-time check of `tag` (full 32 bytes) against the tag.
    /// A tag of any other length is rejected (its length is not secret).
    pub fn verify(self, tag: &[u8]) -> bool {
        let mut expected = self.finalize();
        let ok = tag.len() == DIGEST_LEN && bool::from(expected.ct_eq(tag));
        expected.zeroize();
        ok
    }
}

/// One-shot HMAC-SM3.
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = HmacSm3::new(key);
    h.update(data);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_0042_appendix_d3_first_example() {
        // GM/T 0042-2015 Appendix D.3 (also OpenSSL's evpmac_sm3.txt):
        // key 01..20, message "abcdbcde…nopq" twice.
        let key: Vec<u8> = (1..=32).collect();
        let msg = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".repeat(2);
        let tag = hmac_sm3(&key, &msg);
        assert_eq!(
            tag[..8],
            [0xca, 0x05, 0xe1, 0x44, 0xed, 0x05, 0xd1, 0x85],
            "GM/T 0042 D.3"
        );
        let mut h = HmacSm3::new(&key);
        for part in msg.chunks(7) {
            h.update(part);
        }
        assert!(h.clone().verify(&tag));
        let mut bad = tag;
        bad[31] ^= 1;
        assert!(!h.clone().verify(&bad));
        assert!(!h.verify(&tag[..31]));
    }
}
