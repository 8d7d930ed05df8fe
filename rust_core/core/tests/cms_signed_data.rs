//! GB/T 35275 SignedData in all four shapes — with and without signed
//! attributes, content attached and detached — built here (the OFD vectors
//! cover detached-with-attributes and attached-without), plus tampering.

mod common;

use common::certs::{certificate, CertSpec};
use sidian_core::asn1::write;
use sidian_core::cms::{Content, SignedData, OID_GM_SIGNED_DATA, OID_SM3};
use sidian_core::sm2::{PrivateKey, DEFAULT_UID};
use sidian_core::sm3::sm3;
use sidian_core::x509::{Certificate, OID_SM2_WITH_SM3};
use sidian_core::Error;

/// 1.2.156.10197.6.1.4.2.1 (GM/T 0010 data).
const OID_GM_DATA: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x06, 0x01, 0x04, 0x02, 0x01];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];

fn oid(o: &[u8]) -> Vec<u8> {
    write::tlv(0x06, o)
}

fn alg(o: &[u8]) -> Vec<u8> {
    write::tlv(0x30, &oid(o))
}

/// A SignedData over `content` by `key` (certificate `cert`).
fn signed_data(
    key: &PrivateKey,
    cert: &[u8],
    content: &[u8],
    attached: bool,
    attrs: bool,
) -> Vec<u8> {
    let parsed = Certificate::parse(cert).unwrap();
    let (signed_attrs, to_sign) = if attrs {
        let md = write::tlv_parts(
            0x30,
            &[
                &oid(OID_MESSAGE_DIGEST),
                &write::tlv(0x31, &write::tlv(0x04, &sm3(content))),
            ],
        );
        let ct = write::tlv_parts(
            0x30,
            &[
                &oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03]),
                &write::tlv(0x31, &oid(OID_GM_DATA)),
            ],
        );
        let set = write::tlv_parts(0x31, &[&ct, &md]);
        let mut implicit = set.clone();
        implicit[0] = 0xa0;
        (implicit, set)
    } else {
        (Vec::new(), content.to_vec())
    };
    let sig = key.sign(&to_sign, DEFAULT_UID).unwrap().to_der();
    let sid = write::tlv_parts(0x30, &[parsed.issuer_raw, &write::uint(parsed.serial)]);
    let signer = write::tlv_parts(
        0x30,
        &[
            &write::uint(&[1]),
            &sid,
            &alg(OID_SM3),
            &signed_attrs,
            &alg(OID_SM2_WITH_SM3),
            &write::tlv(0x04, &sig),
        ],
    );
    let econtent = if attached {
        write::tlv(0xa0, &write::tlv(0x04, content))
    } else {
        Vec::new()
    };
    let sd = write::tlv_parts(
        0x30,
        &[
            &write::uint(&[1]),
            &write::tlv(0x31, &alg(OID_SM3)),
            &write::tlv_parts(0x30, &[&oid(OID_GM_DATA), &econtent]),
            &write::tlv(0xa0, cert),
            &write::tlv(0x31, &signer),
        ],
    );
    write::tlv_parts(0x30, &[&oid(OID_GM_SIGNED_DATA), &write::tlv(0xa0, &sd)])
}

#[test]
fn all_four_shapes_verify_and_detect_changes() {
    let key = PrivateKey::generate().unwrap();
    let cert = certificate(
        &CertSpec {
            serial: 0x0102_0304,
            subject_cn: "signer",
            issuer_cn: "signer",
            not_before: 0,
            not_after: 4_102_444_800,
            ca: false,
        },
        key.public_key(),
        &key,
    );
    let content = b"<ofd:Signature>signed</ofd:Signature>";
    let other = b"<ofd:Signature>changed</ofd:Signature>";
    for attached in [false, true] {
        for attrs in [false, true] {
            let ctx = format!("attached={attached} attrs={attrs}");
            let der = signed_data(&key, &cert, content, attached, attrs);
            let sd = SignedData::parse(&der).unwrap();
            assert_eq!(sd.content.is_some(), attached, "{ctx}");
            assert_eq!(sd.signers[0].signed_attributes.is_some(), attrs, "{ctx}");
            assert_eq!(sd.signer_certificate(&sd.signers[0]), Some(cert.as_slice()));
            assert_eq!(sd.verify(Some(content)), Ok(cert.as_slice()), "{ctx}");
            if attached {
                // The attached content wins over anything given.
                assert!(sd.verify(None).is_ok(), "{ctx}");
                assert!(sd.verify(Some(other)).is_ok(), "{ctx}");
            } else {
                assert!(matches!(sd.verify(None), Err(Error::Malformed(_))), "{ctx}");
                assert_eq!(
                    sd.verify(Some(other)),
                    Err(Error::InvalidSignature),
                    "{ctx}"
                );
                // Only the SM3: enough with attributes, refused without.
                let by_hash = sd.verify_content(Some(Content::Sm3(&sm3(content))), None);
                if attrs {
                    assert!(by_hash.is_ok(), "{ctx}");
                } else {
                    assert!(matches!(by_hash, Err(Error::Malformed(_))), "{ctx}");
                }
            }
            // A flipped bit in the signature value fails.
            let mut bad = der.clone();
            let n = bad.len();
            bad[n - 2] ^= 1;
            let sd = SignedData::parse(&bad).unwrap();
            assert!(sd.verify(Some(content)).is_err(), "{ctx}");
        }
    }
}
