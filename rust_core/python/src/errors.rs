//! The one mapping from `sidian_core::Error` to Python exceptions.
//!
//! The exception classes are defined in Python (`pyservice/errors.py`) so
//! that the service can catch and render them without importing the native
//! module; this file imports them once and caches them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Module that defines the exception classes.
const ERRORS_MODULE: &str = "pyservice.errors";

/// The exception classes, imported from `pyservice.errors` on first use.
struct Classes {
    malformed: Py<PyType>,
    invalid_signature: Py<PyType>,
    invalid_tag: Py<PyType>,
    invalid_proof: Py<PyType>,
    token_expired: Py<PyType>,
    token_not_yet_valid: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let module = py.import(ERRORS_MODULE)?;
        let class = |name: &str| -> PyResult<Py<PyType>> {
            Ok(module.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Classes {
            malformed: class("MalformedInputError")?,
            invalid_signature: class("InvalidSignatureError")?,
            invalid_tag: class("InvalidTagError")?,
            invalid_proof: class("InvalidProofError")?,
            token_expired: class("TokenExpiredError")?,
            token_not_yet_valid: class("TokenNotYetValidError")?,
        })
    })
}

/// Imports the exception classes now, so a broken install fails at import
/// time rather than on the first error.
pub fn init(py: Python<'_>) -> PyResult<()> {
    classes(py).map(|_| ())
}

/// A core error on its way to Python: `result.map_err(CoreError)?`.
#[derive(Debug)]
pub struct CoreError(pub sidian_core::Error);

impl From<CoreError> for PyErr {
    fn from(CoreError(err): CoreError) -> PyErr {
        // Attaching is a no-op when already attached, which is always the
        // case here: errors are converted after any `detach` has returned.
        Python::attach(|py| {
            let classes = match classes(py) {
                Ok(classes) => classes,
                Err(import_error) => return import_error,
            };
            let (class, message) = match err {
                sidian_core::Error::Malformed(message) => (&classes.malformed, message),
                sidian_core::Error::InvalidSignature => {
                    (&classes.invalid_signature, err.to_string())
                }
                sidian_core::Error::InvalidTag => (&classes.invalid_tag, err.to_string()),
                sidian_core::Error::InvalidProof(_) => (&classes.invalid_proof, err.to_string()),
                sidian_core::Error::TokenExpired => (&classes.token_expired, err.to_string()),
                sidian_core::Error::TokenNotYetValid => {
                    (&classes.token_not_yet_valid, err.to_string())
                }
            };
            PyErr::from_type(class.bind(py).clone(), message)
        })
    }
}

/// Result of a core call, convertible with `?` in a `PyResult` function.
pub type CoreResult<T> = Result<T, CoreError>;

/// Shorthand for a `MalformedInputError` raised by this layer itself
/// (argument lengths the core takes as fixed-size arrays).
pub fn malformed(message: impl Into<String>) -> CoreError {
    CoreError(sidian_core::Error::malformed(message))
}

/// Converts a byte slice to a fixed-size array or reports its length.
pub fn fixed<const N: usize>(what: &str, bytes: &[u8]) -> CoreResult<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| malformed(format!("{what} must be {N} bytes, got {}", bytes.len())))
}
