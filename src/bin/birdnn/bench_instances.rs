//! `birdnn bench-verify --instances FILE.csv`: a VNN-COMP benchmark's `instances.csv`
//! (one `ONNX,VNNLIB,TIMEOUT` line per instance, paths relative to the file, gzipped files
//! too), each answered by the same solver as `birdnn verify QUERY --network NAME=MODEL`, so
//! that a table here and `tools/vnncomp/run_instance.sh` agree.

use crate::parallel::run_in_order;
use crate::solver::{answer, read_query, Answer};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One line of `instances.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// The model, as written in the file.
    pub onnx: String,
    /// The query, as written in the file.
    pub vnnlib: String,
    /// Seconds the instance is given.
    pub timeout: f64,
}

/// Reads `instances.csv` (blank lines and a header line naming the columns are skipped).
pub fn read_instances(path: &Path) -> Result<Vec<Instance>, String> {
    let bytes = crate::files::read_maybe_gzip(path).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{}: not text", path.display()))?;
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        // A header names the columns: its third field is a word, not a number.
        let is_header = number == 0
            && fields.len() == 3
            && fields[2]
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_');
        if is_header {
            continue;
        }
        let at = |message: String| format!("{}:{}: {message}", path.display(), number + 1);
        let [onnx, vnnlib, timeout] = fields.as_slice() else {
            return Err(at(format!(
                "expected ONNX,VNNLIB,TIMEOUT, found {} field(s)",
                fields.len()
            )));
        };
        let timeout: f64 = timeout
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t > 0.0)
            .ok_or_else(|| at(format!("timeout '{timeout}' is not a positive number")))?;
        out.push(Instance {
            onnx: onnx.to_string(),
            vnnlib: vnnlib.to_string(),
            timeout,
        });
    }
    if out.is_empty() {
        return Err(format!("{}: no instances", path.display()));
    }
    Ok(out)
}

/// A benchmark file's path as listed, else the same with `.gz` (the VNN-COMP repositories
/// keep files gzipped and list them unpacked).
fn located(base: &Path, listed: &str) -> PathBuf {
    let path = base.join(listed);
    if path.exists() {
        return path;
    }
    let gz = base.join(format!("{listed}.gz"));
    if gz.exists() {
        gz
    } else {
        path
    }
}

struct Outcome {
    word: String,
    detail: String,
    seconds: f64,
}

fn run_one(base: &Path, instance: &Instance) -> Outcome {
    let started = Instant::now();
    let result = read_query(&located(base, &instance.vnnlib)).and_then(|query| {
        answer(
            &query,
            &located(base, &instance.onnx),
            Some(instance.timeout),
            started,
        )
    });
    let (word, detail) = match result {
        Ok(Answer::Unknown(why)) => ("unknown".to_string(), why),
        Ok(a) => (a.word().to_string(), String::new()),
        Err(e) => ("error".to_string(), e.to_string()),
    };
    Outcome {
        word,
        detail,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Answers every instance of `csv_path` on `threads` threads, prints a line each and the
/// totals, and writes `onnx,vnnlib,timeout,result,seconds` rows to `out` when asked.
pub fn bench_instances(
    csv_path: &Path,
    threads: usize,
    out: Option<&PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let instances = read_instances(csv_path)?;
    let base = csv_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let total = instances.len();
    let started = Instant::now();
    let results = run_in_order(
        &instances,
        threads,
        |instance| run_one(&base, instance),
        |done, total, instance, outcome| {
            eprintln!(
                "bench-verify: {done}/{total} {} {}: {} in {:.2} s",
                instance.onnx, instance.vnnlib, outcome.word, outcome.seconds
            );
        },
    );
    let wall = started.elapsed().as_secs_f64();
    let mut csv = String::from("onnx,vnnlib,timeout,result,seconds\n");
    println!(
        "{:<44} {:<28} {:>7} {:<9} {:>8}",
        "onnx", "vnnlib", "timeout", "result", "seconds"
    );
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (o, i) in results.iter().zip(&instances) {
        println!(
            "{:<44} {:<28} {:>7} {:<9} {:>8.2}{}",
            i.onnx,
            i.vnnlib,
            i.timeout,
            o.word,
            o.seconds,
            if o.detail.is_empty() {
                String::new()
            } else {
                format!("  ({})", o.detail)
            }
        );
        csv.push_str(&format!(
            "{},{},{},{},{:.3}\n",
            i.onnx, i.vnnlib, i.timeout, o.word, o.seconds
        ));
        *counts.entry(o.word.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    println!(
        "{total} instances in {wall:.1} s on {} thread(s): {}",
        threads.max(1),
        summary.join(", ")
    );
    if let Some(path) = out {
        std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_csv_is_read_with_its_errors_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instances.csv");
        std::fs::write(
            &path,
            "onnx,vnnlib,timeout\nonnx/a.onnx,vnnlib/p.vnnlib,116\n\n onnx/b.onnx , q.vnnlib.gz, 30.5\n",
        )
        .unwrap();
        let read = read_instances(&path).unwrap();
        assert_eq!(read.len(), 2);
        // Without a header, the first line (a path starting "onnx/") is an instance.
        std::fs::write(
            &path,
            "onnx/a.onnx,vnnlib/p.vnnlib,116\n\n onnx/b.onnx , q.vnnlib.gz, 30.5\n",
        )
        .unwrap();
        let read = read_instances(&path).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[1],
            Instance {
                onnx: "onnx/b.onnx".into(),
                vnnlib: "q.vnnlib.gz".into(),
                timeout: 30.5
            }
        );
        for (text, message) in [
            ("a.onnx,p.vnnlib\n", "expected ONNX,VNNLIB,TIMEOUT, found 2"),
            (
                "a.onnx,p.vnnlib,0\n",
                "timeout '0' is not a positive number",
            ),
            ("a.onnx,p.vnnlib,60\nb.onnx,q.vnnlib,NaN\n", "timeout 'NaN'"),
            ("\n", "no instances"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = read_instances(&path).unwrap_err();
            assert!(e.contains(message), "{text}: {e}");
        }
    }
}
