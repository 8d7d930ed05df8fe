//! Key structures and PEM: never panic; what decodes re-encodes to
//! something that decodes to the same parts (SPKI has one accepted form, so
//! there the bytes must match exactly). The DER inside a PEM block is fed to
//! every decoder as well.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::der::{
    decode_pkcs8, decode_sec1_private, decode_spki, encode_pkcs8, encode_sec1_private, encode_spki,
    EcPrivateKeyParts,
};
use sidian_core::pem;

fn same(a: &EcPrivateKeyParts, b: &EcPrivateKeyParts) -> bool {
    *a.scalar == *b.scalar && a.public == b.public
}

fn check_der(data: &[u8]) {
    if let Ok(point) = decode_spki(data) {
        assert_eq!(encode_spki(&point), data, "SPKI accepted a second form");
    }
    if let Ok(parts) = decode_pkcs8(data) {
        let public = parts.public.as_deref().unwrap_or(&[]);
        let again = decode_pkcs8(&encode_pkcs8(&parts.scalar, public)).expect("PKCS#8 re-encoding");
        assert!(same(&parts, &again), "PKCS#8 round trip changed the key");
    }
    if let Ok(parts) = decode_sec1_private(data) {
        let public = parts.public.as_deref().unwrap_or(&[]);
        let again = decode_sec1_private(&encode_sec1_private(&parts.scalar, public))
            .expect("SEC1 re-encoding");
        assert!(same(&parts, &again), "SEC1 round trip changed the key");
    }
}

fuzz_target!(|data: &[u8]| {
    check_der(data);
    if let Ok((label, der)) = pem::decode(data) {
        let text = pem::encode(&label, &der);
        let (label2, der2) = pem::decode(text.as_bytes()).expect("PEM re-encoding");
        assert_eq!(
            (label2, der2),
            (label, der.clone()),
            "PEM round trip changed the block"
        );
        check_der(&der);
    }
});
