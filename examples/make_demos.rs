//! Trains the app's built-in demos and writes them to `www/demos/` (or the folder given).
//!
//! `cargo run --release --example make_demos`; the files are committed, and tests check
//! that they are exactly what this produces. The digits demo is made from third-party data
//! (`$BIRDNN_DIGITS_DIR`, or `../shared/digits`); without it, its files are left as they are.

use std::io::Read;
use std::path::{Path, PathBuf};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www/demos"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let mut files = birdnn::demos::files();
    match digits_csv() {
        Ok(csv) => match birdnn::images::demo::digits_files(&csv) {
            Ok(digits) => files.extend(digits),
            Err(e) => {
                eprintln!("the digits demo could not be made: {e}");
                std::process::exit(1);
            }
        },
        Err(e) => eprintln!("skipping the digits demo: {e}"),
    }
    for (name, contents) in files {
        let path = dir.join(&name);
        if let Err(e) = std::fs::write(&path, contents) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("wrote {}", path.display());
    }
}

/// The text of `digits.csv.gz`.
fn digits_csv() -> Result<String, String> {
    let dir = std::env::var_os("BIRDNN_DIGITS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/digits"));
    let path = dir.join("digits.csv.gz");
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text)
}
