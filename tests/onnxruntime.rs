//! ONNX files written by birdnn run in onnxruntime with the same outputs. Needs Python with
//! onnxruntime (`pip install onnxruntime`); skipped with a message where it is missing,
//! except under CI (`CI=true`), where that is a failure.

mod common;

use birdnn::formats::{self, csv};
use birdnn::network::{Activation, Network};
use birdnn::rng::SplitMix64;
use birdnn::tensor::Matrix;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/onnxruntime_eval.py")
}

/// Runs the models through onnxruntime; `None` when it is not installed (outside CI).
fn onnxruntime(jobs: &[(PathBuf, PathBuf, PathBuf)]) -> Option<()> {
    let mut cmd = Command::new("python3");
    cmd.arg(script());
    for (m, i, o) in jobs {
        cmd.args([m, i, o]);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => return skip(&format!("python3 cannot run: {e}")),
    };
    match out.status.code() {
        Some(0) => Some(()),
        Some(3) => skip(&String::from_utf8_lossy(&out.stderr)),
        _ => panic!(
            "onnxruntime failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn skip(reason: &str) -> Option<()> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("onnxruntime is required under CI: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

fn read(path: &Path) -> Matrix {
    csv::read("t", &std::fs::read_to_string(path).unwrap())
        .unwrap()
        .rows
}

#[test]
fn exported_networks_of_every_activation_run_identically_in_onnxruntime() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(17);
    let rows: Vec<Vec<f32>> = (0..200)
        .map(|_| {
            (0..4)
                .map(|_| (rng.next_f64() * 4.0 - 2.0) as f32)
                .collect()
        })
        .collect();
    let x = Matrix::from_rows(&rows).unwrap();
    let inputs = tmp.path().join("inputs.csv");
    std::fs::write(
        &inputs,
        csv::write(&(0..4).map(|i| format!("x{i}")).collect::<Vec<_>>(), &x),
    )
    .unwrap();
    let mut jobs = Vec::new();
    let mut nets = Vec::new();
    for (k, act) in Activation::ALL.into_iter().enumerate() {
        let net = Network::random(&[4, 16, 12, 3], act, k as u64).unwrap();
        let model = tmp.path().join(format!("net{k}.onnx"));
        formats::save_network(&model, &net).unwrap();
        jobs.push((
            model,
            inputs.clone(),
            tmp.path().join(format!("out{k}.csv")),
        ));
        nets.push((act, net));
    }
    if onnxruntime(&jobs).is_none() {
        return;
    }
    for ((act, net), (_, _, out)) in nets.iter().zip(&jobs) {
        let ours = net.forward(&x).unwrap();
        let theirs = read(out);
        let worst = ours
            .as_slice()
            .iter()
            .zip(theirs.as_slice())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("{act}: max |birdnn - onnxruntime| = {worst:e}");
        assert!(worst <= 1e-5, "{act}: {worst}");
        // Decisions agree everywhere.
        assert_eq!(
            net.decisions_of_outputs(&ours),
            net.decisions_of_outputs(&theirs),
            "{act}"
        );
    }
}

#[test]
fn re_exported_acas_networks_match_onnxruntime_on_the_original_files() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    let cases = [(1, 9), (2, 9), (3, 3), (4, 5), (5, 7)];
    for (i, j) in cases {
        let net = formats::load_network(&common::network_path(&dir, i, j, "nnet")).unwrap();
        let model = tmp.path().join(format!("n{i}{j}.onnx"));
        formats::save_network(&model, &net).unwrap();
        for set in ["", "_close"] {
            let inputs = dir.join(format!("reference/inputs{set}.csv"));
            jobs.push((
                model.clone(),
                inputs,
                tmp.path().join(format!("out{i}{j}{set}.csv")),
            ));
        }
    }
    if onnxruntime(&jobs).is_none() {
        return;
    }
    let mut identical = 0;
    for (k, (i, j)) in cases.iter().enumerate() {
        for (s, set) in ["", "_close"].iter().enumerate() {
            let reference = read(&dir.join(format!("reference/outputs{set}_{i}_{j}.csv")));
            let ours = read(&jobs[2 * k + s].2);
            let worst = ours
                .as_slice()
                .iter()
                .zip(reference.as_slice())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-6, "N{i},{j}{set}: {worst}");
            // Same graph shape (MatMul + Add + Relu), same weights: onnxruntime computes
            // the same floats.
            assert_eq!(ours, reference, "N{i},{j}{set}: not bit-identical");
            identical += 1;
        }
    }
    eprintln!(
        "{identical} of {} output sets bit-identical to the original files in onnxruntime",
        2 * cases.len()
    );
}
