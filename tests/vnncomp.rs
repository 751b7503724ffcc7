//! VNN-COMP's scripts (`tools/vnncomp/prepare_instance.sh`, `run_instance.sh`) run as the
//! competition runs them on ACAS Xu instances: the result files' verdicts, and each `sat`
//! counterexample checked by onnxruntime on the original ONNX file.

mod common;

use birdnn::formats;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tools/vnncomp")
        .join(name)
}

fn run(name: &str, args: &[&Path], timeout: &str) -> std::process::Output {
    Command::new("bash")
        .arg(script(name))
        .arg("v1")
        .arg("acasxu")
        .args(args)
        .args(if name == "run_instance.sh" {
            vec![timeout]
        } else {
            vec![]
        })
        .env("BIRDNN", env!("CARGO_BIN_EXE_birdnn"))
        .output()
        .unwrap()
}

/// onnxruntime's outputs for one input of `model`, or `None` when it is not installed.
fn onnxruntime(model: &Path, x: &[f32], tmp: &Path) -> Option<Vec<f32>> {
    common::onnxruntime_one(model, x, None, tmp)
}

/// A 1.0 result file: its first line, and after `sat` the inputs and outputs of
/// `((X_0 v) (X_1 v) ... (Y_4 v))`, in order.
fn result_file(text: &str) -> (String, Vec<f32>, Vec<f32>) {
    let mut lines = text.lines();
    let word = lines.next().unwrap_or("").to_string();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in lines {
        let pair = line.trim().trim_start_matches('(').trim_end_matches(')');
        let (name, value) = pair.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f32 = value.parse().unwrap();
        if name == format!("X_{}", x.len()) {
            x.push(value);
        } else {
            assert_eq!(name, format!("Y_{}", y.len()), "{text}");
            y.push(value);
        }
    }
    (word, x, y)
}

#[test]
fn run_instance_writes_the_competition_result_files() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p3 = dir.join("vnnlib/prop_3.vnnlib");
    let property = formats::load_property(&p3).unwrap();
    // The same property as a gzipped 2.0 query, as VNN-COMP 2026 ships its benchmarks.
    let v2 = tmp.path().join("prop_3.vnnlib");
    std::fs::write(&v2, birdnn::formats::vnnlib::write_v2(&property)).unwrap();
    let gzip = Command::new("gzip").arg(&v2).status().unwrap();
    assert!(gzip.success());
    let v2 = tmp.path().join("prop_3.vnnlib.gz");

    let violated = common::network_path(&dir, 1, 7, "onnx");
    let safe = common::network_path(&dir, 3, 3, "onnx");
    let prepared = run("prepare_instance.sh", &[&violated, &p3], "");
    assert!(
        prepared.status.success(),
        "{}",
        String::from_utf8_lossy(&prepared.stderr)
    );
    let missing = run(
        "prepare_instance.sh",
        &[&tmp.path().join("none.onnx"), &p3],
        "",
    );
    assert!(!missing.status.success());

    let result = tmp.path().join("result.txt");
    let out = run("run_instance.sh", &[&violated, &p3, &result], "60");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&result).unwrap();
    let (word, x, y) = result_file(&text);
    assert_eq!(word, "sat", "{text}");
    assert_eq!((x.len(), y.len()), (5, 5), "{text}");
    assert!(property.precondition_holds(&x), "{x:?}");
    if let Some(theirs) = onnxruntime(&violated, &x, tmp.path()) {
        assert!(
            property.unsafe_region.contains(&theirs),
            "onnxruntime: {theirs:?}"
        );
        for (a, b) in y.iter().zip(&theirs) {
            assert!((a - b).abs() <= 1e-5, "{y:?} vs {theirs:?}");
        }
    }

    // The gzipped 2.0 query: the same verdict, with the 2.0 assignment block.
    let out = run("run_instance.sh", &[&violated, &v2, &result], "60");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&result).unwrap();
    assert!(text.starts_with("sat\nX float32 [1,5]\n"), "{text}");

    let out = run("run_instance.sh", &[&safe, &p3, &result], "120");
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "unsat\n");

    // A model that does not fit the query: "error", with the reason on stderr.
    let p1_on_wrong = tmp.path().join("tiny.onnx");
    let tiny =
        birdnn::network::Network::random(&[3, 4, 2], birdnn::network::Activation::Relu, 1).unwrap();
    formats::save_network(&p1_on_wrong, &tiny).unwrap();
    let out = run("run_instance.sh", &[&p1_on_wrong, &p3, &result], "10");
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "error\n");
    assert!(!out.stderr.is_empty());
}

#[test]
fn an_instances_csv_gets_the_same_answers_from_bench_verify_and_run_instance() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A benchmark folder as VNN-COMP ships one: instances.csv with relative paths, some
    // files gzipped and listed without their .gz.
    let bench = tmp.path().join("bench");
    std::fs::create_dir_all(bench.join("onnx")).unwrap();
    std::fs::create_dir_all(bench.join("vnnlib")).unwrap();
    let pairs = [
        ((1, 7), 3),
        ((1, 1), 1),
        ((3, 3), 3),
        ((1, 9), 7),
        ((2, 9), 8),
        ((4, 5), 10),
    ];
    let mut lines = Vec::new();
    for (k, ((i, j), p)) in pairs.iter().enumerate() {
        let onnx = format!("onnx/N{i}{j}.onnx");
        let vnnlib = format!("vnnlib/prop_{p}.vnnlib");
        std::fs::copy(
            common::network_path(&dir, *i, *j, "onnx"),
            bench.join(&onnx),
        )
        .unwrap();
        std::fs::copy(
            dir.join(format!("vnnlib/prop_{p}.vnnlib")),
            bench.join(&vnnlib),
        )
        .unwrap();
        if k % 2 == 0 {
            for f in [&onnx, &vnnlib] {
                assert!(Command::new("gzip")
                    .arg("-f")
                    .arg(bench.join(f))
                    .status()
                    .unwrap()
                    .success());
            }
        }
        lines.push(format!("{onnx},{vnnlib},60"));
    }
    let instances = bench.join("instances.csv");
    std::fs::write(&instances, lines.join("\n") + "\n").unwrap();
    let table = tmp.path().join("table.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_birdnn"))
        .args(["bench-verify", "--instances"])
        .arg(&instances)
        .arg("--out")
        .arg(&table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(&table).unwrap();
    let answers: Vec<String> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().to_string())
        .collect();
    // The published VNN-COMP 2021 verdicts of these pairs.
    assert_eq!(
        answers,
        ["sat", "unsat", "unsat", "sat", "sat", "unsat"],
        "{table}"
    );
    let result = tmp.path().join("result.txt");
    for (((i, j), p), answer) in pairs.iter().zip(&answers) {
        let (onnx, vnnlib) = (
            bench.join(format!("onnx/N{i}{j}.onnx")),
            bench.join(format!("vnnlib/prop_{p}.vnnlib")),
        );
        let gz = |f: &Path| {
            if f.exists() {
                f.to_path_buf()
            } else {
                PathBuf::from(format!("{}.gz", f.display()))
            }
        };
        let (onnx, vnnlib) = (gz(&onnx), gz(&vnnlib));
        let out = run("run_instance.sh", &[&onnx, &vnnlib, &result], "60");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&result).unwrap();
        let (word, x, _) = result_file(&text);
        assert_eq!(&word, answer, "N{i},{j}/p{p}: {text}");
        if word == "sat" {
            let property =
                formats::load_property(&dir.join(format!("vnnlib/prop_{p}.vnnlib"))).unwrap();
            assert!(property.precondition_holds(&x), "{x:?}");
            if let Some(theirs) =
                onnxruntime(&common::network_path(&dir, *i, *j, "onnx"), &x, tmp.path())
            {
                assert!(
                    property.unsafe_region.contains(&theirs),
                    "N{i},{j}/p{p}: onnxruntime {theirs:?}"
                );
            }
        }
    }
}
