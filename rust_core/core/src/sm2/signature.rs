//! SM2 signature values.
//! OWNER: SM2 helper. Contract below is fixed; fill in bodies.

use crate::der;
use crate::error::{Error, Result};

/// An SM2 signature `(r, s)`, 32-byte big-endian each. Construction checks
/// encoding only; the range `r, s ∈ [1, n−1]` is a verification step
/// (GB/T 32918.2 §7.1 B1, B2) and yields `Error::InvalidSignature`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    r: [u8; 32],
    s: [u8; 32],
}

impl Signature {
    /// From 32-byte big-endian `r` and `s`.
    pub fn from_scalars(r: [u8; 32], s: [u8; 32]) -> Self {
        Signature { r, s }
    }
    /// Strict DER (see `der::decode_signature`).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let (r, s) = der::decode_signature(der)?;
        Ok(Signature { r, s })
    }
    /// Raw 64-byte `r ‖ s`.
    pub fn from_raw(raw: &[u8]) -> Result<Self> {
        if raw.len() != 64 {
            return Err(Error::malformed(format!(
                "raw SM2 signature must be 64 bytes (r ‖ s), got {}",
                raw.len()
            )));
        }
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&raw[..32]);
        s.copy_from_slice(&raw[32..]);
        Ok(Signature { r, s })
    }
    /// Strict DER if it parses as such, otherwise raw `r ‖ s` if 64 bytes,
    /// otherwise `Error::Malformed`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match Self::from_der(bytes) {
            Ok(sig) => Ok(sig),
            Err(_) if bytes.len() == 64 => Self::from_raw(bytes),
            Err(_) => Err(Error::malformed(format!(
                "SM2 signature is neither strict DER nor 64-byte raw r ‖ s ({} bytes)",
                bytes.len()
            ))),
        }
    }
    /// `r`, big-endian.
    pub fn r(&self) -> &[u8; 32] {
        &self.r
    }
    /// `s`, big-endian.
    pub fn s(&self) -> &[u8; 32] {
        &self.s
    }
    /// Strict DER encoding (the canonical output).
    pub fn to_der(&self) -> Vec<u8> {
        der::encode_signature(&self.r, &self.s)
    }
    /// Raw `r ‖ s`.
    pub fn to_raw(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }
}
