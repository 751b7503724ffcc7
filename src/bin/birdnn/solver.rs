//! The solver interface of VNN-LIB 2.0 (chapter 5 of the standard), so that harnesses can
//! drive birdnn like any other verifier:
//!
//! - `birdnn verify QUERY --network NAME=MODEL.onnx [--timeout S] [--serialise-assignments DIR]`
//!   prints `sat`, `unsat`, `unknown` or `timed-out` as its first line on stdout, then on
//!   `sat` the satisfying assignment (every declared variable, hidden nodes too, in the
//!   order of declaration, row-major, one value a line);
//! - hidden nodes name tensors of the ONNX graph: comparisons of them are left out of the
//!   proof search (a larger unsafe set, so `unsat` still holds), except that a disjunct they
//!   rule out by the verifier's bounds over its input box is dropped, and every assignment
//!   is checked against the exact query;
//! - `birdnn supports CAPABILITY` answers each of the standard's capabilities from what the
//!   code does;
//! - `birdnn --name` and `birdnn --version`.
//!
//! Errors go to stderr with exit code 1; every answer, `sat` to `timed-out`, exits 0.

use birdnn::falsify::{Falsifier, FalsifierConfig};
use birdnn::formats;
use birdnn::formats::onnx::{self, TensorSite};
use birdnn::formats::vnnlib::{self, Values};
use birdnn::network::{Network, NetworkError};
use birdnn::property::{InputBox, Property};
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_property;
use birdnn::tensor::BatchRows;
use birdnn::verify::bounds::{BoundMethod, BoundNetwork, Interval};
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
        // Hidden nodes: comparisons of a dense network's tensors, found by their ONNX names
        // (several networks and several inputs or outputs are refused).
        "--hidden-node-theories" => lines(&["NH", "H"]),
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

/// What the solver answers.
pub enum Answer {
    /// The query holds at this assignment (checked exactly).
    Sat(Assignment),
    /// No assignment satisfies the query (proved).
    Unsat,
    /// Neither could be shown; the reason.
    Unknown(String),
    /// The time ran out first.
    TimedOut,
}

impl Answer {
    /// The result line of the standard: `sat`, `unsat`, `unknown` or `timed-out`.
    pub fn word(&self) -> &'static str {
        match self {
            Answer::Sat(_) => "sat",
            Answer::Unsat => "unsat",
            Answer::Unknown(_) => "unknown",
            Answer::TimedOut => "timed-out",
        }
    }
}

/// Runs a chapter-5 `verify` and prints its answer.
pub fn verify(
    query_path: &Path,
    networks: &[String],
    timeout: Option<f64>,
    serialise_to: Option<&Path>,
) -> SolverResult {
    let started = Instant::now();
    let query = read_query(query_path)?;
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
    match answer(&query, &model_path, timeout, started)? {
        Answer::Sat(found) => {
            println!("sat");
            print!("{}", found.text(&query));
            if let Some(dir) = serialise_to {
                found.serialise(dir, &query)?;
            }
        }
        Answer::Unknown(why) => {
            println!("unknown");
            eprintln!("birdnn: {why}; no answer is claimed");
        }
        other => println!("{}", other.word()),
    }
    Ok(())
}

/// Reads a query (1.0 or 2.0, gzipped or not).
pub fn read_query(path: &Path) -> Result<vnnlib::Query, Box<dyn std::error::Error>> {
    let bytes = crate::files::read_maybe_gzip(path)?;
    let name = crate::files::unpacked_name(path);
    Ok(vnnlib::read_query(&name, formats::text(&name, &bytes)?)?)
}

/// Answers `query` on the model at `model_path` (gzipped or not) within `timeout`
/// seconds counted from `started`.
pub fn answer(
    query: &vnnlib::Query,
    model_path: &Path,
    timeout: Option<f64>,
    started: Instant,
) -> Result<Answer, Box<dyn std::error::Error>> {
    if let Some(t) = timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(format!("--timeout must be a positive number of seconds, not {t}").into());
        }
    }
    let bytes = crate::files::read_maybe_gzip(model_path)?;
    let model_name = crate::files::unpacked_name(model_path);
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
    let names: Vec<String> = query.hidden.iter().map(|h| h.onnx_name.clone()).collect();
    let (net, sites) = if names.is_empty() {
        (formats::read_network(&model_name, &bytes)?, Vec::new())
    } else {
        if !model_name.ends_with(".onnx") {
            return Err(format!(
                "{model_name}: hidden nodes name ONNX tensors, so the model must be an .onnx file"
            )
            .into());
        }
        onnx::read_with_sites(&model_name, &bytes, &names)?
    };
    let widths = net.widths();
    for (h, site) in query.hidden.iter().zip(&sites) {
        if site.width(&widths) != h.tensor.len() {
            return Err(format!(
                "the query declares hidden node {} {} ({} elements) for tensor '{}', which has {}",
                h.tensor.name,
                h.tensor.shape_text(),
                h.tensor.len(),
                h.onnx_name,
                site.width(&widths)
            )
            .into());
        }
    }
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
    // Hidden comparisons are left out of the property (a larger unsafe set), except that
    // disjuncts they rule out over their input box are dropped.
    let property = if sites.is_empty() {
        query.property.clone()
    } else {
        let bounds = BoundNetwork::new(&net);
        let within = |b: &InputBox| {
            let input = Interval::new(b.lower.clone(), b.upper.clone());
            let layers = bounds.layer_bounds(&input, BoundMethod::Symbolic);
            Some(sites.iter().map(|s| s.bounds(&input, &layers)).collect())
        };
        match query.property_within(&within) {
            Some(p) => p,
            None => return Ok(Answer::Unsat),
        }
    };
    let deadline = timeout.map(|t| t - started.elapsed().as_secs_f64());
    let loop_started = Instant::now();
    let mut out_of_time = false;
    let verdict = Verifier::new(
        &net,
        std::slice::from_ref(&property),
        VerifyConfig::default(),
    )?
    .run(|_| {
        // Stop with a little room to print before the harness's clock runs out.
        out_of_time = deadline.is_some_and(|d| loop_started.elapsed().as_secs_f64() > 0.95 * d);
        !out_of_time
    })
    .remove(0);
    Ok(match verdict.status {
        VerifyStatus::Proved => Answer::Unsat,
        VerifyStatus::Counterexample => {
            let c = verdict.counterexample.as_ref().expect("a counterexample");
            // The verifier works on the closure of strict comparisons and without the hidden
            // comparisons: the assignment must satisfy the query exactly, or nothing is
            // claimed. Where the verifier's point misses, other candidates are tried.
            let satisfying = std::iter::once(c.input.clone())
                .chain(more_candidates(&net, &property, &sites))
                .find_map(|x| {
                    let assignment = Assignment::of(&net, &sites, &x).ok()?;
                    query
                        .is_satisfied_by(assignment.values())
                        .then_some(assignment)
                });
            match satisfying {
                Some(found) => Answer::Sat(found),
                None if sites.is_empty() => Answer::Unknown(
                    "the counterexample found lies on the boundary of a strict comparison".into(),
                ),
                None => Answer::Unknown(
                    "the inputs found meet the query's input and output constraints, but none of them its hidden-node ones, which the proof search leaves out".into(),
                ),
            }
        }
        VerifyStatus::Unknown if out_of_time => Answer::TimedOut,
        VerifyStatus::Unknown => Answer::Unknown(format!(
            "the verifier stopped with {:.1} % of the region proved",
            100.0 * verdict.proved_fraction
        )),
    })
}

/// Values of every declared variable at one input.
pub struct Assignment {
    x: Vec<f32>,
    hidden: Vec<Vec<f32>>,
    y: Vec<f32>,
}

impl Assignment {
    fn of(net: &Network, sites: &[TensorSite], x: &[f32]) -> Result<Self, NetworkError> {
        let trace = net.forward_trace(&birdnn::tensor::from_rows(&[x]).expect("one row"))?;
        Ok(Assignment {
            x: x.to_vec(),
            hidden: sites.iter().map(|s| s.values(&trace, 0)).collect(),
            y: trace.output().row_slice(0).to_vec(),
        })
    }

    fn values(&self) -> Values<'_> {
        Values {
            x: &self.x,
            hidden: &self.hidden,
            y: &self.y,
        }
    }

    /// Each declared variable with its values, in the query's order of declaration.
    fn variables<'a>(&'a self, query: &'a vnnlib::Query) -> Vec<(&'a vnnlib::Tensor, &'a [f32])> {
        let mut out = vec![(&query.input, self.x.as_slice())];
        out.extend(
            query
                .hidden
                .iter()
                .zip(&self.hidden)
                .map(|(h, v)| (&h.tensor, v.as_slice())),
        );
        out.push((&query.output, self.y.as_slice()));
        out
    }

    /// The command-line assignment format: for each declared variable a line `NAME TYPE
    /// SHAPE`, then its values, one a line, row-major.
    pub fn text(&self, query: &vnnlib::Query) -> String {
        let mut out = String::new();
        for (tensor, values) in self.variables(query) {
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
    fn serialise(&self, dir: &Path, query: &vnnlib::Query) -> SolverResult {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for (tensor, values) in self.variables(query) {
            let path = dir.join(format!("{}.pb", tensor.name));
            let bytes = onnx::float_tensor_proto(&tensor.name, &tensor.shape, values);
            std::fs::write(&path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// Inputs in the property's region worth checking against the exact query when the
/// verifier's counterexample misses its hidden comparisons: the falsifier's finds, then
/// uniform samples. None without hidden nodes (the verifier's point is then the only
/// candidate: it misses only on a strict comparison's boundary).
fn more_candidates(net: &Network, property: &Property, sites: &[TensorSite]) -> Vec<Vec<f32>> {
    if sites.is_empty() {
        return Vec::new();
    }
    let config = FalsifierConfig {
        max_counterexamples: 1000,
        ..FalsifierConfig::default()
    };
    let mut out: Vec<Vec<f32>> = Falsifier::new(net, std::slice::from_ref(property), config)
        .map(|f| f.run().into_iter().map(|c| c.input).collect())
        .unwrap_or_default();
    let samples = sample_property(&mut SplitMix64::new(0x5A7), property, 10_000);
    out.extend(samples.row_slices().map(<[f32]>::to_vec));
    out
}
