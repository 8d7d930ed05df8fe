//! A minimal SM2 certificate issuer (RFC 5280 v3, SM2-with-SM3 signed over
//! the TBSCertificate with the default ID): for the platform's own seal
//! maker certificate in development and test deployments, and for test
//! PKIs. Subject and issuer are a single CN; extensions are basic
//! constraints and key usage (both critical).

use crate::asn1::{tag, write};
use crate::error::{Error, Result};
use crate::sm2::{PrivateKey, PublicKey, DEFAULT_UID};
use crate::x509::{Certificate, OID_SM2_WITH_SM3};

/// What a certificate says.
#[derive(Clone, Debug)]
pub struct CertificateSpec<'a> {
    /// Serial number (big-endian magnitude, at most 20 bytes, not zero).
    pub serial: &'a [u8],
    /// Subject common name.
    pub subject_cn: &'a str,
    /// Issuer common name (the issuing certificate's subject CN).
    pub issuer_cn: &'a str,
    /// notBefore (epoch seconds).
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
    /// A CA (cA TRUE, keyCertSign|cRLSign) or an end entity
    /// (digitalSignature|nonRepudiation).
    pub ca: bool,
}

fn name(cn: &str) -> Vec<u8> {
    let atv = write::tlv_parts(
        write::SEQUENCE,
        &[
            &write::tlv(write::universal(tag::OID, false), &[0x55, 0x04, 0x03]),
            &write::tlv(write::universal(tag::UTF8_STRING, false), cn.as_bytes()),
        ],
    );
    write::tlv(
        write::SEQUENCE,
        &write::tlv(write::universal(tag::SET, true), &atv),
    )
}

fn extension(oid: &[u8], value: &[u8]) -> Vec<u8> {
    write::tlv_parts(
        write::SEQUENCE,
        &[
            &write::tlv(write::universal(tag::OID, false), oid),
            &[0x01, 0x01, 0xff], // critical TRUE
            &write::tlv(write::universal(tag::OCTET_STRING, false), value),
        ],
    )
}

/// Issues a DER certificate for `subject` signed with `issuer_key`.
pub fn issue_certificate(
    spec: &CertificateSpec<'_>,
    subject: &PublicKey,
    issuer_key: &PrivateKey,
) -> Result<Vec<u8>> {
    let serial_len = spec.serial.iter().skip_while(|&&b| b == 0).count();
    if serial_len == 0 || serial_len > 20 {
        return Err(Error::malformed(
            "certificate serial must be 1..=20 non-zero bytes",
        ));
    }
    if spec.not_before > spec.not_after {
        return Err(Error::malformed("certificate notBefore is after notAfter"));
    }
    let alg = write::tlv(
        write::SEQUENCE,
        &write::tlv(write::universal(tag::OID, false), OID_SM2_WITH_SM3),
    );
    let validity = write::tlv_parts(
        write::SEQUENCE,
        &[
            &write::generalized_time(spec.not_before)?,
            &write::generalized_time(spec.not_after)?,
        ],
    );
    let (bc, ku): (Vec<u8>, [u8; 4]) = if spec.ca {
        (
            write::tlv(write::SEQUENCE, &[0x01, 0x01, 0xff]),
            [0x03, 0x02, 0x01, 0x06],
        )
    } else {
        (write::tlv(write::SEQUENCE, &[]), [0x03, 0x02, 0x06, 0xc0])
    };
    let exts = write::tlv_parts(
        write::SEQUENCE,
        &[
            &extension(&[0x55, 0x1d, 0x13], &bc),
            &extension(&[0x55, 0x1d, 0x0f], &ku),
        ],
    );
    let tbs = write::tlv_parts(
        write::SEQUENCE,
        &[
            &write::tlv(0xa0, &write::uint(&[2])),
            &write::uint(spec.serial),
            &alg,
            &name(spec.issuer_cn),
            &validity,
            &name(spec.subject_cn),
            &subject.to_spki_der(),
            &write::tlv(0xa3, &exts),
        ],
    );
    let sig = issuer_key.sign(&tbs, DEFAULT_UID)?.to_der();
    let cert = write::tlv_parts(write::SEQUENCE, &[&tbs, &alg, &write::bit_string(&sig)]);
    // What we write, we read back and verify.
    let parsed = Certificate::parse(&cert)?;
    parsed.verify_signed_by(issuer_key.public_key())?;
    Ok(cert)
}
