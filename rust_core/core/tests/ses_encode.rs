//! The platform's own V4 seals and signatures: they round-trip through the
//! verifier, follow the structure rules of real files (checked field by
//! field with the lenient reader, independently of `ses`), and chain
//! through an intermediate CA to a root.

mod common;

use common::certs::{certificate, CertSpec};
use sidian_core::asn1::{self, tag};
use sidian_core::ses::{CertList, Layout, Seal, SesSignature};
use sidian_core::ses_encode::{encode_seal_v4, encode_signature_v4, SealSpec};
use sidian_core::signed_value::check;
use sidian_core::sm2::PrivateKey;
use sidian_core::sm3::sm3;
use sidian_core::x509::{evaluate_chain, Certificate};

const T_2024: i64 = 1_704_067_200; // 2024-01-01
const T_2025: i64 = 1_735_689_600; // 2025-01-01
const T_2029: i64 = 1_861_920_000; // 2029-01-01
const T_2026: i64 = 1_767_225_600; // 2026-01-01
const T_2030: i64 = 1_893_456_000;

struct Pki {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    maker_key: PrivateKey,
    maker: Vec<u8>,
    signer_key: PrivateKey,
    signer: Vec<u8>,
}

fn pki() -> Pki {
    let root_key = PrivateKey::generate().unwrap();
    let int_key = PrivateKey::generate().unwrap();
    let maker_key = PrivateKey::generate().unwrap();
    let signer_key = PrivateKey::generate().unwrap();
    let spec = |serial, subject, issuer, ca| CertSpec {
        serial,
        subject_cn: subject,
        issuer_cn: issuer,
        not_before: T_2024,
        not_after: T_2029,
        ca,
    };
    let root = certificate(
        &spec(1, "Root", "Root", true),
        root_key.public_key(),
        &root_key,
    );
    let intermediate = certificate(
        &spec(2, "Sub CA", "Root", true),
        int_key.public_key(),
        &root_key,
    );
    let maker = certificate(
        &spec(3, "平台制章", "Sub CA", false),
        maker_key.public_key(),
        &int_key,
    );
    let signer = certificate(
        &spec(4, "某单位", "Sub CA", false),
        signer_key.public_key(),
        &int_key,
    );
    Pki {
        root,
        intermediate,
        maker_key,
        maker,
        signer_key,
        signer,
    }
}

fn seal(p: &Pki) -> Vec<u8> {
    let certs = [p.signer.as_slice()];
    let spec = SealSpec {
        vid: "SIDIAN",
        es_id: "11010000000001",
        seal_type: 1,
        name: "某单位合同专用章",
        signer_certs: &certs,
        create_date: T_2025,
        valid_start: T_2025,
        valid_end: T_2030,
        picture_type: "PNG",
        picture: b"\x89PNG\r\n\x1a\n not a real picture",
        width: 40,
        height: 40,
    };
    encode_seal_v4(&spec, &p.maker_key, &p.maker).unwrap()
}

#[test]
fn seal_and_signature_round_trip() {
    let p = pki();
    let seal = seal(&p);
    let parsed = Seal::parse(&seal).unwrap();
    assert_eq!(parsed.layout, Layout::V4);
    assert_eq!(parsed.info.name, "某单位合同专用章");
    assert_eq!(
        parsed.info.cert_list,
        CertList::Certs(vec![p.signer.as_slice()])
    );
    assert_eq!(parsed.verify_maker(), Ok(()));

    let data = b"<ofd:Signature>...</ofd:Signature>";
    let sig = encode_signature_v4(
        &seal,
        &p.signer_key,
        &p.signer,
        &sm3(data),
        "/Doc_0/Signs/Sign_0/Signature.xml",
        T_2026,
    )
    .unwrap();
    let r = check(&sig, data).unwrap();
    assert_eq!(r.format, "SES_V4");
    assert!(r.signature_ok && r.data_hash_ok);
    assert_eq!(r.seal_signature_ok, Some(true));
    assert_eq!(r.signer_in_seal_cert_list, Some(true));
    assert_eq!(r.signed_at, Some(T_2026));
    assert_eq!(r.signature_encoding.get(..4), Some("DER("));
    assert!(!check(&sig, b"other data").unwrap().data_hash_ok);

    // Both certificates chain through the intermediate to the root.
    for leaf in [&p.signer, &p.maker] {
        let out = evaluate_chain(leaf, &[&p.intermediate], &[&p.root], &[T_2026, T_2030]).unwrap();
        assert_eq!(out.path_len, 3);
        assert_eq!(out.valid_at, vec![true, false]);
        assert_eq!(
            evaluate_chain(leaf, &[], &[&p.root], &[T_2026])
                .unwrap()
                .path_len,
            0,
            "no path without the intermediate"
        );
    }
    // A different root with the same name is not trusted.
    let other_root_key = PrivateKey::generate().unwrap();
    let fake_root = certificate(
        &CertSpec {
            serial: 1,
            subject_cn: "Root",
            issuer_cn: "Root",
            not_before: T_2024,
            not_after: T_2029,
            ca: true,
        },
        other_root_key.public_key(),
        &other_root_key,
    );
    let out = evaluate_chain(&p.signer, &[&p.intermediate], &[&fake_root], &[T_2026]).unwrap();
    assert_eq!(out.path_len, 0);
    // An end-entity certificate cannot act as an intermediate.
    let out = evaluate_chain(&p.signer, &[&p.maker], &[&p.root], &[T_2026]).unwrap();
    assert_eq!(out.path_len, 0);
}

/// The structure rules of shared/vectors (README "What real SES files look
/// like"), checked with the generic reader only.
#[test]
fn encodings_follow_the_real_file_structures() {
    let p = pki();
    let seal = seal(&p);
    let top = asn1::parse(&seal).unwrap().children().unwrap();
    assert_eq!(top.len(), 4, "V4 SESeal has 4 fields");
    assert!(top[1].is_universal(tag::OCTET_STRING));
    assert!(top[2].is_universal(tag::OID));
    assert!(top[3].is_universal(tag::BIT_STRING));
    assert_eq!(top[3].content[0], 0, "no unused bits");
    let info = top[0].children().unwrap();
    assert_eq!(info.len(), 4);
    let header = info[0].children().unwrap();
    assert_eq!(header[0].content, b"ES");
    assert!(header[0].is_universal(tag::IA5_STRING));
    assert_eq!(header[1].content, &[4]);
    assert!(info[1].is_universal(tag::IA5_STRING));
    let prop = info[2].children().unwrap();
    assert_eq!(prop.len(), 7);
    assert!(prop[1].is_universal(tag::UTF8_STRING));
    assert_eq!(prop[2].content, &[1]);
    for t in &prop[4..] {
        assert!(t.is_universal(tag::GENERALIZED_TIME));
        assert_eq!(t.content.len(), 15);
    }
    let pic = info[3].children().unwrap();
    assert!(pic[0].is_universal(tag::IA5_STRING));
    assert!(pic[1].is_universal(tag::OCTET_STRING));
    // The maker signed exactly DER(SES_SealInfo): verify by hand.
    let maker = Certificate::parse(top[1].content).unwrap();
    let sig = sidian_core::sm2::Signature::from_der(&top[3].content[1..]).unwrap();
    maker
        .public_key
        .verify(top[0].raw, &sig, sidian_core::sm2::DEFAULT_UID)
        .unwrap();

    let sig_der =
        encode_signature_v4(&seal, &p.signer_key, &p.signer, &[7; 32], "/x", T_2026).unwrap();
    let s = asn1::parse(&sig_der).unwrap().children().unwrap();
    assert_eq!(s.len(), 4, "V4 SES_Signature without timestamp");
    let tbs = s[0].children().unwrap();
    assert_eq!(tbs.len(), 5);
    assert_eq!(tbs[0].content, &[4]);
    assert_eq!(tbs[1].raw, &seal[..], "the seal is embedded byte for byte");
    assert!(tbs[2].is_universal(tag::GENERALIZED_TIME));
    assert_eq!(tbs[3].content, &[[0u8].as_slice(), &[7; 32]].concat()[..]);
    assert!(tbs[4].is_universal(tag::IA5_STRING));
    let parsed = SesSignature::parse(&sig_der).unwrap();
    assert_eq!(parsed.layout, Layout::V4);
    // Re-encoding-free: every element's length is minimal DER.
    assert_eq!(asn1::parse(&sig_der).unwrap().header.len(), 4);
}

#[test]
fn encoders_refuse_inconsistent_input() {
    let p = pki();
    let certs = [p.signer.as_slice()];
    let spec = SealSpec {
        vid: "SIDIAN",
        es_id: "1",
        seal_type: 1,
        name: "n",
        signer_certs: &certs,
        create_date: T_2025,
        valid_start: T_2025,
        valid_end: T_2030,
        picture_type: "PNG",
        picture: b"x",
        width: 1,
        height: 1,
    };
    // Maker certificate for another key.
    assert!(encode_seal_v4(&spec, &p.signer_key, &p.maker).is_err());
    // Non-ASCII esID.
    assert!(encode_seal_v4(
        &SealSpec {
            es_id: "印章",
            ..spec.clone()
        },
        &p.maker_key,
        &p.maker
    )
    .is_err());
    // No signer certificates.
    assert!(encode_seal_v4(
        &SealSpec {
            signer_certs: &[],
            ..spec.clone()
        },
        &p.maker_key,
        &p.maker
    )
    .is_err());
    let seal = encode_seal_v4(&spec, &p.maker_key, &p.maker).unwrap();
    // Signer not in the seal's list (the maker signing with its own cert).
    assert!(encode_signature_v4(&seal, &p.maker_key, &p.maker, &[0; 32], "/x", T_2026).is_err());
    // Outside the seal's validity.
    assert!(
        encode_signature_v4(&seal, &p.signer_key, &p.signer, &[0; 32], "/x", T_2030 + 1).is_err()
    );
    // A seal whose maker signature fails.
    let mut bad = seal.clone();
    let n = bad.len();
    bad[n - 3] ^= 1;
    assert!(encode_signature_v4(&bad, &p.signer_key, &p.signer, &[0; 32], "/x", T_2026).is_err());
}
