//! `pyservice._core`: the thin PyO3 layer over `sidian-core`.
//!
//! It only converts types and errors and detaches from the interpreter for
//! work that takes long enough to matter (curve arithmetic, batches, large
//! buffers). The typed public API is `pyservice.crypto`; the exception
//! classes live in `pyservice/errors.py` (see `errors.rs`). A panic in the
//! core (a bug) reaches Python as `PanicException`, exported here so the
//! service can catch it; it never aborts the process.

mod errors;
mod gcm;
mod hash;
mod merkle;
mod qr;
mod seal;
mod sm2;

use pyo3::prelude::*;

/// Inputs at least this long are processed with the interpreter detached
/// (SM3 runs at a few hundred MB/s: 4 KiB is about 10–20 µs).
const DETACH_MIN_LEN: usize = 4096;

/// Runs `f` detached from the interpreter if `len` is large, else directly.
fn detach_if_large<T, F>(py: Python<'_>, len: usize, f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if len >= DETACH_MIN_LEN {
        py.detach(f)
    } else {
        f()
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    errors::init(py)?;
    m.add(
        "DEFAULT_UID",
        pyo3::types::PyBytes::new(py, sidian_core::sm2::DEFAULT_UID),
    )?;
    m.add("MAX_UID_LEN", sidian_core::sm2::MAX_UID_LEN)?;
    m.add(
        "PanicException",
        py.get_type::<pyo3::panic::PanicException>(),
    )?;
    m.add_function(wrap_pyfunction!(hash::sm3, m)?)?;
    m.add_function(wrap_pyfunction!(hash::hmac_sm3, m)?)?;
    m.add_class::<hash::PySm3>()?;
    m.add_class::<sm2::PyPublicKey>()?;
    m.add_class::<sm2::PyPrivateKey>()?;
    m.add_class::<sm2::PySm2Verifier>()?;
    m.add_function(wrap_pyfunction!(sm2::sm2_verify, m)?)?;
    m.add_function(wrap_pyfunction!(sm2::sm2_verify_batch, m)?)?;
    m.add_function(wrap_pyfunction!(sm2::sign_digest_with_nonce, m)?)?;
    m.add_function(wrap_pyfunction!(gcm::sm4_gcm_encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(gcm::sm4_gcm_decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_leaf_hash, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_node_hash, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_root, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_inclusion_plan, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_consistency_plan, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_root_plan, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_inclusion_proof_from, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_consistency_proof_from, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_root_from, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_append_subtrees, m)?)?;
    m.add_class::<merkle::PyMerkleTree>()?;
    m.add_function(wrap_pyfunction!(qr::qr_licence_ref, m)?)?;
    m.add_function(wrap_pyfunction!(qr::qr_sign, m)?)?;
    m.add_function(wrap_pyfunction!(qr::qr_decode, m)?)?;
    m.add_function(wrap_pyfunction!(qr::qr_verify, m)?)?;
    m.add_class::<seal::PySignedValueReport>()?;
    m.add_class::<seal::PySealReport>()?;
    m.add_class::<seal::PyCertSummary>()?;
    m.add_function(wrap_pyfunction!(seal::ofd_check_signed_value, m)?)?;
    m.add_function(wrap_pyfunction!(seal::ofd_check_signed_value_sm3, m)?)?;
    m.add_function(wrap_pyfunction!(seal::ses_check_seal, m)?)?;
    m.add_function(wrap_pyfunction!(seal::ofd_parse_signed_value, m)?)?;
    m.add_function(wrap_pyfunction!(seal::x509_summary, m)?)?;
    m.add_function(wrap_pyfunction!(seal::x509_evaluate_chain, m)?)?;
    m.add_function(wrap_pyfunction!(seal::x509_issue_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(seal::ses_encode_seal_v4, m)?)?;
    m.add_function(wrap_pyfunction!(seal::ses_encode_signature_v4, m)?)?;
    Ok(())
}
