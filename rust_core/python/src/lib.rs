//! `pyservice._core`: the PyO3 layer. OWNER: Python/build helper.
use pyo3::prelude::*;

#[pymodule]
fn _core(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
