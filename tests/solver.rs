//! birdnn as a VNN-LIB 2.0 solver: the chapter-5 interface run as a harness runs it, the
//! 2.0 files birdnn writes judged by the reference parser (`vnnlib` from PyPI), satisfying
//! assignments checked by onnxruntime's forward pass and their serialised tensors by `onnx`.

mod common;

use birdnn::formats::{self, vnnlib};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn birdnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_birdnn"))
        .args(args)
        .output()
        .expect("birdnn runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The reference parser's answer (`tests/support/vnnlib_check.py`), or `None` where it is
/// not installed (outside CI).
fn judge(args: &[&str]) -> Option<String> {
    common::python_support("vnnlib_check.py", args)
}

#[test]
fn name_version_and_every_capability_are_answered() {
    assert_eq!(stdout(&birdnn(&["--name"])), "birdnn\n");
    assert_eq!(
        stdout(&birdnn(&["--version"])),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
    let capabilities = [
        ("--onnx-opset-versions", 2),
        ("--onnx-element-types", 2),
        ("--onnx-operators", 17),
        ("--vnnlib-versions", 2),
        ("--hidden-node-theories", 2),
        ("--multiple-input-output-theories", 1),
        ("--multiple-network-theories", 1),
        ("--multiple-node-comparison-theories", 1),
        ("--arithmetic-complexity-theories", 2),
        ("--optimised-disjunctive-reasoning", 1),
        ("--serialise-assignments", 1),
    ];
    for (capability, lines) in capabilities {
        let out = birdnn(&["supports", capability]);
        assert!(out.status.success(), "{capability}");
        let text = stdout(&out);
        assert_eq!(text.lines().count(), lines, "{capability}: {text}");
        assert!(text.lines().all(|l| !l.trim().is_empty()), "{capability}");
    }
    assert_eq!(
        stdout(&birdnn(&["supports", "--onnx-element-types"])),
        "float32\nreal\n"
    );
    let out = birdnn(&["supports", "--no-such-capability"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown capability"));
}

#[test]
fn what_birdnn_writes_as_2_0_the_reference_parser_accepts() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let demos = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demos");
    let mut sources: Vec<PathBuf> = (1..=10)
        .map(|p| dir.join(format!("vnnlib/prop_{p}.vnnlib")))
        .collect();
    for entry in std::fs::read_dir(&demos).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "vnnlib") {
            sources.push(path);
        }
    }
    let mut written = Vec::new();
    for source in &sources {
        let property = formats::load_property(source).unwrap();
        let text = vnnlib::write_v2(&property);
        // Read back by birdnn: the same property.
        let back = vnnlib::read("back.vnnlib", &text).unwrap();
        assert_eq!(
            back.input_boxes,
            property.input_boxes,
            "{}",
            source.display()
        );
        assert_eq!(
            back.unsafe_region,
            property.unsafe_region,
            "{}",
            source.display()
        );
        let path = tmp.path().join(source.file_name().unwrap());
        std::fs::write(&path, text).unwrap();
        written.push(path);
    }
    let args: Vec<&str> = std::iter::once("parse")
        .chain(written.iter().map(|p| s(p)))
        .collect();
    let Some(answers) = judge(&args) else {
        return;
    };
    for (path, answer) in written.iter().zip(answers.lines()) {
        assert_eq!(answer, "ok", "{}", path.display());
    }
    assert_eq!(answers.lines().count(), written.len());
}

/// ACAS Xu property 3 as a 2.0 query, written by birdnn.
fn property_3_query(dir: &Path, tmp: &Path) -> PathBuf {
    let p3 = formats::load_property(&dir.join("vnnlib/prop_3.vnnlib")).unwrap();
    let path = tmp.join("prop_3_v2.vnnlib");
    std::fs::write(&path, vnnlib::write_v2(&p3)).unwrap();
    path
}

#[test]
fn verify_answers_sat_with_an_assignment_onnxruntime_confirms_and_unsat() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let query = property_3_query(&dir, tmp.path());
    // N1,7 violates property 3 (COC is minimal somewhere in the box); N3,3 satisfies it
    // (Marabou agrees on both, see tests/marabou.rs).
    let violated = common::network_path(&dir, 1, 7, "onnx");
    let binding = format!("network={}", s(&violated));
    let tensors = tmp.path().join("assignment");
    let out = birdnn(&[
        "verify",
        s(&query),
        "--network",
        &binding,
        "--timeout",
        "60",
        "--serialise-assignments",
        s(&tensors),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "sat", "{text}");
    assert_eq!(lines[1], "X float32 [1,5]");
    assert_eq!(lines[7], "Y float32 [1,5]");
    assert_eq!(lines.len(), 13, "{text}");
    let x: Vec<f32> = lines[2..7].iter().map(|v| v.parse().unwrap()).collect();
    let y: Vec<f32> = lines[8..13].iter().map(|v| v.parse().unwrap()).collect();
    let p3 = formats::load_property(&dir.join("vnnlib/prop_3.vnnlib")).unwrap();
    assert!(p3.precondition_holds(&x), "{x:?}");
    // onnxruntime runs the original file on the assignment's input.
    if let Some(theirs) = common::onnxruntime_one(&violated, &x, None, tmp.path()) {
        for (a, b) in y.iter().zip(&theirs) {
            assert!(
                (a - b).abs() <= 1e-5,
                "birdnn {y:?}, onnxruntime {theirs:?}"
            );
        }
        assert!(
            p3.unsafe_region.contains(&theirs),
            "onnxruntime's outputs are unsafe: {theirs:?}"
        );
    }
    // The serialised tensors hold the same values.
    if let Some(read) = judge(&["tensor", s(&tensors.join("X.pb")), s(&tensors.join("Y.pb"))]) {
        let mut lines = read.lines();
        for (name, values) in [("X", &x), ("Y", &y)] {
            let line = lines.next().unwrap();
            assert!(line.starts_with(&format!("{name} [1, 5] ")), "{line}");
            let read: Vec<f32> = line
                .splitn(4, ' ')
                .nth(3)
                .unwrap()
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            assert_eq!(&read, values, "{name}");
        }
    }

    // N3,3 / property 2 takes the verifier about half a minute: with two seconds it answers
    // timed-out, before its time is up (with room for a loaded machine).
    let p2 = formats::load_property(&dir.join("vnnlib/prop_2.vnnlib")).unwrap();
    let hard = tmp.path().join("prop_2_v2.vnnlib");
    std::fs::write(&hard, vnnlib::write_v2(&p2)).unwrap();
    let n33 = common::network_path(&dir, 3, 3, "onnx");
    let started = std::time::Instant::now();
    let out = birdnn(&[
        "verify",
        s(&hard),
        "--network",
        &format!("network={}", s(&n33)),
        "--timeout",
        "2",
    ]);
    assert_eq!(
        stdout(&out),
        "timed-out\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "{:?}",
        started.elapsed()
    );

    let safe = common::network_path(&dir, 3, 3, "onnx");
    let out = birdnn(&[
        "verify",
        s(&query),
        "--network",
        &format!("network={}", s(&safe)),
        "--timeout",
        "120",
    ]);
    assert_eq!(
        stdout(&out),
        "unsat\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn verify_refuses_what_does_not_match_the_query_on_stderr() {
    let Some(dir) = common::acasxu_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let query = property_3_query(&dir, tmp.path());
    let model = common::network_path(&dir, 1, 7, "onnx");
    let text = std::fs::read_to_string(&query).unwrap();
    let float64 = tmp.path().join("float64.vnnlib");
    std::fs::write(
        &float64,
        text.replace("X float32", "X float64")
            .replace("Y float32", "Y float64"),
    )
    .unwrap();
    let wide = tmp.path().join("wide.vnnlib");
    std::fs::write(&wide, text.replace("Y float32 [1,5]", "Y float32 [1,6]")).unwrap();
    let binding = format!("network={}", s(&model));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![s(&query).into()],
            "or a query and --network NAME=MODEL",
        ),
        (
            vec![
                s(&query).into(),
                "--network".into(),
                format!("other={}", s(&model)),
            ],
            "declares network network, not other",
        ),
        (
            vec![
                s(&query).into(),
                "--network".into(),
                binding.clone(),
                "--network".into(),
                binding.clone(),
            ],
            "unnecessary",
        ),
        (
            vec![s(&float64).into(), "--network".into(), binding.clone()],
            "not supported: element type 'float64'",
        ),
        (
            vec![s(&wide).into(), "--network".into(), binding.clone()],
            "the model's output has 5",
        ),
        (
            vec![
                s(&query).into(),
                "--network".into(),
                binding.clone(),
                "--timeout".into(),
                "0".into(),
            ],
            "positive number",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["verify".to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = birdnn(&refs);
        assert!(!out.status.success(), "{refs:?}");
        assert!(stdout(&out).is_empty(), "{refs:?}: nothing on stdout");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{refs:?}: {err}");
    }
    // The old form still works.
    let out = birdnn(&[
        "verify",
        s(&model),
        s(&dir.join("vnnlib/prop_3.vnnlib")),
        "--timeout",
        "30",
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("counterexample"), "{}", stdout(&out));
}

/// The harness-style model of `tests/support/onnx_breadth.py` (built by the `onnx`
/// package): input X [batch,4]; `g1` = a Gemm's values, `r1` = their ReLU, output y [batch,2].
fn harness_model(tmp: &Path) -> Option<PathBuf> {
    common::python_support("onnx_breadth.py", &[tmp])?;
    Some(tmp.join("constants_and_arithmetic.onnx"))
}

/// A 2.0 query over that model: X in [-1,1]^4, the hidden declarations and the asserts given.
fn hidden_query(tmp: &Path, name: &str, hidden: &str, asserts: &str) -> PathBuf {
    let bounds: String = (0..4)
        .map(|i| format!("(assert (and (>= X[0,{i}] -1.0) (<= X[0,{i}] 1.0)))\n"))
        .collect();
    let text = format!(
        "(vnnlib-version <2.0>)\n(declare-network net\n  (declare-input X float32 [1,4])\n  {hidden}\n  (declare-output Y float32 [1,2]))\n{bounds}{asserts}\n"
    );
    let path = tmp.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn hidden_nodes_are_answered_sat_unsat_and_unknown_and_the_assignment_checks_out() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(model) = harness_model(tmp.path()) else {
        return;
    };
    let binding = format!("net={}", s(&model));
    let run = |query: &Path| {
        let out = birdnn(&["verify", s(query), "--network", &binding, "--timeout", "60"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };

    // sat: a pre-activation above 0.3 where the first output is at least 0.7 (the
    // model's samples meet both at one input in twenty).
    let query = hidden_query(
        tmp.path(),
        "sat.vnnlib",
        r#"(declare-hidden G float32 [1,3] "g1")"#,
        "(assert (> G[0,2] 0.3))\n(assert (>= Y[0,0] 0.7))",
    );
    let text = stdout(&run(&query));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "sat", "{text}");
    assert_eq!(lines[1], "X float32 [1,4]");
    assert_eq!(
        lines[6], "G float32 [1,3]",
        "hidden nodes in declaration order"
    );
    assert_eq!(lines[10], "Y float32 [1,2]");
    assert_eq!(lines.len(), 13, "{text}");
    let values = |range: std::ops::Range<usize>| -> Vec<f32> {
        lines[range].iter().map(|v| v.parse().unwrap()).collect()
    };
    let (x, g, y) = (values(2..6), values(7..10), values(11..13));
    assert!(x.iter().all(|v| (-1.0..=1.0).contains(v)), "{x:?}");
    // onnxruntime runs the file on the assignment's input: its g1 and y match and satisfy
    // the query.
    if let Some(their_y) = common::onnxruntime_one(&model, &x, None, tmp.path()) {
        for (a, b) in y.iter().zip(&their_y) {
            assert!(
                (a - b).abs() <= 1e-5,
                "birdnn {y:?}, onnxruntime {their_y:?}"
            );
        }
        assert!(their_y[0] >= 0.7, "{their_y:?}");
        // The hidden tensor as onnxruntime computes it (the model exposes it as an output).
        let their_g = common::onnxruntime_one(&model, &x, Some("g1"), tmp.path()).unwrap();
        for (a, b) in g.iter().zip(&their_g) {
            assert!(
                (a - b).abs() <= 1e-5,
                "birdnn {g:?}, onnxruntime {their_g:?}"
            );
        }
        assert!(their_g[2] > 0.3, "{their_g:?}");
    }

    // unsat: the bounds of a ReLU's output over the box rule the disjunct out.
    let query = hidden_query(
        tmp.path(),
        "unsat.vnnlib",
        r#"(declare-hidden R float32 [1,3] "r1")"#,
        "(assert (>= R[0,2] 1000.0))\n(assert (>= Y[0,0] -1000000.0))",
    );
    assert_eq!(stdout(&run(&query)), "unsat\n");

    // unknown: a ReLU's output is never below its input, but no bound birdnn computes shows
    // it, and no input it tries satisfies the query. Exactly one line, nothing claimed.
    let query = hidden_query(
        tmp.path(),
        "unknown.vnnlib",
        r#"(declare-hidden G float32 [1,3] "g1") (declare-hidden R float32 [1,3] "r1")"#,
        "(assert (< R[0,0] G[0,0]))\n(assert (>= Y[0,0] -1000000.0))",
    );
    let out = run(&query);
    assert_eq!(stdout(&out), "unknown\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("hidden-node"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Refused on stderr, naming the problem.
    for (hidden, message) in [
        (
            r#"(declare-hidden G float32 [1,4] "g1")"#,
            "G [1,4] (4 elements) for tensor 'g1', which has 3",
        ),
        (
            r#"(declare-hidden G float32 [1,3] "w1")"#,
            "'w1' is a constant",
        ),
        (
            r#"(declare-hidden G float32 [1,3] "g7")"#,
            "'g7' is not a tensor",
        ),
    ] {
        let query = hidden_query(tmp.path(), "bad.vnnlib", hidden, "(assert (> G[0,1] 0.5))");
        let out = birdnn(&["verify", s(&query), "--network", &binding]);
        assert!(!out.status.success(), "{hidden}");
        assert!(stdout(&out).is_empty(), "{hidden}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{hidden}: {err}");
    }
}
