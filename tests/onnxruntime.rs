//! ONNX files written by birdnn run in onnxruntime with the same outputs. Needs Python with
//! onnxruntime (`pip install onnxruntime`); skipped with a message where it is missing,
//! except under CI (`CI=true`), where that is a failure.

mod common;

use birdnn::formats::{self, csv};
use birdnn::network::{Activation, Network};
use birdnn::rng::SplitMix64;
use birdnn::tensor::{Array2, BatchRows};
use std::path::{Path, PathBuf};

/// Runs the models through onnxruntime; `None` when it is not installed (outside CI).
fn onnxruntime(jobs: &[(PathBuf, PathBuf, PathBuf)]) -> Option<()> {
    let args: Vec<&PathBuf> = jobs.iter().flat_map(|(m, i, o)| [m, i, o]).collect();
    common::python_support("onnxruntime_eval.py", &args).map(|_| ())
}

fn read(path: &Path) -> Array2<f32> {
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
    let x = birdnn::tensor::from_rows(&rows).unwrap();
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
            .flat()
            .iter()
            .zip(theirs.flat())
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
                .flat()
                .iter()
                .zip(reference.flat())
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

/// Reads a CSV of floats written by the support scripts (a header, then rows).
fn rows(path: &Path) -> Vec<Vec<f32>> {
    let m = read(path);
    m.row_slices().map(<[f32]>::to_vec).collect()
}

#[test]
fn harness_style_models_read_as_onnxruntime_runs_them_with_hidden_tensors_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    if common::python_support("onnx_breadth.py", &[dir]).is_none() {
        return;
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let mut models = 0;
    for line in manifest.lines() {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap();
        let outputs: Vec<&str> = words.collect();
        let path = dir.join(format!("{name}.onnx"));
        let bytes = std::fs::read(&path).unwrap();
        let hidden: Vec<String> = outputs[1..].iter().map(|s| s.to_string()).collect();
        let (net, sites) = birdnn::formats::onnx::read_with_sites(name, &bytes, &hidden)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(net, formats::onnx::read(name, &bytes).unwrap());
        if name == "constants_and_arithmetic" {
            // A layer's values before and after its activation are recognised as such (the
            // verifier's bounds of them serve hidden-node queries); a tensor inside a folded
            // affine map is that map of the layer's input.
            use birdnn::formats::onnx::TensorSite;
            assert_eq!(sites[0], TensorSite::Pre(0), "g1");
            assert_eq!(sites[1], TensorSite::Post(0), "r1");
            assert!(
                matches!(sites[2], TensorSite::Affine { layer: 1, .. }),
                "s1"
            );
        }
        let x = read(&dir.join(format!("{name}.x.csv")));
        let trace = net.forward_trace(&x).unwrap();
        for (k, output) in outputs.iter().enumerate() {
            let theirs = rows(&dir.join(format!("{name}.{output}.csv")));
            for (r, want) in theirs.iter().enumerate() {
                let ours = if k == 0 {
                    trace.output().row_slice(r).to_vec()
                } else {
                    sites[k - 1].values(&trace, r)
                };
                assert_eq!(ours.len(), want.len(), "{name}.{output}");
                for (a, b) in ours.iter().zip(want) {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "{name}.{output} row {r}: birdnn {ours:?}, onnxruntime {want:?}"
                    );
                }
            }
        }
        models += 1;
    }
    assert_eq!(models, 2);
    // What a harness may name that is not a value of the layer chain is refused by name.
    let bytes = std::fs::read(dir.join("constants_and_arithmetic.onnx")).unwrap();
    for (wanted, message) in [
        ("w1", "'w1' is a constant"),
        ("nowhere", "'nowhere' is not a tensor"),
    ] {
        let e = birdnn::formats::onnx::read_with_sites("m", &bytes, &[wanted.to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{e}");
    }
}
