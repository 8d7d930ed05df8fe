//! The QR token (亮证码) of `formats.md` §QR token: a 104-byte signed
//! binary token carried as 139 characters of base64url without padding.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version = `0x01` |
//! | 1 | 1 | flags: bit 0 = holder consents to full disclosure; other bits must be 0 |
//! | 2 | 8 | kid of the platform QR key |
//! | 10 | 16 | licence reference: first 16 bytes of SM3(licence id, UTF-8) |
//! | 26 | 4 | issued-at, unix seconds, big-endian |
//! | 30 | 2 | lifetime in seconds, big-endian, 1..=3600 |
//! | 32 | 8 | random nonce |
//! | 40 | 64 | SM2 signature, raw `r ‖ s`, over bytes 0–39 with the default ID |
//!
//! Decoding is strict: exactly 139 characters of the URL-safe alphabet, no
//! padding, the unused low bits of the last character zero (so every token
//! has exactly one text form), exactly 104 bytes, version 1, no unknown flag
//! bits, lifetime in 1..=3600. Signature verification and the time window
//! `issued_at − 30 ≤ now < issued_at + lifetime` are separate steps
//! ([`Token::verify`], [`Token::check_time`]) with `now` passed in: this
//! module reads no clock.

use crate::sm2::{PrivateKey, Signature, Verifier, DEFAULT_UID};
use crate::sm3::sm3;
use crate::{Error, Result};

/// The only version defined.
pub const VERSION: u8 = 0x01;
/// Flag bit 0: the holder consents to full (unmasked) disclosure to an
/// authorised partner.
pub const FLAG_CONSENT: u8 = 0x01;
/// Every flag bit this version defines; any other bit set is malformed.
pub const KNOWN_FLAGS: u8 = FLAG_CONSENT;
/// Bytes 0–39: the signed part.
pub const SIGNED_LEN: usize = 40;
/// The binary token: signed part ‖ 64-byte raw signature.
pub const TOKEN_LEN: usize = SIGNED_LEN + 64;
/// The text token: base64url of 104 bytes without padding.
pub const TEXT_LEN: usize = 139;
/// Largest lifetime a token may carry, in seconds.
pub const MAX_LIFETIME: u16 = 3600;
/// Default lifetime the platform issues, in seconds.
pub const DEFAULT_LIFETIME: u16 = 180;
/// Scanner clock skew tolerated before `issued_at`, in seconds.
pub const CLOCK_SKEW: u64 = 30;

/// The licence reference of a licence id: the first 16 bytes of SM3 of its
/// UTF-8 bytes.
pub fn licence_ref(licence_id: &[u8]) -> [u8; 16] {
    array(&sm3(licence_id)[..16])
}

/// The fields of bytes 0–39.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claims {
    /// Flag bits; only [`KNOWN_FLAGS`] may be set.
    pub flags: u8,
    /// Key id of the platform QR key that signs.
    pub kid: [u8; 8],
    /// See [`licence_ref`].
    pub licence_ref: [u8; 16],
    /// Unix seconds.
    pub issued_at: u32,
    /// Seconds, 1..=[`MAX_LIFETIME`].
    pub lifetime: u16,
    /// Random bytes chosen by the issuer.
    pub nonce: [u8; 8],
}

impl Claims {
    /// Checks the field ranges a token must respect.
    fn check(&self) -> Result<()> {
        if self.flags & !KNOWN_FLAGS != 0 {
            return Err(Error::malformed(format!(
                "QR token: unknown flag bits {:#04x}",
                self.flags & !KNOWN_FLAGS
            )));
        }
        if self.lifetime == 0 || self.lifetime > MAX_LIFETIME {
            return Err(Error::malformed(format!(
                "QR token: lifetime {} s outside 1..={MAX_LIFETIME}",
                self.lifetime
            )));
        }
        Ok(())
    }

    /// Whether the holder consented to full disclosure.
    pub fn consent(&self) -> bool {
        self.flags & FLAG_CONSENT != 0
    }

    /// Bytes 0–39 (after checking the field ranges).
    pub fn to_signed_bytes(&self) -> Result<[u8; SIGNED_LEN]> {
        self.check()?;
        let mut out = [0u8; SIGNED_LEN];
        out[0] = VERSION;
        out[1] = self.flags;
        out[2..10].copy_from_slice(&self.kid);
        out[10..26].copy_from_slice(&self.licence_ref);
        out[26..30].copy_from_slice(&self.issued_at.to_be_bytes());
        out[30..32].copy_from_slice(&self.lifetime.to_be_bytes());
        out[32..40].copy_from_slice(&self.nonce);
        Ok(out)
    }

    /// Signs with `key` (default ID) and returns the 104-byte token. The
    /// `kid` field must be the key's kid.
    pub fn sign(&self, key: &PrivateKey) -> Result<[u8; TOKEN_LEN]> {
        if self.kid != key.public_key().kid() {
            return Err(Error::malformed(
                "QR token: kid does not match the signing key",
            ));
        }
        let signed = self.to_signed_bytes()?;
        let signature = key.sign(&signed, DEFAULT_UID)?;
        let mut out = [0u8; TOKEN_LEN];
        out[..SIGNED_LEN].copy_from_slice(&signed);
        out[SIGNED_LEN..].copy_from_slice(&signature.to_raw());
        Ok(out)
    }
}

/// A parsed (not yet verified) token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Bytes 0–39 as parsed.
    pub claims: Claims,
    signed: [u8; SIGNED_LEN],
    signature: [u8; 64],
}

impl Token {
    /// Strict parse of the 104 binary bytes (no signature check).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bytes: &[u8; TOKEN_LEN] = bytes.try_into().map_err(|_| {
            Error::malformed(format!(
                "QR token: {} bytes, expected {TOKEN_LEN}",
                bytes.len()
            ))
        })?;
        if bytes[0] != VERSION {
            return Err(Error::malformed(format!(
                "QR token: unsupported version {:#04x}",
                bytes[0]
            )));
        }
        let claims = Claims {
            flags: bytes[1],
            kid: array(&bytes[2..10]),
            licence_ref: array(&bytes[10..26]),
            issued_at: u32::from_be_bytes(array(&bytes[26..30])),
            lifetime: u16::from_be_bytes(array(&bytes[30..32])),
            nonce: array(&bytes[32..40]),
        };
        claims.check()?;
        Ok(Token {
            claims,
            signed: array(&bytes[..SIGNED_LEN]),
            signature: array(&bytes[SIGNED_LEN..]),
        })
    }

    /// Strict parse of the 139-character text form.
    pub fn decode(text: &[u8]) -> Result<Self> {
        if text.len() != TEXT_LEN {
            return Err(Error::malformed(format!(
                "QR token: {} characters, expected {TEXT_LEN}",
                text.len()
            )));
        }
        Token::parse(&base64url_decode(text)?)
    }

    /// The 104 bytes.
    pub fn to_bytes(&self) -> [u8; TOKEN_LEN] {
        let mut out = [0u8; TOKEN_LEN];
        out[..SIGNED_LEN].copy_from_slice(&self.signed);
        out[SIGNED_LEN..].copy_from_slice(&self.signature);
        out
    }

    /// The raw `r ‖ s` signature (bytes 40–103).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Verifies the signature with `verifier`, which must have been built
    /// for the platform QR key with [`DEFAULT_UID`]. The token's kid must be
    /// the verifier key's kid (a token of another key fails as
    /// [`Error::InvalidSignature`], like a tampered one).
    pub fn verify(&self, verifier: &Verifier) -> Result<()> {
        if self.claims.kid != verifier.public_key().kid() {
            return Err(Error::InvalidSignature);
        }
        let signature = Signature::from_raw(&self.signature)?;
        verifier.verify(&self.signed, &signature)
    }

    /// The time window: accepted when
    /// `issued_at − CLOCK_SKEW ≤ now < issued_at + lifetime`.
    pub fn check_time(&self, now: u64) -> Result<()> {
        let issued_at = u64::from(self.claims.issued_at);
        // `issued_at − skew` saturates at 0; `issued_at + lifetime` < 2^33.
        if now < issued_at.saturating_sub(CLOCK_SKEW) {
            return Err(Error::TokenNotYetValid);
        }
        if now >= issued_at + u64::from(self.claims.lifetime) {
            return Err(Error::TokenExpired);
        }
        Ok(())
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url (RFC 4648 §5) without padding.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
        // A chunk of k bytes gives k + 1 characters.
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Strict base64url without padding: only the URL-safe alphabet, no `=`,
/// no whitespace, a length that is not 1 mod 4, and zero unused bits in the
/// last character (the canonical encoding; anything else is rejected).
pub fn base64url_decode(text: &[u8]) -> Result<Vec<u8>> {
    if text.len() % 4 == 1 {
        return Err(Error::malformed("base64url: impossible length"));
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = sextet(c).ok_or_else(|| {
                Error::malformed(format!("base64url: invalid character at offset {i}"))
            })?;
            n |= v << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        let bytes = n.to_be_bytes();
        // `n` holds 24 bits in bytes[1..4]; the unused tail must be zero.
        let used = &bytes[1..1 + produced];
        let unused_mask: u32 = match produced {
            1 => 0xffff,
            2 => 0xff,
            _ => 0,
        };
        if n & unused_mask != 0 {
            return Err(Error::malformed("base64url: non-canonical trailing bits"));
        }
        out.extend_from_slice(used);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(key: &PrivateKey) -> Claims {
        Claims {
            flags: FLAG_CONSENT,
            kid: key.public_key().kid(),
            licence_ref: licence_ref("L-0001".as_bytes()),
            issued_at: 1_700_000_000,
            lifetime: DEFAULT_LIFETIME,
            nonce: [7; 8],
        }
    }

    #[test]
    fn base64url_round_trip_every_length() {
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url_encode(&data);
            assert_eq!(base64url_decode(text.as_bytes()).unwrap(), data);
        }
    }

    #[test]
    fn base64url_rejects_non_canonical() {
        // "AB" decodes one byte; B = 1 sets an unused bit.
        assert!(base64url_decode(b"AB").is_err());
        assert_eq!(base64url_decode(b"AA").unwrap(), vec![0]);
        assert!(base64url_decode(b"AAB").is_err());
        assert!(base64url_decode(b"A").is_err());
        assert!(base64url_decode(b"AA==").is_err());
        assert!(base64url_decode(b"A+/A").is_err());
    }

    #[test]
    fn token_round_trip_and_verify() {
        let key = PrivateKey::generate().unwrap();
        let c = claims(&key);
        let bytes = c.sign(&key).unwrap();
        let text = base64url_encode(&bytes);
        assert_eq!(text.len(), TEXT_LEN);
        let token = Token::decode(text.as_bytes()).unwrap();
        assert_eq!(token.claims, c);
        assert_eq!(token.to_bytes(), bytes);
        let verifier = Verifier::new(*key.public_key(), DEFAULT_UID).unwrap();
        token.verify(&verifier).unwrap();
        let other = PrivateKey::generate().unwrap();
        let verifier = Verifier::new(*other.public_key(), DEFAULT_UID).unwrap();
        assert_eq!(token.verify(&verifier), Err(Error::InvalidSignature));
    }

    #[test]
    fn time_window_edges() {
        let key = PrivateKey::generate().unwrap();
        let token = Token::parse(&claims(&key).sign(&key).unwrap()).unwrap();
        let t = 1_700_000_000u64;
        assert_eq!(token.check_time(t - 31), Err(Error::TokenNotYetValid));
        token.check_time(t - 30).unwrap();
        token.check_time(t + 179).unwrap();
        assert_eq!(token.check_time(t + 180), Err(Error::TokenExpired));
        assert_eq!(token.check_time(u64::MAX), Err(Error::TokenExpired));
        assert_eq!(token.check_time(0), Err(Error::TokenNotYetValid));
    }
}
