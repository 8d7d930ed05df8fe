//! Seals, signed values and SM2 certificates (`sidian_core::signed_value`,
//! `sidian_core::x509`): parse-and-check results as read-only objects.
//! `pyservice.seal` is the typed public API.

use std::sync::LazyLock;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use sidian_core::cms::Content;
use sidian_core::ses_encode::{encode_seal_v4, encode_signature_v4, SealSpec};
use sidian_core::signed_value;
use sidian_core::verifier_cache::VerifierCache;
use sidian_core::x509;
use sidian_core::x509_encode::{issue_certificate, CertificateSpec};

/// Verifiers for recurring seal and signer keys (a key gets one on its
/// second sighting; see `sidian_core::verifier_cache`).
static VERIFIERS: LazyLock<VerifierCache> = LazyLock::new(|| VerifierCache::new(1024));

use crate::detach_if_large;
use crate::errors::CoreError;
use crate::sm2::{PyPrivateKey, PyPublicKey};

fn bytes_opt(py: Python<'_>, b: Option<Vec<u8>>) -> Option<Py<PyBytes>> {
    b.map(|b| PyBytes::new(py, &b).unbind())
}

/// The facts `sidian_core::signed_value::check` found about one signed value.
#[pyclass(module = "pyservice._core", name = "SignedValueReport", frozen)]
pub struct PySignedValueReport {
    #[pyo3(get)]
    format: &'static str,
    #[pyo3(get)]
    signature_ok: bool,
    #[pyo3(get)]
    signature_error: Option<String>,
    #[pyo3(get)]
    seal_signature_ok: Option<bool>,
    #[pyo3(get)]
    seal_signature_error: Option<String>,
    #[pyo3(get)]
    data_hash_ok: bool,
    #[pyo3(get)]
    seal_name: Option<String>,
    #[pyo3(get)]
    es_id: Option<String>,
    #[pyo3(get)]
    seal_header_version: Option<u64>,
    #[pyo3(get)]
    seal_valid_start: Option<i64>,
    #[pyo3(get)]
    seal_valid_end: Option<i64>,
    #[pyo3(get)]
    signer_in_seal_cert_list: Option<bool>,
    #[pyo3(get)]
    signed_at: Option<i64>,
    #[pyo3(get)]
    time_info: Option<String>,
    #[pyo3(get)]
    signature_encoding: String,
    #[pyo3(get)]
    signer_cert: Option<Py<PyBytes>>,
    #[pyo3(get)]
    seal_maker_cert: Option<Py<PyBytes>>,
    #[pyo3(get)]
    extra_certs: Vec<Py<PyBytes>>,
    #[pyo3(get)]
    property_info: Option<String>,
}

/// Parses `signed_value` (SES V1/V4/V5 or GB/T 35275 SignedData) and runs
/// every check against `signed_data` (the Signature.xml bytes).
/// Raises `MalformedInputError` if it cannot be parsed.
#[pyfunction]
pub fn ofd_check_signed_value(
    py: Python<'_>,
    signed_value: &[u8],
    signed_data: &[u8],
) -> PyResult<PySignedValueReport> {
    let r = py
        .detach(|| signed_value::check_with(signed_value, signed_data, Some(&VERIFIERS)))
        .map_err(CoreError)?;
    Ok(report(py, r))
}

/// Like `ofd_check_signed_value`, given only SM3 of the signed data (SES
/// signatures, and SignedData with signed attributes or attached content).
#[pyfunction]
pub fn ofd_check_signed_value_sm3(
    py: Python<'_>,
    signed_value: &[u8],
    data_sm3: &[u8],
) -> PyResult<PySignedValueReport> {
    let digest: &[u8; 32] = data_sm3
        .try_into()
        .map_err(|_| CoreError(sidian_core::Error::malformed("data_sm3 must be 32 bytes")))?;
    let r = py
        .detach(|| {
            signed_value::check_content(signed_value, Content::Sm3(digest), Some(&VERIFIERS))
        })
        .map_err(CoreError)?;
    Ok(report(py, r))
}

fn report(py: Python<'_>, r: signed_value::SignedValueReport) -> PySignedValueReport {
    PySignedValueReport {
        format: r.format,
        signature_ok: r.signature_ok,
        signature_error: r.signature_error,
        seal_signature_ok: r.seal_signature_ok,
        seal_signature_error: r.seal_signature_error,
        data_hash_ok: r.data_hash_ok,
        seal_name: r.seal_name,
        es_id: r.es_id,
        seal_header_version: r.seal_header_version,
        seal_valid_start: r.seal_valid_start,
        seal_valid_end: r.seal_valid_end,
        signer_in_seal_cert_list: r.signer_in_seal_cert_list,
        signed_at: r.signed_at,
        time_info: r.time_info,
        signature_encoding: r.signature_encoding,
        signer_cert: bytes_opt(py, r.signer_cert),
        seal_maker_cert: bytes_opt(py, r.seal_maker_cert),
        extra_certs: r
            .extra_certs
            .iter()
            .map(|c| PyBytes::new(py, c).unbind())
            .collect(),
        property_info: r.property_info,
    }
}

/// Parses a signed value and its certificates without verifying anything;
/// returns the format (`SES_V1`, `SES_V4`, `SES_V5`, `GBT35275`).
#[pyfunction]
pub fn ofd_parse_signed_value(signed_value: &[u8]) -> PyResult<&'static str> {
    Ok(signed_value::parse(signed_value).map_err(CoreError)?)
}

/// A standalone seal's facts.
#[pyclass(module = "pyservice._core", name = "SealReport", frozen)]
pub struct PySealReport {
    #[pyo3(get)]
    format: &'static str,
    #[pyo3(get)]
    seal_signature_ok: bool,
    #[pyo3(get)]
    seal_signature_error: Option<String>,
    #[pyo3(get)]
    seal_name: String,
    #[pyo3(get)]
    es_id: String,
    #[pyo3(get)]
    valid_start: i64,
    #[pyo3(get)]
    valid_end: i64,
    #[pyo3(get)]
    picture_type: String,
    #[pyo3(get)]
    maker_cert: Py<PyBytes>,
    #[pyo3(get)]
    cert_list: Vec<Py<PyBytes>>,
}

/// Parses a seal (`.esl`, any layout) and verifies its maker signature.
#[pyfunction]
pub fn ses_check_seal(py: Python<'_>, data: &[u8]) -> PyResult<PySealReport> {
    let r =
        detach_if_large(py, data.len(), || signed_value::check_seal(data)).map_err(CoreError)?;
    Ok(PySealReport {
        format: r.format,
        seal_signature_ok: r.seal_signature_ok,
        seal_signature_error: r.seal_signature_error,
        seal_name: r.seal_name,
        es_id: r.es_id,
        valid_start: r.valid_start,
        valid_end: r.valid_end,
        picture_type: r.picture_type,
        maker_cert: PyBytes::new(py, &r.maker_cert).unbind(),
        cert_list: r
            .cert_list
            .iter()
            .map(|c| PyBytes::new(py, c).unbind())
            .collect(),
    })
}

/// A certificate summary.
#[pyclass(module = "pyservice._core", name = "CertSummary", frozen)]
pub struct PyCertSummary {
    #[pyo3(get)]
    subject: String,
    #[pyo3(get)]
    issuer: String,
    #[pyo3(get)]
    serial_hex: String,
    #[pyo3(get)]
    not_before: i64,
    #[pyo3(get)]
    not_after: i64,
    /// 65-byte uncompressed SEC1 SM2 public key of the subject.
    #[pyo3(get)]
    public_key: Py<PyBytes>,
    /// Key usage bits (bit 0 = digitalSignature), `None` without the extension.
    #[pyo3(get)]
    key_usage: Option<u16>,
}

/// Parses a DER SM2 certificate (leniently) and summarises it.
#[pyfunction]
pub fn x509_summary(py: Python<'_>, der: &[u8]) -> PyResult<PyCertSummary> {
    let s = signed_value::summarise_certificate(der).map_err(CoreError)?;
    Ok(PyCertSummary {
        public_key: PyBytes::new(py, &s.public_key).unbind(),
        key_usage: s.key_usage,
        subject: s.subject,
        issuer: s.issuer,
        serial_hex: s.serial_hex,
        not_before: s.not_before,
        not_after: s.not_after,
    })
}

/// Builds a chain from `leaf` through `pool` to `anchors` (signatures
/// verified) and checks validity at each of `times`. Returns
/// `(path_len, path_subjects, valid_at)`; `path_len` is 0 without a path.
#[pyfunction]
pub fn x509_evaluate_chain(
    py: Python<'_>,
    leaf: &[u8],
    pool: Vec<PyBackedBytes>,
    anchors: Vec<PyBackedBytes>,
    times: Vec<i64>,
) -> PyResult<(usize, Vec<String>, Vec<bool>)> {
    let pool: Vec<&[u8]> = pool.iter().map(|b| &b[..]).collect();
    let anchors: Vec<&[u8]> = anchors.iter().map(|b| &b[..]).collect();
    let out = py
        .detach(|| x509::evaluate_chain(leaf, &pool, &anchors, &times))
        .map_err(CoreError)?;
    Ok((out.path_len, out.path_subjects, out.valid_at))
}

/// Issues a DER SM2 certificate (single-CN names; CA or end entity) for
/// `subject` signed with `issuer_key` (`sidian_core::x509_encode`).
#[pyfunction]
#[pyo3(signature = (subject, issuer_key, *, serial, subject_cn, issuer_cn, not_before, not_after, ca))]
#[allow(clippy::too_many_arguments)]
pub fn x509_issue_certificate<'py>(
    py: Python<'py>,
    subject: &PyPublicKey,
    issuer_key: &PyPrivateKey,
    serial: &[u8],
    subject_cn: &str,
    issuer_cn: &str,
    not_before: i64,
    not_after: i64,
    ca: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let spec = CertificateSpec {
        serial,
        subject_cn,
        issuer_cn,
        not_before,
        not_after,
        ca,
    };
    let der = issue_certificate(&spec, &subject.0, &issuer_key.0).map_err(CoreError)?;
    Ok(PyBytes::new(py, &der))
}

/// Encodes and signs a GB/T 38540 V4 seal (`sidian_core::ses_encode`).
#[pyfunction]
#[pyo3(signature = (*, vid, es_id, seal_type, name, signer_certs, create_date, valid_start, valid_end, picture_type, picture, width, height, maker_key, maker_cert))]
#[allow(clippy::too_many_arguments)]
pub fn ses_encode_seal_v4<'py>(
    py: Python<'py>,
    vid: &str,
    es_id: &str,
    seal_type: u64,
    name: &str,
    signer_certs: Vec<PyBackedBytes>,
    create_date: i64,
    valid_start: i64,
    valid_end: i64,
    picture_type: &str,
    picture: &[u8],
    width: u64,
    height: u64,
    maker_key: &PyPrivateKey,
    maker_cert: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let certs: Vec<&[u8]> = signer_certs.iter().map(|b| &b[..]).collect();
    let spec = SealSpec {
        vid,
        es_id,
        seal_type,
        name,
        signer_certs: &certs,
        create_date,
        valid_start,
        valid_end,
        picture_type,
        picture,
        width,
        height,
    };
    let der = encode_seal_v4(&spec, &maker_key.0, maker_cert).map_err(CoreError)?;
    Ok(PyBytes::new(py, &der))
}

/// Signs `data_hash` with a V4 seal: a V4 `SES_Signature`
/// (`sidian_core::ses_encode`).
#[pyfunction]
#[pyo3(signature = (seal, signer_key, signer_cert, *, data_hash, property_info, time))]
pub fn ses_encode_signature_v4<'py>(
    py: Python<'py>,
    seal: &[u8],
    signer_key: &PyPrivateKey,
    signer_cert: &[u8],
    data_hash: &[u8],
    property_info: &str,
    time: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let hash: &[u8; 32] = data_hash
        .try_into()
        .map_err(|_| CoreError(sidian_core::Error::malformed("data_hash must be 32 bytes")))?;
    let der = encode_signature_v4(seal, &signer_key.0, signer_cert, hash, property_info, time)
        .map_err(CoreError)?;
    Ok(PyBytes::new(py, &der))
}
