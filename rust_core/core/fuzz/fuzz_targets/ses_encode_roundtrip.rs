//! The V4 encoders: for any names, picture, times, hash and property text,
//! what they write parses back with the same fields and verifies (or the
//! encoder refuses the input with an error, never a panic).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sidian_core::cms::Content;
use sidian_core::ses::Seal;
use sidian_core::ses_encode::{encode_seal_v4, encode_signature_v4, SealSpec};
use sidian_core::signed_value::check_content;
use sidian_core::sm2::PrivateKey;
use sidian_core::x509_encode::{issue_certificate, CertificateSpec};

struct Keys {
    maker_key: PrivateKey,
    maker: Vec<u8>,
    signer_key: PrivateKey,
    signer: Vec<u8>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let maker_key = PrivateKey::from_bytes(&[7; 32]).unwrap();
        let signer_key = PrivateKey::from_bytes(&[9; 32]).unwrap();
        let spec = |cn| CertificateSpec {
            serial: &[1],
            subject_cn: cn,
            issuer_cn: "maker",
            not_before: 0,
            not_after: 4_102_444_800,
            ca: false,
        };
        let maker = issue_certificate(&spec("maker"), maker_key.public_key(), &maker_key).unwrap();
        let signer =
            issue_certificate(&spec("signer"), signer_key.public_key(), &maker_key).unwrap();
        Keys {
            maker_key,
            maker,
            signer_key,
            signer,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 48 {
        return;
    }
    let k = keys();
    let (head, rest) = data.split_at(48);
    let t = |i: usize| {
        i64::from(u32::from_be_bytes([
            head[i],
            head[i + 1],
            head[i + 2],
            head[i + 3],
        ]))
    };
    let (start, end, at) = (t(0), t(4), t(8));
    let hash: [u8; 32] = head[16..48].try_into().unwrap();
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(3, '\u{0}');
    let name = parts.next().unwrap_or("");
    let es_id = parts.next().unwrap_or("");
    let prop = parts.next().unwrap_or("");
    let certs = [k.signer.as_slice()];
    let spec = SealSpec {
        vid: "FUZZ",
        es_id,
        seal_type: u64::from(head[12]),
        name,
        signer_certs: &certs,
        create_date: start,
        valid_start: start,
        valid_end: end,
        picture_type: "PNG",
        picture: rest,
        width: u64::from(head[13]),
        height: u64::from(head[14]),
    };
    let Ok(seal) = encode_seal_v4(&spec, &k.maker_key, &k.maker) else {
        return;
    };
    let parsed = Seal::parse(&seal).unwrap();
    assert_eq!(parsed.info.name, name);
    assert_eq!(parsed.info.es_id, es_id);
    assert_eq!(
        (parsed.info.valid_start, parsed.info.valid_end),
        (start, end)
    );
    assert_eq!(parsed.info.picture, rest);
    let Ok(sig) = encode_signature_v4(&seal, &k.signer_key, &k.signer, &hash, prop, at) else {
        return;
    };
    let r = check_content(&sig, Content::Sm3(&hash), None).unwrap();
    assert!(r.signature_ok && r.data_hash_ok);
    assert_eq!(r.seal_signature_ok, Some(true));
    assert_eq!(r.signed_at, Some(at));
    assert_eq!(r.property_info.as_deref(), Some(prop));
});
