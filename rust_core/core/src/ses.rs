//! Electronic seals and seal signatures: GM/T 0031-2014 (V1) and
//! GB/T 38540-2020 (V4, and the V5 layout ofdrw writes: the V4 structure
//! with header version 5).
//!
//! The layout is decided by structure, never by the version number (real
//! files carry the V1 layout with version 4):
//!
//! - `SESeal`: 2 fields (`esealInfo`, `signInfo SEQUENCE`) → V1;
//!   4 fields (`eSealInfo`, `cert OCTET STRING`, `signAlgID`, `signedValue`) → V4.
//! - `SES_Signature`: 2 fields (`toSign`, `signature BIT STRING`) → V1;
//!   4 or 5 (`toSign`, `cert`, `signatureAlgID`, `signature`, `[0] timeStamp`) → V4.
//! - Within the V4 layout, header version ≥ 5 is reported as V5.
//!
//! What is signed (verified over the original bytes, never re-encoded):
//!
//! - V4 seal: DER(`SES_SealInfo`) as found in the file.
//! - V1 seal: `SEQUENCE { esealInfo, cert, signatureAlgorithm }` built from
//!   the three elements' original encodings.
//! - Signature (both): the original `TBS_Sign`, SM2 with SM3, default ID.

use crate::asn1::{self, tag, write, Element};
use crate::error::{Error, Result};
use crate::sm2::DEFAULT_UID;
use crate::sm3::sm3;
use crate::verifier_cache::VerifierCache;
use crate::x509::{decode_signature_lenient, Certificate, OID_SM2_WITH_SM3};

fn malformed(msg: impl Into<String>) -> Error {
    Error::malformed(format!("SES: {}", msg.into()))
}

/// Which standard's layout a structure follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// GM/T 0031-2014.
    V1,
    /// GB/T 38540-2020.
    V4,
    /// GB/T 38540 layout with header version ≥ 5 (ofdrw "V5").
    V5,
}

impl Layout {
    /// `"SES_V1"`, `"SES_V4"` or `"SES_V5"`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::V1 => "SES_V1",
            Layout::V4 => "SES_V4",
            Layout::V5 => "SES_V5",
        }
    }
}

/// The seal's list of signer certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertList<'a> {
    /// Whole certificates (DER, as stored).
    Certs(Vec<&'a [u8]>),
    /// Digests: `(hash algorithm name, digest)`.
    Digests(Vec<(String, &'a [u8])>),
    /// Neither (seen in a non-standard V1 seal: a lone IA5String); the
    /// encoding as found. Lists no certificate.
    Unrecognised(&'a [u8]),
}

/// `SES_SealInfo` with its property and picture.
#[derive(Clone, Debug)]
pub struct SealInfo<'a> {
    /// The original encoding (what a V4 maker signs).
    pub raw: &'a [u8],
    /// `SES_Header.version`.
    pub header_version: u64,
    /// `SES_Header.vid`.
    pub vid: String,
    /// `esID`.
    pub es_id: String,
    /// Seal type.
    pub seal_type: u64,
    /// Seal name.
    pub name: String,
    /// `certListType` (V4 only).
    pub cert_list_type: Option<u64>,
    /// Signer certificates the seal is bound to.
    pub cert_list: CertList<'a>,
    /// createDate, seconds since the epoch.
    pub create_date: i64,
    /// validStart.
    pub valid_start: i64,
    /// validEnd.
    pub valid_end: i64,
    /// Picture type (`"PNG"`, `"GIF"`, `"ofd"`, …).
    pub picture_type: String,
    /// Picture data.
    pub picture: &'a [u8],
    /// Picture width (mm).
    pub width: u64,
    /// Picture height (mm).
    pub height: u64,
    /// extDatas as encoded, if present.
    pub ext_datas: Option<&'a [u8]>,
}

/// An electronic seal (`SESeal`).
#[derive(Clone, Debug)]
pub struct Seal<'a> {
    /// Layout found.
    pub layout: Layout,
    /// The original encoding.
    pub raw: &'a [u8],
    /// Seal information.
    pub info: SealInfo<'a>,
    /// The seal maker's certificate (DER).
    pub maker_cert: &'a [u8],
    /// Signature algorithm OID content.
    pub signature_algorithm: &'a [u8],
    /// The maker's signature value (DER or raw `r ‖ s`).
    pub signature: &'a [u8],
    /// The bytes the maker signed.
    pub signed_bytes: Vec<u8>,
}

/// A seal signature (`SES_Signature`).
#[derive(Clone, Debug)]
pub struct SesSignature<'a> {
    /// Layout found.
    pub layout: Layout,
    /// The original `TBS_Sign` (what the signer signed).
    pub tbs: &'a [u8],
    /// `TBS_Sign.version`.
    pub version: u64,
    /// The seal used.
    pub seal: Seal<'a>,
    /// `timeInfo` content bytes (V4: GeneralizedTime text; V1: BIT STRING bits).
    pub time_info: &'a [u8],
    /// `timeInfo` as seconds since the epoch, if it can be read.
    pub signed_at: Option<i64>,
    /// `dataHash`.
    pub data_hash: &'a [u8],
    /// `propertyInfo` (usually the signed file's path).
    pub property_info: String,
    /// The signer's certificate (DER).
    pub signer_cert: &'a [u8],
    /// Signature algorithm OID content.
    pub signature_algorithm: &'a [u8],
    /// The signer's signature value.
    pub signature: &'a [u8],
    /// V4 `timeStamp`, if present.
    pub timestamp: Option<&'a [u8]>,
}

/// SM2-with-SM3 (default ID) of `message` with the key of `cert_der`.
fn verify_sm2(
    algorithm: &[u8],
    cert_der: &[u8],
    signature: &[u8],
    message: &[u8],
    cache: Option<&VerifierCache>,
) -> Result<()> {
    if algorithm != OID_SM2_WITH_SM3 {
        return Err(malformed(format!(
            "signature algorithm {} is not SM2-with-SM3",
            asn1::oid_to_string(algorithm)
        )));
    }
    let cert = Certificate::parse(cert_der)?;
    let sig = decode_signature_lenient(signature)?;
    match cache {
        Some(cache) => cache.verify(&cert.public_key, message, &sig),
        None => cert.public_key.verify(message, &sig, DEFAULT_UID),
    }
}

fn parse_cert_list<'a>(e: &Element<'a>) -> Result<CertList<'a>> {
    let kids = e.sequence("certList")?;
    if kids.iter().all(|k| k.is_universal(tag::OCTET_STRING)) {
        return Ok(CertList::Certs(kids.iter().map(|k| k.content).collect()));
    }
    let digest = |k: &Element<'a>| -> Result<(String, &'a [u8])> {
        let parts = k.sequence("CertDigestObj")?;
        let [t, v] = parts.as_slice() else {
            return Err(malformed("CertDigestObj needs 2 fields"));
        };
        Ok((
            t.text("CertDigestObj.type")?,
            v.octet_string("CertDigestObj.value")?,
        ))
    };
    match kids.iter().map(digest).collect::<Result<Vec<_>>>() {
        Ok(digests) => Ok(CertList::Digests(digests)),
        Err(_) => Ok(CertList::Unrecognised(e.raw)),
    }
}

impl<'a> SealInfo<'a> {
    fn parse(e: &Element<'a>) -> Result<Self> {
        let kids = e.sequence("SES_SealInfo")?;
        let (header, es_id, property, picture, ext) = match kids.as_slice() {
            [h, id, p, pic] => (h, id, p, pic, None),
            [h, id, p, pic, x] => (h, id, p, pic, Some(x.raw)),
            _ => return Err(malformed("SES_SealInfo needs 4 or 5 fields")),
        };
        let hk = header.sequence("SES_Header")?;
        let [id, version, vid] = hk.as_slice() else {
            return Err(malformed("SES_Header needs 3 fields"));
        };
        if id.text("SES_Header.id")? != "ES" {
            return Err(malformed("SES_Header.id is not \"ES\""));
        }
        let pk = property.sequence("SES_ESPropertyInfo")?;
        // V1: type, name, certList, 3 times; V4: type, name, certListType,
        // certList, 3 times. Decided by the third field's type.
        let (cert_list_type, rest) = match pk.as_slice() {
            [_, _, clt, rest @ ..] if clt.is_universal(tag::INTEGER) && rest.len() == 4 => {
                (Some(clt.small_uint("certListType")?), rest)
            }
            [_, _, rest @ ..] if rest.len() == 4 => (None, rest),
            _ => return Err(malformed("SES_ESPropertyInfo has an unknown layout")),
        };
        let [cert_list, create, start, end] = rest else {
            return Err(malformed("SES_ESPropertyInfo"));
        };
        let pic = picture.sequence("SES_ESPictrueInfo")?;
        let [ptype, pdata, width, height] = pic.as_slice() else {
            return Err(malformed("SES_ESPictrueInfo needs 4 fields"));
        };
        Ok(SealInfo {
            raw: e.raw,
            header_version: version.small_uint("SES_Header.version")?,
            vid: vid.text("SES_Header.vid")?,
            es_id: es_id.text("esID")?,
            seal_type: pk[0].small_uint("type")?,
            name: pk[1].text("name")?,
            cert_list_type,
            cert_list: parse_cert_list(cert_list)?,
            create_date: create.time("createDate")?,
            valid_start: start.time("validStart")?,
            valid_end: end.time("validEnd")?,
            picture_type: ptype.text("picture type")?,
            picture: pdata.octet_string("picture data")?,
            width: width.small_uint("picture width")?,
            height: height.small_uint("picture height")?,
            ext_datas: ext,
        })
    }
}

impl<'a> Seal<'a> {
    /// Parses a seal from its own encoding (e.g. an `.esl` file).
    pub fn parse(der: &'a [u8]) -> Result<Self> {
        Self::from_element(&asn1::parse(der)?)
    }

    fn from_element(e: &Element<'a>) -> Result<Self> {
        let kids = e.sequence("SESeal")?;
        match kids.as_slice() {
            [info, sign_info] if sign_info.is_universal(tag::SEQUENCE) => {
                let si = sign_info.sequence("SES_SignInfo")?;
                let [cert, alg, sig] = si.as_slice() else {
                    return Err(malformed("SES_SignInfo needs 3 fields"));
                };
                let signed_bytes = write::tlv_parts(0x30, &[info.raw, cert.raw, alg.raw]);
                Ok(Seal {
                    layout: Layout::V1,
                    raw: e.raw,
                    info: SealInfo::parse(info)?,
                    maker_cert: cert.octet_string("SES_SignInfo.cert")?,
                    signature_algorithm: alg.oid("SES_SignInfo.signatureAlgorithm")?,
                    signature: sig.bit_string("SES_SignInfo.signData")?,
                    signed_bytes,
                })
            }
            [info, cert, alg, sig] => {
                let info = SealInfo::parse(info)?;
                let layout = if info.header_version >= 5 {
                    Layout::V5
                } else {
                    Layout::V4
                };
                Ok(Seal {
                    layout,
                    raw: e.raw,
                    signed_bytes: info.raw.to_vec(),
                    info,
                    maker_cert: cert.octet_string("SESeal.cert")?,
                    signature_algorithm: alg.oid("SESeal.signAlgID")?,
                    signature: sig.bit_string("SESeal.signedValue")?,
                })
            }
            _ => Err(malformed("SESeal has neither the V1 nor the V4 layout")),
        }
    }

    /// Verifies the seal maker's signature (algorithm SM2-with-SM3, key from
    /// the maker certificate, default ID) over the bytes of this layout.
    pub fn verify_maker(&self) -> Result<()> {
        self.verify_maker_with(None)
    }

    /// [`Self::verify_maker`] through a cache of verifiers.
    pub fn verify_maker_with(&self, cache: Option<&VerifierCache>) -> Result<()> {
        verify_sm2(
            self.signature_algorithm,
            self.maker_cert,
            self.signature,
            &self.signed_bytes,
            cache,
        )
    }

    /// Whether `cert_der` is in the seal's certificate list (by encoding,
    /// or by SM3 digest for a digest list).
    pub fn lists_certificate(&self, cert_der: &[u8]) -> bool {
        match &self.info.cert_list {
            CertList::Certs(certs) => certs.contains(&cert_der),
            CertList::Digests(digests) => {
                let d = sm3(cert_der);
                digests.iter().any(|(alg, v)| {
                    let alg = alg.to_ascii_uppercase();
                    (alg == "SM3" || alg == "1.2.156.10197.1.401") && *v == d
                })
            }
            CertList::Unrecognised(_) => false,
        }
    }
}

impl<'a> SesSignature<'a> {
    /// Parses a `SES_Signature` (the OFD `SignedValue.dat` of a `Seal`
    /// signature).
    pub fn parse(der: &'a [u8]) -> Result<Self> {
        let top = asn1::parse(der)?;
        let kids = top.sequence("SES_Signature")?;
        let (layout_v1, tbs_e) = match kids.as_slice() {
            [tbs, sig] if sig.is_universal(tag::BIT_STRING) => (true, tbs),
            [tbs, cert, _, _] | [tbs, cert, _, _, _] if cert.is_universal(tag::OCTET_STRING) => {
                (false, tbs)
            }
            _ => {
                return Err(malformed(
                    "SES_Signature has neither the V1 nor the V4 layout",
                ))
            }
        };
        let t = tbs_e.sequence("TBS_Sign")?;
        let (version, seal_e, time_e, hash_e, prop_e, rest) = match t.as_slice() {
            [v, s, ti, h, p, rest @ ..] => (v, s, ti, h, p, rest),
            _ => return Err(malformed("TBS_Sign is too short")),
        };
        let seal = Seal::from_element(seal_e)?;
        let (time_info, signed_at) = if time_e.is_universal(tag::BIT_STRING) {
            let bits = time_e.bit_string("timeInfo")?;
            (
                bits,
                std::str::from_utf8(bits)
                    .ok()
                    .and_then(asn1::parse_text_time),
            )
        } else {
            (time_e.content, time_e.time("timeInfo").ok())
        };
        let data_hash = hash_e.bit_string("dataHash")?;
        let property_info = prop_e.text("propertyInfo")?;
        let (signer_cert, signature_algorithm, signature, timestamp) = if layout_v1 {
            let [cert, alg] = rest else {
                return Err(malformed("V1 TBS_Sign needs cert and signatureAlgorithm"));
            };
            (
                cert.octet_string("TBS_Sign.cert")?,
                alg.oid("TBS_Sign.signatureAlgorithm")?,
                kids[1].bit_string("SES_Signature.signature")?,
                None,
            )
        } else {
            if rest.len() > 1 || rest.first().is_some_and(|x| !x.is_context(0)) {
                return Err(malformed("V4 TBS_Sign has unexpected fields"));
            }
            let ts = match kids.get(4) {
                Some(x) if x.is_context(0) => Some(x.content),
                Some(_) => return Err(malformed("SES_Signature.timeStamp is not [0]")),
                None => None,
            };
            (
                kids[1].octet_string("SES_Signature.cert")?,
                kids[2].oid("SES_Signature.signatureAlgID")?,
                kids[3].bit_string("SES_Signature.signature")?,
                ts,
            )
        };
        let layout = if layout_v1 {
            Layout::V1
        } else if seal.layout == Layout::V5 {
            Layout::V5
        } else {
            Layout::V4
        };
        Ok(SesSignature {
            layout,
            tbs: tbs_e.raw,
            version: version.small_uint("TBS_Sign.version")?,
            seal,
            time_info,
            signed_at,
            data_hash,
            property_info,
            signer_cert,
            signature_algorithm,
            signature,
            timestamp,
        })
    }

    /// Verifies the signer's signature over the original `TBS_Sign`.
    pub fn verify_signer(&self) -> Result<()> {
        self.verify_signer_with(None)
    }

    /// [`Self::verify_signer`] through a cache of verifiers.
    pub fn verify_signer_with(&self, cache: Option<&VerifierCache>) -> Result<()> {
        verify_sm2(
            self.signature_algorithm,
            self.signer_cert,
            self.signature,
            self.tbs,
            cache,
        )
    }

    /// Whether `dataHash` is SM3 of `data`.
    pub fn data_hash_matches(&self, data: &[u8]) -> bool {
        self.data_hash == sm3(data)
    }
}
