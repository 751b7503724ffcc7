//! Shared helpers for tests that read the shared data (`../shared/acasxu/`, `../shared/digits/`).
#![allow(dead_code)]

use std::path::PathBuf;

/// The benchmark folder: `$BIRDNN_ACASXU_DIR`, else `../shared/acasxu` beside the repository.
/// `None` (after saying so) when it is absent; under CI (`CI=true`) absence fails the test.
pub fn acasxu_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BIRDNN_ACASXU_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/acasxu"));
    if dir.join("onnx").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "ACAS Xu data not found at {} (set BIRDNN_ACASXU_DIR); required under CI",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: ACAS Xu data not found at {} (set BIRDNN_ACASXU_DIR)",
        dir.display()
    );
    None
}

/// `onnx/ACASXU_run2a_{i}_{j}_batch_2000.onnx` (or `.nnet`).
pub fn network_path(dir: &std::path::Path, i: usize, j: usize, ext: &str) -> PathBuf {
    dir.join(ext)
        .join(format!("ACASXU_run2a_{i}_{j}_batch_2000.{ext}"))
}

/// Every (i, j) pair of the 45 networks.
pub fn all_networks() -> impl Iterator<Item = (usize, usize)> {
    (1..=5).flat_map(|i| (1..=9).map(move |j| (i, j)))
}

/// The handwritten digits folder: `$BIRDNN_DIGITS_DIR`, else `../shared/digits`; `None`
/// (after saying so) when it is absent, a failure under CI.
pub fn digits_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BIRDNN_DIGITS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/digits"));
    if dir.join("digits.csv.gz").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "digits data not found at {} (set BIRDNN_DIGITS_DIR); required under CI",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: digits data not found at {} (set BIRDNN_DIGITS_DIR)",
        dir.display()
    );
    None
}
