//! SM4-GCM (RFC 8998).

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sidian_core::gcm;
use zeroize::Zeroizing;

use crate::detach_if_large;
use crate::errors::CoreError;

/// `sm4_gcm_encrypt(key, nonce, plaintext, aad=b"") -> ciphertext ‖ tag`.
#[pyfunction]
#[pyo3(
    signature = (key, nonce, plaintext, aad = b"".as_slice()),
    text_signature = "(key, nonce, plaintext, aad=b'')"
)]
pub fn sm4_gcm_encrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    nonce: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let sealed = detach_if_large(py, plaintext.len() + aad.len(), || {
        gcm::sm4_gcm_encrypt(key, nonce, plaintext, aad)
    })
    .map_err(CoreError)?;
    Ok(PyBytes::new(py, &sealed))
}

/// `sm4_gcm_decrypt(key, nonce, ciphertext, aad=b"") -> plaintext`, where
/// `ciphertext` ends with the 16-byte tag.
#[pyfunction]
#[pyo3(
    signature = (key, nonce, ciphertext, aad = b"".as_slice()),
    text_signature = "(key, nonce, ciphertext, aad=b'')"
)]
pub fn sm4_gcm_decrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let plaintext = detach_if_large(py, ciphertext.len() + aad.len(), || {
        gcm::sm4_gcm_decrypt(key, nonce, ciphertext, aad).map(Zeroizing::new)
    })
    .map_err(CoreError)?;
    Ok(PyBytes::new(py, &plaintext))
}
