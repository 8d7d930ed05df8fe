//! SES seals and signatures, GB/T 35275 SignedData and SM2 certificates
//! from real files: every seal in `shared/vectors/ses/seal` and every
//! signed value of the OFDs in `shared/vectors/ses/ofd` (extracted into
//! `tests/vectors/ses`, see its README), checked against `expected.json`.

mod common;

use common::{load_json, repo_vectors_dir, shared_vectors_dir};
use serde_json::Value;
use sidian_core::cms::SignedData;
use sidian_core::ses::{Layout, Seal, SesSignature};
use sidian_core::signed_value::{check, check_seal};
use sidian_core::x509::{build_chain, evaluate_chain, Certificate};
use sidian_core::Error;

fn read(path: std::path::PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn seal_file(name: &str) -> Vec<u8> {
    read(shared_vectors_dir().join("ses/seal").join(name))
}

/// The extracted directory of an OFD in expected.json.
fn extracted_dir(ofd: &str) -> &str {
    match ofd {
        "发票示例.ofd" => "fapiao-shili",
        "增值税电子专票5.ofd" => "zengzhishui-5",
        other => other.strip_suffix(".ofd").unwrap(),
    }
}

#[test]
fn seals_parse_and_maker_signatures_verify() {
    for (name, layout, version) in [
        ("UserV1.esl", Layout::V1, 1),
        ("UserV4.esl", Layout::V4, 4),
        ("UserV5.esl", Layout::V5, 5),
    ] {
        let der = seal_file(name);
        let seal = Seal::parse(&der).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(seal.layout, layout, "{name}");
        assert_eq!(seal.info.header_version, version, "{name}");
        assert_eq!(seal.verify_maker(), Ok(()), "{name}");
        assert_eq!(seal.info.picture_type, "PNG");
        assert!(seal.info.valid_start <= seal.info.valid_end);
        let report = check_seal(&der).unwrap();
        assert!(report.seal_signature_ok);
        assert_eq!(report.format, layout.name());
        // Any flipped bit of what the maker signed breaks the signature.
        let mut bad = der.clone();
        let at = seal.info.raw.as_ptr() as usize - der.as_ptr() as usize + 40;
        bad[at] ^= 1;
        let reparsed = Seal::parse(&bad);
        assert!(
            reparsed.is_err() || reparsed.unwrap().verify_maker().is_err(),
            "{name}"
        );
    }
}

#[test]
fn sesealdata_parses_but_its_maker_signature_fails() {
    let der = seal_file("SESealData.DER");
    let seal = Seal::parse(&der).unwrap();
    assert_eq!(seal.layout, Layout::V4);
    assert_eq!(seal.info.name, "测试单位名称 合同专用章");
    assert_eq!(seal.info.picture_type, "GIF");
    assert!(seal.verify_maker().is_err());
    assert!(!check_seal(&der).unwrap().seal_signature_ok);
}

#[test]
fn signed_value_v4_verifies_with_zero_data_hash() {
    let der = seal_file("SignedValueV4.dat");
    let sig = SesSignature::parse(&der).unwrap();
    assert_eq!(sig.layout, Layout::V4);
    assert_eq!(sig.data_hash, &[0u8; 32][..]);
    assert_eq!(sig.verify_signer(), Ok(()));
    assert_eq!(sig.seal.verify_maker(), Ok(()));
    // A changed TBS_Sign no longer verifies (flip a bit of propertyInfo).
    let mut bad = der.clone();
    let pos = sig.tbs.as_ptr() as usize - der.as_ptr() as usize + sig.tbs.len() - 1;
    bad[pos] ^= 1;
    let reparsed = SesSignature::parse(&bad).unwrap();
    assert_eq!(reparsed.verify_signer(), Err(Error::InvalidSignature));
}

#[test]
fn sign_cert_pem_parses() {
    let pem = read(shared_vectors_dir().join("ses/seal/sign_cert.pem"));
    let (_, der) = sidian_core::pem::decode(&pem).unwrap();
    let cert = Certificate::parse(&der).unwrap();
    assert_eq!(cert.subject.common_name(), Some("Test Certificate"));
    assert_eq!(
        cert.issuer.common_name(),
        Some("OFD Reader and WriterROOT Certificate")
    );
    assert_eq!(cert.basic_constraints.map(|b| b.ca), Some(false));
    // digitalSignature, nonRepudiation, keyCertSign
    assert_eq!(cert.key_usage, Some(0b10_0011));
    assert!(cert.valid_at(1_660_000_000));
    assert!(!cert.valid_at(1_700_000_000));
}

/// Values of the expected signer subject, in whatever format the
/// independent checker printed it.
fn expected_subject_values(s: &str) -> Vec<String> {
    let mut out: Vec<String> = s
        .split([',', ';'])
        .filter_map(|part| {
            let part = part.trim();
            let v = part
                .split_once(": ")
                .or_else(|| part.split_once('='))
                .map_or(part, |x| x.1);
            (!v.is_empty()).then(|| v.trim().to_string())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn ofd_signed_values_agree_with_expected_json() {
    let expected = load_json(shared_vectors_dir().join("ses/expected.json"));
    let mut seen = 0;
    for file in expected.as_array().unwrap() {
        let ofd = file["file"].as_str().unwrap();
        for sig in file["signatures"].as_array().unwrap() {
            let dir = sig["signature_xml"].as_str().unwrap();
            let sign = dir.split('/').nth(2).unwrap();
            let base = repo_vectors_dir()
                .join("ses")
                .join(extracted_dir(ofd))
                .join(sign);
            let value = read(base.join("SignedValue.dat"));
            let xml = read(base.join("Signature.xml"));
            let r = check(&value, &xml).unwrap_or_else(|e| panic!("{ofd} {sign}: {e}"));
            let ctx = format!("{ofd} {sign}: {r:?}");
            let format = sig["format"].as_str().unwrap();
            let want_format = if format.contains("35275") {
                "GBT35275"
            } else if format.contains("V1") {
                "SES_V1"
            } else {
                "SES_V4"
            };
            assert_eq!(r.format, want_format, "{ctx}");
            assert_eq!(Value::Bool(r.signature_ok), sig["signature_ok"], "{ctx}");
            if let Some(seal_ok) = sig.get("seal_signature_ok") {
                assert_eq!(
                    r.seal_signature_ok.map(Value::Bool).unwrap(),
                    *seal_ok,
                    "{ctx}"
                );
                assert_eq!(
                    Some(sig["seal_name"].as_str().unwrap()),
                    r.seal_name.as_deref()
                );
                assert_eq!(Some(sig["es_id"].as_str().unwrap()), r.es_id.as_deref());
                assert_eq!(
                    r.signature_encoding,
                    sig["signature_encoding"].as_str().unwrap()
                );
                assert_eq!(
                    Value::Bool(r.data_hash_ok),
                    sig["data_hash_matches"],
                    "{ctx}"
                );
            } else {
                assert_eq!(r.seal_signature_ok, None);
                let dh = sig
                    .get("message_digest_matches")
                    .or_else(|| sig.get("attached_content_is_sm3_of_signature_xml"))
                    .unwrap();
                assert_eq!(Value::Bool(r.data_hash_ok), *dh, "{ctx}");
            }
            let cert = r.signer_cert.as_deref().expect("signer certificate");
            let subject = Certificate::parse(cert).unwrap().subject;
            let mut values: Vec<String> = subject
                .attributes
                .iter()
                .map(|a| a.value.trim().to_string())
                .collect();
            values.sort();
            let want = expected_subject_values(sig["signer_subject"].as_str().unwrap());
            assert_eq!(values, want, "{ctx}");
            seen += 1;
        }
    }
    assert_eq!(seen, 10);
}

#[test]
fn tampered_signature_xml_fails_the_data_hash() {
    let base = repo_vectors_dir().join("ses/1/Sign_0");
    let value = read(base.join("SignedValue.dat"));
    let mut xml = read(base.join("Signature.xml"));
    let r = check(&value, &xml).unwrap();
    assert!(r.data_hash_ok && r.signature_ok);
    xml[100] ^= 1;
    let r = check(&value, &xml).unwrap();
    assert!(!r.data_hash_ok);
    assert!(
        r.signature_ok,
        "the SES signature covers dataHash, not the XML"
    );
}

#[test]
fn signed_data_attached_and_detached() {
    let ccb = read(repo_vectors_dir().join("ses/26050100800_00001/Sign_0/SignedValue.dat"));
    let ccb_xml = read(repo_vectors_dir().join("ses/26050100800_00001/Sign_0/Signature.xml"));
    let sd = SignedData::parse(&ccb).unwrap();
    assert!(sd.content.is_none());
    assert!(sd.signers[0].signed_attributes.is_some());
    assert!(sd.verify(Some(&ccb_xml)).is_ok());
    let mut other = ccb_xml.clone();
    other.push(b' ');
    assert_eq!(sd.verify(Some(&other)), Err(Error::InvalidSignature));
    assert!(sd.verify(None).is_err());

    let kw = read(repo_vectors_dir().join("ses/keyword/Sign_3/SignedValue.dat"));
    let sd = SignedData::parse(&kw).unwrap();
    assert_eq!(sd.content.map(<[u8]>::len), Some(32));
    assert!(sd.signers[0].signed_attributes.is_none());
    assert!(sd.verify(None).is_ok());
}

#[test]
fn truncations_never_panic_and_fail() {
    for path in [
        repo_vectors_dir().join("ses/1/Sign_0/SignedValue.dat"),
        repo_vectors_dir().join("ses/n/Sign_0/SignedValue.dat"),
        repo_vectors_dir().join("ses/keyword/Sign_3/SignedValue.dat"),
    ] {
        let der = read(path);
        for cut in (0..der.len()).step_by(7) {
            assert!(check(&der[..cut], b"").is_err(), "cut {cut}");
        }
    }
}

#[test]
fn chains_are_built_to_anchors_only() {
    let value = read(repo_vectors_dir().join("ses/v4signed/Sign_0/SignedValue.dat"));
    let r = check(&value, b"").unwrap();
    let signer = r.signer_cert.unwrap();
    let maker = r.seal_maker_cert.unwrap();
    let t = r.signed_at.unwrap();
    // No anchors: no path; the leaf's validity is still reported.
    let none = evaluate_chain(&signer, &[], &[], &[t, 2_000_000_000]).unwrap();
    assert_eq!(none.path_len, 0);
    assert_eq!(none.valid_at, vec![true, false]);
    // The leaf itself as an anchor (pinning).
    let pinned = evaluate_chain(&signer, &[], &[&signer], &[t]).unwrap();
    assert_eq!(pinned.path_len, 1);
    // An unrelated anchor does not help.
    let other = evaluate_chain(&signer, &[], &[&maker], &[t]).unwrap();
    assert_eq!(other.path_len, 0);
    let leaf = Certificate::parse(&signer).unwrap();
    assert!(build_chain(&leaf, &[], &[]).is_none());
}

#[test]
fn cached_verification_gives_the_same_reports() {
    let cache = sidian_core::verifier_cache::VerifierCache::new(16);
    let dir = repo_vectors_dir().join("ses");
    let mut count = 0;
    for round in 0..3 {
        for ofd in std::fs::read_dir(&dir).unwrap() {
            let ofd = ofd.unwrap().path();
            if !ofd.is_dir() {
                continue;
            }
            for sign in std::fs::read_dir(&ofd).unwrap() {
                let base = sign.unwrap().path();
                let value = read(base.join("SignedValue.dat"));
                let xml = read(base.join("Signature.xml"));
                let plain = check(&value, &xml).unwrap();
                let cached = sidian_core::signed_value::check_with(&value, &xml, Some(&cache));
                assert_eq!(cached.unwrap(), plain, "{} round {round}", base.display());
                assert_eq!(
                    sidian_core::signed_value::parse(&value).unwrap(),
                    plain.format
                );
                count += 1;
            }
        }
    }
    assert_eq!(count, 30);
    assert!(cache.ready() > 0);
}

#[test]
fn checks_with_only_the_sm3_of_the_signed_data_agree() {
    use sidian_core::cms::Content;
    use sidian_core::signed_value::check_content;
    for (dir, sign) in [
        ("1", "Sign_0"),
        ("n", "Sign_0"),
        ("keyword", "Sign_1"),
        ("keyword", "Sign_3"),
        ("26050100800_00001", "Sign_0"),
        ("fapiao-shili", "Sign_0"),
    ] {
        let base = repo_vectors_dir().join("ses").join(dir).join(sign);
        let value = read(base.join("SignedValue.dat"));
        let xml = read(base.join("Signature.xml"));
        let digest = sidian_core::sm3::sm3(&xml);
        let by_data = check(&value, &xml).unwrap();
        let by_hash = check_content(&value, Content::Sm3(&digest), None).unwrap();
        assert_eq!(by_hash, by_data, "{dir} {sign}");
        let wrong = check_content(&value, Content::Sm3(&[0; 32]), None).unwrap();
        assert!(!wrong.data_hash_ok, "{dir} {sign}");
    }
}
