//! SM2 keys, signing and verification.
//!
//! Every call that does elliptic-curve arithmetic (tens of microseconds or
//! more) runs with the interpreter detached, so other Python threads run.

use std::hash::{Hash, Hasher};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use sidian_core::sm2::{self, Signature, Verifier, DEFAULT_UID, MAX_UID_LEN};
use zeroize::Zeroizing;

use crate::errors::{fixed, malformed, CoreError, CoreResult};
use crate::hex;

/// PEM text given as `str` or `bytes`.
fn pem_bytes<'a>(data: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, [u8]>> {
    if let Ok(text) = data.cast::<PyString>() {
        Ok(std::borrow::Cow::Owned(text.to_str()?.as_bytes().to_vec()))
    } else if let Ok(bytes) = data.cast::<PyBytes>() {
        Ok(std::borrow::Cow::Borrowed(bytes.as_bytes()))
    } else {
        Err(PyTypeError::new_err("PEM data must be str or bytes"))
    }
}

fn check_uid(uid: &[u8]) -> CoreResult<()> {
    if uid.len() > MAX_UID_LEN {
        return Err(malformed(format!(
            "signer ID is {} bytes, at most {MAX_UID_LEN} allowed",
            uid.len()
        )));
    }
    Ok(())
}

fn encode_signature<'py>(py: Python<'py>, signature: &Signature, raw: bool) -> Bound<'py, PyBytes> {
    if raw {
        PyBytes::new(py, &signature.to_raw())
    } else {
        PyBytes::new(py, &signature.to_der())
    }
}

/// A validated SM2 public key (on the curve, not the point at infinity).
#[pyclass(module = "pyservice._core", name = "PublicKey", frozen)]
pub struct PyPublicKey(pub sm2::PublicKey);

impl PyPublicKey {
    /// A `PublicKey` object, or bytes in any format `from_bytes` accepts.
    fn from_object(key: &Bound<'_, PyAny>) -> PyResult<sm2::PublicKey> {
        if let Ok(key) = key.cast::<PyPublicKey>() {
            return Ok(key.get().0);
        }
        let bytes = key
            .cast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err("public key must be a PublicKey or bytes"))?;
        Ok(sm2::PublicKey::from_bytes(bytes.as_bytes()).map_err(CoreError)?)
    }
}

#[pymethods]
impl PyPublicKey {
    /// SEC1 (65-byte uncompressed or 33-byte compressed) or SPKI DER.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(PyPublicKey(
            sm2::PublicKey::from_bytes(data).map_err(CoreError)?,
        ))
    }

    /// PEM `PUBLIC KEY` (SPKI), as `str` or `bytes`.
    #[staticmethod]
    fn from_pem(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let pem = pem_bytes(data)?;
        Ok(PyPublicKey(
            sm2::PublicKey::from_pem(&pem).map_err(CoreError)?,
        ))
    }

    /// SEC1 encoding: 65 bytes uncompressed (default) or 33 compressed.
    #[pyo3(signature = (compressed = false))]
    fn to_bytes<'py>(&self, py: Python<'py>, compressed: bool) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.to_sec1(compressed))
    }

    /// SubjectPublicKeyInfo DER.
    fn to_der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.to_spki_der())
    }

    /// SubjectPublicKeyInfo PEM.
    fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    /// Key id: lowercase hex of the first 8 bytes of SM3(uncompressed key).
    fn kid(&self) -> String {
        hex(&self.0.kid())
    }

    /// Z_A for signer ID `uid`.
    #[pyo3(signature = (uid = DEFAULT_UID))]
    fn za<'py>(&self, py: Python<'py>, uid: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.0.za(uid).map_err(CoreError)?))
    }

    /// Verifies `signature` (strict DER or raw `r ‖ s`) over `message`.
    #[pyo3(signature = (message, signature, *, uid = DEFAULT_UID))]
    fn verify(&self, py: Python<'_>, message: &[u8], signature: &[u8], uid: &[u8]) -> PyResult<()> {
        let key = self.0;
        py.detach(|| {
            let signature = Signature::from_bytes(signature)?;
            key.verify(message, &signature, uid)
        })
        .map_err(CoreError)?;
        Ok(())
    }

    /// Verifies `signature` over a precomputed 32-byte digest `e = SM3(Z_A ‖ M)`.
    fn verify_digest(&self, py: Python<'_>, e: &[u8], signature: &[u8]) -> PyResult<()> {
        let e = fixed::<32>("digest", e)?;
        let key = self.0;
        py.detach(|| key.verify_digest(&e, &Signature::from_bytes(signature)?))
            .map_err(CoreError)?;
        Ok(())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyPublicKey>()
            .is_ok_and(|other| other.get().0 == self.0)
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.to_uncompressed().hash(&mut hasher);
        hasher.finish()
    }

    fn __repr__(&self) -> String {
        format!("PublicKey(kid='{}')", self.kid())
    }
}

/// An SM2 private key. Its `repr` shows the key id only; it cannot be pickled.
#[pyclass(module = "pyservice._core", name = "PrivateKey", frozen)]
pub struct PyPrivateKey(pub(crate) sm2::PrivateKey);

#[pymethods]
impl PyPrivateKey {
    /// A fresh key from the OS CSPRNG.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        Ok(PyPrivateKey(
            py.detach(sm2::PrivateKey::generate).map_err(CoreError)?,
        ))
    }

    /// 32-byte big-endian scalar in [1, n−2].
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        Ok(PyPrivateKey(
            py.detach(|| sm2::PrivateKey::from_bytes(data))
                .map_err(CoreError)?,
        ))
    }

    /// PKCS#8 or SEC1 ECPrivateKey DER.
    #[staticmethod]
    fn from_der(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        Ok(PyPrivateKey(
            py.detach(|| sm2::PrivateKey::from_der(data))
                .map_err(CoreError)?,
        ))
    }

    /// PEM `PRIVATE KEY` or `EC PRIVATE KEY`, as `str` or `bytes`.
    #[staticmethod]
    fn from_pem(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let pem = Zeroizing::new(pem_bytes(data)?.into_owned());
        Ok(PyPrivateKey(
            py.detach(|| sm2::PrivateKey::from_pem(&pem))
                .map_err(CoreError)?,
        ))
    }

    /// The public key.
    fn public_key(&self) -> PyPublicKey {
        PyPublicKey(*self.0.public_key())
    }

    /// The 32-byte secret scalar (for the key-wrapping store only).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.to_bytes().as_slice())
    }

    /// PKCS#8 DER.
    fn to_der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.to_pkcs8_der())
    }

    /// PKCS#8 PEM.
    fn to_pem(&self) -> String {
        self.0.to_pem().to_string()
    }

    /// Signs `message` with signer ID `uid`; DER by default, raw `r ‖ s`
    /// (64 bytes) with `raw=True`.
    #[pyo3(signature = (message, *, uid = DEFAULT_UID, raw = false))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        message: &[u8],
        uid: &[u8],
        raw: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let signature = py.detach(|| self.0.sign(message, uid)).map_err(CoreError)?;
        Ok(encode_signature(py, &signature, raw))
    }

    /// Signs a precomputed 32-byte digest `e = SM3(Z_A ‖ M)`.
    #[pyo3(signature = (e, *, raw = false))]
    fn sign_digest<'py>(
        &self,
        py: Python<'py>,
        e: &[u8],
        raw: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let e = fixed::<32>("digest", e)?;
        let signature = py.detach(|| self.0.sign_digest(&e)).map_err(CoreError)?;
        Ok(encode_signature(py, &signature, raw))
    }

    fn __repr__(&self) -> String {
        format!("PrivateKey(kid='{}')", hex(&self.0.public_key().kid()))
    }
}

/// Hazmat for known-answer tests only: signs digest `e` with nonce `k` and
/// returns raw `r ‖ s`. Not part of `pyservice.crypto`.
#[pyfunction]
#[pyo3(name = "_sign_digest_with_nonce")]
pub fn sign_digest_with_nonce<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyPrivateKey>,
    e: &[u8],
    k: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let e = fixed::<32>("digest", e)?;
    let k = Zeroizing::new(fixed::<32>("nonce", k)?);
    let key = &key.get().0;
    let signature = py
        .detach(|| key.sign_digest_with_nonce(&e, &k))
        .map_err(CoreError)?;
    Ok(encode_signature(py, &signature, true))
}

/// A verifier for a recurring key and signer ID (caches Z_A and, once the
/// core has them, precomputed tables).
#[pyclass(module = "pyservice._core", name = "Sm2Verifier", frozen)]
pub struct PySm2Verifier {
    verifier: Verifier,
    uid: Vec<u8>,
}

#[pymethods]
impl PySm2Verifier {
    #[new]
    #[pyo3(signature = (public_key, *, uid = DEFAULT_UID))]
    fn new(py: Python<'_>, public_key: &Bound<'_, PyAny>, uid: &[u8]) -> PyResult<Self> {
        let key = PyPublicKey::from_object(public_key)?;
        let verifier = py.detach(|| Verifier::new(key, uid)).map_err(CoreError)?;
        Ok(PySm2Verifier {
            verifier,
            uid: uid.to_vec(),
        })
    }

    #[getter]
    fn public_key(&self) -> PyPublicKey {
        PyPublicKey(*self.verifier.public_key())
    }

    #[getter]
    fn uid<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.uid)
    }

    /// Verifies `signature` (strict DER or raw `r ‖ s`) over `message`.
    fn verify(&self, py: Python<'_>, message: &[u8], signature: &[u8]) -> PyResult<()> {
        py.detach(|| {
            self.verifier
                .verify(message, &Signature::from_bytes(signature)?)
        })
        .map_err(CoreError)?;
        Ok(())
    }

    /// Verifies `signature` over a precomputed 32-byte digest.
    fn verify_digest(&self, py: Python<'_>, e: &[u8], signature: &[u8]) -> PyResult<()> {
        let e = fixed::<32>("digest", e)?;
        py.detach(|| {
            self.verifier
                .verify_digest(&e, &Signature::from_bytes(signature)?)
        })
        .map_err(CoreError)?;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "Sm2Verifier(kid='{}')",
            hex(&self.verifier.public_key().kid())
        )
    }
}

/// `sm2_verify(public_key, message, signature, *, uid)`: raises
/// `InvalidSignatureError` or `MalformedInputError`, returns `None` if valid.
#[pyfunction]
#[pyo3(signature = (public_key, message, signature, *, uid = DEFAULT_UID))]
pub fn sm2_verify(
    py: Python<'_>,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
    uid: &[u8],
) -> PyResult<()> {
    py.detach(|| {
        let key = sm2::PublicKey::from_bytes(public_key)?;
        key.verify(message, &Signature::from_bytes(signature)?, uid)
    })
    .map_err(CoreError)?;
    Ok(())
}

/// `sm2_verify_batch(items, *, uid) -> list[bool]` over
/// `(public key, message, signature)` tuples of bytes, on all cores.
#[pyfunction]
#[pyo3(signature = (items, *, uid = DEFAULT_UID))]
pub fn sm2_verify_batch(
    py: Python<'_>,
    items: &Bound<'_, PyAny>,
    uid: &[u8],
) -> PyResult<Vec<bool>> {
    check_uid(uid)?;
    type Item<'py> = (
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    );
    // Keep the bytes objects alive while their contents are used detached.
    let owned: Vec<Item<'_>> = items
        .try_iter()?
        .map(|item| item?.extract::<Item<'_>>())
        .collect::<PyResult<_>>()?;
    let slices: Vec<(&[u8], &[u8], &[u8])> = owned
        .iter()
        .map(|(key, message, signature)| (key.as_bytes(), message.as_bytes(), signature.as_bytes()))
        .collect();
    Ok(py.detach(|| sm2::verify_batch(&slices, uid)))
}
