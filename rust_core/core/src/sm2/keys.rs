//! SM2 keys: import/export, Z_A, kid, sign and verify entry points.
//! OWNER: SM2 helper. Contract below is fixed; fill in bodies.

use super::field::FieldElement;
use super::point::{AffinePoint, JacobianPoint, A_BYTES, B_BYTES, GX_BYTES, GY_BYTES};
use super::scalar::Scalar;
use super::signature::Signature;
use super::{sign, verify, MAX_UID_LEN};
use crate::error::{Error, Result};
use crate::sm3::{sm3, sm3_parts, Sm3};
use crate::{der, pem};
use subtle::Choice;
use zeroize::{Zeroize, Zeroizing};

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
        let point = match (bytes.len(), bytes.first()) {
            (65, Some(0x04)) => {
                let x = coordinate(&bytes[1..33])?;
                let y = coordinate(&bytes[33..65])?;
                Option::<AffinePoint>::from(AffinePoint::from_coordinates(x, y))
                    .ok_or_else(|| Error::malformed("SM2 public key: point is not on the curve"))?
            }
            (33, Some(&prefix @ (0x02 | 0x03))) => {
                let x = coordinate(&bytes[1..33])?;
                let odd = Choice::from(prefix & 1);
                Option::<AffinePoint>::from(AffinePoint::decompress(&x, odd)).ok_or_else(|| {
                    Error::malformed("SM2 public key: compressed x is not on the curve")
                })?
            }
            (1, Some(0x00)) => {
                return Err(Error::malformed(
                    "SM2 public key: the point at infinity is not a key",
                ))
            }
            _ => {
                return Err(Error::malformed(format!(
                    "SM2 public key: SEC1 must be 65 bytes 04‖x‖y or 33 bytes 02/03‖x \
                     (got {} bytes)",
                    bytes.len()
                )))
            }
        };
        Ok(Self::from_affine(&point))
    }
    /// SubjectPublicKeyInfo DER (id-ecPublicKey, sm2p256v1).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let point = der::decode_spki(der)?;
        Self::from_sec1(&point)
    }
    /// SEC1 (65 or 33 bytes) or SPKI DER, told apart by length and first byte.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match (bytes.len(), bytes.first()) {
            (65, Some(0x04)) | (33, Some(0x02 | 0x03)) => Self::from_sec1(bytes),
            (_, Some(0x30)) => Self::from_spki_der(bytes),
            _ => Err(Error::malformed(format!(
                "SM2 public key: neither SEC1 (65/33 bytes) nor SPKI DER ({} bytes)",
                bytes.len()
            ))),
        }
    }
    /// PEM `PUBLIC KEY`.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let (label, der) = pem::decode(pem)?;
        if label != "PUBLIC KEY" {
            return Err(Error::malformed(format!(
                "expected PEM label PUBLIC KEY, got {label}"
            )));
        }
        Self::from_spki_der(&der)
    }
    /// SEC1 encoding.
    pub fn to_sec1(&self, compressed: bool) -> Vec<u8> {
        if compressed {
            let mut out = Vec::with_capacity(33);
            out.push(0x02 | (self.y[31] & 1));
            out.extend_from_slice(&self.x);
            out
        } else {
            self.to_uncompressed().to_vec()
        }
    }
    /// 65-byte uncompressed SEC1.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[0] = 0x04;
        out[1..33].copy_from_slice(&self.x);
        out[33..].copy_from_slice(&self.y);
        out
    }
    /// SPKI DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        der::encode_spki(&self.to_uncompressed())
    }
    /// SPKI PEM.
    pub fn to_pem(&self) -> String {
        let pem = pem::encode("PUBLIC KEY", &self.to_spki_der());
        String::from(pem.as_str())
    }
    /// formats.md: first 8 bytes of SM3(65-byte uncompressed key).
    pub fn kid(&self) -> [u8; 8] {
        let digest = sm3(&self.to_uncompressed());
        let mut kid = [0u8; 8];
        kid.copy_from_slice(&digest[..8]);
        kid
    }
    /// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ xA ‖ yA). ID over
    /// `MAX_UID_LEN` bytes → `Error::Malformed`.
    pub fn za(&self, uid: &[u8]) -> Result<[u8; 32]> {
        if uid.len() > MAX_UID_LEN {
            return Err(Error::malformed(format!(
                "SM2 signer ID is {} bytes; at most {MAX_UID_LEN} allowed",
                uid.len()
            )));
        }
        // ENTL: the ID length in bits, 16-bit big-endian.
        let entl = ((uid.len() * 8) as u16).to_be_bytes();
        Ok(sm3_parts(&[
            &entl, uid, &A_BYTES, &B_BYTES, &GX_BYTES, &GY_BYTES, &self.x, &self.y,
        ]))
    }
    /// e = SM3(Z_A ‖ M).
    pub fn message_digest(&self, message: &[u8], uid: &[u8]) -> Result<[u8; 32]> {
        let za = self.za(uid)?;
        let mut h = Sm3::new();
        h.update(&za);
        h.update(message);
        Ok(h.finalize())
    }
    /// Verifies `signature` over `message` with signer ID `uid`.
    /// `Error::InvalidSignature` when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &Signature, uid: &[u8]) -> Result<()> {
        let e = self.message_digest(message, uid)?;
        self.verify_digest(&e, signature)
    }
    /// Verifies `signature` over a precomputed digest `e`.
    pub fn verify_digest(&self, e: &[u8; 32], signature: &Signature) -> Result<()> {
        let q = self.point();
        verify::verify_prehashed(e, signature, |s, t| {
            JacobianPoint::double_mul_base_vartime(s, t, &q)
        })
    }

    /// The key as a curve point (coordinates were validated on import).
    pub(crate) fn point(&self) -> AffinePoint {
        let x = Option::<FieldElement>::from(FieldElement::from_bytes(&self.x));
        let y = Option::<FieldElement>::from(FieldElement::from_bytes(&self.y));
        match (x, y) {
            (Some(x), Some(y)) => AffinePoint::from_coordinates(x, y).unwrap(),
            _ => unreachable!("PublicKey holds validated coordinates"),
        }
    }

    /// From a point known to be on the curve.
    pub(crate) fn from_affine(point: &AffinePoint) -> Self {
        PublicKey {
            x: point.x().to_bytes(),
            y: point.y().to_bytes(),
        }
    }
}

/// A 32-byte big-endian coordinate, `< p`.
fn coordinate(bytes: &[u8]) -> Result<FieldElement> {
    FieldElement::from_slice(bytes)
        .ok_or_else(|| Error::malformed("SM2 public key: coordinate is not below p"))
}

/// An SM2 private key `d ∈ [1, n−2]`. Wiped on drop; `Debug` shows no secret.
#[derive(Clone)]
pub struct PrivateKey {
    d: Zeroizing<[u8; 32]>,
    public: PublicKey,
    /// `d` as a scalar (Montgomery form).
    scalar: Zeroizing<Scalar>,
    /// `(1 + d)⁻¹ mod n`, computed once per key for signing.
    d_plus_1_inv: Zeroizing<Scalar>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        let mut buf = Zeroizing::new([0u8; 32]);
        loop {
            getrandom::fill(&mut buf[..])
                .map_err(|e| Error::malformed(format!("OS random number generator failed: {e}")))?;
            // Rejection sampling: a draw outside [1, n−2] (probability
            // about 2^-32) is simply redrawn.
            if let Ok(key) = Self::from_bytes(&buf[..]) {
                return Ok(key);
            }
        }
    }
    /// 32-byte big-endian scalar in `[1, n−2]`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| {
            Error::malformed(format!(
                "SM2 private key must be 32 bytes, got {}",
                bytes.len()
            ))
        })?;
        let scalar = Zeroizing::new(
            Option::<Scalar>::from(Scalar::from_bytes(bytes))
                .ok_or_else(|| Error::malformed("SM2 private key is not in [1, n−2]"))?,
        );
        let d_plus_1 = Zeroizing::new(scalar.add(&Scalar::ONE));
        // d = 0 or d = n − 1 (then 1 + d = 0 has no inverse).
        let d_plus_1_inv = Option::<Scalar>::from(d_plus_1.invert());
        let d_plus_1_inv = match d_plus_1_inv {
            Some(inv) if !bool::from(scalar.is_zero()) => Zeroizing::new(inv),
            _ => return Err(Error::malformed("SM2 private key is not in [1, n−2]")),
        };
        let mut point = JacobianPoint::mul_base(&scalar);
        let public = PublicKey::from_affine(&point.to_affine().unwrap());
        point.zeroize();
        Ok(PrivateKey {
            d: Zeroizing::new(*bytes),
            public,
            scalar,
            d_plus_1_inv,
        })
    }

    /// From decoded DER parts; checks an embedded public key against `d·G`.
    fn from_parts(parts: der::EcPrivateKeyParts) -> Result<Self> {
        let key = Self::from_bytes(&parts.scalar[..])?;
        if let Some(public) = parts.public {
            let embedded = PublicKey::from_sec1(&public)?;
            if embedded != key.public {
                return Err(Error::malformed(
                    "SM2 private key: embedded public key does not match the scalar",
                ));
            }
        }
        Ok(key)
    }
    /// PKCS#8 or SEC1 DER (told apart by structure).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        match der::decode_pkcs8(der) {
            Ok(parts) => Self::from_parts(parts),
            Err(pkcs8_err) => match der::decode_sec1_private(der) {
                Ok(parts) => Self::from_parts(parts),
                Err(sec1_err) => Err(Error::malformed(format!(
                    "SM2 private key is neither PKCS#8 ({pkcs8_err}) nor SEC1 ({sec1_err})"
                ))),
            },
        }
    }
    /// PEM `PRIVATE KEY` (PKCS#8), or SEC1 under `EC PRIVATE KEY` or
    /// `SM2 PRIVATE KEY` (the label OpenSSL 3.0 `openssl ec` writes).
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let (label, der) = pem::decode(pem)?;
        let parts = match label.as_str() {
            pem::LABEL_PRIVATE_KEY => der::decode_pkcs8(&der)?,
            pem::LABEL_EC_PRIVATE_KEY | pem::LABEL_SM2_PRIVATE_KEY => {
                der::decode_sec1_private(&der)?
            }
            other => {
                return Err(Error::malformed(format!(
                    "expected PEM label PRIVATE KEY, EC PRIVATE KEY or SM2 PRIVATE KEY, got {other}"
                )))
            }
        };
        Self::from_parts(parts)
    }
    /// The 32-byte scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.d.clone()
    }
    /// PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        der::encode_pkcs8(&self.d, &self.public.to_uncompressed())
    }
    /// SEC1 ECPrivateKey DER.
    pub fn to_sec1_der(&self) -> Zeroizing<Vec<u8>> {
        der::encode_sec1_private(&self.d, &self.public.to_uncompressed())
    }
    /// PKCS#8 PEM.
    pub fn to_pem(&self) -> Zeroizing<String> {
        pem::encode("PRIVATE KEY", &self.to_pkcs8_der())
    }
    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
    /// Signs `message` with signer ID `uid` (constant-time in `d` and the
    /// nonce; nonce per RFC 6979 with HMAC-SM3, hedged with OS randomness).
    pub fn sign(&self, message: &[u8], uid: &[u8]) -> Result<Signature> {
        let e = self.public.message_digest(message, uid)?;
        self.sign_digest(&e)
    }
    /// Signs a precomputed digest `e`.
    pub fn sign_digest(&self, e: &[u8; 32]) -> Result<Signature> {
        // Hedge (RFC 6979 §3.6): fresh OS randomness as additional data. If
        // the OS generator fails, the plain deterministic nonce of RFC 6979
        // is still safe, so sign without it rather than fail.
        let mut extra = Zeroizing::new([0u8; 32]);
        let extra: &[u8] = match getrandom::fill(&mut extra[..]) {
            Ok(()) => &extra[..],
            Err(_) => &[],
        };
        let (r, s) = sign::sign_digest(&self.d, &self.scalar, &self.d_plus_1_inv, e, extra);
        Ok(Signature::from_scalars(r, s))
    }
    /// Hazmat, for known-answer tests only: signs `e` with the given nonce
    /// `k`. `Error::Malformed` if `k` is out of range or yields r = 0,
    /// r + k = n or s = 0.
    pub fn sign_digest_with_nonce(&self, e: &[u8; 32], k: &[u8; 32]) -> Result<Signature> {
        let k = Zeroizing::new(
            Option::<Scalar>::from(Scalar::from_bytes(k))
                .filter(|k| !bool::from(k.is_zero()))
                .ok_or_else(|| Error::malformed("SM2 nonce k is not in [1, n−1]"))?,
        );
        match sign::sign_with_nonce(&self.scalar, &self.d_plus_1_inv, e, &k) {
            Ok((r, s)) => Ok(Signature::from_scalars(r, s)),
            Err(sign::Unusable::BadR) => {
                Err(Error::malformed("SM2 nonce k yields r = 0 or r + k = n"))
            }
            Err(sign::Unusable::ZeroS) => Err(Error::malformed("SM2 nonce k yields s = 0")),
        }
    }
}
