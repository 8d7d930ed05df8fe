//! A minimal SM2 certificate writer for tests (chains with intermediates,
//! CA flags, validity windows): RFC 5280 v3, SM2-with-SM3, signed over the
//! TBSCertificate with the default ID.

use sidian_core::asn1::write;
use sidian_core::sm2::{PrivateKey, PublicKey, DEFAULT_UID};
use sidian_core::x509::OID_SM2_WITH_SM3;

/// What a test certificate says.
pub struct CertSpec<'a> {
    pub serial: u64,
    pub subject_cn: &'a str,
    pub issuer_cn: &'a str,
    pub not_before: &'a str, // GeneralizedTime text, e.g. "20200101000000Z"
    pub not_after: &'a str,
    pub ca: bool,
}

fn name(cn: &str) -> Vec<u8> {
    let atv = write::tlv_parts(
        0x30,
        &[
            &write::tlv(0x06, &[0x55, 0x04, 0x03]),
            &write::tlv(0x0c, cn.as_bytes()),
        ],
    );
    write::tlv(0x30, &write::tlv(0x31, &atv))
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![write::tlv(0x06, oid)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(write::tlv(0x04, value));
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    write::tlv_parts(0x30, &refs)
}

/// A DER certificate for `subject_key`, signed by `issuer_key`.
pub fn certificate(
    spec: &CertSpec<'_>,
    subject_key: &PublicKey,
    issuer_key: &PrivateKey,
) -> Vec<u8> {
    let alg = write::tlv(0x30, &write::tlv(0x06, OID_SM2_WITH_SM3));
    let validity = write::tlv_parts(
        0x30,
        &[
            &write::tlv(0x18, spec.not_before.as_bytes()),
            &write::tlv(0x18, spec.not_after.as_bytes()),
        ],
    );
    let bc_value = if spec.ca {
        write::tlv(0x30, &[0x01, 0x01, 0xff])
    } else {
        write::tlv(0x30, &[])
    };
    // keyUsage: CA keyCertSign|cRLSign (bits 5, 6) else digitalSignature|nonRepudiation.
    let ku_value = if spec.ca {
        vec![0x03, 0x02, 0x01, 0x06]
    } else {
        vec![0x03, 0x02, 0x06, 0xc0]
    };
    let exts = write::tlv_parts(
        0x30,
        &[
            &extension(&[0x55, 0x1d, 0x13], true, &bc_value),
            &extension(&[0x55, 0x1d, 0x0f], true, &ku_value),
        ],
    );
    let tbs = write::tlv_parts(
        0x30,
        &[
            &write::tlv(0xa0, &write::uint(&[2])),
            &write::uint(&spec.serial.to_be_bytes()),
            &alg,
            &name(spec.issuer_cn),
            &validity,
            &name(spec.subject_cn),
            &subject_key.to_spki_der(),
            &write::tlv(0xa3, &exts),
        ],
    );
    let sig = issuer_key.sign(&tbs, DEFAULT_UID).unwrap().to_der();
    write::tlv_parts(0x30, &[&tbs, &alg, &write::bit_string(&sig)])
}
