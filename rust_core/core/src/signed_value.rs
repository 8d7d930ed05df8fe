//! One OFD signature's `SignedValue.dat`, whatever its format: parse it,
//! run every cryptographic check, and report each outcome separately. No
//! policy here (trust, validity at a time, the document's verdict): the
//! caller decides from the facts.
//!
//! The format is decided by structure: a `ContentInfo` (first field an
//! OID) is GB/T 35275 SignedData, anything else is tried as SES.

use crate::asn1::{self, tag};
use crate::cms::{Content, SignedData};
use crate::error::{Error, Result};
use crate::ses::{Seal, SesSignature};
use crate::verifier_cache::VerifierCache;
use crate::x509::{signature_encoding, Certificate};

/// `"GBT35275"`.
pub const FORMAT_GBT35275: &str = "GBT35275";

/// Facts about one signed value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignedValueReport {
    /// `SES_V1`, `SES_V4`, `SES_V5` or `GBT35275`.
    pub format: &'static str,
    /// The signer's signature verifies (and, for SignedData with signed
    /// attributes, the messageDigest matches the content).
    pub signature_ok: bool,
    /// Why not, if not.
    pub signature_error: Option<String>,
    /// The seal maker's signature verifies (`None` for SignedData).
    pub seal_signature_ok: Option<bool>,
    /// Why not, if not.
    pub seal_signature_error: Option<String>,
    /// SES: `dataHash == SM3(signed data)`. SignedData: the attached content
    /// is SM3(signed data) or the data itself, or (detached) the signature
    /// covers the data.
    pub data_hash_ok: bool,
    /// Seal name.
    pub seal_name: Option<String>,
    /// Seal esID.
    pub es_id: Option<String>,
    /// Seal layout header version.
    pub seal_header_version: Option<u64>,
    /// Seal validStart (epoch seconds).
    pub seal_valid_start: Option<i64>,
    /// Seal validEnd (epoch seconds).
    pub seal_valid_end: Option<i64>,
    /// The signer's certificate is in the seal's certificate list.
    pub signer_in_seal_cert_list: Option<bool>,
    /// Signing time claimed inside the signed value (epoch seconds).
    pub signed_at: Option<i64>,
    /// The raw time text (or hex when not text).
    pub time_info: Option<String>,
    /// `DER(n)`, `raw64`, …
    pub signature_encoding: String,
    /// The signer's certificate (DER).
    pub signer_cert: Option<Vec<u8>>,
    /// The seal maker's certificate (DER).
    pub seal_maker_cert: Option<Vec<u8>>,
    /// Other certificates carried (SignedData `certificates`).
    pub extra_certs: Vec<Vec<u8>>,
    /// SES `propertyInfo`.
    pub property_info: Option<String>,
}

fn err_text(e: &Error) -> String {
    e.to_string()
}

fn time_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.chars().all(|c| c.is_ascii_graphic()) => s.to_string(),
        _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Whether `der` starts like a `ContentInfo` (SEQUENCE whose first field is
/// an OID).
fn looks_like_content_info(der: &[u8]) -> bool {
    asn1::parse(der)
        .and_then(|e| e.children())
        .is_ok_and(|k| k.first().is_some_and(|f| f.is_universal(tag::OID)))
}

/// Parses and checks a signed value over `signed_data` (the OFD's
/// `Signature.xml` bytes). Structural problems are `Error::Malformed`;
/// failed checks are reported in the result.
pub fn check(signed_value: &[u8], signed_data: &[u8]) -> Result<SignedValueReport> {
    check_with(signed_value, signed_data, None)
}

/// [`check`], verifying through `cache` (same results, faster for
/// recurring keys).
pub fn check_with(
    signed_value: &[u8],
    signed_data: &[u8],
    cache: Option<&VerifierCache>,
) -> Result<SignedValueReport> {
    check_content(signed_value, Content::Data(signed_data), cache)
}

/// [`check_with`] with the signed data given as bytes or as its SM3 (SES
/// signatures and SignedData with signed attributes need only the SM3).
pub fn check_content(
    signed_value: &[u8],
    signed: Content<'_>,
    cache: Option<&VerifierCache>,
) -> Result<SignedValueReport> {
    if looks_like_content_info(signed_value) {
        check_cms(signed_value, signed, cache)
    } else {
        check_ses(signed_value, signed, cache)
    }
}

/// Parses a signed value and every certificate it carries, without
/// verifying anything; returns its format. (The parsing share of [`check`],
/// for benchmarks and format detection.)
pub fn parse(signed_value: &[u8]) -> Result<&'static str> {
    if looks_like_content_info(signed_value) {
        let sd = SignedData::parse(signed_value)?;
        for c in &sd.certificates {
            Certificate::parse(c)?;
        }
        Ok(FORMAT_GBT35275)
    } else {
        let s = SesSignature::parse(signed_value)?;
        Certificate::parse(s.signer_cert)?;
        Certificate::parse(s.seal.maker_cert)?;
        Ok(s.layout.name())
    }
}

fn check_ses(
    der: &[u8],
    data: Content<'_>,
    cache: Option<&VerifierCache>,
) -> Result<SignedValueReport> {
    let s = SesSignature::parse(der)?;
    let signer = s.verify_signer_with(cache);
    let maker = s.seal.verify_maker_with(cache);
    Ok(SignedValueReport {
        format: s.layout.name(),
        signature_ok: signer.is_ok(),
        signature_error: signer.err().as_ref().map(err_text),
        seal_signature_ok: Some(maker.is_ok()),
        seal_signature_error: maker.err().as_ref().map(err_text),
        data_hash_ok: s.data_hash == data.sm3(),
        seal_name: Some(s.seal.info.name.clone()),
        es_id: Some(s.seal.info.es_id.clone()),
        seal_header_version: Some(s.seal.info.header_version),
        seal_valid_start: Some(s.seal.info.valid_start),
        seal_valid_end: Some(s.seal.info.valid_end),
        signer_in_seal_cert_list: Some(s.seal.lists_certificate(s.signer_cert)),
        signed_at: s.signed_at,
        time_info: Some(time_text(s.time_info)),
        signature_encoding: signature_encoding(s.signature),
        signer_cert: Some(s.signer_cert.to_vec()),
        seal_maker_cert: Some(s.seal.maker_cert.to_vec()),
        extra_certs: Vec::new(),
        property_info: Some(s.property_info),
    })
}

fn check_cms(
    der: &[u8],
    data: Content<'_>,
    cache: Option<&VerifierCache>,
) -> Result<SignedValueReport> {
    let sd = SignedData::parse(der)?;
    let signer = &sd.signers[0];
    let outcome = sd.verify_content(Some(data), cache);
    let data_hash_ok = match sd.content {
        Some(c) => c == data.sm3() || data == Content::Data(c),
        // Detached: the signature (and messageDigest) covers `data` itself.
        None => outcome.is_ok(),
    };
    let signer_cert = sd.signer_certificate(signer);
    Ok(SignedValueReport {
        format: FORMAT_GBT35275,
        signature_ok: outcome.is_ok(),
        signature_error: outcome.err().as_ref().map(err_text),
        data_hash_ok,
        signed_at: signer.signing_time,
        time_info: signer.signing_time.map(asn1::format_time),
        signature_encoding: signature_encoding(signer.signature),
        signer_cert: signer_cert.map(<[u8]>::to_vec),
        extra_certs: sd
            .certificates
            .iter()
            .filter(|c| Some(**c) != signer_cert)
            .map(|c| c.to_vec())
            .collect(),
        ..SignedValueReport::default()
    })
}

/// Facts about a standalone seal (`.esl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealReport {
    /// `SES_V1`, `SES_V4` or `SES_V5`.
    pub format: &'static str,
    /// The maker's signature verifies.
    pub seal_signature_ok: bool,
    /// Why not, if not.
    pub seal_signature_error: Option<String>,
    /// Seal name.
    pub seal_name: String,
    /// esID.
    pub es_id: String,
    /// validStart.
    pub valid_start: i64,
    /// validEnd.
    pub valid_end: i64,
    /// Picture type.
    pub picture_type: String,
    /// The maker's certificate (DER).
    pub maker_cert: Vec<u8>,
    /// Certificates in the cert list (empty for a digest list).
    pub cert_list: Vec<Vec<u8>>,
}

/// Parses and checks a standalone seal.
pub fn check_seal(der: &[u8]) -> Result<SealReport> {
    let seal = Seal::parse(der)?;
    let maker = seal.verify_maker();
    Ok(SealReport {
        format: seal.layout.name(),
        seal_signature_ok: maker.is_ok(),
        seal_signature_error: maker.err().as_ref().map(err_text),
        seal_name: seal.info.name.clone(),
        es_id: seal.info.es_id.clone(),
        valid_start: seal.info.valid_start,
        valid_end: seal.info.valid_end,
        picture_type: seal.info.picture_type.clone(),
        maker_cert: seal.maker_cert.to_vec(),
        cert_list: match &seal.info.cert_list {
            crate::ses::CertList::Certs(c) => c.iter().map(|c| c.to_vec()).collect(),
            crate::ses::CertList::Digests(_) | crate::ses::CertList::Unrecognised(_) => Vec::new(),
        },
    })
}

/// Summary of a certificate for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject (RFC 4514 order).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial, hex.
    pub serial_hex: String,
    /// notBefore.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
    /// The subject's SM2 public key, 65-byte uncompressed SEC1.
    pub public_key: Vec<u8>,
    /// Key usage bits (bit 0 = digitalSignature, bit 1 = nonRepudiation),
    /// if the extension is present.
    pub key_usage: Option<u16>,
}

/// Summarises a DER certificate.
pub fn summarise_certificate(der: &[u8]) -> Result<CertSummary> {
    let c = Certificate::parse(der)?;
    Ok(CertSummary {
        subject: c.subject.to_string(),
        issuer: c.issuer.to_string(),
        serial_hex: c.serial.iter().map(|b| format!("{b:02x}")).collect(),
        not_before: c.not_before,
        not_after: c.not_after,
        public_key: c.public_key.to_sec1(false),
        key_usage: c.key_usage,
    })
}
