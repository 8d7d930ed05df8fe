//! SM2 keys: import/export, Z_A, kid, sign and verify entry points.
//! OWNER: SM2 helper. Contract below is fixed; fill in bodies.

use super::signature::Signature;
use crate::error::Result;
use zeroize::Zeroizing;

/// A validated SM2 public key: on the curve, not the point at infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    // Affine coordinates as big-endian bytes; the SM2 helper may change the
    // representation (e.g. to a field-element point).
    x: [u8; 32],
    y: [u8; 32],
}

impl PublicKey {
    /// SEC1: 65-byte uncompressed or 33-byte compressed.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self> {
        let _ = bytes;
        todo!()
    }
    /// SubjectPublicKeyInfo DER (id-ecPublicKey, sm2p256v1).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let _ = der;
        todo!()
    }
    /// SEC1 (65 or 33 bytes) or SPKI DER, told apart by length and first byte.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let _ = bytes;
        todo!()
    }
    /// PEM `PUBLIC KEY`.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let _ = pem;
        todo!()
    }
    /// SEC1 encoding.
    pub fn to_sec1(&self, compressed: bool) -> Vec<u8> {
        let _ = compressed;
        todo!()
    }
    /// 65-byte uncompressed SEC1.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        todo!()
    }
    /// SPKI DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        todo!()
    }
    /// SPKI PEM.
    pub fn to_pem(&self) -> String {
        todo!()
    }
    /// formats.md: first 8 bytes of SM3(65-byte uncompressed key).
    pub fn kid(&self) -> [u8; 8] {
        todo!()
    }
    /// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ xA ‖ yA). ID over
    /// `MAX_UID_LEN` bytes → `Error::Malformed`.
    pub fn za(&self, uid: &[u8]) -> Result<[u8; 32]> {
        let _ = uid;
        todo!()
    }
    /// e = SM3(Z_A ‖ M).
    pub fn message_digest(&self, message: &[u8], uid: &[u8]) -> Result<[u8; 32]> {
        let _ = (message, uid);
        todo!()
    }
    /// Verifies `signature` over `message` with signer ID `uid`.
    /// `Error::InvalidSignature` when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &Signature, uid: &[u8]) -> Result<()> {
        let _ = (message, signature, uid);
        todo!()
    }
    /// Verifies `signature` over a precomputed digest `e`.
    pub fn verify_digest(&self, e: &[u8; 32], signature: &Signature) -> Result<()> {
        let _ = (e, signature);
        todo!()
    }
}

/// An SM2 private key `d ∈ [1, n−2]`. Wiped on drop; `Debug` shows no secret.
#[derive(Clone)]
pub struct PrivateKey {
    d: Zeroizing<[u8; 32]>,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("public", &self.public).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        todo!()
    }
    /// 32-byte big-endian scalar in `[1, n−2]`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let _ = bytes;
        todo!()
    }
    /// PKCS#8 or SEC1 DER (told apart by structure).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let _ = der;
        todo!()
    }
    /// PEM `PRIVATE KEY` or `EC PRIVATE KEY`.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let _ = pem;
        todo!()
    }
    /// The 32-byte scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.d.clone()
    }
    /// PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        todo!()
    }
    /// SEC1 ECPrivateKey DER.
    pub fn to_sec1_der(&self) -> Zeroizing<Vec<u8>> {
        todo!()
    }
    /// PKCS#8 PEM.
    pub fn to_pem(&self) -> Zeroizing<String> {
        todo!()
    }
    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
    /// Signs `message` with signer ID `uid` (constant-time in `d` and the
    /// nonce; nonce per RFC 6979 with HMAC-SM3, hedged with OS randomness).
    pub fn sign(&self, message: &[u8], uid: &[u8]) -> Result<Signature> {
        let _ = (message, uid);
        todo!()
    }
    /// Signs a precomputed digest `e`.
    pub fn sign_digest(&self, e: &[u8; 32]) -> Result<Signature> {
        let _ = e;
        todo!()
    }
    /// Hazmat, for known-answer tests only: signs `e` with the given nonce
    /// `k`. `Error::Malformed` if `k` is out of range or yields r = 0,
    /// r + k = n or s = 0.
    pub fn sign_digest_with_nonce(&self, e: &[u8; 32], k: &[u8; 32]) -> Result<Signature> {
        let _ = (e, k);
        todo!()
    }
}
