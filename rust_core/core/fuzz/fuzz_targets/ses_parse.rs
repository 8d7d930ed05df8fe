//! SES seals and signatures (V1/V4/V5): parsing and every check never
//! panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::ses::{Seal, SesSignature};
use sidian_core::signed_value::{check, check_seal};

fuzz_target!(|data: &[u8]| {
    if let Ok(seal) = Seal::parse(data) {
        let _ = seal.verify_maker();
        let _ = seal.lists_certificate(data);
    }
    if let Ok(sig) = SesSignature::parse(data) {
        assert!(sig.tbs.len() < data.len());
        let _ = sig.verify_signer();
        let _ = sig.data_hash_matches(data);
    }
    let _ = check(data, b"<Signature/>");
    let _ = check_seal(data);
});
