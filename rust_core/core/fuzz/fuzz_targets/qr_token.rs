//! The QR token codec on arbitrary input: text decode and binary parse
//! never panic; whatever parses re-encodes to exactly the input (one text
//! form per token); the time check never overflows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::qr::{base64url_decode, base64url_encode, Token, TEXT_LEN, TOKEN_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(bytes) = base64url_decode(data) {
        assert_eq!(base64url_encode(&bytes).as_bytes(), data);
    }
    if let Ok(token) = Token::decode(data) {
        assert_eq!(data.len(), TEXT_LEN);
        assert_eq!(base64url_encode(&token.to_bytes()).as_bytes(), data);
    }
    if let Ok(token) = Token::parse(data) {
        assert_eq!(data.len(), TOKEN_LEN);
        assert_eq!(&token.to_bytes()[..], data);
        let lifetime = u64::from(token.claims.lifetime);
        assert!((1..=3600).contains(&lifetime));
        for now in [0, u64::from(token.claims.issued_at), u64::MAX] {
            let _ = token.check_time(now);
        }
    }
});
