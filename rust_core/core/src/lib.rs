//! Pure Rust core of Sidian Verify.
//!
//! No I/O, no policy, no Python: this crate parses bytes and does
//! cryptography (GB/T 32905 SM3, GB/T 32918 SM2, GB/T 32907 SM4, SM4-GCM
//! per RFC 8998, HMAC-SM3 per RFC 2104, the RFC 9162 Merkle tree of the
//! ledger, the QR token codec) and reads signed artefacts (lenient DER in
//! `asn1`, SM2 X.509 in `x509`, GM/T 0031 / GB/T 38540 seals in `ses`,
//! GB/T 35275 SignedData in `cms`, one OFD signed value's checks in
//! `signed_value`). The PyO3 crate next to it only converts types and errors.
// `deny`, not `forbid`: the one exception is the inline assembly of
// `sm2::field_adx` (MULX/ADX field products behind run-time CPU detection,
// tested against the portable code), which opts in with a local
// `#[allow(unsafe_code)]` on its single `asm!` block. Everything else stays
// free of `unsafe`.
#![deny(unsafe_code)]
#![deny(missing_debug_implementations)]

pub mod asn1;
pub mod cms;
pub mod der;
pub mod error;
pub mod gcm;
pub mod hmac;
pub mod merkle;
pub mod pem;
pub mod qr;
pub mod ses;
pub mod ses_encode;
pub mod signed_value;
pub mod sm2;
pub mod sm3;
pub mod sm4;
pub mod verifier_cache;
pub mod x509;
pub mod x509_encode;

pub use error::{Error, Result};
