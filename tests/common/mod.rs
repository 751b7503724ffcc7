//! Shared helpers for tests that read the shared data (`../shared/acasxu/`, `../shared/digits/`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The benchmark folder: `$BIRDNN_ACASXU_DIR`, else `../shared/acasxu` beside the repository.
/// `None` (after saying so) when it is absent; under CI (`CI=true`) absence fails the test.
pub fn acasxu_dir() -> Option<PathBuf> {
    shared_dir(
        "BIRDNN_ACASXU_DIR",
        "acasxu",
        ("onnx", Path::is_dir),
        "ACAS Xu data",
    )
}

/// `$variable`, else `../shared/<folder>` beside the repository, when its `marker` entry
/// passes the check; `None` (after saying so) otherwise, a failure under CI.
fn shared_dir(
    variable: &str,
    folder: &str,
    marker: (&str, fn(&Path) -> bool),
    what: &str,
) -> Option<PathBuf> {
    let dir = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared")
                .join(folder)
        });
    if (marker.1)(&dir.join(marker.0)) {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{what} not found at {} (set {variable}); required under CI",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: {what} not found at {} (set {variable})",
        dir.display()
    );
    None
}

/// `onnx/ACASXU_run2a_{i}_{j}_batch_2000.onnx` (or `.nnet`).
pub fn network_path(dir: &Path, i: usize, j: usize, ext: &str) -> PathBuf {
    dir.join(ext)
        .join(format!("ACASXU_run2a_{i}_{j}_batch_2000.{ext}"))
}

/// Every (i, j) pair of the 45 networks.
pub fn all_networks() -> impl Iterator<Item = (usize, usize)> {
    (1..=5).flat_map(|i| (1..=9).map(move |j| (i, j)))
}

/// The text of the 8x8 digits file (`digits.csv.gz` in [`digits_dir`], un-gzipped), or
/// `None` as for the folder.
pub fn digits_csv() -> Option<String> {
    use std::io::Read;
    let dir = digits_dir()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.join("digits.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    Some(text)
}

/// The handwritten digits folder: `$BIRDNN_DIGITS_DIR`, else `../shared/digits`; `None`
/// (after saying so) when it is absent, a failure under CI.
pub fn digits_dir() -> Option<PathBuf> {
    shared_dir(
        "BIRDNN_DIGITS_DIR",
        "digits",
        ("digits.csv.gz", Path::is_file),
        "digits data",
    )
}

/// Runs `tests/support/<script>` with Python and returns its stdout. The scripts exit with
/// code 3 when the Python package they judge with is missing: then `None` (after saying
/// so), a failure under CI. Any other failure fails the test.
pub fn python_support<S: AsRef<std::ffi::OsStr>>(script: &str, args: &[S]) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(script);
    let missing = |why: String| {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{script} is required under CI: {why}");
        }
        eprintln!("SKIPPED: {script}: {why}");
        None
    };
    let out = match std::process::Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) => return missing(format!("python3 cannot run: {e}")),
    };
    match out.status.code() {
        Some(0) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Some(3) => missing(String::from_utf8_lossy(&out.stderr).into_owned()),
        _ => panic!("{script} failed: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// onnxruntime's values for one input of `model` (`tests/support/onnxruntime_eval.py`):
/// the first graph output, or with `output` the graph output of that name. Files go to
/// `dir`. `None` (the test skips) when onnxruntime is not installed, outside CI.
#[allow(dead_code)]
pub fn onnxruntime_one(
    model: &Path,
    x: &[f32],
    output: Option<&str>,
    dir: &Path,
) -> Option<Vec<f32>> {
    let tag = output.unwrap_or("first");
    let xs = dir.join(format!("onnxruntime-{tag}-x.csv"));
    let ys = dir.join(format!("onnxruntime-{tag}-y.csv"));
    let header: Vec<String> = (0..x.len()).map(|i| format!("x{i}")).collect();
    let row: Vec<String> = x.iter().map(f32::to_string).collect();
    std::fs::write(&xs, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = Vec::new();
    if let Some(name) = output {
        args.push("--output".as_ref());
        args.push(name.as_ref());
    }
    args.extend([model.as_os_str(), xs.as_os_str(), ys.as_os_str()]);
    python_support("onnxruntime_eval.py", &args)?;
    let text = std::fs::read_to_string(&ys).unwrap();
    let values = text.lines().nth(1).expect("a row of outputs");
    Some(values.split(',').map(|v| v.parse().unwrap()).collect())
}
