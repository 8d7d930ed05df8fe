//! Strict DER signatures: never panic, and strict DER is canonical, so any
//! input that decodes must re-encode to exactly the same bytes. The first 64
//! bytes, read as raw `r ‖ s`, must round-trip through the encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::der::{decode_signature, encode_signature};

fuzz_target!(|data: &[u8]| {
    if let Ok((r, s)) = decode_signature(data) {
        assert_eq!(
            encode_signature(&r, &s),
            data,
            "accepted a non-canonical encoding"
        );
    }
    if let (Some(r), Some(s)) = (data.get(..32), data.get(32..64)) {
        let (r, s): ([u8; 32], [u8; 32]) = (r.try_into().unwrap(), s.try_into().unwrap());
        let der = encode_signature(&r, &s);
        assert_eq!(
            decode_signature(&der),
            Ok((r, s)),
            "encoder output did not decode"
        );
    }
});
