//! Lenient DER reader for real-world seals, certificates and CMS.
//!
//! Unlike [`crate::der`] (strict, for the structures this project writes),
//! this reader accepts what production signers emit: non-minimal length
//! octets, explicit DEFAULT values, BIT STRINGs with non-zero unused bits,
//! non-minimal INTEGERs. It only ever *reads*: every [`Element`] keeps the
//! original bytes (identifier, header, content and the whole TLV), so
//! signatures are verified over exactly what was signed, never over a
//! re-encoding.
//!
//! Bounds: definite lengths only (BER indefinite length is rejected), at
//! most 4 length octets, tag numbers up to 2^21, a constructed element's
//! children are read one level at a time (no recursion here; callers
//! descend a fixed structure) and [`Element::children`] refuses more than
//! [`MAX_CHILDREN`] children. Nothing indexes out of bounds or overflows,
//! whatever the input.

use crate::error::{Error, Result};

/// Most children [`Element::children`] returns for one element.
pub const MAX_CHILDREN: usize = 4096;
/// Most length octets in a long-form length.
const MAX_LENGTH_OCTETS: usize = 4;
/// Most subsequent identifier octets of a high tag number.
const MAX_TAG_OCTETS: usize = 3;

/// Universal class.
pub const CLASS_UNIVERSAL: u8 = 0;
/// Application class.
pub const CLASS_APPLICATION: u8 = 1;
/// Context-specific class.
pub const CLASS_CONTEXT: u8 = 2;
/// Private class.
pub const CLASS_PRIVATE: u8 = 3;

/// Universal tag numbers used by the parsers.
pub mod tag {
    /// BOOLEAN
    pub const BOOLEAN: u32 = 1;
    /// INTEGER
    pub const INTEGER: u32 = 2;
    /// BIT STRING
    pub const BIT_STRING: u32 = 3;
    /// OCTET STRING
    pub const OCTET_STRING: u32 = 4;
    /// NULL
    pub const NULL: u32 = 5;
    /// OBJECT IDENTIFIER
    pub const OID: u32 = 6;
    /// UTF8String
    pub const UTF8_STRING: u32 = 12;
    /// SEQUENCE
    pub const SEQUENCE: u32 = 16;
    /// SET
    pub const SET: u32 = 17;
    /// PrintableString
    pub const PRINTABLE_STRING: u32 = 19;
    /// TeletexString
    pub const T61_STRING: u32 = 20;
    /// IA5String
    pub const IA5_STRING: u32 = 22;
    /// UTCTime
    pub const UTC_TIME: u32 = 23;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u32 = 24;
    /// UniversalString
    pub const UNIVERSAL_STRING: u32 = 28;
    /// BMPString
    pub const BMP_STRING: u32 = 30;
}

fn malformed(msg: impl Into<String>) -> Error {
    Error::malformed(format!("ASN.1: {}", msg.into()))
}

/// One TLV as found in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element<'a> {
    /// Tag class (`CLASS_*`).
    pub class: u8,
    /// Whether the constructed bit is set.
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
    /// The whole TLV, exactly as encoded.
    pub raw: &'a [u8],
    /// Identifier and length octets.
    pub header: &'a [u8],
    /// Content octets.
    pub content: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Result<(Element<'_>, &[u8])> {
    let first = *input
        .first()
        .ok_or_else(|| malformed("unexpected end of input"))?;
    let class = first >> 6;
    let constructed = first & 0x20 != 0;
    let mut pos = 1usize;
    let mut number = u32::from(first & 0x1f);
    if number == 0x1f {
        number = 0;
        let mut octets = 0;
        loop {
            let b = *input
                .get(pos)
                .ok_or_else(|| malformed("truncated tag number"))?;
            pos += 1;
            octets += 1;
            if octets > MAX_TAG_OCTETS {
                return Err(malformed("tag number too large"));
            }
            number = (number << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len_byte = *input
        .get(pos)
        .ok_or_else(|| malformed("truncated length"))?;
    pos += 1;
    let len: usize = if len_byte < 0x80 {
        usize::from(len_byte)
    } else if len_byte == 0x80 {
        return Err(malformed("indefinite length is not DER"));
    } else {
        let n = usize::from(len_byte & 0x7f);
        if n > MAX_LENGTH_OCTETS {
            return Err(malformed(format!("{n} length octets")));
        }
        let bytes = input
            .get(pos..pos + n)
            .ok_or_else(|| malformed("truncated length"))?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let end = pos
        .checked_add(len)
        .filter(|&end| end <= input.len())
        .ok_or_else(|| {
            malformed(format!(
                "length {len} exceeds the {} remaining bytes",
                input.len().saturating_sub(pos)
            ))
        })?;
    if !constructed && class == CLASS_UNIVERSAL && number == tag::SEQUENCE {
        return Err(malformed("primitive SEQUENCE"));
    }
    let element = Element {
        class,
        constructed,
        number,
        raw: &input[..end],
        header: &input[..pos],
        content: &input[pos..end],
    };
    Ok((element, &input[end..]))
}

/// Reads exactly one element spanning all of `input`.
pub fn parse(input: &[u8]) -> Result<Element<'_>> {
    let (element, rest) = read(input)?;
    if !rest.is_empty() {
        return Err(malformed(format!("{} trailing bytes", rest.len())));
    }
    Ok(element)
}

impl<'a> Element<'a> {
    /// Whether this is the universal tag `number`.
    pub fn is_universal(&self, number: u32) -> bool {
        self.class == CLASS_UNIVERSAL && self.number == number
    }

    /// Whether this is the context-specific tag `[number]`.
    pub fn is_context(&self, number: u32) -> bool {
        self.class == CLASS_CONTEXT && self.number == number
    }

    /// Fails unless this is the universal tag `number`; `what` names the field.
    /// SEQUENCE and SET must be constructed, every other universal type
    /// primitive (DER has no constructed strings).
    pub fn expect(self, number: u32, what: &str) -> Result<Self> {
        let want_constructed = number == tag::SEQUENCE || number == tag::SET;
        if self.is_universal(number) && self.constructed == want_constructed {
            Ok(self)
        } else {
            Err(malformed(format!(
                "{what}: expected universal tag {number}, found class {} tag {}{}",
                self.class,
                self.number,
                if self.constructed {
                    " (constructed)"
                } else {
                    ""
                }
            )))
        }
    }

    /// The children of a constructed element (one level).
    pub fn children(&self) -> Result<Vec<Element<'a>>> {
        if !self.constructed {
            return Err(malformed("children of a primitive element"));
        }
        let mut out = Vec::new();
        let mut rest = self.content;
        while !rest.is_empty() {
            if out.len() == MAX_CHILDREN {
                return Err(malformed("too many elements"));
            }
            let (child, next) = read(rest)?;
            out.push(child);
            rest = next;
        }
        Ok(out)
    }

    /// The children of a SEQUENCE (checks the tag).
    pub fn sequence(&self, what: &str) -> Result<Vec<Element<'a>>> {
        self.expect(tag::SEQUENCE, what)?.children()
    }

    /// An INTEGER's magnitude as big-endian bytes without leading zero
    /// octets (non-minimal encodings accepted). Negative values fail.
    pub fn unsigned_integer(&self, what: &str) -> Result<&'a [u8]> {
        let c = self.expect(tag::INTEGER, what)?.content;
        if c.is_empty() {
            return Err(malformed(format!("{what}: empty INTEGER")));
        }
        if c[0] & 0x80 != 0 {
            return Err(malformed(format!("{what}: negative INTEGER")));
        }
        let zeros = c.iter().take_while(|&&b| b == 0).count();
        Ok(&c[zeros..])
    }

    /// A small non-negative INTEGER.
    pub fn small_uint(&self, what: &str) -> Result<u64> {
        let mag = self.unsigned_integer(what)?;
        if mag.len() > 8 {
            return Err(malformed(format!("{what}: INTEGER too large")));
        }
        Ok(mag.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A BIT STRING's bits (the unused-bits octet is skipped; non-zero
    /// values are tolerated, as real seals carry them).
    pub fn bit_string(&self, what: &str) -> Result<&'a [u8]> {
        let c = self.expect(tag::BIT_STRING, what)?.content;
        match c.split_first() {
            Some((&unused, bits)) if unused < 8 => Ok(bits),
            Some(_) => Err(malformed(format!("{what}: unused bits > 7"))),
            None => Err(malformed(format!("{what}: empty BIT STRING"))),
        }
    }

    /// An OCTET STRING's content.
    pub fn octet_string(&self, what: &str) -> Result<&'a [u8]> {
        Ok(self.expect(tag::OCTET_STRING, what)?.content)
    }

    /// An OBJECT IDENTIFIER's content octets (checked for well-formed arcs).
    pub fn oid(&self, what: &str) -> Result<&'a [u8]> {
        let c = self.expect(tag::OID, what)?.content;
        if c.is_empty() || c[c.len() - 1] & 0x80 != 0 {
            return Err(malformed(format!("{what}: bad OBJECT IDENTIFIER")));
        }
        Ok(c)
    }

    /// A character string of any of the string types, as text: UTF-8 for
    /// UTF8String (lossy), Latin-1-as-bytes for the 8-bit types read as
    /// UTF-8 where valid (real certificates put UTF-8 in IA5String),
    /// UTF-16BE for BMPString and UTF-32BE for UniversalString.
    pub fn text(&self, what: &str) -> Result<String> {
        if self.class != CLASS_UNIVERSAL || self.constructed {
            return Err(malformed(format!("{what}: not a string")));
        }
        let c = self.content;
        match self.number {
            tag::BMP_STRING => {
                if c.len() % 2 != 0 {
                    return Err(malformed(format!("{what}: odd BMPString")));
                }
                let units = c.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]]));
                Ok(char::decode_utf16(units)
                    .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect())
            }
            tag::UNIVERSAL_STRING => {
                if c.len() % 4 != 0 {
                    return Err(malformed(format!("{what}: bad UniversalString")));
                }
                Ok(c.chunks_exact(4)
                    .map(|p| {
                        char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
                            .unwrap_or(char::REPLACEMENT_CHARACTER)
                    })
                    .collect())
            }
            tag::UTF8_STRING
            | tag::PRINTABLE_STRING
            | tag::IA5_STRING
            | tag::T61_STRING
            | 21 // VideotexString
            | 25 // GraphicString
            | 26 // VisibleString
            | 27 // GeneralString
            | tag::OCTET_STRING => Ok(String::from_utf8_lossy(c).into_owned()),
            n => Err(malformed(format!("{what}: tag {n} is not a string"))),
        }
    }

    /// A UTCTime or GeneralizedTime as seconds since the Unix epoch (UTC).
    pub fn time(&self, what: &str) -> Result<i64> {
        if self.is_universal(tag::UTC_TIME) {
            parse_time(self.content, false)
        } else if self.is_universal(tag::GENERALIZED_TIME) {
            parse_time(self.content, true)
        } else {
            Err("not a time".to_string())
        }
        .map_err(|e| malformed(format!("{what}: {e}")))
    }
}

/// Hands out a structure's fields in order, naming the structure and the
/// field when one is missing.
#[derive(Debug)]
pub struct Fields<'a> {
    kids: std::vec::IntoIter<Element<'a>>,
    structure: &'static str,
}

impl<'a> Fields<'a> {
    /// The fields of SEQUENCE `e`.
    pub fn of(e: &Element<'a>, structure: &'static str) -> Result<Self> {
        Ok(Fields {
            kids: e.sequence(structure)?.into_iter(),
            structure,
        })
    }

    /// The next field, which must exist.
    pub fn next(&mut self, what: &str) -> Result<Element<'a>> {
        self.kids
            .next()
            .ok_or_else(|| malformed(format!("{}: missing {what}", self.structure)))
    }

    /// The fields not taken yet.
    pub fn rest(self) -> Vec<Element<'a>> {
        self.kids.collect()
    }
}

/// Dotted text form of OID content octets.
pub fn oid_to_string(content: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for &b in content {
        acc = acc.saturating_mul(128).saturating_add(u128::from(b & 0x7f));
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let mut out = String::new();
    if let Some(&first) = arcs.first() {
        let (a, b) = match first {
            0..=39 => (0, first),
            40..=79 => (1, first - 40),
            _ => (2, first - 80),
        };
        out = format!("{a}.{b}");
    }
    for arc in arcs.iter().skip(1) {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    out
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch to `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn digits(s: &[u8], what: &str) -> std::result::Result<i64, String> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad {what}"));
    }
    Ok(s.iter()
        .fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0')))
}

/// `YYMMDDHHMM[SS](Z|±HHMM)` (UTCTime) or
/// `YYYYMMDDHH[MM[SS[.fff]]](Z|±HHMM)?` (GeneralizedTime; a missing zone is
/// read as UTC). Fractions are dropped.
fn parse_time(s: &[u8], generalized: bool) -> std::result::Result<i64, String> {
    let year_len = if generalized { 4 } else { 2 };
    if s.len() < year_len + 6 || s.len() > 40 {
        return Err("bad time length".into());
    }
    let mut year = digits(&s[..year_len], "year")?;
    if !generalized {
        year += if year >= 50 { 1900 } else { 2000 };
    }
    let mut p = year_len;
    let mut field = |name: &str, required: bool| -> std::result::Result<i64, String> {
        match s.get(p..p + 2) {
            Some(two) if two.iter().all(u8::is_ascii_digit) => {
                p += 2;
                digits(two, name)
            }
            _ if required => Err(format!("missing {name}")),
            _ => Ok(0),
        }
    };
    let month = field("month", true)?;
    let day = field("day", true)?;
    let hour = field("hour", true)?;
    let minute = field("minute", !generalized)?;
    let second = field("second", false)?;
    let mut rest = &s[p..];
    if let Some((&sep, frac)) = rest.split_first() {
        if sep == b'.' || sep == b',' {
            let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return Err("empty fraction".into());
            }
            rest = &frac[n..];
        }
    }
    let offset = match rest {
        b"Z" => 0,
        [] if generalized => 0,
        [sign @ (b'+' | b'-'), hh @ ..] if hh.len() == 4 => {
            let h = digits(&hh[..2], "zone")?;
            let m = digits(&hh[2..], "zone")?;
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return Err("bad time zone".into()),
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err("bad month".into()),
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return Err("field out of range".into());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Parses a time given as text in one of the forms seen in OFD files and
/// seals: `YYYYMMDDHHMMSS[.fff]Z`, `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z]`.
pub fn parse_text_time(s: &str) -> Option<i64> {
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | ':' | 'T' | ' '))
        .collect();
    parse_time(compact.as_bytes(), true).ok()
}

/// DER writer helpers (definite minimal lengths), for the structures this
/// crate builds itself (the V1 seal's signed wrapper, encoders).
pub mod write {
    /// The identifier octet of universal tag `number` (< 31).
    pub const fn universal(number: u32, constructed: bool) -> u8 {
        (number as u8 & 0x1f) | if constructed { 0x20 } else { 0 }
    }

    /// SEQUENCE identifier octet.
    pub const SEQUENCE: u8 = universal(super::tag::SEQUENCE, true);

    /// Identifier `tag_byte` and a minimal definite length for `len`.
    pub fn header(tag_byte: u8, len: usize) -> Vec<u8> {
        let mut out = vec![tag_byte];
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out
    }

    /// A whole TLV with the given content.
    pub fn tlv(tag_byte: u8, content: &[u8]) -> Vec<u8> {
        let mut out = header(tag_byte, content.len());
        out.extend_from_slice(content);
        out
    }

    /// A TLV whose content is the concatenation of `parts`.
    pub fn tlv_parts(tag_byte: u8, parts: &[&[u8]]) -> Vec<u8> {
        let len = parts.iter().map(|p| p.len()).sum();
        let mut out = header(tag_byte, len);
        for p in parts {
            out.extend_from_slice(p);
        }
        out
    }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    pub fn uint(magnitude: &[u8]) -> Vec<u8> {
        let skip = magnitude.iter().take_while(|&&b| b == 0).count();
        let m = &magnitude[skip..];
        let mut content = Vec::with_capacity(m.len() + 1);
        if m.first().is_none_or(|&b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(m);
        tlv(0x02, &content)
    }

    /// A GeneralizedTime `YYYYMMDDHHMMSSZ` for epoch seconds `t` (years
    /// 0000–9999).
    pub fn generalized_time(t: i64) -> crate::error::Result<Vec<u8>> {
        let text: String = super::format_time(t)
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'Z')
            .collect();
        if text.len() != 15 || !(0..=253_402_300_799).contains(&t) {
            return Err(crate::error::Error::malformed(format!(
                "time {t} is outside years 1970-9999"
            )));
        }
        Ok(tlv(
            universal(super::tag::GENERALIZED_TIME, false),
            text.as_bytes(),
        ))
    }

    /// A BIT STRING with zero unused bits.
    pub fn bit_string(bits: &[u8]) -> Vec<u8> {
        let mut content = Vec::with_capacity(bits.len() + 1);
        content.push(0);
        content.extend_from_slice(bits);
        tlv(0x03, &content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time(b"700101000000Z", false), Ok(0));
        assert_eq!(parse_time(b"20200723130907Z", true), Ok(1_595_509_747));
        assert_eq!(parse_time(b"20200723130907.763Z", true), Ok(1_595_509_747));
        assert_eq!(parse_time(b"20200723210907+0800", true), Ok(1_595_509_747));
        assert!(parse_time(b"20201323130907Z", true).is_err());
        assert_eq!(format_time(1_595_509_747), "2020-07-23T13:09:07Z");
        assert_eq!(
            parse_text_time("2020-01-25T07:31:56.377Z"),
            Some(1_579_937_516)
        );
    }

    #[test]
    fn keeps_original_bytes_and_lenient_lengths() {
        // SEQUENCE with a non-minimal long-form length holding INTEGER 0x0005.
        let input = [0x30, 0x81, 0x04, 0x02, 0x02, 0x00, 0x05];
        let e = parse(&input).unwrap();
        assert_eq!(e.header, &input[..3]);
        assert_eq!(e.raw, &input[..]);
        let kids = e.children().unwrap();
        assert_eq!(kids[0].raw, &input[3..]);
        assert_eq!(kids[0].small_uint("x").unwrap(), 5);
        assert!(parse(&[0x30, 0x80, 0, 0]).is_err());
        // A constructed OCTET STRING (BER) is not an OCTET STRING here.
        let ber = parse(&[0x24, 0x03, 0x04, 0x01, 0xaa]).unwrap();
        assert!(ber.octet_string("x").is_err());
        assert_eq!(
            parse(&[0x04, 0x01, 0xaa]).unwrap().octet_string("x"),
            Ok(&[0xaa][..])
        );
        for cut in 0..input.len() {
            assert!(parse(&input[..cut]).is_err());
        }
    }

    #[test]
    fn oid_text() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d]),
            "1.2.156.10197.1.301"
        );
    }
}
