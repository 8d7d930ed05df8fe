//! PEM (RFC 7468) for keys: `PUBLIC KEY`, `PRIVATE KEY`, `EC PRIVATE KEY`.
//! OWNER: encodings helper. Contract below is fixed; fill in bodies.
//!
//! What [`decode`] accepts (RFC 7468 "standard" parsing with a few
//! tolerances real files need):
//!
//! - at most [`MAX_PEM_LEN`] bytes in all; an optional UTF-8 BOM;
//! - any text before the `-----BEGIN label-----` line (RFC 7468 §2), and
//!   anything after the matching `-----END label-----` line (a second block,
//!   say: only the first is decoded);
//! - LF or CRLF line ends, and trailing spaces or tabs on any line;
//! - a label made of RFC 7468 label characters; `decode` returns it and the
//!   caller decides which labels it takes (see the `LABEL_*` constants);
//! - base64 lines of any length (64 is what we write, 76 appears in the
//!   wild), the last one padded with `=` as needed.
//!
//! Rejected: a missing or mismatched END line, blank lines, leading
//! whitespace or any non-base64 character inside the block — so RFC 1421
//! headers such as `Proc-Type: 4,ENCRYPTED` (legacy encrypted keys) —,
//! padding anywhere but at the end, non-zero trailing bits (so every DER
//! has exactly one base64 form), and an empty body.
//!
//! Base64 is written here rather than taken from a crate: the line
//! handling around it must be written anyway, the alphabet code is
//! twenty lines, and it is done with branch-free arithmetic and no table
//! look-ups, so that decoding a private key does not leak its bytes through
//! data-dependent branches or cache timing (the same technique as RustCrypto's
//! `base64ct`, without adding a dependency to a crate that handles keys).
//! An exhaustive test in this module checks the arithmetic against the
//! RFC 4648 alphabet for all 256 byte values.

use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// Largest PEM input [`decode`] accepts, in bytes.
pub const MAX_PEM_LEN: usize = 64 * 1024;
/// SubjectPublicKeyInfo.
pub const LABEL_PUBLIC_KEY: &str = "PUBLIC KEY";
/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey.
pub const LABEL_PRIVATE_KEY: &str = "PRIVATE KEY";
/// SEC1 ECPrivateKey.
pub const LABEL_EC_PRIVATE_KEY: &str = "EC PRIVATE KEY";
/// SEC1 ECPrivateKey as OpenSSL 3.0's `openssl ec` labels SM2 keys.
pub const LABEL_SM2_PRIVATE_KEY: &str = "SM2 PRIVATE KEY";

/// Longest label accepted (ours are at most 15 characters).
const MAX_LABEL_LEN: usize = 64;
/// Characters per base64 line on output (RFC 7468).
const LINE_LEN: usize = 64;
const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

fn malformed(msg: &str) -> Error {
    Error::malformed(format!("PEM: {msg}"))
}

/// Strips trailing spaces, tabs and carriage returns.
fn trim_end(mut line: &[u8]) -> &[u8] {
    while let Some((&last, rest)) = line.split_last() {
        if matches!(last, b' ' | b'\t' | b'\r') {
            line = rest;
        } else {
            break;
        }
    }
    line
}

/// RFC 7468 label: `labelchar *( ["-" / SP] labelchar )` with
/// `labelchar = %x21-2C / %x2E-7E`; we also require it non-empty.
fn valid_label(label: &[u8]) -> bool {
    let is_labelchar = |b: u8| matches!(b, 0x21..=0x2c | 0x2e..=0x7e);
    let mut previous_separator = true; // no separator may come first
    for &b in label {
        if is_labelchar(b) {
            previous_separator = false;
        } else if (b == b'-' || b == b' ') && !previous_separator {
            previous_separator = true;
        } else {
            return false;
        }
    }
    !label.is_empty() && label.len() <= MAX_LABEL_LEN && !previous_separator
}

/// If `line` is `-----<kind>label-----`, returns the label.
fn boundary_label<'a>(line: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(kind)?.strip_suffix(DASHES)
}

/// All-ones if `lo <= c <= hi`, else zero; branch-free.
fn ct_in_range(c: i16, lo: i16, hi: i16) -> i16 {
    ((lo - 1 - c) & (c - hi - 1)) >> 15
}

/// Decodes one base64 character without branches or look-ups: returns the
/// 6-bit value and 1 if the character is not in the alphabet (else 0).
fn decode_char(c: u8) -> (u8, u8) {
    let c = i16::from(c);
    let mut value: i16 = -1;
    value += ct_in_range(c, 0x41, 0x5a) & (c - 0x41 + 1); // A-Z: 0..=25
    value += ct_in_range(c, 0x61, 0x7a) & (c - 0x61 + 26 + 1); // a-z: 26..=51
    value += ct_in_range(c, 0x30, 0x39) & (c - 0x30 + 52 + 1); // 0-9: 52..=61
    value += ct_in_range(c, 0x2b, 0x2b) & (62 + 1); // +
    value += ct_in_range(c, 0x2f, 0x2f) & (63 + 1); // /
    let invalid = ((value >> 15) & 1) as u8;
    ((value & 0x3f) as u8, invalid)
}

/// Encodes a 6-bit value as a base64 character without branches or look-ups.
fn encode_char(v: u8) -> u8 {
    let v = i16::from(v & 0x3f);
    let at_least = |k: i16| (k - 1 - v) >> 15; // all-ones if v >= k
    let mut c = v + 0x41; // 'A'
    c += at_least(26) & 6; // 'a' - 'A' - 26
    c -= at_least(52) & 75; // '0' + 52 ... back to digits
    c -= at_least(62) & 15; // '+'
    c += at_least(63) & 3; // '/'
    c as u8
}

/// Decodes the first PEM block: returns its label and DER bytes.
/// Bounded input size; bad base64, missing or mismatched END → `Error::Malformed`.
pub fn decode(pem: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>)> {
    if pem.len() > MAX_PEM_LEN {
        return Err(malformed("input larger than 64 KiB"));
    }
    let pem = pem.strip_prefix(b"\xef\xbb\xbf").unwrap_or(pem);
    let mut lines = pem.split(|&b| b == b'\n').map(trim_end);

    let label = loop {
        let line = lines
            .next()
            .ok_or_else(|| malformed("no -----BEGIN line"))?;
        if line.starts_with(BEGIN) {
            break boundary_label(line, BEGIN)
                .filter(|label| valid_label(label))
                .ok_or_else(|| malformed("malformed -----BEGIN line"))?;
        }
    };

    // Body lines, as slices of the input: nothing secret is copied yet.
    let mut body: Vec<&[u8]> = Vec::new();
    loop {
        let line = lines.next().ok_or_else(|| malformed("no -----END line"))?;
        if line.starts_with(DASHES) {
            if boundary_label(line, END) == Some(label) {
                break;
            }
            return Err(malformed(
                "-----END line missing or not matching -----BEGIN",
            ));
        }
        if line.is_empty() {
            return Err(malformed("blank line inside the block"));
        }
        body.push(line);
    }

    let der = decode_base64(&body).map_err(|err| {
        if body.iter().any(|line| line.contains(&b':')) {
            malformed("headers inside the block (encrypted PEM?) are not supported")
        } else {
            err
        }
    })?;
    // The label was checked to be ASCII above.
    let label = String::from_utf8(label.to_vec()).map_err(|_| malformed("label"))?;
    Ok((label, der))
}

/// Strict base64 over the concatenation of `lines`: length a multiple of 4,
/// `=` only as the last one or two characters, zero trailing bits.
fn decode_base64(lines: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
    let chars = || lines.iter().flat_map(|line| line.iter().copied());
    let total: usize = lines.iter().map(|line| line.len()).sum();
    if total == 0 {
        return Err(malformed("empty body"));
    }
    if total % 4 != 0 {
        return Err(malformed("base64 length is not a multiple of 4"));
    }
    // Padding is public (it follows from the DER length): branching on it
    // is fine.
    let mut tail = chars().skip(total - 2);
    let padding = match (tail.next(), tail.next()) {
        (Some(b'='), Some(b'=')) => 2,
        (_, Some(b'=')) => 1,
        _ => 0,
    };
    let data_len = total - padding;
    let out_len = total / 4 * 3 - padding;
    let mut out = Zeroizing::new(Vec::with_capacity(out_len));

    let mut invalid: u8 = 0;
    let mut acc: u32 = 0;
    let mut count = 0usize;
    for c in chars().take(data_len) {
        let (value, bad) = decode_char(c);
        invalid |= bad;
        acc = (acc << 6) | u32::from(value);
        count += 1;
        if count == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            count = 0;
        }
    }
    match count {
        0 => {}
        3 => {
            // 18 bits: two bytes and two bits that must be zero.
            out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes());
            invalid |= (acc & 0x3) as u8;
        }
        2 => {
            // 12 bits: one byte and four bits that must be zero.
            out.push((acc >> 4) as u8);
            invalid |= (acc & 0xf) as u8;
        }
        _ => invalid |= 1, // unreachable: total % 4 == 0 and padding <= 2
    }
    if invalid != 0 {
        return Err(malformed("invalid base64"));
    }
    debug_assert_eq!(out.len(), out_len);
    Ok(out)
}

/// Encodes `der` under `label` with 64-character lines and a final newline.
///
/// `label` must be an RFC 7468 label (such as the `LABEL_*` constants); it
/// is written as given.
pub fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    debug_assert!(valid_label(label.as_bytes()), "invalid PEM label {label:?}");
    let b64_len = der.len().div_ceil(3) * 4;
    let line_count = b64_len.div_ceil(LINE_LEN);
    let total = BEGIN.len()
        + label.len()
        + DASHES.len()
        + 1
        + b64_len
        + line_count
        + END.len()
        + label.len()
        + DASHES.len()
        + 1;
    // Exact capacity: the buffer is never reallocated, so no unwiped copy
    // of a private key is left behind.
    let mut out = Zeroizing::new(String::with_capacity(total));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut column = 0usize;
    let mut push = |out: &mut String, v: u32| {
        out.push(char::from(encode_char((v & 0x3f) as u8)));
        column += 1;
        if column == LINE_LEN {
            out.push('\n');
            column = 0;
        }
    };
    let mut chunks = der.chunks_exact(3);
    for chunk in &mut chunks {
        let mut word = [0u8; 4];
        word[1..].copy_from_slice(chunk);
        let v = u32::from_be_bytes(word);
        for shift in [18, 12, 6, 0] {
            push(&mut out, v >> shift);
        }
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            push(&mut out, v >> 18);
            push(&mut out, v >> 12);
            out.push_str("==");
            column += 2;
        }
        [a, b] => {
            let v = (u32::from(a) << 16) | (u32::from(b) << 8);
            push(&mut out, v >> 18);
            push(&mut out, v >> 12);
            push(&mut out, v >> 6);
            out.push('=');
            column += 1;
        }
        _ => {}
    }
    if column != 0 {
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    debug_assert_eq!(out.len(), total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    #[test]
    fn decode_char_matches_alphabet_for_every_byte() {
        for c in 0..=255u8 {
            let expected = ALPHABET.iter().position(|&a| a == c);
            let (value, invalid) = decode_char(c);
            match expected {
                Some(v) => assert_eq!((value, invalid), (v as u8, 0), "byte {c:#04x}"),
                None => assert_eq!(invalid, 1, "byte {c:#04x}"),
            }
        }
    }

    #[test]
    fn encode_char_matches_alphabet() {
        for (v, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(encode_char(v as u8), c, "value {v}");
        }
    }

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, b64) in cases {
            let pem = encode("X", raw);
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            assert_eq!(body, b64);
            if !raw.is_empty() {
                assert_eq!(decode_base64(&[b64.as_bytes()]).unwrap().as_slice(), raw);
            }
        }
    }

    #[test]
    fn labels() {
        for good in ["PUBLIC KEY", "EC PRIVATE KEY", "X", "A-B", "X509 CRL"] {
            assert!(valid_label(good.as_bytes()), "{good}");
        }
        for bad in [
            "", " X", "X ", "-X", "X-", "A  B", "A--B", "A -B", "A\tB", "\u{e9}",
        ] {
            assert!(!valid_label(bad.as_bytes()), "{bad:?}");
        }
    }
}
