//! Test PKIs on top of `sidian_core::x509_encode`.

use sidian_core::sm2::{PrivateKey, PublicKey};
use sidian_core::x509_encode::{issue_certificate, CertificateSpec};

/// What a test certificate says (times as epoch seconds).
pub struct CertSpec<'a> {
    pub serial: u64,
    pub subject_cn: &'a str,
    pub issuer_cn: &'a str,
    pub not_before: i64,
    pub not_after: i64,
    pub ca: bool,
}

/// A DER certificate for `subject_key`, signed by `issuer_key`.
pub fn certificate(
    spec: &CertSpec<'_>,
    subject_key: &PublicKey,
    issuer_key: &PrivateKey,
) -> Vec<u8> {
    let serial = spec.serial.to_be_bytes();
    let spec = CertificateSpec {
        serial: &serial,
        subject_cn: spec.subject_cn,
        issuer_cn: spec.issuer_cn,
        not_before: spec.not_before,
        not_after: spec.not_after,
        ca: spec.ca,
    };
    issue_certificate(&spec, subject_key, issuer_key).unwrap()
}
