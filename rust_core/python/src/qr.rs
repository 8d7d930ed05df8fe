//! The QR token codec (`sidian_core::qr`): sign, strict decode, verify.
//!
//! Tokens cross this boundary as ASCII `bytes` (the Python layer encodes
//! the `str`), so no text decoding error can escape as anything but
//! `MalformedInputError`. Decoded fields come back as a plain tuple that
//! `pyservice.qr` wraps in its dataclass.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sidian_core::qr::{self, Claims, Token};
use sidian_core::sm2::DEFAULT_UID;

use crate::errors::{fixed, CoreError};
use crate::sm2::{PyPrivateKey, PySm2Verifier};

/// `(version, flags, kid, licence_ref, issued_at, lifetime, nonce, signature)`.
type Fields<'py> = (
    u8,
    u8,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    u32,
    u16,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
);

fn fields<'py>(py: Python<'py>, token: &Token) -> Fields<'py> {
    let c = &token.claims;
    (
        qr::VERSION,
        c.flags,
        PyBytes::new(py, &c.kid),
        PyBytes::new(py, &c.licence_ref),
        c.issued_at,
        c.lifetime,
        PyBytes::new(py, &c.nonce),
        PyBytes::new(py, token.signature()),
    )
}

/// First 16 bytes of SM3(licence id).
#[pyfunction]
pub fn qr_licence_ref<'py>(py: Python<'py>, licence_id: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &qr::licence_ref(licence_id))
}

/// Signs a token with `key` (its kid goes in the token) and returns the
/// 139-character text.
#[pyfunction]
#[pyo3(signature = (key, *, flags, licence_ref, issued_at, lifetime, nonce))]
pub fn qr_sign(
    py: Python<'_>,
    key: &Bound<'_, PyPrivateKey>,
    flags: u8,
    licence_ref: &[u8],
    issued_at: u32,
    lifetime: u16,
    nonce: &[u8],
) -> PyResult<String> {
    let key = &key.get().0;
    let claims = Claims {
        flags,
        kid: key.public_key().kid(),
        licence_ref: fixed::<16>("licence reference", licence_ref)?,
        issued_at,
        lifetime,
        nonce: fixed::<8>("nonce", nonce)?,
    };
    let bytes = py.detach(|| claims.sign(key)).map_err(CoreError)?;
    Ok(qr::base64url_encode(&bytes))
}

/// Strict decode of the text form (no signature or time check).
#[pyfunction]
pub fn qr_decode<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Fields<'py>> {
    let token = Token::decode(text).map_err(CoreError)?;
    Ok(fields(py, &token))
}

/// Decode, time window at `now` (unix seconds), then the signature with
/// `verifier` (built with the default ID).
#[pyfunction]
pub fn qr_verify<'py>(
    py: Python<'py>,
    verifier: &Bound<'py, PySm2Verifier>,
    text: &[u8],
    now: u64,
) -> PyResult<Fields<'py>> {
    let verifier = verifier.get();
    if verifier.uid != DEFAULT_UID {
        return Err(PyValueError::new_err(
            "QR tokens are verified with the default signer ID",
        ));
    }
    let token = Token::decode(text).map_err(CoreError)?;
    token.check_time(now).map_err(CoreError)?;
    py.detach(|| token.verify(&verifier.verifier))
        .map_err(CoreError)?;
    Ok(fields(py, &token))
}
