//! End-to-end run of the portable field code on a machine that would
//! otherwise use the MULX/ADX assembly (`sm2::field_adx`): this file is its
//! own test process, so switching the backend here affects no other test.

use sidian_core::sm2::field::FieldElement;
use sidian_core::sm2::field_adx::{adx_available, set_adx_enabled};
use sidian_core::sm2::{PrivateKey, Verifier, DEFAULT_UID};

fn sign_verify_transcript() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1u8..=8 {
        let key = PrivateKey::from_bytes(&[i; 32]).unwrap();
        let msg = [i.wrapping_mul(37); 40];
        let e = key.public_key().message_digest(&msg, DEFAULT_UID).unwrap();
        let sig = key.sign_digest_with_nonce(&e, &[i ^ 0x5a; 32]).unwrap();
        key.public_key().verify(&msg, &sig, DEFAULT_UID).unwrap();
        let v = Verifier::new(*key.public_key(), DEFAULT_UID).unwrap();
        v.verify(&msg, &sig).unwrap();
        assert!(v.verify(b"other", &sig).is_err());
        out.extend_from_slice(&sig.to_raw());
        out.extend_from_slice(&key.public_key().to_uncompressed());
        let x = FieldElement::from_u64(u64::from(i) * 0x1234_5678_9abc);
        out.extend_from_slice(&x.invert().unwrap().to_bytes());
        out.extend_from_slice(&x.square().mul(&x).to_bytes());
    }
    out
}

#[test]
fn portable_and_assembly_backends_agree_end_to_end() {
    let detected = adx_available();
    let with_default = sign_verify_transcript();
    set_adx_enabled(false);
    assert!(!adx_available());
    let portable = sign_verify_transcript();
    set_adx_enabled(true);
    assert_eq!(adx_available(), detected);
    assert_eq!(with_default, portable);
}
