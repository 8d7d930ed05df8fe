//! The SM2 module's byte-level entry points: public keys (SEC1 or SPKI),
//! private keys (PKCS#8 or SEC1) and signatures (DER or raw). Never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::sm2::{PrivateKey, PublicKey, Signature};

fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::from_bytes(data);
    let _ = PrivateKey::from_der(data);
    let _ = Signature::from_bytes(data);
});
