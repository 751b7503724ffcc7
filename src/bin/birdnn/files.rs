//! Reading the files a run is given, gzipped or not (benchmarks ship `.gz` files, and
//! VNN-COMP unpacks them only in its own scripts), with the size limit of
//! [`birdnn::formats::read_file`] on what is unpacked too.

use birdnn::formats::MAX_FILE_BYTES;
use std::io::Read;
use std::path::Path;

/// The bytes of `path`, unpacked when they are gzip (by their magic number, whatever the
/// name says).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let bytes = birdnn::formats::read_file(path)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{}: not a readable gzip file: {e}", path.display()))?;
    if out.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{}: unpacks to more than {} MiB, birdnn's limit for one file",
            path.display(),
            MAX_FILE_BYTES >> 20
        )
        .into());
    }
    Ok(out)
}

/// The name a file has once unpacked: `x.onnx.gz` is read as `x.onnx`.
pub fn unpacked_name(path: &Path) -> String {
    let name = path.display().to_string();
    name.strip_suffix(".gz")
        .map_or(name.clone(), str::to_string)
}
