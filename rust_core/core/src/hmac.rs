//! HMAC-SM3 (RFC 2104 with SM3; block size 64, output 32).
//! OWNER: symmetric helper. Contract below is fixed; fill in bodies.

use crate::sm3::DIGEST_LEN;

/// Streaming HMAC-SM3.
#[derive(Clone, Debug)]
pub struct HmacSm3 {
    _todo: (),
}

impl HmacSm3 {
    /// Keyed with `key` (any length; keys over 64 bytes are hashed first).
    pub fn new(key: &[u8]) -> Self {
        let _ = key;
        todo!()
    }
    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }
    /// The tag.
    pub fn finalize(self) -> [u8; DIGEST_LEN] {
        todo!()
    }
    /// Constant-time check of `tag` (full 32 bytes) against the tag.
    pub fn verify(self, tag: &[u8]) -> bool {
        let _ = tag;
        todo!()
    }
}

/// One-shot HMAC-SM3.
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = HmacSm3::new(key);
    h.update(data);
    h.finalize()
}
