//! The `birdnn` program, run as a user runs it.

mod common;

use birdnn::formats::{self, csv};
use birdnn::network::{Activation, Network};
use birdnn::tensor::BatchRows;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn birdnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_birdnn"))
        .args(args)
        .output()
        .expect("birdnn runs")
}

fn ok(args: &[&str]) -> String {
    let out = birdnn(args);
    assert!(
        out.status.success(),
        "birdnn {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("one JSON object")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn info_reports_layers_parameters_and_normalisation() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let net = common::network_path(&dir, 2, 9, "nnet");
    let v = json(&["info", s(&net), "--json"]);
    assert_eq!(v["parameters"], 13_305);
    assert_eq!(v["decision"], "argmin");
    assert_eq!(v["widths"].as_array().unwrap().len(), 8);
    assert_eq!(v["layers"][0]["activation"], "relu");
    assert_eq!(v["inputs"][0]["mean"], 19791.091);
    let text = ok(&["info", s(&net)]);
    assert!(
        text.contains("13305 parameters") && text.contains("rho"),
        "{text}"
    );
}

#[test]
fn eval_prints_the_reference_outputs() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let net = common::network_path(&dir, 3, 3, "onnx");
    let inputs = dir.join("reference/inputs_close.csv");
    let printed = ok(&["eval", s(&net), "--inputs", s(&inputs)]);
    let table = csv::read("stdout", &printed).unwrap();
    assert_eq!(table.header.unwrap()[0], "COC");
    let reference = csv::read(
        "ref",
        &std::fs::read_to_string(dir.join("reference/outputs_close_3_3.csv")).unwrap(),
    )
    .unwrap()
    .rows;
    let worst = table
        .rows
        .flat()
        .iter()
        .zip(reference.flat())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "{worst}");
}

#[test]
fn eval_takes_physical_units() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Network::random(&[2, 4, 2], Activation::Relu, 3).unwrap();
    let mut meta = net.meta().clone();
    meta.inputs[0].mean = 100.0;
    meta.inputs[0].range = 50.0;
    net.set_meta(meta).unwrap();
    let path = tmp.path().join("n.json");
    formats::save_network(&path, &net).unwrap();
    let inputs = tmp.path().join("x.csv");
    std::fs::write(&inputs, "a,b\n150,0.5\n").unwrap();
    let printed = ok(&[
        "eval",
        s(&path),
        "--inputs",
        s(&inputs),
        "--physical",
        "--decisions",
    ]);
    let row: Vec<f32> = printed
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let expected = net.forward_one(&[1.0, 0.5]).unwrap();
    assert_eq!(&row[..2], expected.as_slice());
    assert_eq!(
        row[2] as usize,
        net.meta().decision.decide(&expected).unwrap()
    );
}

#[test]
fn check_finds_counterexamples_on_n19_p7_and_they_are_real() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let net_path = common::network_path(&dir, 1, 9, "onnx");
    let prop = dir.join("vnnlib/prop_7.vnnlib");
    let v = json(&[
        "check",
        s(&net_path),
        s(&prop),
        "--samples",
        "20000",
        "--seed",
        "5",
        "--json",
    ]);
    assert_eq!(v["samples"], 20000);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["violation_rate"], 0.0);
    assert_eq!(v["verdict"], "violated");
    let net = formats::load_network(&net_path).unwrap();
    let property = formats::load_property(&prop).unwrap();
    let cex = v["counterexamples"].as_array().unwrap();
    assert!(!cex.is_empty());
    for c in cex {
        let input: Vec<f32> = serde_json::from_value(c["input"].clone()).unwrap();
        let output: Vec<f32> = serde_json::from_value(c["output"].clone()).unwrap();
        assert_eq!(net.forward_one(&input).unwrap(), output);
        assert!(property.is_negative(&input, &output));
    }
    // Same seed, same report (timing aside).
    let mut again = json(&[
        "check",
        s(&net_path),
        s(&prop),
        "--samples",
        "20000",
        "--seed",
        "5",
        "--json",
    ]);
    let mut first = v.clone();
    first["seconds"] = Value::Null;
    again["seconds"] = Value::Null;
    assert_eq!(first, again);
}

#[test]
fn check_estimates_the_reference_violation_rate_on_n29_p8() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let net = common::network_path(&dir, 2, 9, "nnet");
    let prop = dir.join("vnnlib/prop_8.vnnlib");
    let v = json(&[
        "check",
        s(&net),
        s(&prop),
        "--samples",
        "200000",
        "--starts",
        "0",
        "--json",
    ]);
    // Reference: 39 of 100,000 (0.00039); 5 standard deviations at n = 200,000 is 0.00022.
    let rate = v["violation_rate"].as_f64().unwrap();
    assert!((rate - 0.00039).abs() < 0.00022, "{rate}");
    assert_eq!(v["properties"][0]["name"], "prop_8");
}

#[test]
fn convert_chains_through_every_format_without_changing_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    for act in Activation::ALL {
        let net = Network::random(&[3, 5, 4, 2], act, 9).unwrap();
        let start = tmp.path().join("start.json");
        formats::save_network(&start, &net).unwrap();
        let mut previous = start.clone();
        for ext in ["onnx", "nnet", "json", "nnet", "onnx"] {
            let next = tmp.path().join(format!("n.{ext}"));
            let out = birdnn(&["convert", s(&previous), s(&next)]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let warned = String::from_utf8_lossy(&out.stderr).contains("warning");
            assert_eq!(
                warned,
                ext == "nnet" && act != Activation::Relu,
                "{act} -> {ext}"
            );
            previous = next;
        }
        let back = formats::load_network(&previous).unwrap();
        assert_eq!(back.layers(), net.layers(), "{act}");
        let x = birdnn::tensor::from_rows(&[[0.1f32, -0.3, 0.7]]).unwrap();
        assert_eq!(back.forward(&x).unwrap(), net.forward(&x).unwrap());
    }
}

#[test]
fn bad_input_gives_a_clear_error_and_a_failure_code() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.nnet");
    std::fs::write(
        &broken,
        "// header\n2,2,2,2,\n2,3,2,\n0,\n0,0,\n1,1,\n0,0,0,\n1,1,1,\nx,\n",
    )
    .unwrap();
    let out = birdnn(&["info", s(&broken)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.nnet"), "{err}");

    let missing = birdnn(&["info", "/nonexistent/net.onnx"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/net.onnx"));

    let unknown = tmp.path().join("net.txt");
    std::fs::write(&unknown, "hello").unwrap();
    let out = birdnn(&["info", s(&unknown)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown file type"));

    // A property of the wrong size for the network.
    let net = tmp.path().join("n.json");
    formats::save_network(
        &net,
        &Network::random(&[3, 4, 2], Activation::Relu, 1).unwrap(),
    )
    .unwrap();
    let prop = tmp.path().join("p.vnnlib");
    std::fs::write(&prop, "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= Y_0 0))").unwrap();
    let out = birdnn(&["check", s(&net), s(&prop)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("1 inputs and 1 outputs, the network has 3 and 2"));

    // Inputs of the wrong width.
    let inputs = tmp.path().join("x.csv");
    std::fs::write(&inputs, "1,2\n").unwrap();
    let out = birdnn(&["eval", s(&net), "--inputs", s(&inputs)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected 3"));
}

#[test]
fn the_image_bench_names_a_missing_or_malformed_image_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = birdnn(&["bench", "--instances", "digits", "--data", s(dir.path())]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("digits.csv.gz"), "{err}");
    // A line with a pixel out of range: the file, the line and the pixel are named.
    let mut line = vec!["0"; 64];
    line[5] = "17";
    std::fs::write(
        dir.path().join("digits.csv.gz"),
        format!("{},3\n", line.join(",")),
    )
    .unwrap();
    let out = birdnn(&["bench", "--instances", "digits", "--data", s(dir.path())]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("digits.csv.gz: line 1: pixel 5 is 17, outside 0..=16"),
        "{err}"
    );
}

#[test]
fn a_robustness_set_becomes_mnistfc_vnnlib_files_and_is_verified_ball_by_ball() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = root.join("www/demos/digits-gallery.json");
    let net_path = root.join("www/demos/digits.json");
    let gallery =
        birdnn::images::demo::Gallery::parse(&std::fs::read_to_string(&set).unwrap()).unwrap();
    let net = formats::load_network(&net_path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let listed = ok(&["balls", s(&set), "--out", s(tmp.path())]);
    assert_eq!(listed.lines().count(), gallery.images.len());
    for (k, line) in listed.lines().enumerate() {
        let text = std::fs::read_to_string(line).unwrap();
        assert!(
            text.contains("; Output constraints:\n(assert (or\n"),
            "{line}"
        );
        let back = formats::load_property(Path::new(line)).unwrap();
        let direct = gallery.spec(k).property("ball", 64, 10).unwrap();
        assert_eq!(back.input_boxes, direct.input_boxes, "{line}");
        assert_eq!(back.unsafe_region, direct.unsafe_region, "{line}");
    }

    // The set stands for its balls: one verdict each, and every counterexample is real.
    let v = json(&["verify", s(&net_path), s(&set), "--timeout", "1", "--json"]);
    let verdicts = v["properties"].as_array().unwrap();
    assert_eq!(verdicts.len(), gallery.images.len());
    let mut refuted = 0;
    for (k, verdict) in verdicts.iter().enumerate() {
        assert!(verdict["property"]
            .as_str()
            .unwrap()
            .ends_with(&format!("image {k} (label {})", gallery.images[k].label)));
        if verdict["status"] == "counterexample" {
            refuted += 1;
            let x: Vec<f32> =
                serde_json::from_value(verdict["counterexample"]["input"].clone()).unwrap();
            let ball = gallery.spec(k).property("ball", 64, 10).unwrap();
            assert!(ball.input_boxes[0].contains(&x));
            let decision = net
                .decisions(&birdnn::tensor::from_vec(1, 64, x).unwrap())
                .unwrap()[0];
            assert_ne!(
                decision, gallery.images[k].label,
                "ball {k}: not a counterexample"
            );
        }
    }
    assert!(refuted > 0, "the demo gallery has balls the network loses");

    let wrong = birdnn(&[
        "verify",
        s(&root.join("www/demos/zones-relu.json")),
        s(&set),
    ]);
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        err.contains("digits-gallery.json") && err.contains("10 classes"),
        "{err}"
    );
}

#[test]
fn repair_writes_a_network_the_falsifier_finds_clean_and_reports_progress_without_nan() {
    let demos = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
    let net = demos.join("zones-tanh.json");
    let prop = demos.join("zones-tanh-patch-must-be-below.vnnlib");
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("fixed.onnx");
    let out = birdnn(&[
        "repair",
        s(&net),
        s(&prop),
        "--method",
        "retrain",
        "--seed",
        "4",
        "--out",
        s(&out_path),
    ]);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{progress}");
    // Falsifying and proving have no cost: the progress line leaves it out rather than
    // printing NaN.
    assert!(progress.contains("falsifying: "), "{progress}");
    assert!(!progress.contains("NaN"), "{progress}");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("proved safe on its whole region"),
        "{report}"
    );
    // The written file, read back, differs from the original, and the falsifier (a fresh
    // seed) finds nothing in the property's region.
    let before = formats::load_network(&net).unwrap();
    let after = formats::load_network(&out_path).unwrap();
    assert_ne!(before.layers(), after.layers());
    let v = json(&["check", s(&out_path), s(&prop), "--seed", "11", "--json"]);
    assert_eq!(v["verdict"], "no_violation_found", "{v}");
    let original = json(&["check", s(&net), s(&prop), "--seed", "11", "--json"]);
    assert_eq!(original["verdict"], "violated", "{original}");
}
