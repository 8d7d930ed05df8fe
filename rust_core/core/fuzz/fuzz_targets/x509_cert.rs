//! SM2 X.509: parsing never panics; a parsed certificate's slices lie in
//! the input, and verification, chain building and validity checks on it
//! only ever return.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::x509::{build_chain, decode_signature_lenient, evaluate_chain, Certificate};

fuzz_target!(|data: &[u8]| {
    let _ = decode_signature_lenient(data);
    if let Ok(cert) = Certificate::parse(data) {
        assert_eq!(cert.raw, data);
        assert!(cert.tbs.len() < data.len());
        let _ = cert.subject.to_string();
        let _ = cert.verify_signed_by(&cert.public_key);
        let anchors = [cert.clone()];
        assert!(build_chain(&cert, &[], &anchors).is_some());
        let _ = cert.valid_at(0);
    }
    let _ = evaluate_chain(data, &[data], &[], &[0, i64::MAX, i64::MIN]);
});
