//! Signing round trip with fuzz-chosen private keys, nonces, signer IDs and
//! messages: a signature made with a chosen nonce k must satisfy the SM2
//! equations recomputed with RustCrypto's independent arithmetic
//! (r = (e + x(k·G)) mod n, s·(1 + d) = k − r·d mod n), and must verify with
//! every path of ours and with RustCrypto; the hedged `sign` must verify on
//! both sides too. Key acceptance ([1, n−2]) and the public key d·G must
//! match RustCrypto's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::sm2::{PrivateKey, Verifier};
use sm2::dsa::signature::Verifier as _;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::elliptic_curve::{Group, PrimeField};
use sm2::{FieldBytes, ProjectivePoint, Scalar};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn rc_scalar(bytes: &[u8; 32]) -> Option<Scalar> {
    Scalar::from_repr(FieldBytes::from(*bytes)).into_option()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 65 {
        return;
    }
    let d: [u8; 32] = data[..32].try_into().unwrap();
    let k: [u8; 32] = data[32..64].try_into().unwrap();
    let uid_len = (data[64] as usize % 48).min(data.len() - 65);
    let uid = String::from_utf8_lossy(&data[65..65 + uid_len]).into_owned();
    let msg = &data[65 + uid_len..];

    // Key acceptance: d ∈ [1, n−2] (d = n − 1 makes 1 + d non-invertible).
    let d_rc = rc_scalar(&d);
    let valid_d = matches!(d_rc, Some(x) if !bool::from(x.is_zero()) && !bool::from((x + Scalar::ONE).is_zero()));
    let key = PrivateKey::from_bytes(&d);
    assert_eq!(key.is_ok(), valid_d, "key acceptance for d = {}", hex(&d));
    let Ok(key) = key else { return };
    let d_rc = d_rc.unwrap();
    let sk = sm2::dsa::SigningKey::from_slice(&uid, &d).expect("RustCrypto key");
    let vk = sk.verifying_key();
    assert_eq!(
        vk.as_affine().to_sec1_point(false).as_bytes(),
        &key.public_key().to_uncompressed()[..],
        "public key d·G for d = {}",
        hex(&d)
    );
    let pk = *key.public_key();
    let verifier = Verifier::new(pk, uid.as_bytes()).unwrap();
    let e = pk.message_digest(msg, uid.as_bytes()).unwrap();

    // Signing with the chosen nonce.
    let k_rc = rc_scalar(&k).filter(|x| !bool::from(x.is_zero()));
    let res = key.sign_digest_with_nonce(&e, &k);
    let Some(k_rc) = k_rc else {
        assert!(res.is_err(), "nonce {} outside [1, n−1] accepted", hex(&k));
        return;
    };
    let x1 = ProjectivePoint::mul_by_generator(&k_rc).to_affine().x();
    let e_rc = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(e));
    let r_rc = e_rc + <Scalar as Reduce<FieldBytes>>::reduce(&x1);
    let inv = (d_rc + Scalar::ONE).invert().unwrap();
    let s_rc = inv * (k_rc - r_rc * d_rc);
    let unusable = bool::from(r_rc.is_zero() | (r_rc + k_rc).is_zero() | s_rc.is_zero());
    match res {
        Err(err) => assert!(
            unusable,
            "sign_digest_with_nonce failed: {err:?}, d {}, k {}",
            hex(&d),
            hex(&k)
        ),
        Ok(sig) => {
            assert!(
                !unusable,
                "unusable nonce accepted, d {}, k {}",
                hex(&d),
                hex(&k)
            );
            assert_eq!(
                sig.r()[..],
                r_rc.to_repr()[..],
                "r, d {}, k {}",
                hex(&d),
                hex(&k)
            );
            assert_eq!(
                sig.s()[..],
                s_rc.to_repr()[..],
                "s, d {}, k {}",
                hex(&d),
                hex(&k)
            );
            assert!(pk.verify(msg, &sig, uid.as_bytes()).is_ok());
            assert!(pk.verify_digest(&e, &sig).is_ok());
            assert!(verifier.verify(msg, &sig).is_ok());
            let rc_sig = sm2::dsa::Signature::from_slice(&sig.to_raw()).unwrap();
            assert!(
                vk.verify(msg, &rc_sig).is_ok(),
                "RustCrypto rejects our signature"
            );
        }
    }

    // Hedged signing (OS randomness): verifies on both sides.
    let sig = key.sign(msg, uid.as_bytes()).unwrap();
    assert!(verifier.verify(msg, &sig).is_ok());
    let rc_sig = sm2::dsa::Signature::from_slice(&sig.to_raw()).unwrap();
    assert!(
        vk.verify(msg, &rc_sig).is_ok(),
        "RustCrypto rejects our hedged signature"
    );
});
