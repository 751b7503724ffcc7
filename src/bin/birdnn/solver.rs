//! The solver interface of VNN-LIB 2.0 (chapter 5 of the standard), so that harnesses can
//! drive birdnn like any other verifier:
//!
//! - `birdnn verify QUERY --network NAME=MODEL.onnx [--timeout S] [--serialise-assignments DIR]`
//!   prints `sat`, `unsat`, `unknown` or `timed-out` as its first line on stdout, then on
//!   `sat` the satisfying assignment (every declared variable, row-major, one value a line);
//! - `birdnn supports CAPABILITY` answers each of the standard's capabilities from what the
//!   code does;
//! - `birdnn --name` and `birdnn --version`.
//!
//! Errors go to stderr with exit code 1; every answer, `sat` to `timed-out`, exits 0.

use birdnn::formats::{self, onnx, vnnlib};
use birdnn::verify::{Verifier, VerifyConfig, VerifyStatus};
use std::path::{Path, PathBuf};
use std::time::Instant;

type SolverResult = Result<(), Box<dyn std::error::Error>>;

/// The solver's full name (`--name`).
pub const NAME: &str = "birdnn";

/// The answer to `supports CAPABILITY`, or `None` for a capability the standard does not
/// define.
pub fn supports(capability: &str) -> Option<Vec<String>> {
    let lines = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Some(match capability {
        "--onnx-opset-versions" => vec![onnx::OPSETS.0.to_string(), onnx::OPSETS.1.to_string()],
        // The verifier's bounds account for float32 rounding; real-valued semantics asks for
        // less (the same bounds hold without rounding).
        "--onnx-element-types" => lines(&["float32", "real"]),
        "--onnx-operators" => lines(onnx::OPERATORS),
        // 1.0 files (no version line) and 2.x queries.
        "--vnnlib-versions" => lines(&["1.0", "2.0"]),
        // Hidden nodes, several networks and several inputs or outputs are refused.
        "--hidden-node-theories" => lines(&["NH"]),
        "--multiple-input-output-theories" => lines(&["SIO"]),
        "--multiple-network-theories" => lines(&["SNET"]),
        // Comparisons mixing inputs and outputs are refused.
        "--multiple-node-comparison-theories" => lines(&["SNC"]),
        // Inputs: bounds only (a union of boxes); outputs: linear combinations, which is
        // more than OUTC and less than LIN (LIN allows linear constraints over inputs).
        "--arithmetic-complexity-theories" => lines(&["BND", "OUTC"]),
        // The asserts are expanded to disjunctive normal form.
        "--optimised-disjunctive-reasoning" => lines(&["false"]),
        "--serialise-assignments" => lines(&["true"]),
        _ => return None,
    })
}

/// `NAME=PATH` pairs from `--network`.
fn network_bindings(args: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(n, p)| (n.to_string(), PathBuf::from(p)))
                .ok_or_else(|| format!("--network expects NAME=PATH, found '{a}'"))
        })
        .collect()
}

/// Runs a chapter-5 `verify`.
pub fn verify(
    query_path: &Path,
    networks: &[String],
    timeout: Option<f64>,
    serialise_to: Option<&Path>,
) -> SolverResult {
    let started = Instant::now();
    if let Some(t) = timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(format!("--timeout must be a positive number of seconds, not {t}").into());
        }
    }
    let bytes = std::fs::read(query_path)
        .map_err(|e| format!("cannot read {}: {e}", query_path.display()))?;
    let name = query_path.display().to_string();
    let query = vnnlib::read_query(&name, formats::text(&name, &bytes)?)?;
    let bindings = network_bindings(networks)?;
    let model_path = match (&query.network, bindings.as_slice()) {
        (_, []) => return Err("no --network NAME=MODEL.onnx given".into()),
        (Some(declared), [(given, path)]) if given == declared => path.clone(),
        (Some(declared), [(given, _)]) => {
            return Err(format!(
                "--network {given}=...: the query declares network {declared}, not {given}"
            )
            .into())
        }
        // A 1.0 file declares no network: the one model given is its network.
        (None, [(_, path)]) => path.clone(),
        (_, many) => {
            return Err(format!(
                "{} models given; the query declares one network, so the others are unnecessary",
                many.len()
            )
            .into())
        }
    };
    let bytes = std::fs::read(&model_path)
        .map_err(|e| format!("cannot read {}: {e}", model_path.display()))?;
    let model_name = model_path.display().to_string();
    if !query.is_real() {
        let (input_type, output_type) = onnx::io_element_types(&model_name, &bytes)?;
        for (what, declared, found) in [
            ("input", &query.input, input_type),
            ("output", &query.output, output_type),
        ] {
            if found != declared.element_type {
                return Err(format!(
                    "the model's {what} is {found}, the query declares {} {}",
                    declared.name, declared.element_type
                )
                .into());
            }
        }
    }
    let net = formats::read_network(&model_name, &bytes)?;
    for (what, declared, size) in [
        ("input", &query.input, net.input_size()),
        ("output", &query.output, net.output_size()),
    ] {
        if declared.len() != size {
            return Err(format!(
                "the query declares {what} {} {} ({} elements), the model's {what} has {size}",
                declared.name,
                declared.shape_text(),
                declared.len()
            )
            .into());
        }
    }
    let deadline = timeout.map(|t| t - started.elapsed().as_secs_f64());
    let loop_started = Instant::now();
    let mut out_of_time = false;
    let verdict = Verifier::new(
        &net,
        std::slice::from_ref(&query.property),
        VerifyConfig::default(),
    )?
    .run(|_| {
        // Stop with a little room to print before the harness's clock runs out.
        out_of_time = deadline.is_some_and(|d| loop_started.elapsed().as_secs_f64() > 0.95 * d);
        !out_of_time
    })
    .remove(0);
    match verdict.status {
        VerifyStatus::Proved => println!("unsat"),
        VerifyStatus::Counterexample => {
            let c = verdict.counterexample.as_ref().expect("a counterexample");
            let y = net.forward_one(&c.input)?;
            // The verifier works on the closure of strict comparisons: the assignment must
            // satisfy the query exactly, or nothing is claimed.
            if !query.is_satisfied_by(&c.input, &y) {
                println!("unknown");
                eprintln!(
                    "birdnn: the counterexample found lies on the boundary of a strict comparison; no answer is claimed"
                );
                return Ok(());
            }
            println!("sat");
            print!("{}", assignment(&query, &c.input, &y));
            if let Some(dir) = serialise_to {
                serialise(dir, &query, &c.input, &y)?;
            }
        }
        VerifyStatus::Unknown if out_of_time => println!("timed-out"),
        VerifyStatus::Unknown => println!("unknown"),
    }
    Ok(())
}

/// The command-line assignment format: for each declared variable a line `NAME TYPE SHAPE`,
/// then its values, one a line, row-major.
fn assignment(query: &vnnlib::Query, x: &[f32], y: &[f32]) -> String {
    let mut out = String::new();
    for (tensor, values) in [(&query.input, x), (&query.output, y)] {
        out.push_str(&format!(
            "{} {} {}\n",
            tensor.name,
            tensor.element_type,
            tensor.shape_text()
        ));
        for v in values {
            out.push_str(&format!("{v}\n"));
        }
    }
    out
}

/// The serialised assignment format: `DIR/NAME.pb`, a `TensorProto` per variable.
fn serialise(dir: &Path, query: &vnnlib::Query, x: &[f32], y: &[f32]) -> SolverResult {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (tensor, values) in [(&query.input, x), (&query.output, y)] {
        let path = dir.join(format!("{}.pb", tensor.name));
        let bytes = onnx::float_tensor_proto(&tensor.name, &tensor.shape, values);
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
