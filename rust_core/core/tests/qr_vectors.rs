//! The QR token codec against `tests/vectors/qr-token.json` (made without
//! our code: struct layout, OpenSSL SM3, stdlib base64, gmssl signatures;
//! see `tests/vectors/gen_qr_token.py`), plus property tests of the strict
//! base64url decoder.

mod common;
use common::{load_json, repo_vectors_dir};

use proptest::prelude::*;
use serde_json::Value;
use sidian_core::qr::{self, base64url_decode, base64url_encode, Token};
use sidian_core::sm2::{PublicKey, Verifier, DEFAULT_UID};
use sidian_core::Error;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex in vector file")
}

fn vectors() -> (Value, Verifier) {
    let doc = load_json(repo_vectors_dir().join("qr-token.json"));
    let key = PublicKey::from_bytes(&unhex(doc["public_key_hex"].as_str().unwrap())).unwrap();
    assert_eq!(hex::encode(key.kid()), doc["kid_hex"].as_str().unwrap());
    (doc, Verifier::new(key, DEFAULT_UID).unwrap())
}

fn check(verifier: &Verifier, text: &str, now: u64) -> Result<Token, Error> {
    let token = Token::decode(text.as_bytes())?;
    token.check_time(now)?;
    token.verify(verifier)?;
    Ok(token)
}

#[test]
fn valid_vectors() {
    let (doc, verifier) = vectors();
    let cases = doc["valid"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let text = case["token"].as_str().unwrap();
        let now = case["now"].as_u64().unwrap();
        let token = check(&verifier, text, now).unwrap();
        let id = case["licence_id"].as_str().unwrap();
        assert_eq!(token.claims.licence_ref, qr::licence_ref(id.as_bytes()));
        assert_eq!(
            hex::encode(token.claims.licence_ref),
            case["licence_ref_hex"].as_str().unwrap()
        );
        let claims = [
            ("flags", u64::from(token.claims.flags)),
            ("issued_at", u64::from(token.claims.issued_at)),
            ("lifetime", u64::from(token.claims.lifetime)),
        ];
        for (name, value) in claims {
            assert_eq!(Some(value), case[name].as_u64(), "{name}");
        }
        assert_eq!(
            token.to_bytes().to_vec(),
            unhex(case["token_hex"].as_str().unwrap())
        );
        assert_eq!(base64url_encode(&token.to_bytes()), text);
    }
}

#[test]
fn invalid_vectors() {
    let (doc, verifier) = vectors();
    for case in doc["invalid"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let got = check(
            &verifier,
            case["token"].as_str().unwrap(),
            case["now"].as_u64().unwrap(),
        );
        let ok = matches!(
            (case["error"].as_str().unwrap(), &got),
            ("malformed", Err(Error::Malformed(_)))
                | ("invalid_signature", Err(Error::InvalidSignature))
                | ("expired", Err(Error::TokenExpired))
                | ("not_yet_valid", Err(Error::TokenNotYetValid))
        );
        assert!(ok, "{name}: got {got:?}");
    }
}

proptest! {
    #[test]
    fn base64url_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = base64url_encode(&data);
        prop_assert!(!text.contains('='));
        prop_assert_eq!(base64url_decode(text.as_bytes()).unwrap(), data);
    }

    #[test]
    fn base64url_accepts_only_canonical_text(text in "[A-Za-z0-9_=+/ -]{0,64}") {
        if let Ok(bytes) = base64url_decode(text.as_bytes()) {
            prop_assert_eq!(base64url_encode(&bytes), text);
        }
    }

    #[test]
    fn any_104_bytes_parse_or_fail_cleanly(data in proptest::collection::vec(any::<u8>(), 104)) {
        match Token::parse(&data) {
            Ok(token) => {
                prop_assert_eq!(token.to_bytes().to_vec(), data.clone());
                prop_assert_eq!(data[0], qr::VERSION);
                prop_assert!(data[1] & !qr::KNOWN_FLAGS == 0);
            }
            Err(Error::Malformed(_)) => {}
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
