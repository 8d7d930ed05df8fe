//! Encoders for the platform's own seals and seal signatures, GB/T
//! 38540-2020 (V4) layout, written exactly as the parsing rules of
//! `shared/vectors/ses` describe real files (and as [`crate::ses`] reads
//! them):
//!
//! - `SESeal { eSealInfo, cert OCTET STRING, signAlgID OID, signedValue BIT STRING }`
//!   with `SES_SealInfo { SES_Header { "ES", 4, vid }, esID IA5String,
//!   SES_ESPropertyInfo { type, name UTF8String, certListType 1,
//!   certList SEQUENCE OF OCTET STRING, createDate, validStart, validEnd
//!   GeneralizedTime }, SES_ESPictrueInfo { type IA5String, data, width,
//!   height } }`; the maker signs DER(`SES_SealInfo`).
//! - `SES_Signature { TBS_Sign { 4, eseal, timeInfo GeneralizedTime,
//!   dataHash BIT STRING, propertyInfo IA5String }, cert OCTET STRING,
//!   signatureAlgID OID, signature BIT STRING }`; the signer signs
//!   DER(`TBS_Sign`).
//!
//! Signatures are SM2 with SM3 and the default ID, DER-encoded, in BIT
//! STRINGs with zero unused bits. Strict DER throughout (minimal lengths).

use crate::asn1::{tag, write};
use crate::error::{Error, Result};
use crate::ses::{Seal, SesSignature};
use crate::sm2::{PrivateKey, DEFAULT_UID};
use crate::x509::{Certificate, OID_SM2_WITH_SM3};

fn prim(number: u32, content: &[u8]) -> Vec<u8> {
    write::tlv(write::universal(number, false), content)
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::malformed(format!("SES encoder: {}", msg.into()))
}

/// What goes into a seal.
#[derive(Clone, Debug)]
pub struct SealSpec<'a> {
    /// Manufacturer ID (`SES_Header.vid`).
    pub vid: &'a str,
    /// Seal code (`esID`), ASCII.
    pub es_id: &'a str,
    /// Seal type (1 official seal, 2 special-purpose seal, … per GB/T 38540).
    pub seal_type: u64,
    /// Seal name.
    pub name: &'a str,
    /// The signer certificates (DER) the seal is bound to.
    pub signer_certs: &'a [&'a [u8]],
    /// createDate (epoch seconds).
    pub create_date: i64,
    /// validStart.
    pub valid_start: i64,
    /// validEnd.
    pub valid_end: i64,
    /// Picture type, ASCII (`"PNG"`, `"GIF"`, `"ofd"`, …).
    pub picture_type: &'a str,
    /// Picture data.
    pub picture: &'a [u8],
    /// Picture width in mm.
    pub width: u64,
    /// Picture height in mm.
    pub height: u64,
}

fn ia5(s: &str, what: &str) -> Result<Vec<u8>> {
    if !s.is_ascii() {
        return Err(invalid(format!("{what} must be ASCII")));
    }
    Ok(prim(tag::IA5_STRING, s.as_bytes()))
}

fn uint(v: u64) -> Vec<u8> {
    write::uint(&v.to_be_bytes())
}

fn oid_sm2_with_sm3() -> Vec<u8> {
    prim(tag::OID, OID_SM2_WITH_SM3)
}

/// Checks that `cert_der` parses and holds `key`'s public key.
fn check_key_matches(cert_der: &[u8], key: &PrivateKey, who: &str) -> Result<()> {
    let cert = Certificate::parse(cert_der)?;
    if cert.public_key != *key.public_key() {
        return Err(invalid(format!(
            "the {who} certificate is not for the {who} key"
        )));
    }
    Ok(())
}

/// Encodes and signs a V4 seal with the seal maker's key. The maker
/// certificate must hold that key; every signer certificate must parse.
pub fn encode_seal_v4(
    spec: &SealSpec<'_>,
    maker_key: &PrivateKey,
    maker_cert: &[u8],
) -> Result<Vec<u8>> {
    check_key_matches(maker_cert, maker_key, "seal maker")?;
    if spec.signer_certs.is_empty() {
        return Err(invalid("a seal needs at least one signer certificate"));
    }
    for c in spec.signer_certs {
        Certificate::parse(c)?;
    }
    if spec.valid_start > spec.valid_end {
        return Err(invalid("validStart is after validEnd"));
    }
    let header = write::tlv_parts(
        write::SEQUENCE,
        &[&ia5("ES", "id")?, &uint(4), &ia5(spec.vid, "vid")?],
    );
    let cert_list: Vec<Vec<u8>> = spec
        .signer_certs
        .iter()
        .map(|c| prim(tag::OCTET_STRING, c))
        .collect();
    let cert_list_refs: Vec<&[u8]> = cert_list.iter().map(Vec::as_slice).collect();
    let property = write::tlv_parts(
        write::SEQUENCE,
        &[
            &uint(spec.seal_type),
            &prim(tag::UTF8_STRING, spec.name.as_bytes()),
            &uint(1), // certListType 1: certificates
            &write::tlv_parts(write::SEQUENCE, &cert_list_refs),
            &write::generalized_time(spec.create_date)?,
            &write::generalized_time(spec.valid_start)?,
            &write::generalized_time(spec.valid_end)?,
        ],
    );
    let picture = write::tlv_parts(
        write::SEQUENCE,
        &[
            &ia5(spec.picture_type, "picture type")?,
            &prim(tag::OCTET_STRING, spec.picture),
            &uint(spec.width),
            &uint(spec.height),
        ],
    );
    let seal_info = write::tlv_parts(
        write::SEQUENCE,
        &[&header, &ia5(spec.es_id, "esID")?, &property, &picture],
    );
    let signature = maker_key.sign(&seal_info, DEFAULT_UID)?.to_der();
    let seal = write::tlv_parts(
        write::SEQUENCE,
        &[
            &seal_info,
            &prim(tag::OCTET_STRING, maker_cert),
            &oid_sm2_with_sm3(),
            &write::bit_string(&signature),
        ],
    );
    // Round trip through the reader: what we write, we must read back.
    let parsed = Seal::parse(&seal)?;
    parsed.verify_maker()?;
    Ok(seal)
}

/// Signs `data_hash` (SM3 of the signed data, e.g. an OFD `Signature.xml`)
/// with `seal` (a V4 seal, as encoded) and the signer's key, at `time`.
/// The signer certificate must hold the key and be in the seal's
/// certificate list, the seal must verify, and `time` must lie in the
/// seal's validity window.
pub fn encode_signature_v4(
    seal: &[u8],
    signer_key: &PrivateKey,
    signer_cert: &[u8],
    data_hash: &[u8; 32],
    property_info: &str,
    time: i64,
) -> Result<Vec<u8>> {
    check_key_matches(signer_cert, signer_key, "signer")?;
    let parsed = Seal::parse(seal)?;
    parsed.verify_maker()?;
    if !parsed.lists_certificate(signer_cert) {
        return Err(invalid("the signer certificate is not in the seal's list"));
    }
    if time < parsed.info.valid_start || time > parsed.info.valid_end {
        return Err(invalid("the signing time is outside the seal's validity"));
    }
    let tbs = write::tlv_parts(
        write::SEQUENCE,
        &[
            &prim(tag::INTEGER, &[4]),
            seal,
            &write::generalized_time(time)?,
            &write::bit_string(data_hash),
            &ia5(property_info, "propertyInfo")?,
        ],
    );
    let signature = signer_key.sign(&tbs, DEFAULT_UID)?.to_der();
    let out = write::tlv_parts(
        write::SEQUENCE,
        &[
            &tbs,
            &prim(tag::OCTET_STRING, signer_cert),
            &oid_sm2_with_sm3(),
            &write::bit_string(&signature),
        ],
    );
    let check = SesSignature::parse(&out)?;
    check.verify_signer()?;
    Ok(out)
}
