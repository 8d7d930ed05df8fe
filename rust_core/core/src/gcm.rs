//! SM4-GCM (NIST SP 800-38D with SM4 as the block cipher; named by RFC 8998).
//! Used to wrap private keys and secrets at rest.
//! OWNER: symmetric helper. Contract below is fixed; fill in bodies.

use crate::error::Result;

/// Tag length in bytes (always the full 16).
pub const TAG_LEN: usize = 16;

/// Encrypts `plaintext` under a 16-byte `key` with `nonce` (12 bytes
/// recommended; any length 1..=64 accepted per SP 800-38D) and `aad`.
/// Returns `ciphertext ‖ tag`. Wrong key or nonce length → `Error::Malformed`.
pub fn sm4_gcm_encrypt(key: &[u8], nonce: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let _ = (key, nonce, plaintext, aad);
    todo!()
}

/// Decrypts `ciphertext ‖ tag`. Tag mismatch → `Error::InvalidTag` (checked
/// in constant time before any plaintext is released); wrong key/nonce
/// length or input shorter than the tag → `Error::Malformed`.
pub fn sm4_gcm_decrypt(key: &[u8], nonce: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let _ = (key, nonce, sealed, aad);
    todo!()
}
