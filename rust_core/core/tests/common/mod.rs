//! Where the integration tests find their vector files. Missing vectors are
//! a failure, never a skip.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

pub mod certs;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The shared vectors (produced outside the project): `$SIDIAN_VECTORS`,
/// else `shared/vectors` beside the repository.
pub fn shared_vectors_dir() -> PathBuf {
    let dir = match std::env::var_os("SIDIAN_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    assert!(
        dir.join("crypto").is_dir(),
        "shared test vectors not found at {} (set SIDIAN_VECTORS to the shared/vectors directory)",
        dir.display()
    );
    dir
}

/// The project's own generated vectors: `tests/vectors` at the repository root.
pub fn repo_vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    assert!(
        dir.is_dir(),
        "repo test vectors not found at {}",
        dir.display()
    );
    dir
}

/// Reads a JSON vector file, panicking with the path on any problem.
pub fn load_json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}
