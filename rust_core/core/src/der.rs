//! Strict DER for the few structures the SM2 core exchanges: signatures
//! (GM/T 0009 `SEQUENCE { r INTEGER, s INTEGER }`), SubjectPublicKeyInfo,
//! PKCS#8 PrivateKeyInfo and SEC1 ECPrivateKey, all for curve sm2p256v1.
//! Strict: definite minimal lengths only, no trailing bytes, minimal
//! non-negative INTEGERs, nesting and sizes bounded. Lenient parsing of
//! real-world seals and certificates is a separate module (later issue).
//! OWNER: encodings helper. Contract below is fixed; fill in bodies.

use crate::error::Result;
use zeroize::Zeroizing;

/// OID 1.2.840.10045.2.1 id-ecPublicKey.
pub const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// OID 1.2.156.10197.1.301 sm2p256v1.
pub const OID_SM2_CURVE: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];

/// Decodes a strict-DER signature into 32-byte big-endian `r` and `s`.
/// Rejects (as `Error::Malformed`) BER lengths, trailing bytes, negative or
/// non-minimal INTEGERs, and magnitudes over 32 bytes. Range checks against
/// the group order are the caller's.
pub fn decode_signature(der: &[u8]) -> Result<([u8; 32], [u8; 32])> {
    let _ = der;
    todo!()
}

/// Encodes `r`, `s` (32-byte big-endian) as strict DER.
pub fn encode_signature(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    let _ = (r, s);
    todo!()
}

/// Returns the SEC1 point octets of an SM2 SubjectPublicKeyInfo (algorithm
/// id-ecPublicKey with namedCurve sm2p256v1). Point validity is the caller's.
pub fn decode_spki(der: &[u8]) -> Result<Vec<u8>> {
    let _ = der;
    todo!()
}

/// Encodes SEC1 point octets as an SM2 SubjectPublicKeyInfo.
pub fn encode_spki(point: &[u8]) -> Vec<u8> {
    let _ = point;
    todo!()
}

/// The parts of an EC private key structure.
#[derive(Debug)]
pub struct EcPrivateKeyParts {
    /// 32-byte big-endian scalar (range unchecked here).
    pub scalar: Zeroizing<[u8; 32]>,
    /// SEC1 public point octets if the structure carried them.
    pub public: Option<Vec<u8>>,
}

/// Decodes PKCS#8 PrivateKeyInfo (v1 or v2/OneAsymmetricKey) wrapping a
/// SEC1 ECPrivateKey for sm2p256v1.
pub fn decode_pkcs8(der: &[u8]) -> Result<EcPrivateKeyParts> {
    let _ = der;
    todo!()
}

/// Encodes PKCS#8 v1 PrivateKeyInfo (id-ecPublicKey, sm2p256v1) wrapping an
/// ECPrivateKey that carries the public point.
pub fn encode_pkcs8(scalar: &[u8; 32], public: &[u8]) -> Zeroizing<Vec<u8>> {
    let _ = (scalar, public);
    todo!()
}

/// Decodes a SEC1 ECPrivateKey (RFC 5915); if `[0]` parameters are present
/// they must name sm2p256v1.
pub fn decode_sec1_private(der: &[u8]) -> Result<EcPrivateKeyParts> {
    let _ = der;
    todo!()
}

/// Encodes a SEC1 ECPrivateKey with `[0]` sm2p256v1 and `[1]` public point.
pub fn encode_sec1_private(scalar: &[u8; 32], public: &[u8]) -> Zeroizing<Vec<u8>> {
    let _ = (scalar, public);
    todo!()
}
