//! Strict DER and PEM: OpenSSL-made vectors, hand-made malformed inputs and
//! property tests. Vectors come from two places, both required (a missing
//! directory panics, it never skips):
//! - shared vectors: `SIDIAN_VECTORS`, else `<repo>/../shared/vectors`;
//! - this repo's generated vectors: `<repo>/tests/vectors`.

use num_bigint::{BigInt, Sign};
use proptest::prelude::*;
use serde_json::Value;
use sidian_core::der::{
    decode_pkcs8, decode_sec1_private, decode_signature, decode_spki, encode_pkcs8,
    encode_sec1_private, encode_signature, encode_spki, OID_EC_PUBLIC_KEY, OID_SM2_CURVE,
};
use sidian_core::{pem, Error};
mod common;
use common::{load_json, repo_vectors_dir, shared_vectors_dir};

// ---------------------------------------------------------------------------
// Vector loading.

fn openssl_sig_cases() -> Vec<Value> {
    let json = load_json(shared_vectors_dir().join("crypto/sm2-openssl.json"));
    let cases = json["cases"].as_array().expect("cases array").clone();
    assert_eq!(cases.len(), 96, "sm2-openssl.json changed size");
    cases
}

fn openssl_keys() -> Vec<Value> {
    let json = load_json(repo_vectors_dir().join("openssl-sm2-keys.json"));
    assert!(json["generator"].as_str().unwrap().contains("OpenSSL"));
    let keys = json["keys"].as_array().expect("keys array").clone();
    assert!(keys.len() >= 4, "expected at least 4 OpenSSL keys");
    keys
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap_or_else(|| panic!("missing {name}")))
        .unwrap_or_else(|e| panic!("bad hex in {name}: {e}"))
}

fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap_or_else(|| panic!("missing {name}"))
}

fn array32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32 bytes")
}

fn assert_malformed<T: std::fmt::Debug>(result: sidian_core::Result<T>, what: &str) {
    match result {
        Err(Error::Malformed(_)) => {}
        other => panic!("{what}: expected Error::Malformed, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A tiny DER builder for hand-made inputs (independent of the crate's).

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(contents);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &cat(parts))
}

fn oid(bytes: &[u8]) -> Vec<u8> {
    tlv(0x06, bytes)
}

fn sm2_alg() -> Vec<u8> {
    seq(&[&oid(OID_EC_PUBLIC_KEY), &oid(OID_SM2_CURVE)])
}

fn bit_string(octets: &[u8]) -> Vec<u8> {
    tlv(0x03, &cat(&[&[0], octets]))
}

/// Reference INTEGER encoding of a non-negative big-endian value via
/// num-bigint's minimal two's complement.
fn reference_integer(value: &[u8; 32]) -> Vec<u8> {
    let mut contents = BigInt::from_bytes_be(Sign::Plus, value).to_signed_bytes_be();
    if contents.is_empty() {
        contents.push(0);
    }
    tlv(0x02, &contents)
}

fn reference_signature(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    seq(&[&reference_integer(r), &reference_integer(s)])
}

const SAMPLE_POINT: &str = "041273fc7611f8b961397cd430872f2dc2c465a68e06cbad08ec0cbb510935d3ee\
                            4f2a8ef5bd7dea786831ec96f0920f39794613f7ac95e82cc1cf98739b332878";

fn sample_point() -> Vec<u8> {
    hex::decode(SAMPLE_POINT).unwrap()
}

// ---------------------------------------------------------------------------
// Signatures: the shared OpenSSL vectors.

fn is_malformed_desc(desc: &str) -> bool {
    desc.contains("BER")
        || desc.contains("trailing byte")
        || desc.contains("superfluous leading zero")
        || desc.contains("negative INTEGER")
}

#[test]
fn openssl_malformed_signatures_are_rejected() {
    let mut rejected = 0;
    for case in openssl_sig_cases() {
        let desc = str_field(&case, "desc");
        if is_malformed_desc(desc) {
            let sig = hex_field(&case, "signature");
            assert_malformed(decode_signature(&sig), desc);
            rejected += 1;
        }
    }
    // 7 BER lengths, 10 trailing bytes, 3 leading zeros, 1 negative.
    assert_eq!(rejected, 21);
}

#[test]
fn openssl_valid_signatures_decode_to_raw_and_round_trip() {
    let mut checked = 0;
    for case in openssl_sig_cases() {
        if case.get("raw").is_none() {
            continue;
        }
        let sig = hex_field(&case, "signature");
        let raw = hex_field(&case, "raw");
        let (r, s) = decode_signature(&sig).expect("valid OpenSSL signature decodes");
        assert_eq!(cat(&[&r, &s]), raw);
        assert_eq!(encode_signature(&r, &s), sig, "OpenSSL's DER is canonical");
        checked += 1;
    }
    assert_eq!(checked, 48);
}

#[test]
fn openssl_well_formed_invalid_signatures_decode() {
    // r = 0, r >= n, s >= n, s + 1, flipped message, other key, wrong ID:
    // well-formed DER whose range or value is the verifier's business.
    let mut checked = 0;
    for case in openssl_sig_cases() {
        let desc = str_field(&case, "desc");
        if case.get("raw").is_some() || is_malformed_desc(desc) {
            continue;
        }
        let sig = hex_field(&case, "signature");
        let (r, s) = decode_signature(&sig).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(encode_signature(&r, &s), sig, "{desc}");
        if desc == "r = 0" {
            assert_eq!(r, [0u8; 32]);
        }
        checked += 1;
    }
    assert_eq!(checked, 27);
}

#[test]
fn openssl_spki_decodes_to_public_key() {
    for case in openssl_sig_cases() {
        let spki = hex_field(&case, "spki");
        let point = hex_field(&case, "public_key");
        assert_eq!(decode_spki(&spki).unwrap(), point);
        assert_eq!(encode_spki(&point), spki);
    }
}

// ---------------------------------------------------------------------------
// Signatures: hand-made malformed inputs.

#[test]
fn hand_made_signature_encodings() {
    let one = tlv(0x02, &[1]);
    let good = seq(&[&one, &one]);
    let (r, s) = decode_signature(&good).unwrap();
    assert_eq!((r[31], s[31]), (1, 1));

    let zero = tlv(0x02, &[0]);
    let (r, _) = decode_signature(&seq(&[&zero, &one])).unwrap();
    assert_eq!(r, [0; 32], "r = 0 is a range matter, not an encoding error");

    let mut max = vec![0u8];
    max.extend_from_slice(&[0xff; 32]);
    let (r, _) = decode_signature(&seq(&[&tlv(0x02, &max), &one])).unwrap();
    assert_eq!(r, [0xff; 32]);

    let mut too_big = vec![0x01];
    too_big.extend_from_slice(&[0; 32]);
    let mut too_big_padded = vec![0x00, 0x80];
    too_big_padded.extend_from_slice(&[0; 32]);

    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("zero-length INTEGER r", seq(&[&tlv(0x02, &[]), &one])),
        ("zero-length INTEGER s", seq(&[&one, &tlv(0x02, &[])])),
        ("33-byte magnitude", seq(&[&tlv(0x02, &too_big), &one])),
        (
            "33-byte magnitude after sign byte",
            seq(&[&tlv(0x02, &too_big_padded), &one]),
        ),
        ("negative s", seq(&[&one, &tlv(0x02, &[0x80])])),
        ("negative -1", seq(&[&tlv(0x02, &[0xff]), &one])),
        ("non-minimal zero", seq(&[&tlv(0x02, &[0, 0]), &one])),
        ("non-minimal s", seq(&[&one, &tlv(0x02, &[0, 1])])),
        ("missing s", seq(&[&one])),
        ("extra element", seq(&[&one, &one, &one])),
        ("trailing byte inside", seq(&[&one, &one, &[0]])),
        ("trailing byte after", cat(&[&good, &[0]])),
        ("SET instead of SEQUENCE", tlv(0x31, &cat(&[&one, &one]))),
        ("OCTET STRING r", seq(&[&tlv(0x04, &[1]), &one])),
        (
            "indefinite length",
            cat(&[&[0x30, 0x80], &one, &one, &[0, 0]]),
        ),
        (
            "long-form outer length",
            cat(&[&[0x30, 0x81, 6], &one, &one]),
        ),
        (
            "long-form INTEGER length",
            seq(&[&[0x02, 0x81, 0x01, 0x01], &one]),
        ),
        (
            "length past end",
            vec![0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        ),
        ("high tag number", vec![0x3f, 0x30, 0x00]),
        ("constructed INTEGER", seq(&[&tlv(0x22, &one), &one])),
        ("raw 64 bytes", vec![0x11; 64]),
    ];
    for (what, input) in bad {
        assert_malformed(decode_signature(&input), what);
    }
}

// ---------------------------------------------------------------------------
// SubjectPublicKeyInfo.

#[test]
fn spki_encoding_matches_openssl_prefix() {
    let expected = format!(
        "3059301306072a8648ce3d020106082a811ccf5501822d034200{}",
        SAMPLE_POINT.replace(' ', "")
    );
    assert_eq!(hex::encode(encode_spki(&sample_point())), expected);
}

#[test]
fn spki_rejects_variants() {
    let point = sample_point();
    let good = seq(&[&sm2_alg(), &bit_string(&point)]);
    assert_eq!(decode_spki(&good).unwrap(), point);

    let p256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let mut unused_bits = bit_string(&point);
    unused_bits[2] = 1;
    let bad: Vec<(&str, Vec<u8>)> = vec![
        // Decision (see der.rs): the curve OID as the algorithm is rejected.
        (
            "sm2 OID as algorithm",
            seq(&[&seq(&[&oid(OID_SM2_CURVE)]), &bit_string(&point)]),
        ),
        (
            "sm2 OID as algorithm, NULL params",
            seq(&[
                &seq(&[&oid(OID_SM2_CURVE), &[0x05, 0x00]]),
                &bit_string(&point),
            ]),
        ),
        (
            "P-256 curve",
            seq(&[
                &seq(&[&oid(OID_EC_PUBLIC_KEY), &oid(p256)]),
                &bit_string(&point),
            ]),
        ),
        (
            "no curve",
            seq(&[&seq(&[&oid(OID_EC_PUBLIC_KEY)]), &bit_string(&point)]),
        ),
        (
            "NULL params",
            seq(&[
                &seq(&[&oid(OID_EC_PUBLIC_KEY), &[0x05, 0x00]]),
                &bit_string(&point),
            ]),
        ),
        (
            "extra AlgorithmIdentifier element",
            seq(&[
                &seq(&[&oid(OID_EC_PUBLIC_KEY), &oid(OID_SM2_CURVE), &[0x05, 0x00]]),
                &bit_string(&point),
            ]),
        ),
        ("unused bits", seq(&[&sm2_alg(), &unused_bits])),
        ("empty BIT STRING", seq(&[&sm2_alg(), &tlv(0x03, &[])])),
        (
            "BIT STRING with no octets",
            seq(&[&sm2_alg(), &tlv(0x03, &[0])]),
        ),
        ("OCTET STRING key", seq(&[&sm2_alg(), &tlv(0x04, &point)])),
        (
            "trailing inside",
            seq(&[&sm2_alg(), &bit_string(&point), &[0x05, 0x00]]),
        ),
        ("trailing after", cat(&[&good, &[0]])),
        ("missing key", seq(&[&sm2_alg()])),
    ];
    for (what, input) in bad {
        assert_malformed(decode_spki(&input), what);
    }
}

// ---------------------------------------------------------------------------
// OpenSSL-generated key files.

#[test]
fn openssl_key_files_round_trip_byte_for_byte() {
    let keys = openssl_keys();
    for (i, key) in keys.iter().enumerate() {
        let scalar = array32(&hex_field(key, "scalar"));
        let public = hex_field(key, "public_key");
        let pkcs8 = hex_field(key, "pkcs8_der");
        let sec1 = hex_field(key, "sec1_der");
        let spki = hex_field(key, "spki_der");

        let parts = decode_pkcs8(&pkcs8).unwrap_or_else(|e| panic!("key {i} pkcs8: {e}"));
        assert_eq!(*parts.scalar, scalar, "key {i}");
        assert_eq!(parts.public.as_deref(), Some(public.as_slice()), "key {i}");
        assert_eq!(encode_pkcs8(&scalar, &public).as_slice(), pkcs8, "key {i}");

        let parts = decode_sec1_private(&sec1).unwrap_or_else(|e| panic!("key {i} sec1: {e}"));
        assert_eq!(*parts.scalar, scalar, "key {i}");
        assert_eq!(parts.public.as_deref(), Some(public.as_slice()), "key {i}");
        assert_eq!(
            encode_sec1_private(&scalar, &public).as_slice(),
            sec1,
            "key {i}"
        );
        // `openssl pkey -outform DER` writes SEC1 for SM2 in OpenSSL 3.0.
        assert_eq!(hex_field(key, "pkey_der"), sec1, "key {i}");

        assert_eq!(decode_spki(&spki).unwrap(), public, "key {i}");
        assert_eq!(encode_spki(&public), spki, "key {i}");

        // The two private structures are told apart by shape.
        assert_malformed(decode_pkcs8(&sec1), "SEC1 as PKCS#8");
        assert_malformed(decode_sec1_private(&pkcs8), "PKCS#8 as SEC1");
        assert_malformed(decode_spki(&pkcs8), "PKCS#8 as SPKI");
    }
    // The last key's scalar starts with a zero byte; OpenSSL pads to 32.
    let last = keys.last().unwrap();
    assert_eq!(hex_field(last, "scalar")[0], 0);
    assert_eq!(&hex_field(last, "sec1_der")[5..7], &[0x04, 0x20]);
}

#[test]
fn openssl_pem_files_round_trip_byte_for_byte() {
    for (i, key) in openssl_keys().iter().enumerate() {
        for (field, der_field, label) in [
            ("pkcs8_pem", "pkcs8_der", pem::LABEL_PRIVATE_KEY),
            ("sec1_pem", "sec1_der", pem::LABEL_SM2_PRIVATE_KEY),
            ("spki_pem", "spki_der", pem::LABEL_PUBLIC_KEY),
        ] {
            let text = str_field(key, field);
            let (got_label, der) =
                pem::decode(text.as_bytes()).unwrap_or_else(|e| panic!("key {i} {field}: {e}"));
            assert_eq!(got_label, label, "key {i} {field}");
            assert_eq!(der.as_slice(), hex_field(key, der_field), "key {i} {field}");
            assert_eq!(pem::encode(label, &der).as_str(), text, "key {i} {field}");
            // CRLF and trailing whitespace are tolerated.
            let crlf = text.replace('\n', " \t\r\n");
            let (_, der2) = pem::decode(crlf.as_bytes()).unwrap();
            assert_eq!(der2, der);
        }
    }
}

#[test]
fn every_truncation_of_openssl_keys_is_rejected() {
    for key in openssl_keys() {
        for (field, decode) in [
            (
                "pkcs8_der",
                (|d: &[u8]| decode_pkcs8(d).map(drop)) as fn(&[u8]) -> _,
            ),
            ("sec1_der", |d: &[u8]| decode_sec1_private(d).map(drop)),
            ("spki_der", |d: &[u8]| decode_spki(d).map(drop)),
        ] {
            let der = hex_field(&key, field);
            assert!(decode(&der).is_ok());
            for len in 0..der.len() {
                assert_malformed(decode(&der[..len]), &format!("{field} truncated to {len}"));
            }
            let mut longer = der.clone();
            longer.push(0);
            assert_malformed(decode(&longer), &format!("{field} plus a byte"));
        }
    }
}

// ---------------------------------------------------------------------------
// PKCS#8 and SEC1 variants.

fn scalar_octets() -> Vec<u8> {
    (1..=32).collect()
}

fn ec_private_key(
    version: &[u8],
    key: &[u8],
    params: Option<&[u8]>,
    public: Option<&[u8]>,
) -> Vec<u8> {
    let mut parts = vec![tlv(0x02, version), tlv(0x04, key)];
    if let Some(curve) = params {
        parts.push(tlv(0xa0, &oid(curve)));
    }
    if let Some(point) = public {
        parts.push(tlv(0xa1, &bit_string(point)));
    }
    tlv(0x30, &parts.concat())
}

fn pkcs8(version: u8, alg: &[u8], inner: &[u8], extra: &[&[u8]]) -> Vec<u8> {
    let mut parts = vec![tlv(0x02, &[version]), alg.to_vec(), tlv(0x04, inner)];
    parts.extend(extra.iter().map(|e| e.to_vec()));
    tlv(0x30, &parts.concat())
}

#[test]
fn sec1_variants() {
    let key = scalar_octets();
    let point = sample_point();

    let bare = decode_sec1_private(&ec_private_key(&[1], &key, None, None)).unwrap();
    assert_eq!(bare.scalar.as_slice(), key.as_slice());
    assert_eq!(bare.public, None);

    let full = decode_sec1_private(&ec_private_key(
        &[1],
        &key,
        Some(OID_SM2_CURVE),
        Some(&point),
    ))
    .unwrap();
    assert_eq!(full.public.as_deref(), Some(point.as_slice()));

    // Shorter privateKey (old OpenSSL 1.0.x / BouncyCastle): left-padded.
    let short = decode_sec1_private(&ec_private_key(&[1], &key[1..], None, None)).unwrap();
    let mut padded = [0u8; 32];
    padded[1..].copy_from_slice(&key[1..]);
    assert_eq!(*short.scalar, padded);
    let one = decode_sec1_private(&ec_private_key(&[1], &[7], None, None)).unwrap();
    assert_eq!(one.scalar[31], 7);
    assert_eq!(one.scalar[..31], [0; 31]);

    let p256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let mut long_key = vec![0u8];
    long_key.extend_from_slice(&key);
    let mut unused = bit_string(&point);
    unused[2] = 4;
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("version 0", ec_private_key(&[0], &key, None, None)),
        ("version 2", ec_private_key(&[2], &key, None, None)),
        (
            "version non-minimal",
            ec_private_key(&[0, 1], &key, None, None),
        ),
        ("33-byte key", ec_private_key(&[1], &long_key, None, None)),
        ("empty key", ec_private_key(&[1], &[], None, None)),
        ("P-256 params", ec_private_key(&[1], &key, Some(p256), None)),
        (
            "params not an OID",
            seq(&[
                &tlv(0x02, &[1]),
                &tlv(0x04, &key),
                &tlv(0xa0, &[0x05, 0x00]),
            ]),
        ),
        (
            "params with trailing",
            seq(&[
                &tlv(0x02, &[1]),
                &tlv(0x04, &key),
                &tlv(0xa0, &cat(&[&oid(OID_SM2_CURVE), &[5, 0]])),
            ]),
        ),
        (
            "public key unused bits",
            seq(&[&tlv(0x02, &[1]), &tlv(0x04, &key), &tlv(0xa1, &unused)]),
        ),
        (
            "public key implicit",
            seq(&[
                &tlv(0x02, &[1]),
                &tlv(0x04, &key),
                &tlv(0x81, &cat(&[&[0], &point])),
            ]),
        ),
        (
            "[1] before [0]",
            seq(&[
                &tlv(0x02, &[1]),
                &tlv(0x04, &key),
                &tlv(0xa1, &bit_string(&point)),
                &tlv(0xa0, &oid(OID_SM2_CURVE)),
            ]),
        ),
        (
            "trailing inside",
            seq(&[&tlv(0x02, &[1]), &tlv(0x04, &key), &[0x05, 0x00]]),
        ),
        (
            "trailing after",
            cat(&[&ec_private_key(&[1], &key, None, None), &[0]]),
        ),
    ];
    for (what, input) in bad {
        assert_malformed(decode_sec1_private(&input), what);
    }
}

#[test]
fn pkcs8_variants() {
    let key = scalar_octets();
    let point = sample_point();
    let inner = ec_private_key(&[1], &key, None, Some(&point));
    let inner_bare = ec_private_key(&[1], &key, None, None);
    let outer_public = tlv(0x81, &cat(&[&[0], &point]));

    let v1 = decode_pkcs8(&pkcs8(0, &sm2_alg(), &inner, &[])).unwrap();
    assert_eq!(v1.scalar.as_slice(), key.as_slice());
    assert_eq!(v1.public.as_deref(), Some(point.as_slice()));

    // OneAsymmetricKey (v2) with [1] publicKey, agreeing with the inner one.
    let v2 = decode_pkcs8(&pkcs8(1, &sm2_alg(), &inner, &[&outer_public])).unwrap();
    assert_eq!(v2.public.as_deref(), Some(point.as_slice()));
    // v2 whose only public key is the outer one.
    let v2 = decode_pkcs8(&pkcs8(1, &sm2_alg(), &inner_bare, &[&outer_public])).unwrap();
    assert_eq!(v2.public.as_deref(), Some(point.as_slice()));
    // v2 without publicKey, and v1/v2 with attributes.
    let attributes = tlv(
        0xa0,
        &seq(&[&oid(&[0x2a, 0x03]), &tlv(0x31, &tlv(0x0c, b"x"))]),
    );
    assert!(decode_pkcs8(&pkcs8(1, &sm2_alg(), &inner, &[])).is_ok());
    assert!(decode_pkcs8(&pkcs8(0, &sm2_alg(), &inner, &[&attributes])).is_ok());
    assert!(decode_pkcs8(&pkcs8(1, &sm2_alg(), &inner, &[&attributes, &outer_public])).is_ok());
    // Inner [0] parameters are allowed when they name sm2p256v1.
    let inner_params = ec_private_key(&[1], &key, Some(OID_SM2_CURVE), Some(&point));
    assert!(decode_pkcs8(&pkcs8(0, &sm2_alg(), &inner_params, &[])).is_ok());

    let mut other_point = point.clone();
    other_point[64] ^= 1;
    let other_public = tlv(0x81, &cat(&[&[0], &other_point]));
    let p256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let ber_attributes = tlv(0xa0, &[0x30, 0x81, 0x02, 0x05, 0x00]);
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("version 2", pkcs8(2, &sm2_alg(), &inner, &[])),
        (
            "v1 with [1] publicKey",
            pkcs8(0, &sm2_alg(), &inner, &[&outer_public]),
        ),
        (
            "v2 publicKey mismatch",
            pkcs8(1, &sm2_alg(), &inner, &[&other_public]),
        ),
        (
            "P-256 algorithm",
            pkcs8(0, &seq(&[&oid(OID_EC_PUBLIC_KEY), &oid(p256)]), &inner, &[]),
        ),
        (
            "sm2 OID as algorithm",
            pkcs8(0, &seq(&[&oid(OID_SM2_CURVE)]), &inner, &[]),
        ),
        (
            "inner P-256 params",
            pkcs8(
                0,
                &sm2_alg(),
                &ec_private_key(&[1], &key, Some(p256), None),
                &[],
            ),
        ),
        (
            "BER inside attributes",
            pkcs8(0, &sm2_alg(), &ber_attributes, &[]),
        ),
        (
            "BER attributes",
            pkcs8(0, &sm2_alg(), &inner, &[&ber_attributes]),
        ),
        (
            "inner trailing",
            pkcs8(0, &sm2_alg(), &cat(&[&inner, &[0]]), &[]),
        ),
        ("inner not ECPrivateKey", pkcs8(0, &sm2_alg(), &key, &[])),
        (
            "trailing inside",
            pkcs8(0, &sm2_alg(), &inner, &[&[0x05, 0x00]]),
        ),
        (
            "trailing after",
            cat(&[&pkcs8(0, &sm2_alg(), &inner, &[]), &[0]]),
        ),
        (
            "attributes after publicKey",
            pkcs8(1, &sm2_alg(), &inner, &[&outer_public, &attributes]),
        ),
    ];
    for (what, input) in bad {
        assert_malformed(decode_pkcs8(&input), what);
    }
}

#[test]
fn empty_public_key_is_omitted() {
    let scalar = array32(&scalar_octets());
    let sec1 = encode_sec1_private(&scalar, &[]);
    let parts = decode_sec1_private(&sec1).unwrap();
    assert_eq!((*parts.scalar, parts.public), (scalar, None));
    let p8 = encode_pkcs8(&scalar, &[]);
    let parts = decode_pkcs8(&p8).unwrap();
    assert_eq!((*parts.scalar, parts.public), (scalar, None));
}

#[test]
fn debug_does_not_show_the_scalar() {
    let scalar = [0xab; 32];
    let parts = decode_sec1_private(&encode_sec1_private(&scalar, &sample_point())).unwrap();
    let shown = format!("{parts:?}");
    assert!(!shown.contains("171, 171"), "{shown}"); // 0xab
    assert!(shown.contains("redacted"));
}

// ---------------------------------------------------------------------------
// PEM.

const PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEEnP8dhH4uWE5fNQwhy8twsRlpo4G
y60I7Ay7UQk10+5PKo71vX3qeGgx7Jbwkg85eUYT96yV6CzBz5hzmzMoeA==
-----END PUBLIC KEY-----
";

#[test]
fn pem_accepts_tolerated_forms() {
    let (label, der) = pem::decode(PUB_PEM.as_bytes()).unwrap();
    assert_eq!(label, "PUBLIC KEY");
    assert_eq!(der.len(), 91);
    assert_eq!(decode_spki(&der).unwrap(), sample_point());

    let tolerated = [
        format!("Subject: explanatory text\nmore text\n{PUB_PEM}"),
        format!("{PUB_PEM}-----BEGIN PRIVATE KEY-----\ngarbage\n"),
        PUB_PEM.replace('\n', "\r\n"),
        PUB_PEM.replace('\n', "  \n"),
        PUB_PEM.trim_end().to_string(),
        format!("\u{feff}{PUB_PEM}"),
    ];
    for text in &tolerated {
        let (l, d) = pem::decode(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(
            (l.as_str(), d.as_slice()),
            ("PUBLIC KEY", der.as_slice()),
            "{text:?}"
        );
    }

    // Lines of other lengths (76 as MIME writes them, or one long line).
    let body: String = PUB_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for width in [76, 4, body.len()] {
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        );
        assert_eq!(
            pem::decode(text.as_bytes()).unwrap().1,
            der,
            "width {width}"
        );
    }
}

#[test]
fn pem_rejects_malformed() {
    let body_line = "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEEnP8dhH4uWE5fNQwhy8twsRlpo4G";
    let bad: Vec<(&str, String)> =
        vec![
        ("empty", String::new()),
        ("no BEGIN", "just text\n".to_string()),
        ("no END", PUB_PEM.replace("-----END PUBLIC KEY-----\n", "")),
        ("mismatched END", PUB_PEM.replace("END PUBLIC KEY", "END PRIVATE KEY")),
        ("END without dashes", PUB_PEM.replace("END PUBLIC KEY-----", "END PUBLIC KEY")),
        ("bad BEGIN", PUB_PEM.replace("BEGIN PUBLIC KEY-----", "BEGIN PUBLIC KEY----")),
        ("bad label", PUB_PEM.replace("PUBLIC KEY", "PUBLIC  KEY")),
        ("garbage char", PUB_PEM.replace("MFkw", "MF*w")),
        ("space inside line", PUB_PEM.replace("MFkw", "MF w")),
        ("leading space", PUB_PEM.replace("MFkw", " MFkw")),
        ("blank line", PUB_PEM.replace(body_line, &format!("{body_line}\n"))),
        ("padding in middle", PUB_PEM.replace("MFkw", "MF==")),
        ("length not multiple of 4", PUB_PEM.replace("MFkw", "MFk")),
        ("non-zero trailing bits", PUB_PEM.replace("eA==", "eB==")),
        ("empty body", "-----BEGIN X-----\n-----END X-----\n".to_string()),
        ("nested BEGIN", PUB_PEM.replace(body_line, "-----BEGIN PUBLIC KEY-----")),
        (
            "RFC 1421 headers",
            PUB_PEM.replace(
                "-----BEGIN PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n",
            ),
        ),
        ("lone CR line ends", PUB_PEM.replace('\n', "\r")),
        ("too large", format!("{}{PUB_PEM}", "x".repeat(pem::MAX_PEM_LEN))),
    ];
    for (what, text) in bad {
        assert_malformed(pem::decode(text.as_bytes()), what);
    }
}

#[test]
fn pem_encode_layout() {
    let der: Vec<u8> = (0..=255u8).collect();
    let text = pem::encode("PRIVATE KEY", &der);
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], "-----BEGIN PRIVATE KEY-----");
    assert_eq!(lines[lines.len() - 2], "-----END PRIVATE KEY-----");
    assert_eq!(lines[lines.len() - 1], "", "final newline");
    let body = &lines[1..lines.len() - 2];
    assert_eq!(body.len(), 6); // 344 characters
    assert!(body[..5].iter().all(|l| l.len() == 64));
    assert_eq!(body[5].len(), 24);
    assert_eq!(pem::decode(text.as_bytes()).unwrap().1.as_slice(), der);
    // A body that is an exact multiple of 64 characters: no empty line.
    let text = pem::encode("X", &[0u8; 48]);
    assert_eq!(
        text.as_str(),
        format!("-----BEGIN X-----\n{}\n-----END X-----\n", "A".repeat(64))
    );
}

// ---------------------------------------------------------------------------
// Property tests.

/// 32-byte values biased to the edges: leading zero bytes, high bit set,
/// all zero, all ones.
fn edge_scalar() -> impl Strategy<Value = [u8; 32]> {
    (any::<[u8; 32]>(), 0usize..=32, any::<bool>(), 0u8..4).prop_map(
        |(mut v, zeros, high, special)| {
            match special {
                0 => return [0; 32],
                1 => return [0xff; 32],
                _ => {}
            }
            for b in v.iter_mut().take(zeros) {
                *b = 0;
            }
            if let Some(first) = v.get_mut(zeros) {
                if high {
                    *first |= 0x80;
                } else {
                    *first &= 0x7f;
                }
            }
            v
        },
    )
}

fn mutate(mut input: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(op, pos, byte) in ops {
        let len = input.len();
        match op % 4 {
            0 if len > 0 => input[pos % len] ^= byte | 1,
            1 => input.insert(pos % (len + 1), byte),
            2 if len > 0 => {
                input.remove(pos % len);
            }
            _ if len > 0 => input[pos % len] = byte,
            _ => input.push(byte),
        }
    }
    input
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_signature(&input);
        let _ = decode_spki(&input);
        let _ = decode_pkcs8(&input);
        let _ = decode_sec1_private(&input);
        let _ = pem::decode(&input);
    }

    #[test]
    fn signature_round_trip(r in edge_scalar(), s in edge_scalar()) {
        let der = encode_signature(&r, &s);
        prop_assert_eq!(&der, &reference_signature(&r, &s));
        prop_assert!(der.len() <= 72);
        prop_assert_eq!(decode_signature(&der).unwrap(), (r, s));
    }

    #[test]
    fn every_signature_truncation_is_rejected(r in edge_scalar(), s in edge_scalar(), extra in any::<u8>()) {
        let der = encode_signature(&r, &s);
        for len in 0..der.len() {
            prop_assert!(decode_signature(&der[..len]).is_err(), "prefix {}", len);
        }
        let mut longer = der.clone();
        longer.push(extra);
        prop_assert!(decode_signature(&longer).is_err());
    }

    /// Strict DER is canonical: whatever decodes re-encodes to the same bytes.
    #[test]
    fn mutated_signatures_decode_only_if_canonical(
        r in edge_scalar(),
        s in edge_scalar(),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let input = mutate(encode_signature(&r, &s), &ops);
        if let Ok((r2, s2)) = decode_signature(&input) {
            prop_assert_eq!(encode_signature(&r2, &s2), input);
        }
    }

    #[test]
    fn mutated_keys_never_panic(
        scalar in any::<[u8; 32]>(),
        point in proptest::collection::vec(any::<u8>(), 65),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let p8 = mutate(encode_pkcs8(&scalar, &point).to_vec(), &ops);
        let sec1 = mutate(encode_sec1_private(&scalar, &point).to_vec(), &ops);
        let spki = mutate(encode_spki(&point), &ops);
        for input in [&p8, &sec1, &spki] {
            let _ = decode_pkcs8(input);
            let _ = decode_sec1_private(input);
            let _ = decode_spki(input);
        }
        // What still decodes as SPKI re-encodes to the same bytes.
        if let Ok(p) = decode_spki(&spki) {
            prop_assert_eq!(encode_spki(&p), spki);
        }
    }

    #[test]
    fn key_round_trips(
        scalar in edge_scalar(),
        point in proptest::collection::vec(any::<u8>(), 1..200),
    ) {
        let p8 = encode_pkcs8(&scalar, &point);
        let parts = decode_pkcs8(&p8).unwrap();
        prop_assert_eq!(*parts.scalar, scalar);
        prop_assert_eq!(parts.public.as_deref(), Some(point.as_slice()));

        let sec1 = encode_sec1_private(&scalar, &point);
        let parts = decode_sec1_private(&sec1).unwrap();
        prop_assert_eq!(*parts.scalar, scalar);
        prop_assert_eq!(parts.public.as_deref(), Some(point.as_slice()));

        let spki = encode_spki(&point);
        prop_assert_eq!(decode_spki(&spki).unwrap(), point);

        for len in 0..spki.len() {
            prop_assert!(decode_spki(&spki[..len]).is_err());
        }
        for len in 0..sec1.len() {
            prop_assert!(decode_sec1_private(&sec1[..len]).is_err());
        }
        for len in 0..p8.len() {
            prop_assert!(decode_pkcs8(&p8[..len]).is_err());
        }
    }

    #[test]
    fn pem_round_trip(
        der in proptest::collection::vec(any::<u8>(), 1..2000),
        label in prop::sample::select(vec!["PUBLIC KEY", "PRIVATE KEY", "EC PRIVATE KEY", "X"]),
        crlf in any::<bool>(),
    ) {
        let text = pem::encode(label, &der);
        prop_assert!(text.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let text = if crlf { text.replace('\n', "\r\n") } else { text.to_string() };
        let (got_label, got) = pem::decode(text.as_bytes()).unwrap();
        prop_assert_eq!(got_label, label);
        prop_assert_eq!(got.as_slice(), der.as_slice());
    }

    #[test]
    fn mutated_pem_never_panics(
        der in proptest::collection::vec(any::<u8>(), 1..200),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let text = pem::encode("PRIVATE KEY", &der);
        let input = mutate(text.as_bytes().to_vec(), &ops);
        if let Ok((label, got)) = pem::decode(&input) {
            // Whatever decodes, re-encodes to an accepted text of the same DER.
            let again = pem::encode(&label, &got);
            prop_assert_eq!(pem::decode(again.as_bytes()).unwrap().1, got);
        }
    }
}
