//! GB/T 35275 SignedData: parsing and verification (attached, detached)
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::cms::SignedData;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = SignedData::parse(data) {
        assert!(!sd.signers.is_empty());
        let _ = sd.verify(None);
        let _ = sd.verify(Some(data));
        for s in &sd.signers {
            let _ = sd.signer_certificate(s);
        }
    }
});
