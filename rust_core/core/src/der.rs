//! Strict DER for the few structures the SM2 core exchanges: signatures
//! (GM/T 0009 `SEQUENCE { r INTEGER, s INTEGER }`), SubjectPublicKeyInfo,
//! PKCS#8 PrivateKeyInfo and SEC1 ECPrivateKey, all for curve sm2p256v1.
//! Strict: definite minimal lengths only, no trailing bytes, minimal
//! non-negative INTEGERs, nesting and sizes bounded. Lenient parsing of
//! real-world seals and certificates is a separate module (later issue).
//! OWNER: encodings helper. Contract below is fixed; fill in bodies.
//!
//! Decisions beyond the contract (each pinned by a test in
//! `tests/encodings.rs`):
//!
//! - SubjectPublicKeyInfo: only `AlgorithmIdentifier { id-ecPublicKey,
//!   namedCurve sm2p256v1 }` is accepted. Some producers put the curve OID
//!   1.2.156.10197.1.301 in the algorithm field instead; that form is
//!   rejected, because `formats.md` pins the accepted bytes for every
//!   implementation (the Python side must accept exactly the same) and
//!   OpenSSL 3.0 rejects it too. The lenient certificate parser may map it.
//! - ECPrivateKey `privateKey`: RFC 5915 fixes its length at 32 octets and
//!   OpenSSL 3.0 always writes 32 (zero-padded). Shorter strings (1..=31
//!   octets, as OpenSSL 1.0.x and old BouncyCastle wrote for scalars with
//!   leading zero bytes) are accepted and left-padded, as OpenSSL 3.0's own
//!   reader does; longer ones are rejected. Encoders always write 32.
//! - PKCS#8: version 0 (PrivateKeyInfo) or 1 (OneAsymmetricKey, RFC 5958);
//!   `attributes [0]` is allowed and ignored after a structural DER check;
//!   the v2 `publicKey [1]` is used when the inner ECPrivateKey carries no
//!   public key, and must equal it when both are present.
//! - Encoders match OpenSSL 3.0 byte for byte: PKCS#8 carries no `[0]`
//!   parameters inside the ECPrivateKey (the AlgorithmIdentifier has them),
//!   SEC1 carries both `[0]` and `[1]`.
//! - Only low tag numbers (single identifier octet) occur in these
//!   structures; the high-tag-number form is rejected.

use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// OID 1.2.840.10045.2.1 id-ecPublicKey.
pub const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// OID 1.2.156.10197.1.301 sm2p256v1.
pub const OID_SM2_CURVE: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];

/// Largest INTEGER magnitude or private-key octet string accepted, in bytes.
const SCALAR_LEN: usize = 32;
/// Most nesting levels the generic structural check descends (attributes).
const MAX_DEPTH: usize = 16;
/// Most length octets in a long-form length (lengths up to 4 GiB − 1).
const MAX_LENGTH_OCTETS: usize = 4;

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// `[0]` constructed: ECPrivateKey parameters, PKCS#8 attributes.
const TAG_CONTEXT_0: u8 = 0xa0;
/// `[1]` constructed: ECPrivateKey publicKey (EXPLICIT BIT STRING).
const TAG_CONTEXT_1: u8 = 0xa1;
/// `[1]` primitive: OneAsymmetricKey publicKey (IMPLICIT BIT STRING).
const TAG_CONTEXT_1_PRIMITIVE: u8 = 0x81;
/// The constructed bit of an identifier octet.
const CONSTRUCTED: u8 = 0x20;

fn malformed(msg: impl Into<String>) -> Error {
    Error::malformed(format!("DER: {}", msg.into()))
}

/// A cursor over DER input that hands out one TLV at a time. Every read
/// checks lengths against the remaining input; nothing here indexes out of
/// bounds or does unchecked arithmetic, whatever the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    /// Whether all input has been consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Reads one TLV of any tag: returns the identifier octet and contents.
    pub(crate) fn read_any(&mut self) -> Result<(u8, &'a [u8])> {
        let (&tag, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| malformed("unexpected end of input (tag)"))?;
        if tag & 0x1f == 0x1f {
            return Err(malformed("high-tag-number form not supported"));
        }
        let (&first, rest) = rest
            .split_first()
            .ok_or_else(|| malformed("unexpected end of input (length)"))?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else if first == 0x80 {
            return Err(malformed("indefinite length (BER) not allowed"));
        } else {
            let count = usize::from(first & 0x7f);
            if count > MAX_LENGTH_OCTETS {
                return Err(malformed("length field too large"));
            }
            if rest.len() < count {
                return Err(malformed("unexpected end of input (long-form length)"));
            }
            let (octets, rest) = rest.split_at(count);
            if octets.first() == Some(&0) {
                return Err(malformed("non-minimal length (leading zero octet)"));
            }
            let mut len: usize = 0;
            for &b in octets {
                len = len
                    .checked_mul(256)
                    .and_then(|l| l.checked_add(usize::from(b)))
                    .ok_or_else(|| malformed("length overflows"))?;
            }
            if len < 0x80 {
                return Err(malformed(
                    "long-form length where short form suffices (BER)",
                ));
            }
            (len, rest)
        };
        if len > rest.len() {
            return Err(malformed("length exceeds remaining input"));
        }
        let (contents, rest) = rest.split_at(len);
        self.rest = rest;
        Ok((tag, contents))
    }

    /// Reads one TLV that must carry `tag`; `what` names it in errors.
    pub(crate) fn read(&mut self, tag: u8, what: &str) -> Result<&'a [u8]> {
        let (found, contents) = self.read_any()?;
        if found != tag {
            return Err(malformed(format!(
                "{what}: expected tag {tag:#04x}, found {found:#04x}"
            )));
        }
        Ok(contents)
    }

    /// Reads a TLV with `tag` if the next identifier octet is `tag`.
    pub(crate) fn read_optional(&mut self, tag: u8, what: &str) -> Result<Option<&'a [u8]>> {
        if self.rest.first() == Some(&tag) {
            self.read(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless all input has been consumed.
    pub(crate) fn finish(&self, what: &str) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed(format!("trailing bytes after {what}")))
        }
    }
}

/// Parses `input` as exactly one TLV with `tag` and returns its contents.
fn read_single<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<&'a [u8]> {
    let mut reader = Reader::new(input);
    let contents = reader.read(tag, what)?;
    reader.finish(what)?;
    Ok(contents)
}

/// Checks that `contents` is a sequence of well-formed DER TLVs, descending
/// into constructed ones, at most `MAX_DEPTH` levels deep. Used for fields
/// that are allowed but ignored, so they cannot smuggle BER.
fn check_structure(contents: &[u8], depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(malformed("nesting too deep"));
    }
    let mut reader = Reader::new(contents);
    while !reader.is_empty() {
        let (tag, inner) = reader.read_any()?;
        if tag & CONSTRUCTED != 0 {
            check_structure(inner, depth.saturating_add(1))?;
        }
    }
    Ok(())
}

/// The magnitude of a non-negative, minimally encoded INTEGER (contents
/// octets), without the sign-padding zero. Zero yields an empty slice.
fn uint_magnitude<'a>(contents: &'a [u8], what: &str) -> Result<&'a [u8]> {
    match contents {
        [] => Err(malformed(format!("{what}: zero-length INTEGER"))),
        [first, ..] if first & 0x80 != 0 => Err(malformed(format!("{what}: negative INTEGER"))),
        [0, next, ..] if next & 0x80 == 0 => Err(malformed(format!(
            "{what}: non-minimal INTEGER (superfluous leading zero)"
        ))),
        [0, magnitude @ ..] => Ok(magnitude),
        _ => Ok(contents),
    }
}

/// Left-pads `bytes` (at most 32) into a 32-byte big-endian array.
fn left_pad_32(bytes: &[u8], out: &mut [u8; SCALAR_LEN]) -> Result<()> {
    let start = SCALAR_LEN
        .checked_sub(bytes.len())
        .ok_or_else(|| malformed("value longer than 32 bytes"))?;
    let tail = out
        .get_mut(start..)
        .ok_or_else(|| malformed("value longer than 32 bytes"))?;
    tail.copy_from_slice(bytes);
    Ok(())
}

/// Reads an INTEGER whose value fits 32 bytes, as 32-byte big-endian.
fn read_uint32(reader: &mut Reader<'_>, what: &str) -> Result<[u8; SCALAR_LEN]> {
    let magnitude = uint_magnitude(reader.read(TAG_INTEGER, what)?, what)?;
    if magnitude.len() > SCALAR_LEN {
        return Err(malformed(format!("{what}: INTEGER larger than 32 bytes")));
    }
    let mut out = [0u8; SCALAR_LEN];
    left_pad_32(magnitude, &mut out)?;
    Ok(out)
}

/// Reads a small non-negative INTEGER such as a version number.
fn read_small_uint(reader: &mut Reader<'_>, what: &str) -> Result<u8> {
    match uint_magnitude(reader.read(TAG_INTEGER, what)?, what)? {
        [] => Ok(0),
        [v] => Ok(*v),
        _ => Err(malformed(format!("{what}: unsupported value"))),
    }
}

/// The octets of a BIT STRING with zero unused bits (contents octets in).
fn bit_string_octets<'a>(contents: &'a [u8], what: &str) -> Result<&'a [u8]> {
    match contents.split_first() {
        None => Err(malformed(format!("{what}: empty BIT STRING"))),
        Some((&0, [])) => Err(malformed(format!("{what}: BIT STRING carries no octets"))),
        Some((&0, octets)) => Ok(octets),
        Some(_) => Err(malformed(format!("{what}: BIT STRING has unused bits"))),
    }
}

/// Checks an `AlgorithmIdentifier` (contents octets) is exactly
/// `{ id-ecPublicKey, namedCurve sm2p256v1 }`.
fn check_sm2_algorithm(contents: &[u8]) -> Result<()> {
    let mut reader = Reader::new(contents);
    let algorithm = reader.read(TAG_OID, "AlgorithmIdentifier algorithm")?;
    if algorithm != OID_EC_PUBLIC_KEY {
        return Err(malformed("algorithm is not id-ecPublicKey"));
    }
    let curve = reader.read(TAG_OID, "AlgorithmIdentifier namedCurve")?;
    if curve != OID_SM2_CURVE {
        return Err(malformed("curve is not sm2p256v1"));
    }
    reader.finish("AlgorithmIdentifier")
}

// ---------------------------------------------------------------------------
// Encoding helpers. Sizes are computed first so that buffers holding secrets
// are allocated once at their exact size and never reallocated (a
// reallocation would leave an unwiped copy behind). The sums cannot
// overflow: every operand is bounded by the length of a slice in memory
// (at most isize::MAX) plus a few dozen header bytes.

/// Number of length octets (including the initial one) for `len`.
fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        let significant = usize::BITS - len.leading_zeros();
        1 + significant.div_ceil(8) as usize
    }
}

/// Total size of a TLV with `contents_len` contents octets.
fn tlv_len(contents_len: usize) -> usize {
    1 + length_len(contents_len) + contents_len
}

/// Appends an identifier octet and a minimal definite length.
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let octets = len.to_be_bytes();
        let skip = (len.leading_zeros() / 8) as usize;
        let significant = &octets[skip..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// The minimal INTEGER contents for a 32-byte big-endian non-negative value:
/// (whether a 0x00 sign octet precedes, magnitude without leading zeros).
fn uint_parts(value: &[u8; SCALAR_LEN]) -> (bool, &[u8]) {
    let zeros = value.iter().take_while(|&&b| b == 0).count();
    let magnitude = &value[zeros..];
    match magnitude.first() {
        None => (true, magnitude),
        Some(&b) => (b & 0x80 != 0, magnitude),
    }
}

fn uint_contents_len(parts: (bool, &[u8])) -> usize {
    usize::from(parts.0) + parts.1.len()
}

fn push_uint(out: &mut Vec<u8>, parts: (bool, &[u8])) {
    push_header(out, TAG_INTEGER, uint_contents_len(parts));
    if parts.0 {
        out.push(0);
    }
    out.extend_from_slice(parts.1);
}

/// Size of the contents of `AlgorithmIdentifier { id-ecPublicKey, sm2p256v1 }`.
fn algorithm_contents_len() -> usize {
    tlv_len(OID_EC_PUBLIC_KEY.len()) + tlv_len(OID_SM2_CURVE.len())
}

fn push_algorithm(out: &mut Vec<u8>) {
    push_header(out, TAG_SEQUENCE, algorithm_contents_len());
    push_header(out, TAG_OID, OID_EC_PUBLIC_KEY.len());
    out.extend_from_slice(OID_EC_PUBLIC_KEY);
    push_header(out, TAG_OID, OID_SM2_CURVE.len());
    out.extend_from_slice(OID_SM2_CURVE);
}

/// Contents length of an ECPrivateKey for a public point of `public_len`
/// octets (0 = no `[1]`), with or without `[0]` parameters.
fn ec_private_key_contents_len(public_len: usize, with_params: bool) -> usize {
    let mut len = tlv_len(1) + tlv_len(SCALAR_LEN);
    if with_params {
        len += tlv_len(tlv_len(OID_SM2_CURVE.len()));
    }
    if public_len > 0 {
        len += tlv_len(tlv_len(1 + public_len));
    }
    len
}

fn push_ec_private_key(out: &mut Vec<u8>, scalar: &[u8; 32], public: &[u8], with_params: bool) {
    push_header(
        out,
        TAG_SEQUENCE,
        ec_private_key_contents_len(public.len(), with_params),
    );
    out.extend_from_slice(&[TAG_INTEGER, 1, 1]);
    push_header(out, TAG_OCTET_STRING, SCALAR_LEN);
    out.extend_from_slice(scalar);
    if with_params {
        push_header(out, TAG_CONTEXT_0, tlv_len(OID_SM2_CURVE.len()));
        push_header(out, TAG_OID, OID_SM2_CURVE.len());
        out.extend_from_slice(OID_SM2_CURVE);
    }
    if !public.is_empty() {
        push_header(out, TAG_CONTEXT_1, tlv_len(1 + public.len()));
        push_header(out, TAG_BIT_STRING, 1 + public.len());
        out.push(0);
        out.extend_from_slice(public);
    }
}

/// Parses an ECPrivateKey (RFC 5915) that must be the whole of `der`.
fn parse_ec_private_key(der: &[u8]) -> Result<EcPrivateKeyParts> {
    let mut reader = Reader::new(read_single(der, TAG_SEQUENCE, "ECPrivateKey")?);
    if read_small_uint(&mut reader, "ECPrivateKey version")? != 1 {
        return Err(malformed("ECPrivateKey version must be 1"));
    }
    let key = reader.read(TAG_OCTET_STRING, "ECPrivateKey privateKey")?;
    if key.is_empty() || key.len() > SCALAR_LEN {
        return Err(malformed("ECPrivateKey privateKey must be 1 to 32 octets"));
    }
    let mut scalar = Zeroizing::new([0u8; SCALAR_LEN]);
    left_pad_32(key, &mut scalar)?;
    if let Some(params) = reader.read_optional(TAG_CONTEXT_0, "ECPrivateKey parameters")? {
        let curve = read_single(params, TAG_OID, "ECPrivateKey parameters")?;
        if curve != OID_SM2_CURVE {
            return Err(malformed(
                "ECPrivateKey parameters are not namedCurve sm2p256v1",
            ));
        }
    }
    let public = match reader.read_optional(TAG_CONTEXT_1, "ECPrivateKey publicKey")? {
        Some(explicit) => {
            let bits = read_single(explicit, TAG_BIT_STRING, "ECPrivateKey publicKey")?;
            Some(bit_string_octets(bits, "ECPrivateKey publicKey")?.to_vec())
        }
        None => None,
    };
    reader.finish("ECPrivateKey")?;
    Ok(EcPrivateKeyParts { scalar, public })
}

// ---------------------------------------------------------------------------
// Public contract.

/// Decodes a strict-DER signature into 32-byte big-endian `r` and `s`.
/// Rejects (as `Error::Malformed`) BER lengths, trailing bytes, negative or
/// non-minimal INTEGERs, and magnitudes over 32 bytes. Range checks against
/// the group order are the caller's.
pub fn decode_signature(der: &[u8]) -> Result<([u8; 32], [u8; 32])> {
    let mut reader = Reader::new(read_single(der, TAG_SEQUENCE, "signature")?);
    let r = read_uint32(&mut reader, "signature r")?;
    let s = read_uint32(&mut reader, "signature s")?;
    reader.finish("signature s")?;
    Ok((r, s))
}

/// Encodes `r`, `s` (32-byte big-endian) as strict DER.
pub fn encode_signature(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    // Signatures are public: plain variable-time code is fine here.
    let (r, s) = (uint_parts(r), uint_parts(s));
    let contents = tlv_len(uint_contents_len(r)) + tlv_len(uint_contents_len(s));
    let mut out = Vec::with_capacity(tlv_len(contents));
    push_header(&mut out, TAG_SEQUENCE, contents);
    push_uint(&mut out, r);
    push_uint(&mut out, s);
    out
}

/// Returns the SEC1 point octets of an SM2 SubjectPublicKeyInfo (algorithm
/// id-ecPublicKey with namedCurve sm2p256v1). Point validity is the caller's.
pub fn decode_spki(der: &[u8]) -> Result<Vec<u8>> {
    let mut reader = Reader::new(read_single(der, TAG_SEQUENCE, "SubjectPublicKeyInfo")?);
    check_sm2_algorithm(reader.read(TAG_SEQUENCE, "AlgorithmIdentifier")?)?;
    let bits = reader.read(TAG_BIT_STRING, "subjectPublicKey")?;
    let point = bit_string_octets(bits, "subjectPublicKey")?;
    reader.finish("SubjectPublicKeyInfo")?;
    Ok(point.to_vec())
}

/// Encodes SEC1 point octets as an SM2 SubjectPublicKeyInfo.
pub fn encode_spki(point: &[u8]) -> Vec<u8> {
    let algorithm = tlv_len(algorithm_contents_len());
    let contents = algorithm + tlv_len(1 + point.len());
    let mut out = Vec::with_capacity(tlv_len(contents));
    push_header(&mut out, TAG_SEQUENCE, contents);
    push_algorithm(&mut out);
    push_header(&mut out, TAG_BIT_STRING, 1 + point.len());
    out.push(0);
    out.extend_from_slice(point);
    out
}

/// The parts of an EC private key structure.
///
/// `Debug` shows whether a public key is present but never the scalar.
pub struct EcPrivateKeyParts {
    /// 32-byte big-endian scalar (range unchecked here).
    pub scalar: Zeroizing<[u8; 32]>,
    /// SEC1 public point octets if the structure carried them.
    pub public: Option<Vec<u8>>,
}

impl std::fmt::Debug for EcPrivateKeyParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcPrivateKeyParts")
            .field("scalar", &"<redacted>")
            .field("public", &self.public)
            .finish()
    }
}

/// Decodes PKCS#8 PrivateKeyInfo (v1 or v2/OneAsymmetricKey) wrapping a
/// SEC1 ECPrivateKey for sm2p256v1.
pub fn decode_pkcs8(der: &[u8]) -> Result<EcPrivateKeyParts> {
    let mut reader = Reader::new(read_single(der, TAG_SEQUENCE, "PrivateKeyInfo")?);
    let version = read_small_uint(&mut reader, "PrivateKeyInfo version")?;
    if version > 1 {
        return Err(malformed("PrivateKeyInfo version must be 0 or 1"));
    }
    check_sm2_algorithm(reader.read(TAG_SEQUENCE, "privateKeyAlgorithm")?)?;
    let mut parts = parse_ec_private_key(reader.read(TAG_OCTET_STRING, "privateKey")?)?;
    if let Some(attributes) = reader.read_optional(TAG_CONTEXT_0, "attributes")? {
        check_structure(attributes, 1)?;
    }
    if version == 1 {
        if let Some(bits) = reader.read_optional(TAG_CONTEXT_1_PRIMITIVE, "publicKey")? {
            let outer = bit_string_octets(bits, "OneAsymmetricKey publicKey")?;
            match &parts.public {
                Some(inner) if inner.as_slice() != outer => {
                    return Err(malformed(
                        "OneAsymmetricKey publicKey differs from the ECPrivateKey's",
                    ));
                }
                Some(_) => {}
                None => parts.public = Some(outer.to_vec()),
            }
        }
    }
    reader.finish("PrivateKeyInfo")?;
    Ok(parts)
}

/// Encodes PKCS#8 v1 PrivateKeyInfo (id-ecPublicKey, sm2p256v1) wrapping an
/// ECPrivateKey that carries the public point.
///
/// Byte-identical to OpenSSL 3.0's output. An empty `public` omits `[1]`.
pub fn encode_pkcs8(scalar: &[u8; 32], public: &[u8]) -> Zeroizing<Vec<u8>> {
    let inner = tlv_len(ec_private_key_contents_len(public.len(), false));
    let contents = tlv_len(1) + tlv_len(algorithm_contents_len()) + tlv_len(inner);
    let total = tlv_len(contents);
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    push_header(&mut out, TAG_SEQUENCE, contents);
    out.extend_from_slice(&[TAG_INTEGER, 1, 0]);
    push_algorithm(&mut out);
    push_header(&mut out, TAG_OCTET_STRING, inner);
    push_ec_private_key(&mut out, scalar, public, false);
    debug_assert_eq!(out.len(), total);
    out
}

/// Decodes a SEC1 ECPrivateKey (RFC 5915); if `[0]` parameters are present
/// they must name sm2p256v1.
pub fn decode_sec1_private(der: &[u8]) -> Result<EcPrivateKeyParts> {
    parse_ec_private_key(der)
}

/// Encodes a SEC1 ECPrivateKey with `[0]` sm2p256v1 and `[1]` public point.
///
/// Byte-identical to OpenSSL 3.0's output. An empty `public` omits `[1]`.
pub fn encode_sec1_private(scalar: &[u8; 32], public: &[u8]) -> Zeroizing<Vec<u8>> {
    let total = tlv_len(ec_private_key_contents_len(public.len(), true));
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    push_ec_private_key(&mut out, scalar, public, true);
    debug_assert_eq!(out.len(), total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_encoding_is_minimal_and_sized_right() {
        for len in [
            0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xff_ffff, 0x100_0000,
        ] {
            let mut out = Vec::new();
            push_header(&mut out, TAG_OCTET_STRING, len);
            assert_eq!(out.len(), 1 + length_len(len), "len {len}");
            let mut input = out.clone();
            input.resize(out.len() + len, 0);
            let (tag, contents) = Reader::new(&input).read_any().unwrap();
            assert_eq!((tag, contents.len()), (TAG_OCTET_STRING, len));
        }
    }

    #[test]
    fn reader_rejects_bad_lengths() {
        for bad in [
            &[0x04, 0x80][..],                  // indefinite
            &[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], // long form for < 128
            &[0x04, 0x82, 0x00, 0x80],          // leading zero length octet
            &[0x04, 0x85, 1, 0, 0, 0, 0],       // too many length octets
            &[0x04, 0xff],                      // reserved
            &[0x04, 0x02, 0x00],                // past the end
            &[0x04, 0x81],                      // truncated length
            &[0x04],                            // no length
            &[0x1f, 0x01, 0x00],                // high tag number
        ] {
            assert!(Reader::new(bad).read_any().is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn structure_check_bounds_depth() {
        // MAX_DEPTH - 1 SEQUENCEs around a NULL: the NULL sits at MAX_DEPTH.
        let mut nested = vec![0x05, 0x00];
        for _ in 1..MAX_DEPTH {
            let mut outer = Vec::new();
            push_header(&mut outer, TAG_SEQUENCE, nested.len());
            outer.extend_from_slice(&nested);
            nested = outer;
        }
        assert!(check_structure(&nested, 1).is_ok());
        let mut deeper = Vec::new();
        push_header(&mut deeper, TAG_SEQUENCE, nested.len());
        deeper.extend_from_slice(&nested);
        assert!(check_structure(&deeper, 1).is_err());
    }
}
