//! SM2 against the shared external vectors: GB/T 32918.5 Annex A (sign with
//! a fixed k) and 96 OpenSSL-generated verify cases.
//!
//! Vectors live in `<repo root>/../shared/vectors` (override with the
//! `SIDIAN_VECTORS` environment variable). A missing directory is a test
//! failure, never a skip.

use serde_json::Value;
use sidian_core::sm2::{PrivateKey, PublicKey, Signature, Verifier, DEFAULT_UID};
use sidian_core::Error;
mod common;
use common::{load_json, shared_vectors_dir};

fn load(name: &str) -> Value {
    load_json(shared_vectors_dir().join("crypto").join(name))
}

fn hex_field(case: &Value, key: &str) -> Vec<u8> {
    let s = case[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} missing: {case}"));
    hex::decode(s).unwrap_or_else(|e| panic!("vector field {key} is not hex: {e}"))
}

fn arr32(v: &[u8]) -> [u8; 32] {
    v.try_into().expect("32 bytes")
}

#[test]
fn official_annex_a_sign_with_fixed_k() {
    let doc = load("official.json");
    let cases = doc["sm2_sign"]["cases"].as_array().expect("sm2_sign.cases");
    assert!(!cases.is_empty(), "no official SM2 signing cases");
    for case in cases {
        let d = hex_field(case, "private_key");
        let key = PrivateKey::from_bytes(&d).expect("official private key");
        let public = hex_field(case, "public_key");
        assert_eq!(
            key.public_key().to_uncompressed().to_vec(),
            public,
            "public key derived from d"
        );
        assert_eq!(
            PublicKey::from_sec1(&public).unwrap(),
            *key.public_key(),
            "imported public key equals derived one"
        );
        let uid = hex_field(case, "uid_hex");
        let msg = hex_field(case, "message_hex");
        assert_eq!(
            key.public_key().za(&uid).unwrap().to_vec(),
            hex_field(case, "za"),
            "Z_A"
        );
        let e = key.public_key().message_digest(&msg, &uid).unwrap();
        assert_eq!(e.to_vec(), hex_field(case, "e"), "e");
        let k = arr32(&hex_field(case, "k"));
        let sig = key.sign_digest_with_nonce(&e, &k).unwrap();
        assert_eq!(sig.r().to_vec(), hex_field(case, "r"), "r");
        assert_eq!(sig.s().to_vec(), hex_field(case, "s"), "s");
        // And the signature verifies, also through a cached verifier.
        key.public_key().verify(&msg, &sig, &uid).unwrap();
        Verifier::new(*key.public_key(), &uid)
            .unwrap()
            .verify(&msg, &sig)
            .unwrap();
        // A randomised (hedged) signature verifies too and differs.
        let sig2 = key.sign(&msg, &uid).unwrap();
        key.public_key().verify(&msg, &sig2, &uid).unwrap();
        assert_ne!(sig2, sig);
    }
}

#[test]
fn official_curve_constants_match() {
    let doc = load("official.json");
    let curve = &doc["curve"];
    // G: the public key of d = 1.
    let mut one = [0u8; 32];
    one[31] = 1;
    let g = PrivateKey::from_bytes(&one).unwrap();
    let unc = g.public_key().to_uncompressed();
    assert_eq!(unc[1..33].to_vec(), hex_field(curve, "gx"));
    assert_eq!(unc[33..].to_vec(), hex_field(curve, "gy"));
    // n − 1 is out of the private key range, n − 2 is in it.
    let n = hex_field(curve, "n");
    let mut nm1 = arr32(&n);
    nm1[31] -= 1;
    assert!(matches!(
        PrivateKey::from_bytes(&nm1),
        Err(Error::Malformed(_))
    ));
    let mut nm2 = nm1;
    nm2[31] -= 1;
    let k = PrivateKey::from_bytes(&nm2).unwrap();
    // (n−2)·G = −2G: same x as 2G.
    let mut two = [0u8; 32];
    two[31] = 2;
    let g2 = PrivateKey::from_bytes(&two).unwrap();
    assert_eq!(
        k.public_key().to_uncompressed()[1..33],
        g2.public_key().to_uncompressed()[1..33]
    );
    assert_ne!(
        k.public_key().to_uncompressed()[33..],
        g2.public_key().to_uncompressed()[33..]
    );
}

/// Asserts that a verification result matches the expected verdict.
fn check(result: Result<(), Error>, valid: bool, malformed_ok: bool, what: &str) {
    match (valid, result) {
        (true, Ok(())) => {}
        (false, Err(Error::InvalidSignature)) => {}
        (false, Err(Error::Malformed(_))) if malformed_ok => {}
        (valid, other) => panic!("{what}: expected valid={valid}, got {other:?}"),
    }
}

/// The valid OpenSSL cases through SEC1 keys and raw `r ‖ s` only (no DER
/// involved), plus their ID / message / key mutations.
#[test]
fn openssl_valid_cases_sec1_raw() {
    let doc = load("sm2-openssl.json");
    let cases = doc["cases"].as_array().expect("cases");
    let valid: Vec<&Value> = cases.iter().filter(|c| c["valid"] == true).collect();
    assert_eq!(valid.len(), 48, "expected 48 valid OpenSSL cases");
    for (i, case) in valid.iter().enumerate() {
        let what = format!("valid case {i}");
        let key = PublicKey::from_sec1(&hex_field(case, "public_key")).expect("SEC1 key");
        let uid = hex_field(case, "uid");
        let msg = hex_field(case, "message");
        let sig = Signature::from_raw(&hex_field(case, "raw")).expect("raw signature");
        key.verify(&msg, &sig, &uid)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let e = key.message_digest(&msg, &uid).unwrap();
        key.verify_digest(&e, &sig).unwrap();
        Verifier::new(key, &uid)
            .unwrap()
            .verify(&msg, &sig)
            .unwrap();
        // Mutations: another ID, another message, r and s swapped.
        let mut other_uid = uid.clone();
        other_uid.push(b'x');
        assert_eq!(
            key.verify(&msg, &sig, &other_uid),
            Err(Error::InvalidSignature),
            "{what}"
        );
        let mut other_msg = msg.clone();
        other_msg.push(0);
        assert_eq!(
            key.verify(&other_msg, &sig, &uid),
            Err(Error::InvalidSignature),
            "{what}"
        );
        let swapped = Signature::from_scalars(*sig.s(), *sig.r());
        assert_eq!(
            key.verify(&msg, &swapped, &uid),
            Err(Error::InvalidSignature),
            "{what}"
        );
    }
}

#[test]
fn openssl_verify_cases() {
    let doc = load("sm2-openssl.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 96, "expected 96 OpenSSL cases");
    let (mut n_valid, mut n_invalid) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let what = format!("case {i} ({})", case["desc"]);
        let valid = case["valid"].as_bool().expect("valid");
        let malformed_ok = case["malformed_ok"].as_bool().unwrap_or(false);
        let sec1 = hex_field(case, "public_key");
        let spki = hex_field(case, "spki");
        let uid = hex_field(case, "uid");
        let msg = hex_field(case, "message");
        let sig_der = hex_field(case, "signature");

        let key = PublicKey::from_sec1(&sec1).expect("SEC1 key");
        let key_spki = PublicKey::from_spki_der(&spki).expect("SPKI key");
        assert_eq!(key, key_spki, "{what}: SEC1 and SPKI keys agree");
        assert_eq!(PublicKey::from_bytes(&spki).unwrap(), key, "{what}");
        assert_eq!(PublicKey::from_bytes(&sec1).unwrap(), key, "{what}");
        // Compressed form round-trips to the same key.
        assert_eq!(
            PublicKey::from_sec1(&key.to_sec1(true)).unwrap(),
            key,
            "{what}"
        );

        for (label, k) in [("sec1", &key), ("spki", &key_spki)] {
            let res = Signature::from_der(&sig_der).and_then(|sig| k.verify(&msg, &sig, &uid));
            check(res, valid, malformed_ok, &format!("{what} [{label}, DER]"));
            let res = Signature::from_bytes(&sig_der).and_then(|sig| k.verify(&msg, &sig, &uid));
            check(
                res,
                valid,
                malformed_ok,
                &format!("{what} [{label}, from_bytes]"),
            );
            let res = Verifier::new(*k, &uid)
                .and_then(|v| Signature::from_bytes(&sig_der).and_then(|sig| v.verify(&msg, &sig)));
            check(
                res,
                valid,
                malformed_ok,
                &format!("{what} [{label}, Verifier]"),
            );
        }
        if valid {
            n_valid += 1;
            let raw = hex_field(case, "raw");
            let sig = Signature::from_raw(&raw).expect("raw signature");
            key.verify(&msg, &sig, &uid)
                .unwrap_or_else(|e| panic!("{what} [raw]: {e}"));
            let sig_b = Signature::from_bytes(&raw).expect("raw via from_bytes");
            assert_eq!(sig, sig_b, "{what}");
            // Our canonical DER re-encoding is exactly OpenSSL's.
            assert_eq!(sig.to_der(), sig_der, "{what}: DER re-encoding");
        } else {
            n_invalid += 1;
        }
    }
    assert_eq!((n_valid, n_invalid), (48, 48));
}

/// (SPKI key, message, DER signature, expected verdict).
type BatchItem = (Vec<u8>, Vec<u8>, Vec<u8>, bool);

#[test]
fn openssl_valid_cases_batch() {
    let doc = load("sm2-openssl.json");
    let cases = doc["cases"].as_array().expect("cases");
    // Group by uid: verify_batch takes one signer ID.
    let mut uids: Vec<Vec<u8>> = cases.iter().map(|c| hex_field(c, "uid")).collect();
    uids.sort();
    uids.dedup();
    let mut checked = 0;
    for uid in uids {
        let owned: Vec<BatchItem> = cases
            .iter()
            .filter(|c| hex_field(c, "uid") == uid)
            .map(|c| {
                (
                    hex_field(c, "spki"),
                    hex_field(c, "message"),
                    hex_field(c, "signature"),
                    c["valid"].as_bool().unwrap(),
                )
            })
            .collect();
        let items: Vec<(&[u8], &[u8], &[u8])> = owned
            .iter()
            .map(|(k, m, s, _)| (&k[..], &m[..], &s[..]))
            .collect();
        let got = sidian_core::sm2::verify_batch(&items, &uid);
        let want: Vec<bool> = owned.iter().map(|o| o.3).collect();
        assert_eq!(got, want, "uid {}", hex::encode(&uid));
        checked += got.len();
    }
    assert_eq!(checked, 96);
}

#[test]
fn default_uid_is_gmt0009() {
    assert_eq!(DEFAULT_UID, b"1234567812345678");
}
