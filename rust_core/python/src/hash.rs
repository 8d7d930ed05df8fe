//! SM3 and HMAC-SM3.

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sidian_core::sm3 as core_sm3;

use crate::{detach_if_large, hex};

/// `sm3(data) -> bytes`: the 32-byte SM3 digest.
#[pyfunction]
pub fn sm3<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let digest = detach_if_large(py, data.len(), || core_sm3::sm3(data));
    PyBytes::new(py, &digest)
}

/// `hmac_sm3(key, data) -> bytes`: the 32-byte HMAC-SM3 tag (RFC 2104).
#[pyfunction]
pub fn hmac_sm3<'py>(py: Python<'py>, key: &[u8], data: &[u8]) -> Bound<'py, PyBytes> {
    let tag = detach_if_large(py, data.len(), || sidian_core::hmac::hmac_sm3(key, data));
    PyBytes::new(py, &tag)
}

/// Streaming SM3 with a `hashlib`-like interface. Thread-safe: concurrent
/// `update` calls are serialised, as `hashlib` does.
#[pyclass(module = "pyservice._core", name = "Sm3", frozen)]
pub struct PySm3 {
    state: Mutex<core_sm3::Sm3>,
}

impl PySm3 {
    fn state(&self) -> MutexGuard<'_, core_sm3::Sm3> {
        // `Sm3::update` cannot panic, so a poisoned lock holds a consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl PySm3 {
    #[new]
    #[pyo3(signature = (data = b"".as_slice()), text_signature = "(data=b'')")]
    fn new(py: Python<'_>, data: &[u8]) -> Self {
        let this = PySm3 {
            state: Mutex::new(core_sm3::Sm3::new()),
        };
        this.update(py, data);
        this
    }

    #[getter]
    fn digest_size(&self) -> usize {
        core_sm3::DIGEST_LEN
    }

    #[getter]
    fn block_size(&self) -> usize {
        core_sm3::BLOCK_LEN
    }

    #[getter]
    fn name(&self) -> &'static str {
        "sm3"
    }

    /// Absorbs `data`.
    fn update(&self, py: Python<'_>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        // Lock inside `detach`: waiting for another thread's long update
        // must not hold the interpreter.
        detach_if_large(py, data.len(), || self.state().update(data));
    }

    /// The digest of everything absorbed so far; the object stays usable.
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.state().digest())
    }

    /// `digest()` as lowercase hex.
    fn hexdigest(&self) -> String {
        hex(&self.state().digest())
    }

    /// An independent copy of the current state.
    fn copy(&self) -> Self {
        PySm3 {
            state: Mutex::new(self.state().clone()),
        }
    }
}
