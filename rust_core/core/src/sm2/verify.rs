//! Verification (variable-time: every input is public).
//! OWNER: SM2 helper. Contract below is fixed; fill in bodies.

use super::keys::PublicKey;
use super::signature::Signature;
use crate::error::Result;

/// A verifier for a recurring key: caches the validated point, Z_A for one
/// signer ID and (fast-SM2 issue) a precomputed table for the point.
#[derive(Clone, Debug)]
pub struct Verifier {
    key: PublicKey,
    za: [u8; 32],
}

impl Verifier {
    /// Builds a verifier for `key` and signer ID `uid`.
    pub fn new(key: PublicKey, uid: &[u8]) -> Result<Self> {
        let za = key.za(uid)?;
        Ok(Verifier { key, za })
    }
    /// The key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
    /// Verifies `signature` over `message` (with the cached Z_A).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let _ = (message, signature, &self.za);
        todo!()
    }
    /// Verifies over a precomputed digest.
    pub fn verify_digest(&self, e: &[u8; 32], signature: &Signature) -> Result<()> {
        self.key.verify_digest(e, signature)
    }
}

/// Verifies many `(public key bytes, message, signature bytes)` items with
/// the same signer ID, spread over all cores (rayon's global pool, created
/// lazily). Each result is true only if the item parsed and verified.
pub fn verify_batch(items: &[(&[u8], &[u8], &[u8])], uid: &[u8]) -> Vec<bool> {
    let _ = (items, uid);
    todo!()
}
