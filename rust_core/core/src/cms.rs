//! GB/T 35275-2017 (GM/T 0010) SM2 `SignedData`, as in OFD signatures of
//! `Type="Sign"`: with or without signed attributes, content attached or
//! detached.
//!
//! Verification (per signer):
//! 1. find the signer's certificate in `certificates` by issuer and serial;
//! 2. the digest algorithm must be SM3 and the signature algorithm SM2;
//! 3. with signed attributes: `messageDigest` must equal SM3(content), and
//!    the signature covers the attributes' original encoding with the
//!    `[0] IMPLICIT` tag replaced by `SET` (RFC 5652 §5.4);
//!    without: the signature covers the content itself;
//! 4. SM2 with SM3 and the default ID; DER or raw `r ‖ s` value.

use crate::asn1::{self, tag, Element, Fields};
use crate::error::{Error, Result};
use crate::sm2::{PublicKey, Signature, DEFAULT_UID};
use crate::sm3::sm3;
use crate::verifier_cache::VerifierCache;
use crate::x509::{decode_signature_lenient, Certificate, OID_SM2, OID_SM2_SIGN, OID_SM2_WITH_SM3};

/// 1.2.156.10197.6.1.4.2.2 (GM/T 0010 signedData).
pub const OID_GM_SIGNED_DATA: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x06, 0x01, 0x04, 0x02, 0x02];
/// 1.2.840.113549.1.7.2 (PKCS #7 signedData).
pub const OID_PKCS7_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// 1.2.156.10197.1.401 SM3.
pub const OID_SM3: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x11];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
/// Most signers accepted in one SignedData.
pub const MAX_SIGNERS: usize = 16;

fn malformed(msg: impl Into<String>) -> Error {
    Error::malformed(format!("SignedData: {}", msg.into()))
}

/// The signed content as the verifier has it: the bytes, or only their SM3
/// (enough when the signature covers signed attributes, whose
/// `messageDigest` is that SM3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content<'d> {
    /// The content itself.
    Data(&'d [u8]),
    /// SM3 of the content.
    Sm3(&'d [u8; 32]),
}

impl Content<'_> {
    /// SM3 of the content.
    pub fn sm3(&self) -> [u8; 32] {
        match self {
            Content::Data(d) => sm3(d),
            Content::Sm3(h) => **h,
        }
    }
}

/// One `SignerInfo`.
#[derive(Clone, Debug)]
pub struct SignerInfo<'a> {
    /// Issuer name as encoded.
    pub issuer_raw: &'a [u8],
    /// Serial number content octets.
    pub serial: &'a [u8],
    /// Digest algorithm OID content.
    pub digest_algorithm: &'a [u8],
    /// The `[0]` signed attributes as encoded, if present.
    pub signed_attributes: Option<&'a [u8]>,
    /// The `messageDigest` attribute value.
    pub message_digest: Option<&'a [u8]>,
    /// The `signingTime` attribute, seconds since the epoch.
    pub signing_time: Option<i64>,
    /// Signature algorithm OID content.
    pub signature_algorithm: &'a [u8],
    /// Signature value (OCTET STRING content: DER or raw `r ‖ s`).
    pub signature: &'a [u8],
}

/// A parsed `ContentInfo { signedData }`.
#[derive(Clone, Debug)]
pub struct SignedData<'a> {
    /// The encapsulated content type OID content.
    pub content_type: &'a [u8],
    /// Attached content (OCTET STRING content), if any.
    pub content: Option<&'a [u8]>,
    /// Certificates carried (DER).
    pub certificates: Vec<&'a [u8]>,
    /// Signers.
    pub signers: Vec<SignerInfo<'a>>,
}

fn parse_attributes<'a>(attrs: &Element<'a>) -> Result<(Option<&'a [u8]>, Option<i64>)> {
    let mut digest = None;
    let mut time = None;
    for attr in attrs.children()? {
        let parts = attr.sequence("Attribute")?;
        let [oid, values] = parts.as_slice() else {
            return Err(malformed("Attribute needs 2 fields"));
        };
        let oid = oid.oid("attrType")?;
        if !values.is_universal(tag::SET) {
            return Err(malformed("attrValues is not a SET"));
        }
        let vals = values.children()?;
        if oid == OID_MESSAGE_DIGEST {
            let [v] = vals.as_slice() else {
                return Err(malformed("messageDigest needs one value"));
            };
            if digest.replace(v.octet_string("messageDigest")?).is_some() {
                return Err(malformed("two messageDigest attributes"));
            }
        } else if oid == OID_SIGNING_TIME {
            if let Some(v) = vals.first() {
                time = Some(v.time("signingTime")?);
            }
        }
    }
    Ok((digest, time))
}

fn parse_signer<'a>(e: &Element<'a>) -> Result<SignerInfo<'a>> {
    let mut f = Fields::of(e, "SignerInfo")?;
    let mut next = |what: &str| f.next(what);
    next("version")?.small_uint("SignerInfo.version")?;
    let sid = next("issuerAndSerialNumber")?;
    let sid = sid.sequence("issuerAndSerialNumber")?;
    let [issuer, serial] = sid.as_slice() else {
        return Err(malformed("issuerAndSerialNumber needs 2 fields"));
    };
    let digest_algorithm = first_oid(&next("digestAlgorithm")?, "digestAlgorithm")?;
    let mut e = next("signatureAlgorithm")?;
    let mut signed_attributes = None;
    let (mut message_digest, mut signing_time) = (None, None);
    if e.is_context(0) {
        if !e.constructed {
            return Err(malformed("signed attributes are not constructed"));
        }
        signed_attributes = Some(e.raw);
        (message_digest, signing_time) = parse_attributes(&e)?;
        e = next("signatureAlgorithm")?;
    }
    let signature_algorithm = first_oid(&e, "digestEncryptionAlgorithm")?;
    let signature = next("signature")?.octet_string("encryptedDigest")?;
    Ok(SignerInfo {
        issuer_raw: issuer.raw,
        serial: serial.expect(tag::INTEGER, "serialNumber")?.content,
        digest_algorithm,
        signed_attributes,
        message_digest,
        signing_time,
        signature_algorithm,
        signature,
    })
}

fn first_oid<'a>(e: &Element<'a>, what: &str) -> Result<&'a [u8]> {
    e.sequence(what)?
        .first()
        .ok_or_else(|| malformed(format!("{what}: empty AlgorithmIdentifier")))?
        .oid(what)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&x| x == 0).count();
    &b[n..]
}

impl<'a> SignedData<'a> {
    /// Parses a DER `ContentInfo` holding a `SignedData`.
    pub fn parse(der: &'a [u8]) -> Result<Self> {
        let ci = asn1::parse(der)?;
        let kids = ci.sequence("ContentInfo")?;
        let [ct, content] = kids.as_slice() else {
            return Err(malformed("ContentInfo needs 2 fields"));
        };
        let ct = ct.oid("contentType")?;
        if ct != OID_GM_SIGNED_DATA && ct != OID_PKCS7_SIGNED_DATA {
            return Err(malformed(format!(
                "content type {} is not signedData",
                asn1::oid_to_string(ct)
            )));
        }
        if !content.is_context(0) {
            return Err(malformed("content is not [0] EXPLICIT"));
        }
        let inner = content.children()?;
        let [sd] = inner.as_slice() else {
            return Err(malformed("[0] must hold one SignedData"));
        };
        let mut f = Fields::of(sd, "SignedData")?;
        let mut next = |what: &str| f.next(what);
        next("version")?.small_uint("SignedData.version")?;
        let algs = next("digestAlgorithms")?;
        if !algs.is_universal(tag::SET) {
            return Err(malformed("digestAlgorithms is not a SET"));
        }
        let eci = next("contentInfo")?.sequence("encapContentInfo")?;
        let (content_type, content) = match eci.as_slice() {
            [t] => (t.oid("eContentType")?, None),
            [t, c] if c.is_context(0) => {
                let inner = c.children()?;
                let [v] = inner.as_slice() else {
                    return Err(malformed("eContent must hold one value"));
                };
                let bytes = if v.is_universal(tag::OCTET_STRING) {
                    v.content
                } else {
                    v.raw
                };
                (t.oid("eContentType")?, Some(bytes))
            }
            _ => return Err(malformed("bad encapContentInfo")),
        };
        let mut certificates = Vec::new();
        let mut e = next("signerInfos")?;
        if e.is_context(0) {
            for c in e.children()? {
                if c.is_universal(tag::SEQUENCE) {
                    certificates.push(c.raw);
                }
            }
            e = next("signerInfos")?;
        }
        if e.is_context(1) {
            e = next("signerInfos")?;
        }
        if !e.is_universal(tag::SET) {
            return Err(malformed("signerInfos is not a SET"));
        }
        let signer_elems = e.children()?;
        if signer_elems.is_empty() || signer_elems.len() > MAX_SIGNERS {
            return Err(malformed(format!("{} signers", signer_elems.len())));
        }
        let signers = signer_elems
            .iter()
            .map(parse_signer)
            .collect::<Result<Vec<_>>>()?;
        Ok(SignedData {
            content_type,
            content,
            certificates,
            signers,
        })
    }

    /// The certificate (DER) of `signer`, matched by issuer and serial.
    pub fn signer_certificate(&self, signer: &SignerInfo<'_>) -> Option<&'a [u8]> {
        self.certificates.iter().copied().find(|der| {
            Certificate::parse(der).is_ok_and(|c| {
                strip_zeros(c.serial) == strip_zeros(signer.serial)
                    && c.issuer_raw == signer.issuer_raw
            })
        })
    }

    /// Verifies every signer over the attached content, or over `detached`
    /// if the content is detached (an attached content wins). Returns the
    /// first signer's certificate (DER).
    pub fn verify(&self, detached: Option<&[u8]>) -> Result<&'a [u8]> {
        self.verify_with(detached, None)
    }

    /// [`Self::verify`] through a cache of verifiers.
    pub fn verify_with(
        &self,
        detached: Option<&[u8]>,
        cache: Option<&VerifierCache>,
    ) -> Result<&'a [u8]> {
        self.verify_content(detached.map(Content::Data), cache)
    }

    /// [`Self::verify_with`] with the detached content given as bytes or as
    /// its SM3. Without signed attributes the signature covers the content
    /// itself, so its SM3 alone is `Error::Malformed`.
    pub fn verify_content(
        &self,
        detached: Option<Content<'_>>,
        cache: Option<&VerifierCache>,
    ) -> Result<&'a [u8]> {
        let verify = |message: &[u8], sig: &Signature, key: &PublicKey| match cache {
            Some(cache) => cache.verify(key, message, sig),
            None => key.verify(message, sig, DEFAULT_UID),
        };
        let content = self
            .content
            .map(Content::Data)
            .or(detached)
            .ok_or_else(|| malformed("content is detached and none was given"))?;
        let mut first = None;
        for signer in &self.signers {
            let cert_der = self
                .signer_certificate(signer)
                .ok_or_else(|| malformed("signer certificate not included"))?;
            let cert = Certificate::parse(cert_der)?;
            if signer.digest_algorithm != OID_SM3 {
                return Err(malformed(format!(
                    "digest algorithm {} is not SM3",
                    asn1::oid_to_string(signer.digest_algorithm)
                )));
            }
            let alg = signer.signature_algorithm;
            if alg != OID_SM2_WITH_SM3 && alg != OID_SM2_SIGN && alg != OID_SM2 {
                return Err(malformed(format!(
                    "signature algorithm {} is not SM2",
                    asn1::oid_to_string(alg)
                )));
            }
            let sig = decode_signature_lenient(signer.signature)?;
            match signer.signed_attributes {
                Some(attrs) => {
                    let digest = signer
                        .message_digest
                        .ok_or_else(|| malformed("signed attributes without messageDigest"))?;
                    if digest != content.sm3() {
                        return Err(Error::InvalidSignature);
                    }
                    let mut signed = attrs.to_vec();
                    signed[0] = 0x31;
                    verify(&signed, &sig, &cert.public_key)?;
                }
                None => {
                    match content {
                        Content::Data(data) => verify(data, &sig, &cert.public_key)?,
                        Content::Sm3(_) => return Err(malformed(
                            "without signed attributes the signature covers the content itself: \
                             its SM3 is not enough",
                        )),
                    }
                }
            }
            first.get_or_insert(cert_der);
        }
        first.ok_or_else(|| malformed("no signers"))
    }
}
