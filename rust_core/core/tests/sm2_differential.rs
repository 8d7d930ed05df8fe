//! Differential and robustness tests for SM2: our implementation against
//! the independent RustCrypto `sm2` crate (0.14) on random keys, messages
//! and signer IDs; round trips; single-bit flips; random bytes as inputs.

use proptest::prelude::*;
use sidian_core::sm2::{verify_batch, PrivateKey, PublicKey, Signature, Verifier};
use sidian_core::Error;
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};

/// A private key from 32 arbitrary bytes (skipping the ~2^-32 out of range).
fn our_key(d: &[u8; 32]) -> Option<PrivateKey> {
    PrivateKey::from_bytes(d).ok()
}

fn rc_signing_key(uid: &str, d: &[u8; 32]) -> sm2::dsa::SigningKey {
    sm2::dsa::SigningKey::from_slice(uid, d).expect("RustCrypto accepts the key")
}

fn rc_verifying_key(uid: &str, key: &PublicKey) -> sm2::dsa::VerifyingKey {
    sm2::dsa::VerifyingKey::from_sec1_bytes(uid, &key.to_uncompressed())
        .expect("RustCrypto accepts our public key")
}

fn uid_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1234567812345678".to_string()),
        Just(String::new()),
        "[ -~]{1,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Our signatures verify with RustCrypto and vice versa; both derive
    /// the same public key.
    #[test]
    fn cross_sign_and_verify(
        d in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..300),
        uid in uid_strategy(),
    ) {
        let Some(ours) = our_key(&d) else { return Ok(()) };
        let theirs = rc_signing_key(&uid, &d);
        let rc_pub = theirs.verifying_key().as_affine().to_sec1_point(false);
        prop_assert_eq!(rc_pub.as_bytes(), &ours.public_key().to_uncompressed()[..]);

        // ours → RustCrypto
        let sig = ours.sign(&msg, uid.as_bytes()).unwrap();
        let rc_sig = sm2::dsa::Signature::from_slice(&sig.to_raw()).unwrap();
        let vk = rc_verifying_key(&uid, ours.public_key());
        prop_assert!(vk.verify(&msg, &rc_sig).is_ok());

        // RustCrypto → ours (raw r ‖ s; DER is covered by `der_signatures_interoperate`)
        let rc_sig: sm2::dsa::Signature = theirs.sign(&msg);
        let raw = rc_sig.to_bytes();
        let sig = Signature::from_raw(&raw).unwrap();
        prop_assert!(ours.public_key().verify(&msg, &sig, uid.as_bytes()).is_ok());
        let v = Verifier::new(*ours.public_key(), uid.as_bytes()).unwrap();
        prop_assert!(v.verify(&msg, &sig).is_ok());
        // Digest paths agree with message paths.
        let e = ours.public_key().message_digest(&msg, uid.as_bytes()).unwrap();
        prop_assert!(ours.public_key().verify_digest(&e, &sig).is_ok());
        prop_assert!(v.verify_digest(&e, &sig).is_ok());
    }

    /// DER signatures interoperate both ways, byte for byte.
    #[test]
    fn der_signatures_interoperate(
        d in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let Some(ours) = our_key(&d) else { return Ok(()) };
        let uid = "1234567812345678";
        let rc_sig: sm2::dsa::Signature = rc_signing_key(uid, &d).sign(&msg);
        let der = rc_sig.to_der();
        let sig = Signature::from_der(der.as_bytes()).unwrap();
        prop_assert_eq!(sig, Signature::from_raw(&rc_sig.to_bytes()).unwrap());
        prop_assert_eq!(sig.to_der(), der.as_bytes().to_vec());
        prop_assert!(ours.public_key().verify(&msg, &sig, uid.as_bytes()).is_ok());
        let ours_sig = ours.sign(&msg, uid.as_bytes()).unwrap();
        let rc_back = sm2::dsa::Signature::from_der(&ours_sig.to_der()).unwrap();
        prop_assert!(rc_verifying_key(uid, ours.public_key()).verify(&msg, &rc_back).is_ok());
    }

    /// Key encodings interoperate with RustCrypto's (SPKI, PKCS#8, SEC1).
    #[test]
    fn key_encodings_interoperate(d in any::<[u8; 32]>()) {
        let Some(ours) = our_key(&d) else { return Ok(()) };
        let rc_secret = sm2::SecretKey::from_slice(&d).unwrap();
        let rc_public = rc_secret.public_key();

        let rc_spki = rc_public.to_public_key_der().unwrap();
        prop_assert_eq!(PublicKey::from_spki_der(rc_spki.as_bytes()).unwrap(), *ours.public_key());
        let back = sm2::PublicKey::from_public_key_der(&ours.public_key().to_spki_der()).unwrap();
        prop_assert_eq!(back, rc_public);

        let rc_pkcs8 = rc_secret.to_pkcs8_der().unwrap();
        let parsed = PrivateKey::from_der(rc_pkcs8.as_bytes()).unwrap();
        prop_assert_eq!(&parsed.to_bytes()[..], &d[..]);
        let rc_sec1 = rc_secret.to_sec1_der().unwrap();
        let parsed = PrivateKey::from_der(&rc_sec1).unwrap();
        prop_assert_eq!(parsed.public_key(), ours.public_key());
        let back = sm2::SecretKey::from_pkcs8_der(&ours.to_pkcs8_der()).unwrap();
        prop_assert_eq!(back.to_bytes().to_vec(), d.to_vec());
        let back = sm2::SecretKey::from_sec1_der(&ours.to_sec1_der()).unwrap();
        prop_assert_eq!(back.to_bytes().to_vec(), d.to_vec());
    }

    /// Our own encodings round-trip.
    #[test]
    fn round_trips(d in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..64)) {
        let Some(key) = our_key(&d) else { return Ok(()) };
        prop_assert_eq!(&key.to_bytes()[..], &d[..]);
        let pk = *key.public_key();
        for enc in [pk.to_sec1(false), pk.to_sec1(true), pk.to_spki_der(), pk.to_uncompressed().to_vec()] {
            prop_assert_eq!(PublicKey::from_bytes(&enc).unwrap(), pk);
        }
        prop_assert_eq!(PublicKey::from_pem(pk.to_pem().as_bytes()).unwrap(), pk);
        prop_assert_eq!(pk.to_sec1(false), pk.to_uncompressed().to_vec());
        for der in [key.to_pkcs8_der(), key.to_sec1_der()] {
            let k2 = PrivateKey::from_der(&der).unwrap();
            prop_assert_eq!(&k2.to_bytes()[..], &d[..]);
        }
        let k3 = PrivateKey::from_pem(key.to_pem().as_bytes()).unwrap();
        prop_assert_eq!(k3.public_key(), &pk);

        let sig = key.sign(&msg, b"id").unwrap();
        prop_assert_eq!(Signature::from_der(&sig.to_der()).unwrap(), sig);
        prop_assert_eq!(Signature::from_raw(&sig.to_raw()).unwrap(), sig);
        prop_assert_eq!(Signature::from_bytes(&sig.to_der()).unwrap(), sig);
        prop_assert_eq!(Signature::from_bytes(&sig.to_raw()).unwrap(), sig);
        prop_assert_eq!(Signature::from_scalars(*sig.r(), *sig.s()), sig);
        prop_assert_eq!(pk.kid(), {
            let mut h = sidian_core::sm3::Sm3::new();
            h.update(&pk.to_uncompressed());
            let digest = h.finalize();
            let mut kid = [0u8; 8];
            kid.copy_from_slice(&digest[..8]);
            kid
        });
    }

}

proptest! {
    // Each case verifies ~520 signatures.
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Any single-bit flip of message, signature or public key fails.
    #[test]
    fn single_bit_flips_fail(
        d in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 1..100),
        msg_bit in any::<prop::sample::Index>(),
        key_bit in any::<prop::sample::Index>(),
    ) {
        let Some(key) = our_key(&d) else { return Ok(()) };
        let uid = b"1234567812345678";
        let sig = key.sign(&msg, uid).unwrap();
        let pk = key.public_key();
        prop_assert!(pk.verify(&msg, &sig, uid).is_ok());

        let mut m2 = msg.clone();
        let i = msg_bit.index(msg.len() * 8);
        m2[i / 8] ^= 1 << (i % 8);
        prop_assert_eq!(pk.verify(&m2, &sig, uid), Err(Error::InvalidSignature));

        // Every bit of the raw signature.
        let raw = sig.to_raw();
        for i in 0..512 {
            let mut r2 = raw;
            r2[i / 8] ^= 1 << (i % 8);
            let s2 = Signature::from_raw(&r2).unwrap();
            prop_assert_eq!(pk.verify(&msg, &s2, uid), Err(Error::InvalidSignature), "bit {}", i);
        }

        // One bit of the uncompressed key: import fails or verification fails.
        let mut k2 = pk.to_uncompressed();
        let i = key_bit.index(65 * 8);
        k2[i / 8] ^= 1 << (i % 8);
        if let Ok(pk2) = PublicKey::from_bytes(&k2) {
            prop_assert!(pk.verify(&msg, &sig, uid).is_ok());
            prop_assert!(pk2.verify(&msg, &sig, uid).is_err());
        }
        // The signer ID matters too.
        prop_assert_eq!(pk.verify(&msg, &sig, b"1234567812345679"), Err(Error::InvalidSignature));
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes as a signature or a key never panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..130), prefix in 0u8..8) {
        let key = PrivateKey::from_bytes(&[0x11; 32]).unwrap();
        let pk = key.public_key();
        let mut shaped = bytes.clone();
        if !shaped.is_empty() {
            shaped[0] = prefix; // hit the 02/03/04 SEC1 branches
        }
        for b in [&bytes, &shaped] {
            for sig in [Signature::from_bytes(b), Signature::from_der(b), Signature::from_raw(b)]
                .into_iter()
                .flatten()
            {
                prop_assert!(pk.verify(b"m", &sig, b"").is_err());
            }
            for k in [PublicKey::from_bytes(b), PublicKey::from_sec1(b), PublicKey::from_spki_der(b), PublicKey::from_pem(b)]
                .into_iter()
                .flatten()
            {
                let _ = k.verify(b"m", &Signature::from_scalars([1; 32], [1; 32]), b"");
            }
            let _ = PrivateKey::from_bytes(b);
            let _ = PrivateKey::from_der(b);
            let _ = PrivateKey::from_pem(b);
        }
        // A random 64-byte signature never verifies.
        if bytes.len() >= 64 {
            let sig = Signature::from_raw(&bytes[..64]).unwrap();
            prop_assert!(pk.verify(b"m", &sig, b"").is_err());
        }
    }
}

#[test]
fn signature_edge_values_are_invalid_not_errors_of_other_kinds() {
    let key = PrivateKey::from_bytes(&[0x22; 32]).unwrap();
    let pk = key.public_key();
    let sig = key.sign(b"msg", b"").unwrap();
    let n =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123").unwrap();
    let n: [u8; 32] = n.try_into().unwrap();
    let zero = [0u8; 32];
    let ff = [0xffu8; 32];
    for (r, s) in [
        (zero, *sig.s()),
        (*sig.r(), zero),
        (n, *sig.s()),
        (*sig.r(), n),
        (ff, *sig.s()),
        (*sig.r(), ff),
    ] {
        let bad = Signature::from_scalars(r, s);
        assert_eq!(pk.verify(b"msg", &bad, b""), Err(Error::InvalidSignature));
    }
    // r + s = n (t = 0) is rejected.
    let r = *sig.r();
    let s = sub_be(&n, &r);
    assert_eq!(
        pk.verify(b"msg", &Signature::from_scalars(r, s), b""),
        Err(Error::InvalidSignature)
    );
}

fn sub_be(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let v = a[i] as i16 - b[i] as i16 - borrow;
        out[i] = v.rem_euclid(256) as u8;
        borrow = if v < 0 { 1 } else { 0 };
    }
    out
}

#[test]
fn uid_length_limit() {
    let key = PrivateKey::from_bytes(&[0x33; 32]).unwrap();
    let pk = *key.public_key();
    let ok = vec![b'a'; 8191];
    let too_long = vec![b'a'; 8192];
    let sig = key.sign(b"m", &ok).unwrap();
    pk.verify(b"m", &sig, &ok).unwrap();
    assert!(matches!(pk.za(&too_long), Err(Error::Malformed(_))));
    assert!(matches!(
        key.sign(b"m", &too_long),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        pk.verify(b"m", &sig, &too_long),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Verifier::new(pk, &too_long),
        Err(Error::Malformed(_))
    ));
    // RustCrypto agrees on the longest ID.
    let s = String::from_utf8(ok.clone()).unwrap();
    let vk = rc_verifying_key(&s, &pk);
    let rc_sig = sm2::dsa::Signature::from_slice(&sig.to_raw()).unwrap();
    assert!(vk.verify(b"m", &rc_sig).is_ok());
}

#[test]
fn private_key_range() {
    let n =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123").unwrap();
    let n: [u8; 32] = n.try_into().unwrap();
    let one = {
        let mut b = [0u8; 32];
        b[31] = 1;
        b
    };
    let nm1 = sub_be(&n, &one);
    let nm2 = sub_be(&nm1, &one);
    assert!(PrivateKey::from_bytes(&[0u8; 32]).is_err());
    assert!(PrivateKey::from_bytes(&nm1).is_err());
    assert!(PrivateKey::from_bytes(&n).is_err());
    assert!(PrivateKey::from_bytes(&[0xff; 32]).is_err());
    assert!(PrivateKey::from_bytes(&[1u8; 31]).is_err());
    assert!(PrivateKey::from_bytes(&[1u8; 33]).is_err());
    for d in [one, nm2] {
        let k = PrivateKey::from_bytes(&d).unwrap();
        let sig = k.sign(b"edge", b"").unwrap();
        k.public_key().verify(b"edge", &sig, b"").unwrap();
        let vk = rc_verifying_key("", k.public_key());
        let rc_sig = sm2::dsa::Signature::from_slice(&sig.to_raw()).unwrap();
        assert!(vk.verify(b"edge", &rc_sig).is_ok());
    }
    // Generated keys are in range and sign.
    let g = PrivateKey::generate().unwrap();
    let sig = g.sign(b"x", b"").unwrap();
    g.public_key().verify(b"x", &sig, b"").unwrap();
    assert_ne!(
        PrivateKey::generate().unwrap().to_bytes()[..],
        g.to_bytes()[..]
    );
    // Debug does not print the scalar.
    let dbg = format!("{g:?}");
    assert!(!dbg.contains(&hex::encode(&g.to_bytes()[..])));
}

#[test]
fn sign_with_nonce_rejects_bad_nonces() {
    let key = PrivateKey::from_bytes(&[0x44; 32]).unwrap();
    let e = [0x55u8; 32];
    let n =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123").unwrap();
    let n: [u8; 32] = n.try_into().unwrap();
    assert!(matches!(
        key.sign_digest_with_nonce(&e, &[0; 32]),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        key.sign_digest_with_nonce(&e, &n),
        Err(Error::Malformed(_))
    ));
    let mut k = [0u8; 32];
    k[31] = 7;
    let sig = key.sign_digest_with_nonce(&e, &k).unwrap();
    key.public_key().verify_digest(&e, &sig).unwrap();
    // Same nonce, same signature; hedged signing differs each time.
    assert_eq!(key.sign_digest_with_nonce(&e, &k).unwrap(), sig);
    assert_ne!(key.sign_digest(&e).unwrap(), key.sign_digest(&e).unwrap());
}

#[test]
fn batch_matches_individual_verification() {
    let keys: Vec<PrivateKey> = (1u8..=6)
        .map(|i| PrivateKey::from_bytes(&[i; 32]).unwrap())
        .collect();
    let uid = b"batch-id";
    let mut owned: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let msg = vec![i as u8; i * 10];
        let sig = k.sign(&msg, uid).unwrap();
        let key_bytes = if i % 2 == 0 {
            k.public_key().to_sec1(false)
        } else {
            k.public_key().to_spki_der()
        };
        let sig_bytes = if i % 3 == 0 {
            sig.to_raw().to_vec()
        } else {
            sig.to_der()
        };
        owned.push((key_bytes.clone(), msg.clone(), sig_bytes.clone()));
        // Wrong message, wrong key, garbage key, garbage signature.
        owned.push((key_bytes.clone(), b"other".to_vec(), sig_bytes.clone()));
        let other = keys[(i + 1) % keys.len()].public_key().to_sec1(true);
        owned.push((other, msg.clone(), sig_bytes.clone()));
        owned.push((vec![4u8; 65], msg.clone(), sig_bytes.clone()));
        owned.push((key_bytes, msg, vec![0x30, 0x00]));
    }
    let items: Vec<(&[u8], &[u8], &[u8])> = owned
        .iter()
        .map(|(k, m, s)| (&k[..], &m[..], &s[..]))
        .collect();
    let got = verify_batch(&items, uid);
    let want: Vec<bool> = items
        .iter()
        .map(|(k, m, s)| {
            PublicKey::from_bytes(k)
                .and_then(|k| k.verify(m, &Signature::from_bytes(s)?, uid))
                .is_ok()
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.iter().filter(|&&b| b).count(), keys.len());
    assert!(verify_batch(&[], uid).is_empty());
}
