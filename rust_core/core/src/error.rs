//! The crate's one error type. The Python layer maps each variant to one
//! exception class defined in `pyservice/errors.py`.

use std::fmt;

/// Every failure the core reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bytes that cannot be parsed: bad DER, wrong length, point not on the
    /// curve, scalar out of range, ID too long. The text says which.
    Malformed(String),
    /// A well-formed signature that does not verify.
    InvalidSignature,
    /// An authenticated-encryption tag that does not match.
    InvalidTag,
    /// A well-formed Merkle inclusion or consistency proof that does not
    /// verify (wrong length for the sizes, index out of range, hashes that
    /// do not lead to the root). The text says which check failed.
    InvalidProof(String),
    /// A QR token whose lifetime has ended (`now ≥ issued_at + lifetime`).
    TokenExpired,
    /// A QR token issued further in the future than the allowed clock skew
    /// (`now < issued_at − 30 s`).
    TokenNotYetValid,
}

/// Result with the crate's error type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Malformed`].
    pub fn malformed(msg: impl Into<String>) -> Self {
        Error::Malformed(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed(msg) => write!(f, "malformed input: {msg}"),
            Error::InvalidSignature => f.write_str("signature does not verify"),
            Error::InvalidTag => f.write_str("authentication tag does not match"),
            Error::InvalidProof(msg) => write!(f, "invalid proof: {msg}"),
            Error::TokenExpired => f.write_str("token has expired"),
            Error::TokenNotYetValid => f.write_str("token is not valid yet"),
        }
    }
}

impl std::error::Error for Error {}
