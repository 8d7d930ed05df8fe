//! SM2 digital signatures on sm2p256v1 (GB/T 32918.2-2016, GB/T 32918.5-2017,
//! GM/T 0009-2012 encodings).
//!
//! Public API (fixed contract; the PyO3 layer and later issues build on it):
//! [`PublicKey`], [`PrivateKey`], [`Signature`], [`Verifier`],
//! [`verify_batch`], [`DEFAULT_UID`], [`MAX_UID_LEN`].
//!
//! Internal layout (chosen so the fast-SM2 issue can specialise in place):
//! `field` (mod p, 4×64-bit Montgomery), `scalar` (mod n), `point`
//! (Jacobian, a = −3), `sign` (constant-time), `verify` (variable-time,
//! public inputs only), `keys` (import/export, Z_A, kid), `signature`.
//! OWNER: SM2 helper.

pub mod field;
pub mod field_adx;
mod keys;
pub mod point;
pub mod scalar;
mod sign;
mod signature;
mod verify;

pub use keys::{PrivateKey, PublicKey};
pub use signature::Signature;
pub use verify::{verify_batch, Verifier};

/// GM/T 0009 default signer ID.
pub const DEFAULT_UID: &[u8] = b"1234567812345678";
/// ENTL is a 16-bit bit length, so an ID may be at most 8191 bytes.
pub const MAX_UID_LEN: usize = 8191;
