//! SM2 X.509 certificates (RFC 5280 profile as used by GM/T 0015): lenient
//! parsing, strict verification.
//!
//! Lenient: names keep whatever string types and attributes real
//! certificates carry (UTF-8 in emailAddress, 2.5.4.45 as UTF8String,
//! unknown attributes), extensions other than key usage and basic
//! constraints are skipped, DEFAULT values may be explicit, serials may be
//! negative or long. Strict: the signature algorithm must be SM2-with-SM3
//! (1.2.156.10197.1.501) in both places, the key must be a valid point on
//! sm2p256v1, and the signature is checked over the original
//! `TBSCertificate` bytes with the default signer ID.

use crate::asn1::{self, tag, Element};
use crate::error::{Error, Result};
use crate::sm2::{PublicKey, Signature, DEFAULT_UID};

/// 1.2.156.10197.1.501 SM2-with-SM3.
pub const OID_SM2_WITH_SM3: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
/// 1.2.156.10197.1.301 sm2p256v1 (also seen as the SPKI algorithm).
pub const OID_SM2: &[u8] = crate::der::OID_SM2_CURVE;
/// 1.2.156.10197.1.301.1 sm2sign (seen as a CMS signature algorithm).
pub const OID_SM2_SIGN: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x01];
/// 1.2.840.10045.2.1 id-ecPublicKey.
pub const OID_EC_PUBLIC_KEY: &[u8] = crate::der::OID_EC_PUBLIC_KEY;
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// Longest chain [`build_chain`] builds (certificates, leaf and anchor included).
pub const MAX_CHAIN_LEN: usize = 8;

/// keyUsage bit digitalSignature.
pub const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
/// keyUsage bit nonRepudiation (contentCommitment).
pub const KU_NON_REPUDIATION: u16 = 1 << 1;
/// keyUsage bit keyCertSign.
pub const KU_KEY_CERT_SIGN: u16 = 1 << 5;

fn malformed(msg: impl Into<String>) -> Error {
    Error::malformed(format!("X.509: {}", msg.into()))
}

/// One attribute of a distinguished name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAttribute {
    /// Dotted OID.
    pub oid: String,
    /// Value as text (see [`Element::text`]); non-string values as hex.
    pub value: String,
}

/// A distinguished name, attributes in encoded order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// All attributes of all RDNs, in order.
    pub attributes: Vec<NameAttribute>,
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.42" => "GN",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

impl Name {
    fn parse(e: &Element<'_>) -> Result<Name> {
        let mut attributes = Vec::new();
        for rdn in e.sequence("Name")? {
            if !rdn.is_universal(tag::SET) {
                return Err(malformed("RDN is not a SET"));
            }
            for atv in rdn.children()? {
                let kids = atv.sequence("AttributeTypeAndValue")?;
                let [oid, value] = kids.as_slice() else {
                    return Err(malformed("AttributeTypeAndValue needs 2 fields"));
                };
                let oid = asn1::oid_to_string(oid.oid("attribute type")?);
                let value = value.text("attribute").unwrap_or_else(|_| hex(value.raw));
                attributes.push(NameAttribute { oid, value });
            }
        }
        Ok(Name { attributes })
    }

    /// The first value of attribute `oid`.
    pub fn get(&self, oid: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.oid == oid)
            .map(|a| a.value.as_str())
    }

    /// The common name, if any.
    pub fn common_name(&self) -> Option<&str> {
        self.get("2.5.4.3")
    }
}

impl std::fmt::Display for Name {
    /// RFC 4514 order (last RDN first), short names where known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.attributes.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match short_name(&a.oid) {
                Some(s) => write!(f, "{s}={}", a.value)?,
                None => write!(f, "{}={}", a.oid, a.value)?,
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Basic constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// cA
    pub ca: bool,
    /// pathLenConstraint
    pub path_len: Option<u64>,
}

/// A parsed certificate borrowing its encoding.
#[derive(Clone, Debug)]
pub struct Certificate<'a> {
    /// The whole certificate as encoded.
    pub raw: &'a [u8],
    /// The original `TBSCertificate` bytes (what the issuer signed).
    pub tbs: &'a [u8],
    /// Serial number content octets as encoded (may be non-minimal).
    pub serial: &'a [u8],
    /// Issuer name as encoded.
    pub issuer_raw: &'a [u8],
    /// Subject name as encoded.
    pub subject_raw: &'a [u8],
    /// Issuer.
    pub issuer: Name,
    /// Subject.
    pub subject: Name,
    /// notBefore, seconds since the epoch.
    pub not_before: i64,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// The subject's SM2 public key.
    pub public_key: PublicKey,
    /// Key usage bits (bit 0 = digitalSignature), if the extension is present.
    pub key_usage: Option<u16>,
    /// Basic constraints, if present.
    pub basic_constraints: Option<BasicConstraints>,
    /// Outer signature algorithm OID content.
    pub signature_algorithm: &'a [u8],
    /// TBSCertificate's signature algorithm OID content.
    pub tbs_signature_algorithm: &'a [u8],
    /// Signature value bits.
    pub signature: &'a [u8],
}

fn algorithm_oid<'a>(e: &Element<'a>, what: &str) -> Result<&'a [u8]> {
    let kids = e.sequence(what)?;
    kids.first()
        .ok_or_else(|| malformed(format!("{what}: empty AlgorithmIdentifier")))?
        .oid(what)
}

/// Parses the SM2 public key of a SubjectPublicKeyInfo: algorithm
/// id-ecPublicKey with curve sm2p256v1 (or no parameters), or the SM2 OID
/// itself as the algorithm.
pub fn parse_spki(e: &Element<'_>) -> Result<PublicKey> {
    let kids = e.sequence("SubjectPublicKeyInfo")?;
    let [alg, key] = kids.as_slice() else {
        return Err(malformed("SubjectPublicKeyInfo needs 2 fields"));
    };
    let alg_kids = alg.sequence("SPKI algorithm")?;
    let alg_oid = alg_kids
        .first()
        .ok_or_else(|| malformed("empty SPKI algorithm"))?
        .oid("SPKI algorithm")?;
    let curve = match alg_kids.get(1) {
        Some(p) if p.is_universal(tag::OID) => Some(p.content),
        Some(p) if p.is_universal(tag::NULL) => None,
        None => None,
        Some(_) => return Err(malformed("SPKI parameters are not a named curve")),
    };
    let ok = match alg_oid {
        a if a == OID_EC_PUBLIC_KEY => curve.is_none_or(|c| c == OID_SM2),
        a if a == OID_SM2 => curve.is_none_or(|c| c == OID_SM2),
        _ => false,
    };
    if !ok {
        return Err(malformed(format!(
            "public key is not SM2 (algorithm {}, curve {})",
            asn1::oid_to_string(alg_oid),
            curve.map(asn1::oid_to_string).unwrap_or_default()
        )));
    }
    PublicKey::from_sec1(key.bit_string("subjectPublicKey")?)
}

/// Decodes an SM2 signature value leniently: DER `SEQUENCE { r, s }` with
/// possibly non-minimal INTEGERs, or raw 64-byte `r ‖ s`.
pub fn decode_signature_lenient(bytes: &[u8]) -> Result<Signature> {
    fn scalar(e: &Element<'_>) -> Result<[u8; 32]> {
        let mag = e.unsigned_integer("signature scalar")?;
        if mag.len() > 32 {
            return Err(malformed("signature scalar longer than 32 bytes"));
        }
        let mut out = [0u8; 32];
        out[32 - mag.len()..].copy_from_slice(mag);
        Ok(out)
    }
    let der = asn1::parse(bytes).and_then(|e| {
        let kids = e.sequence("signature")?;
        match kids.as_slice() {
            [r, s] => Ok(Signature::from_scalars(scalar(r)?, scalar(s)?)),
            _ => Err(malformed("signature needs 2 INTEGERs")),
        }
    });
    match der {
        Ok(sig) => Ok(sig),
        Err(_) if bytes.len() == 64 => Signature::from_raw(bytes),
        Err(e) => Err(e),
    }
}

/// How a signature value was encoded: `"DER(n)"` or `"raw64"`.
pub fn signature_encoding(bytes: &[u8]) -> String {
    match asn1::parse(bytes) {
        Ok(e) if e.is_universal(tag::SEQUENCE) => format!("DER({})", bytes.len()),
        _ if bytes.len() == 64 => "raw64".to_string(),
        _ => format!("unknown({})", bytes.len()),
    }
}

impl<'a> Certificate<'a> {
    /// Parses a DER certificate (lenient, see the module docs). Trailing
    /// bytes after the certificate are rejected.
    pub fn parse(der: &'a [u8]) -> Result<Self> {
        let cert = asn1::parse(der)?;
        let kids = cert.sequence("Certificate")?;
        let [tbs, sig_alg, sig] = kids.as_slice() else {
            return Err(malformed("Certificate needs 3 fields"));
        };
        let signature_algorithm = algorithm_oid(sig_alg, "signatureAlgorithm")?;
        let signature = sig.bit_string("signatureValue")?;
        let mut fields = asn1::Fields::of(tbs, "TBSCertificate")?;
        let mut first = fields.next("serialNumber")?;
        // version [0] EXPLICIT DEFAULT v1
        if first.is_context(0) {
            first = fields.next("serialNumber")?;
        }
        let mut next = |what: &str| fields.next(what);
        let serial = first.expect(tag::INTEGER, "serialNumber")?.content;
        let tbs_signature_algorithm = algorithm_oid(&next("signature")?, "signature")?;
        let issuer_e = next("issuer")?;
        let validity = next("validity")?.sequence("validity")?;
        let subject_e = next("subject")?;
        let spki = next("subjectPublicKeyInfo")?;
        let [nb, na] = validity.as_slice() else {
            return Err(malformed("validity needs 2 times"));
        };
        let mut key_usage = None;
        let mut basic_constraints = None;
        for e in fields.rest() {
            if e.is_context(3) {
                let exts = e.children()?;
                let exts = exts
                    .first()
                    .ok_or_else(|| malformed("empty extensions"))?
                    .sequence("extensions")?;
                for ext in exts {
                    let parts = ext.sequence("Extension")?;
                    let (oid, value) = match parts.as_slice() {
                        [oid, v] => (oid, v),
                        [oid, _critical, v] => (oid, v),
                        _ => return Err(malformed("Extension needs 2 or 3 fields")),
                    };
                    let oid = oid.oid("extnID")?;
                    let value = asn1::parse(value.octet_string("extnValue")?)?;
                    if oid == OID_KEY_USAGE {
                        let bits = value.bit_string("keyUsage")?;
                        let mut ku = 0u16;
                        for i in 0..16 {
                            if bits.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0) {
                                ku |= 1 << i;
                            }
                        }
                        key_usage = Some(ku);
                    } else if oid == OID_BASIC_CONSTRAINTS {
                        let mut bc = BasicConstraints {
                            ca: false,
                            path_len: None,
                        };
                        for f in value.sequence("basicConstraints")? {
                            if f.is_universal(tag::BOOLEAN) {
                                bc.ca = f.content.first().is_some_and(|&b| b != 0);
                            } else {
                                bc.path_len = Some(f.small_uint("pathLenConstraint")?);
                            }
                        }
                        basic_constraints = Some(bc);
                    }
                }
            }
        }
        Ok(Certificate {
            raw: cert.raw,
            tbs: tbs.raw,
            serial,
            issuer_raw: issuer_e.raw,
            subject_raw: subject_e.raw,
            issuer: Name::parse(&issuer_e)?,
            subject: Name::parse(&subject_e)?,
            not_before: nb.time("notBefore")?,
            not_after: na.time("notAfter")?,
            public_key: parse_spki(&spki)?,
            key_usage,
            basic_constraints,
            signature_algorithm,
            tbs_signature_algorithm,
            signature,
        })
    }

    /// Whether `t` lies within `[notBefore, notAfter]`.
    pub fn valid_at(&self, t: i64) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// Whether this certificate may issue certificates: basic constraints
    /// cA, and keyCertSign if key usage is present.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|b| b.ca)
            && self.key_usage.is_none_or(|k| k & KU_KEY_CERT_SIGN != 0)
    }

    /// Whether `issuer`'s subject is this certificate's issuer (by encoded
    /// bytes, else by attribute values).
    pub fn issued_by_name(&self, issuer: &Certificate<'_>) -> bool {
        self.issuer_raw == issuer.subject_raw || self.issuer == issuer.subject
    }

    /// Verifies this certificate's signature with `issuer`'s key: SM2 with
    /// SM3 and the default ID over the original TBSCertificate bytes.
    pub fn verify_signed_by(&self, issuer: &PublicKey) -> Result<()> {
        if self.signature_algorithm != OID_SM2_WITH_SM3
            || self.tbs_signature_algorithm != OID_SM2_WITH_SM3
        {
            return Err(Error::InvalidSignature);
        }
        let sig = decode_signature_lenient(self.signature)?;
        issuer.verify(self.tbs, &sig, DEFAULT_UID)
    }
}

/// Builds a path from `leaf` to one of `anchors` through `intermediates`,
/// verifying each certificate's signature with the next one's key (and that
/// every intermediate is a CA). A leaf that is itself an anchor (same
/// encoding) is a path of one. Returns the path, leaf first and anchor
/// last, or `None`. Validity periods are not checked here: see
/// [`path_valid_at`], so signing time and now can be reported separately.
pub fn build_chain<'c, 'a>(
    leaf: &'c Certificate<'a>,
    intermediates: &'c [Certificate<'a>],
    anchors: &'c [Certificate<'a>],
) -> Option<Vec<&'c Certificate<'a>>> {
    let mut path = vec![leaf];
    let mut current = leaf;
    while path.len() < MAX_CHAIN_LEN {
        if anchors.iter().any(|a| a.raw == current.raw) {
            return Some(path);
        }
        if let Some(anchor) = anchors
            .iter()
            .find(|a| current.issued_by_name(a) && current.verify_signed_by(&a.public_key).is_ok())
        {
            path.push(anchor);
            return Some(path);
        }
        let next = intermediates.iter().find(|c| {
            c.is_ca()
                && !path.iter().any(|p| p.raw == c.raw)
                && current.issued_by_name(c)
                && current.verify_signed_by(&c.public_key).is_ok()
        })?;
        path.push(next);
        current = next;
    }
    None
}

/// Whether every certificate of `path` is within its validity period at `t`.
pub fn path_valid_at(path: &[&Certificate<'_>], t: i64) -> bool {
    path.iter().all(|c| c.valid_at(t))
}

/// Outcome of [`evaluate_chain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainOutcome {
    /// Certificates in the path found (leaf first), 0 if none reaches an anchor.
    pub path_len: usize,
    /// Subjects along the path.
    pub path_subjects: Vec<String>,
    /// For each requested time: every certificate of the path (or the leaf
    /// alone when no path was found) is within its validity period.
    pub valid_at: Vec<bool>,
}

/// Builds a chain for the DER `leaf` through `pool` to `anchors` and checks
/// validity at each of `times`. Unparseable pool certificates are ignored;
/// an unparseable leaf or anchor is an error.
pub fn evaluate_chain(
    leaf: &[u8],
    pool: &[&[u8]],
    anchors: &[&[u8]],
    times: &[i64],
) -> Result<ChainOutcome> {
    let leaf = Certificate::parse(leaf)?;
    let pool: Vec<Certificate<'_>> = pool
        .iter()
        .filter_map(|d| Certificate::parse(d).ok())
        .collect();
    let anchors = anchors
        .iter()
        .map(|d| Certificate::parse(d))
        .collect::<Result<Vec<_>>>()?;
    let path = build_chain(&leaf, &pool, &anchors);
    let checked: Vec<&Certificate<'_>> = path.clone().unwrap_or_else(|| vec![&leaf]);
    Ok(ChainOutcome {
        path_len: path.as_ref().map_or(0, Vec::len),
        path_subjects: checked.iter().map(|c| c.subject.to_string()).collect(),
        valid_at: times.iter().map(|&t| path_valid_at(&checked, t)).collect(),
    })
}
