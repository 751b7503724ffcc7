//! Argument parsing and the commands. Each command loads through the core's readers,
//! computes through the core, and only formats here.

use birdnn::falsify::{Counterexample, Falsifier, FalsifierConfig};
use birdnn::formats::{self, csv, nnet, NetworkFormat};
use birdnn::network::{DecisionRule, Network};
use birdnn::property::{negatives_of, Property};
use birdnn::repair::{
    HeldOut, LayerChoice, Method, RepairData, RepairReport, RepairSession, RepairSettings,
    ReportPlan, SamplingPlan,
};
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_property;
use birdnn::tensor::Matrix;
use birdnn::verify::{overall, PropertyProof, Verdict, Verifier, VerifyConfig, VerifyStatus};
use clap::{Parser, Subcommand};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Repair small neural networks so that they satisfy safety properties.
#[derive(Parser)]
#[command(name = "birdnn", version, about)]
struct Cli {
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a network's layers, activations, parameter count, normalisation and decision rule.
    Info {
        /// Network file (.onnx, .nnet or .json).
        net: PathBuf,
    },
    /// Run a network on the inputs of a CSV file and print its outputs as CSV.
    Eval {
        /// Network file.
        net: PathBuf,
        /// CSV of inputs, one per line (a header line is optional).
        #[arg(long)]
        inputs: PathBuf,
        /// The inputs are in physical units (normalise them with the network's metadata).
        #[arg(long)]
        physical: bool,
        /// Add a column with the decision (winning output index).
        #[arg(long)]
        decisions: bool,
    },
    /// Estimate how often properties are violated and search for counterexamples.
    Check {
        /// Network file.
        net: PathBuf,
        /// VNN-LIB property files (or robustness sets: see `balls`).
        #[arg(required = true)]
        properties: Vec<PathBuf>,
        /// Uniform samples drawn from each property's input region.
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Seed of the sampler and the falsifier.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Random starts of the gradient falsifier (0 turns it off).
        #[arg(long, default_value_t = 4096)]
        starts: usize,
        /// Stop the falsifier after this many counterexamples.
        #[arg(long, default_value_t = 20)]
        max_counterexamples: usize,
        /// Decision rule to use instead of the network's own (argmax or argmin).
        #[arg(long)]
        decision: Option<DecisionRule>,
        /// Gradient steps per falsifier start.
        #[arg(long, default_value_t = FalsifierConfig::default().steps)]
        steps: usize,
        /// First falsifier step, as a share of each box width.
        #[arg(long, default_value_t = FalsifierConfig::default().step_size)]
        step_size: f64,
        /// Share of the gradient that switched-off ReLUs pass back during the search.
        #[arg(long, default_value_t = FalsifierConfig::default().relu_leak)]
        relu_leak: f32,
        /// CSV of known counterexamples (e.g. of the network before repair): half of the
        /// falsifier's starts begin near them.
        #[arg(long)]
        hints: Option<PathBuf>,
    },
    /// Prove the properties with sound bounds and input splitting, or find a counterexample.
    ///
    /// Two forms: `verify NET PROPERTY...` (a verdict per property), and the VNN-LIB 2.0
    /// solver interface `verify QUERY --network NAME=MODEL.onnx [--timeout S]
    /// [--serialise-assignments DIR]` (sat, unsat, unknown or timed-out first on stdout).
    Verify {
        /// Network file (or, with --network, the VNN-LIB query).
        net: PathBuf,
        /// VNN-LIB property files or robustness sets (each property gets its own verdict);
        /// none with --network.
        properties: Vec<PathBuf>,
        /// The query's network: NAME=MODEL.onnx (VNN-LIB 2.0 solver interface).
        #[arg(long = "network", value_name = "NAME=MODEL")]
        networks: Vec<String>,
        /// Give up on a property (status unknown) after this many seconds (default 60; no
        /// limit but the verifier's box budget with --network).
        #[arg(long)]
        timeout: Option<f64>,
        /// With --network: on sat, also write each variable as DIR/NAME.pb (ONNX
        /// TensorProto).
        #[arg(long, value_name = "DIR")]
        serialise_assignments: Option<PathBuf>,
        /// Seed of the falsifier that runs before splitting.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Decision rule to use instead of the network's own (argmax or argmin).
        #[arg(long)]
        decision: Option<DecisionRule>,
    },
    /// Answer a capability question of the VNN-LIB 2.0 solver interface, e.g.
    /// `supports --onnx-operators`.
    Supports {
        /// The capability, e.g. --onnx-element-types.
        #[arg(allow_hyphen_values = true)]
        capability: String,
    },
    /// Repair a network so that it satisfies the properties, and report what changed.
    Repair(RepairArgs),
    /// Write the balls of a robustness set (the compact JSON of images, labels and one
    /// radius, as in www/demos/digits-gallery.json) as VNN-LIB files in the form of
    /// VNN-COMP's mnistfc properties, one per image. Where a command takes property files,
    /// a robustness set may stand for all its balls.
    Balls {
        /// The robustness set.
        set: PathBuf,
        /// Directory to write `ball_K_label_L.vnnlib` into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Repair the ACAS Xu violation instances, or the image-robustness sets, with each
    /// method and print a table. The image sets run one repair at a time and prove each ball
    /// with a budget of 2,000 boxes (so that runs repeat), not --threads or --verify-timeout.
    Bench {
        /// paper (the paper's three instances with its data), acasxu (every N_{i>=2} with
        /// property 2, N1,9/p7, N2,9/p8, with drawn data), all (both), digits (robustness
        /// of 8x8 digit classifiers) or mnist5k (robustness on the MNIST subset).
        #[arg(long, value_enum, default_value = "paper")]
        instances: crate::bench::InstanceSet,
        /// Methods to run (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "retrain,finetune,domain")]
        methods: Vec<Method>,
        /// Write the results as CSV too.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The benchmark folder (default: $BIRDNN_ACASXU_DIR or ../shared/acasxu; for the
        /// image sets $BIRDNN_DIGITS_DIR or ../shared/digits).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Seed of every run.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Instances run in parallel (default: the number of cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Any repair setting, as for `repair` (e.g. --set domain.inner=finetune).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Seconds the verifier may spend proving each repaired property (0: skip).
        #[arg(long, default_value_t = 60.0)]
        verify_timeout: f64,
        /// Image benchmarks only: the repair-set sizes N (comma-separated; default 10,25,50,100
        /// for digits, 100 for mnist5k).
        #[arg(long, value_delimiter = ',')]
        sizes: Vec<usize>,
    },
    /// Verify ACAS Xu (network, property) pairs with the sound verifier and print a table.
    BenchVerify {
        /// vnncomp2021 (the 186 instances of the VNN-COMP 2021 benchmark), violated (the 36
        /// pairs that violate their property), standard (properties 1, 3 and 4 on all 45
        /// networks) or subset (13 instances, easy and hard).
        #[arg(long, value_enum, default_value = "vnncomp2021")]
        pairs: crate::bench_verify::VerifySet,
        /// A VNN-COMP benchmark's instances.csv (ONNX,VNNLIB,TIMEOUT per line, paths
        /// relative to it, gzipped files too) instead of --pairs: each instance answered as
        /// `verify QUERY --network NAME=MODEL` answers it, with its own timeout.
        #[arg(long, conflicts_with_all = ["pairs", "ablation", "data"])]
        instances: Option<PathBuf>,
        /// Run each pair once per refinement of the verifier switched off (sb branching,
        /// box clipping, reused enclosing bounds, slope optimisation, the split balance, the
        /// per-box attack) and compare.
        #[arg(long)]
        ablation: bool,
        /// Seconds per pair before it is reported unknown.
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
        /// The ACAS Xu benchmark folder (default: $BIRDNN_ACASXU_DIR or ../shared/acasxu).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Pairs run in parallel (default: the number of cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Write the results as CSV too.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Convert a network between ONNX, .nnet and JSON (formats from the extensions).
    Convert {
        /// Input network file.
        input: PathBuf,
        /// Output network file.
        output: PathBuf,
        /// Set the decision rule stored with the network (argmax or argmin).
        #[arg(long)]
        decision: Option<DecisionRule>,
    },
}

#[derive(clap::Args)]
struct RepairArgs {
    /// Network file.
    net: PathBuf,
    /// VNN-LIB property files or robustness sets (all are repaired together).
    #[arg(required = true)]
    properties: Vec<PathBuf>,
    /// retrain, finetune, domain or certified.
    #[arg(long, default_value = "retrain")]
    method: Method,
    /// CSV of counterexamples to learn from (e.g. the paper's counterexample set).
    #[arg(long, requires = "pos")]
    neg: Option<PathBuf>,
    /// CSV of inputs whose behaviour to keep (e.g. the paper's drawndown set).
    #[arg(long, requires = "neg")]
    pos: Option<PathBuf>,
    /// Held-out counterexamples for the report (default: drawn fresh).
    #[arg(long, requires = "pos_test")]
    neg_test: Option<PathBuf>,
    /// Held-out positives for the report (default: drawn fresh).
    #[arg(long, requires = "neg_test")]
    pos_test: Option<PathBuf>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// PAC bound on the violation probability (domain method).
    #[arg(long)]
    epsilon: Option<f64>,
    /// PAC confidence parameter (domain method).
    #[arg(long)]
    delta: Option<f64>,
    /// Neurons to patch (finetune).
    #[arg(long)]
    neurons: Option<usize>,
    /// Where fine-tuning picks neurons: all, output (default), or a layer index
    /// (0 = first hidden layer).
    #[arg(long)]
    layer: Option<LayerChoice>,
    /// Any other setting, as dotted path = JSON value, e.g. --set retrain.learning_rate=0.1
    /// (see the report's "settings" for every name and default).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Random neighbours added around every training counterexample (within 1 % of the
    /// region's width), classified on the original network.
    #[arg(long, default_value_t = 0)]
    neighbours: usize,
    /// Where to write the repaired network (.onnx, .nnet or .json).
    #[arg(long)]
    out: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Seconds the verifier may spend on each property of the repaired network (0: do not
    /// try to prove them).
    #[arg(long, default_value_t = 60.0)]
    verify_timeout: f64,
}

/// Runs the command line program.
pub fn main() -> ExitCode {
    // The solver interface's global options print just the name or the version.
    match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [flag] if flag == "--name" => {
            println!("{}", crate::solver::NAME);
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "--version" => {
            println!("{}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { net } => info(&net, cli.json),
        Command::Balls { set, out } => crate::robustness::write_balls(&set, &out),
        Command::Eval {
            net,
            inputs,
            physical,
            decisions,
        } => eval(&net, &inputs, physical, decisions),
        Command::Check {
            net,
            properties,
            samples,
            seed,
            starts,
            max_counterexamples,
            decision,
            steps,
            step_size,
            relu_leak,
            hints,
        } => check(
            &net,
            &properties,
            CheckSettings {
                samples,
                seed,
                decision,
                falsifier: FalsifierConfig {
                    starts,
                    max_counterexamples,
                    seed,
                    steps,
                    step_size,
                    relu_leak,
                    ..Default::default()
                },
                hints,
            },
            cli.json,
        ),
        Command::Convert {
            input,
            output,
            decision,
        } => convert(&input, &output, decision),
        Command::Verify {
            net,
            properties,
            networks,
            timeout,
            serialise_assignments,
            seed,
            decision,
        } => {
            if !networks.is_empty() {
                if !properties.is_empty() {
                    Err(
                        "with --network, verify takes one VNN-LIB query and no property files"
                            .into(),
                    )
                } else {
                    crate::solver::verify(
                        &net,
                        &networks,
                        timeout,
                        serialise_assignments.as_deref(),
                    )
                }
            } else if properties.is_empty() {
                Err("verify needs a network and at least one property file (or a query and --network NAME=MODEL)".into())
            } else if serialise_assignments.is_some() {
                Err("--serialise-assignments belongs to the --network form of verify".into())
            } else {
                verify(
                    &net,
                    &properties,
                    timeout.unwrap_or(60.0),
                    seed,
                    decision,
                    cli.json,
                )
            }
        }
        Command::Supports { capability } => match crate::solver::supports(&capability) {
            Some(lines) => {
                for line in lines {
                    println!("{line}");
                }
                Ok(())
            }
            None => Err(format!("unknown capability '{capability}'").into()),
        },
        Command::Repair(args) => repair(&args, cli.json),
        Command::Bench {
            instances,
            methods,
            out,
            data,
            seed,
            threads,
            sets,
            verify_timeout,
            sizes,
        } => {
            if let Some(which) = instances.images() {
                let dir = data
                    .or_else(|| std::env::var_os("BIRDNN_DIGITS_DIR").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("../shared/digits"));
                let run = apply_settings(birdnn::images::benchmark::image_repair_settings(), &sets)
                    .and_then(|base| {
                        crate::bench_images::bench_images(
                            &dir,
                            which,
                            &methods,
                            out.as_ref(),
                            &base,
                            seed,
                            &sizes,
                        )
                    });
                return match run {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("birdnn: error: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            let dir = acasxu_dir(data);
            let threads = threads_or_cores(threads);
            let base = match apply_settings(RepairSettings::default(), &sets) {
                Ok(base) => base,
                Err(e) => {
                    eprintln!("birdnn: error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            crate::bench::bench(
                &dir,
                instances,
                &methods,
                out.as_ref(),
                threads,
                &base,
                crate::bench::RunOptions {
                    seed,
                    verify_timeout,
                },
            )
        }
        Command::BenchVerify {
            instances: Some(instances),
            threads,
            out,
            ..
        } => crate::bench_instances::bench_instances(
            &instances,
            threads_or_cores(threads),
            out.as_ref(),
        ),
        Command::BenchVerify {
            pairs,
            ablation,
            timeout,
            data,
            threads,
            out,
            ..
        } => crate::bench_verify::bench_verify(
            &acasxu_dir(data),
            pairs,
            timeout,
            threads_or_cores(threads),
            ablation,
            out.as_ref(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("birdnn: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_network(path: &Path) -> Result<Network, formats::FormatError> {
    formats::load_network(path)
}

fn info(path: &Path, json_output: bool) -> CliResult {
    let net = load_network(path)?;
    let meta = net.meta();
    if json_output {
        let layers: Vec<_> = net
            .layers()
            .iter()
            .map(|l| {
                json!({
                    "inputs": l.inputs(),
                    "outputs": l.outputs(),
                    "activation": l.activation().to_string(),
                    "parameters": l.parameter_count(),
                })
            })
            .collect();
        let out = json!({
            "name": meta.name,
            "inputs": meta.inputs,
            "outputs": meta.outputs,
            "output_scaling": meta.output_scaling,
            "decision": meta.decision,
            "widths": net.widths(),
            "layers": layers,
            "parameters": net.parameter_count(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{}", meta.name);
    println!(
        "  {} inputs -> {} outputs, {} layers, {} parameters, decision: {}",
        net.input_size(),
        net.output_size(),
        net.layers().len(),
        net.parameter_count(),
        meta.decision
    );
    println!("  widths: {:?}", net.widths());
    println!("\n  layer  in -> out  activation      parameters");
    for (l, layer) in net.layers().iter().enumerate() {
        println!(
            "  {:>5}  {:>3} -> {:<3}  {:<14}  {:>10}",
            l + 1,
            layer.inputs(),
            layer.outputs(),
            layer.activation().to_string(),
            layer.parameter_count()
        );
    }
    println!("\n  input   unit   physical range              normalisation (x - mean) / range");
    for spec in &meta.inputs {
        println!(
            "  {:<7} {:<6} [{}, {}]  mean {} range {}",
            spec.name, spec.unit, spec.min, spec.max, spec.mean, spec.range
        );
    }
    let scaling = meta.output_scaling;
    println!(
        "\n  outputs: {} (physical = y * {} + {})",
        meta.outputs.join(", "),
        scaling.range,
        scaling.mean
    );
    Ok(())
}

fn eval(path: &Path, inputs: &Path, physical: bool, decisions: bool) -> CliResult {
    let net = load_network(path)?;
    let mut x = read_samples(inputs, net.input_size())?;
    if physical {
        let specs = &net.meta().inputs;
        for r in 0..x.rows() {
            for (v, spec) in x.row_mut(r).iter_mut().zip(specs) {
                *v = spec.normalise(*v as f64) as f32;
            }
        }
    }
    let y = net.forward(&x)?;
    let mut header: Vec<String> = net.meta().outputs.clone();
    let mut out = std::io::stdout().lock();
    if decisions {
        header.push("decision".into());
        writeln!(out, "{}", header.join(","))?;
        for row in y.iter_rows() {
            let d = net.meta().decision.decide(row).unwrap_or(0);
            let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            writeln!(out, "{},{d}", values.join(","))?;
        }
    } else {
        write!(out, "{}", csv::write(&header, &y))?;
    }
    Ok(())
}

struct CheckSettings {
    samples: usize,
    seed: u64,
    decision: Option<DecisionRule>,
    falsifier: FalsifierConfig,
    hints: Option<PathBuf>,
}

/// Prints progress on stderr: an updating line on a terminal, a line per quarter otherwise.
struct Progress {
    terminal: bool,
    last_quarter: usize,
}

impl Progress {
    fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last_quarter: 0,
        }
    }

    fn report(&mut self, label: &str, done: usize, total: usize, detail: &str) {
        let total = total.max(1);
        if self.terminal {
            eprint!("\r{label}: {done}/{total} {detail}        ");
        } else {
            let quarter = done * 4 / total;
            if quarter > self.last_quarter {
                self.last_quarter = quarter;
                eprintln!("{label}: {done}/{total} {detail}");
            }
        }
    }

    fn finish(&mut self) {
        if self.terminal {
            eprintln!();
        }
        self.last_quarter = 0;
    }
}

fn acasxu_dir(data: Option<PathBuf>) -> PathBuf {
    data.or_else(|| std::env::var_os("BIRDNN_ACASXU_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/acasxu"))
}

fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs the verifier on each property in turn, each until it has a verdict or `timeout`
/// seconds have passed; returns the verdicts with the seconds each took.
pub(crate) fn verify_each(
    net: &Network,
    properties: &[Property],
    config: &VerifyConfig,
    timeout: f64,
    mut on_progress: impl FnMut(usize, &birdnn::verify::VerifyProgress),
) -> Result<Vec<(Verdict, f64)>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for (k, p) in properties.iter().enumerate() {
        let started = Instant::now();
        let verifier = Verifier::new(net, std::slice::from_ref(p), config.clone())?;
        let verdict = verifier
            .run(|progress| {
                on_progress(k, progress);
                started.elapsed().as_secs_f64() < timeout
            })
            .remove(0);
        out.push((verdict, started.elapsed().as_secs_f64()));
    }
    Ok(out)
}

/// Tries to prove every property on a repaired network and records the result in its
/// report (nothing when `timeout` is 0, or when the repair's verifier in the loop proved
/// them all).
pub(crate) fn prove_repair(
    report: &mut RepairReport,
    repaired: &Network,
    properties: &[Property],
    timeout: f64,
    seed: u64,
) -> CliResult {
    let already_proved =
        !report.proofs.is_empty() && report.proofs.iter().all(|p| p.status == "proved");
    if timeout <= 0.0 || already_proved {
        // The repair's own loop proved every property already.
        return Ok(());
    }
    let mut config = VerifyConfig::default();
    config.falsifier.seed = seed;
    let pac = report.pac.is_some();
    report.proofs = verify_each(repaired, properties, &config, timeout, |_, _| {})?
        .iter()
        .map(|(v, seconds)| PropertyProof::from_verdict(v, pac, *seconds))
        .collect();
    Ok(())
}

fn verify(
    net_path: &Path,
    prop_paths: &[PathBuf],
    timeout: f64,
    seed: u64,
    decision: Option<DecisionRule>,
    json_output: bool,
) -> CliResult {
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(
            format!("--timeout must be a positive number of seconds, not {timeout}").into(),
        );
    }
    let mut net = load_network(net_path)?;
    if let Some(rule) = decision {
        net.set_decision(rule);
    }
    let properties = crate::robustness::load_properties(prop_paths, &net)?;
    let mut config = VerifyConfig::default();
    config.falsifier.seed = seed;
    let started = Instant::now();
    let mut progress = Progress::new();
    let count = properties.len();
    let timed = verify_each(&net, &properties, &config, timeout, |k, p| {
        progress.report(
            &format!("property {}/{count} ({})", k + 1, p.stage),
            (p.proved_fraction * 1000.0) as usize,
            1000,
            &format!("‰ proved, {} boxes", p.boxes),
        );
    })?;
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    let verdicts: Vec<Verdict> = timed.iter().map(|(v, _)| v.clone()).collect();
    let status = overall(&verdicts);
    let proved_fraction =
        verdicts.iter().map(|v| v.proved_fraction).sum::<f64>() / verdicts.len().max(1) as f64;
    let first_counterexample = verdicts.iter().find_map(|v| v.counterexample.clone());
    if json_output {
        let per_property: Vec<_> = timed
            .iter()
            .map(|(v, seconds)| {
                json!({
                    "property": v.property,
                    "status": v.status,
                    "proved_fraction": v.proved_fraction,
                    "boxes": v.boxes,
                    "seconds": seconds,
                    "counterexample": v.counterexample,
                })
            })
            .collect();
        let mut out = json!({
            "network": net.meta().name,
            "status": status,
            "proved_fraction": proved_fraction,
            "seconds": seconds,
            "properties": per_property,
        });
        if let Some(c) = first_counterexample {
            out["counterexample"] = json!(c);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("verification of {} ({:.2} s)", net.meta().name, seconds);
    for (v, seconds) in &timed {
        print!("{seconds:>7.2} s ");
        match (&v.status, &v.counterexample) {
            (VerifyStatus::Counterexample, Some(c)) => println!(
                "  {:<28} counterexample: input {:?} -> output {:?}",
                v.property, c.input, c.output
            ),
            (VerifyStatus::Proved, _) => {
                println!("  {:<28} proved ({} boxes)", v.property, v.boxes)
            }
            _ => println!(
                "  {:<28} unknown: {:.3} % of the region proved ({} boxes)",
                v.property,
                100.0 * v.proved_fraction,
                v.boxes
            ),
        }
    }
    println!("status: {status}");
    Ok(())
}

fn check(
    net_path: &Path,
    prop_paths: &[PathBuf],
    settings: CheckSettings,
    json_output: bool,
) -> CliResult {
    let mut net = load_network(net_path)?;
    if let Some(rule) = settings.decision {
        net.set_decision(rule);
    }
    let properties = crate::robustness::load_properties(prop_paths, &net)?;
    for p in &properties {
        p.check_fits(&net)?;
    }
    let started = Instant::now();
    let mut rng = SplitMix64::new(settings.seed);
    let mut per_property = Vec::new();
    let (mut total_samples, mut total_violations) = (0usize, 0usize);
    for p in &properties {
        let x = sample_property(&mut rng, p, settings.samples);
        let y = net.forward(&x)?;
        let violations = negatives_of(std::slice::from_ref(p), &x, &y)
            .iter()
            .filter(|&&n| n)
            .count();
        total_samples += x.rows();
        total_violations += violations;
        per_property.push((p, x.rows(), violations));
    }

    let mut counterexamples: Vec<Counterexample> = Vec::new();
    let mut evaluations = 0;
    if settings.falsifier.starts > 0 {
        settings.falsifier.check()?;
        let hints = match &settings.hints {
            Some(path) => read_samples(path, net.input_size())?,
            None => Matrix::zeros(0, net.input_size()),
        };
        let mut falsifier =
            Falsifier::with_hints(&net, &properties, settings.falsifier.clone(), &hints)?;
        let mut progress = Progress::new();
        while !falsifier.is_done() {
            let p = falsifier.step();
            progress.report(
                "falsifier",
                p.starts_used,
                p.starts_total,
                &format!("starts, {} counterexamples", p.found),
            );
        }
        progress.finish();
        evaluations = falsifier.progress().evaluations;
        counterexamples = falsifier.into_counterexamples();
    }
    let seconds = started.elapsed().as_secs_f64();
    let violated = total_violations > 0 || !counterexamples.is_empty();
    let meta = net.meta();

    if json_output {
        let props: Vec<_> = per_property
            .iter()
            .enumerate()
            .map(|(k, (p, n, v))| {
                json!({
                    "name": p.name,
                    "samples": n,
                    "violations": v,
                    "violation_rate": *v as f64 / (*n).max(1) as f64,
                    "counterexamples_found": counterexamples.iter().filter(|c| c.property == k).count(),
                })
            })
            .collect();
        let cex: Vec<_> = counterexamples
            .iter()
            .map(|c| {
                json!({
                    "property": properties[c.property].name,
                    "input": c.input,
                    "output": c.output,
                    "decision": meta.decision.decide(&c.output),
                    "margin": c.margin,
                })
            })
            .collect();
        let out = json!({
            "network": meta.name,
            "seed": settings.seed,
            "samples": total_samples,
            "violations": total_violations,
            "violation_rate": total_violations as f64 / total_samples.max(1) as f64,
            "properties": props,
            "falsifier": { "starts": settings.falsifier.starts, "evaluations": evaluations },
            "counterexamples": cex,
            "verdict": if violated { "violated" } else { "no_violation_found" },
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }

    println!(
        "{} ({} inputs, {} outputs, {})",
        meta.name,
        net.input_size(),
        net.output_size(),
        meta.decision
    );
    for (k, (p, n, v)) in per_property.iter().enumerate() {
        let found = counterexamples.iter().filter(|c| c.property == k).count();
        println!(
            "  {}: {v} of {n} uniform samples violate it ({:.4} %); falsifier found {found}",
            p.name,
            100.0 * *v as f64 / (*n).max(1) as f64
        );
    }
    for (k, c) in counterexamples.iter().enumerate().take(10) {
        let decision = meta.decision.decide(&c.output).unwrap_or(0);
        let physical: Vec<String> = c
            .input
            .iter()
            .zip(&meta.inputs)
            .map(|(&v, s)| {
                let unit = if s.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.unit)
                };
                format!("{}={:.6}{unit}", s.name, s.denormalise(v as f64))
            })
            .collect();
        println!(
            "  counterexample {} ({}):",
            k + 1,
            properties[c.property].name
        );
        println!("    input  {:?}", c.input);
        if meta.inputs.iter().any(|s| !s.is_identity_scaling()) {
            println!("           {}", physical.join(", "));
        }
        println!("    output {:?} -> {}", c.output, meta.outputs[decision]);
    }
    if counterexamples.len() > 10 {
        println!(
            "  ... {} more (use --json to see all)",
            counterexamples.len() - 10
        );
    }
    println!(
        "verdict: {} ({:.2} s, seed {})",
        if violated {
            "VIOLATED"
        } else {
            "no violation found"
        },
        seconds,
        settings.seed
    );
    Ok(())
}

fn convert(input: &Path, output: &Path, decision: Option<DecisionRule>) -> CliResult {
    let mut net = load_network(input)?;
    if let Some(rule) = decision {
        net.set_decision(rule);
    }
    if NetworkFormat::from_name(&output.display().to_string()) == Some(NetworkFormat::Nnet)
        && !nnet::is_standard(&net)
    {
        eprintln!(
            "birdnn: warning: {} has non-ReLU hidden layers; birdnn records them in a comment, but other .nnet readers will evaluate the file as a ReLU network",
            input.display()
        );
    }
    formats::save_network(output, &net)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// Reads a CSV of inputs whose rows must have `width` columns.
pub(crate) fn read_samples(
    path: &Path,
    width: usize,
) -> Result<Matrix, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(csv::read_with_width(
        &path.display().to_string(),
        &text,
        width,
    )?)
}

/// Applies `--set a.b=value` edits to the settings through their JSON form, so that every
/// setting is reachable and checked by the same deserialisation as a settings file.
fn apply_settings(
    settings: RepairSettings,
    sets: &[String],
) -> Result<RepairSettings, Box<dyn std::error::Error>> {
    let mut value = serde_json::to_value(&settings)?;
    for set in sets {
        let (key, raw) = set
            .split_once('=')
            .ok_or_else(|| format!("--set {set}: expected KEY=VALUE"))?;
        let parsed: serde_json::Value = serde_json::from_str(raw)
            .unwrap_or_else(|_| serde_json::Value::String(raw.to_string()));
        let mut slot = &mut value;
        for part in key.split('.') {
            slot = slot
                .get_mut(part)
                .ok_or_else(|| format!("--set {set}: there is no setting '{key}'"))?;
        }
        *slot = parsed;
    }
    serde_json::from_value(value).map_err(|e| format!("--set: {e}").into())
}

fn repair(args: &RepairArgs, json_output: bool) -> CliResult {
    let net = load_network(&args.net)?;
    let properties = crate::robustness::load_properties(&args.properties, &net)?;
    for p in &properties {
        p.check_fits(&net)?;
    }
    let mut settings = RepairSettings {
        method: args.method,
        seed: args.seed,
        ..Default::default()
    };
    if let Some(e) = args.epsilon {
        settings.domain.epsilon = e;
    }
    if let Some(d) = args.delta {
        settings.domain.delta = d;
    }
    if let Some(k) = args.neurons {
        settings.finetune.neurons = k;
    }
    if let Some(layer) = args.layer {
        settings.finetune.layer = layer;
    }
    let settings = apply_settings(settings, &args.sets)?;
    settings.check()?;

    let width = net.input_size();
    let plan = SamplingPlan::default();
    let mut data = match (&args.neg, &args.pos) {
        (Some(neg), Some(pos)) => RepairData::from_samples(
            &net,
            &properties,
            &read_samples(neg, width)?,
            &read_samples(pos, width)?,
        )?,
        _ => {
            eprintln!("drawing samples and searching for counterexamples...");
            RepairData::sampled(&net, &properties, &plan, settings.seed)?
        }
    };
    data.augment_neighbours(
        &net,
        &properties,
        args.neighbours,
        0.01,
        settings.seed ^ 0xA06,
    )?;
    let held_out = match (&args.neg_test, &args.pos_test) {
        (Some(neg), Some(pos)) => HeldOut::from_samples(
            &net,
            &properties,
            &read_samples(neg, width)?,
            &read_samples(pos, width)?,
        )?,
        _ => HeldOut::sampled(&net, &properties, &plan, settings.seed)?,
    };
    eprintln!(
        "repairing with {} ({} counterexamples, {} positives to keep; validation {} + {})",
        settings.method,
        data.negatives.rows(),
        data.positives.rows(),
        data.validation_negatives.rows(),
        data.validation_positives.rows()
    );
    let mut session = RepairSession::new(&net, &properties, data, settings)?;
    let mut progress = Progress::new();
    session.run(|p| {
        progress.report(
            &format!("{:?}", p.phase).to_lowercase(),
            p.iteration,
            p.max_iterations,
            &format!(
                "cost {:.4e}, validation violations {}, fidelity {:.3} %",
                p.cost,
                p.violations.count,
                p.fidelity.percent()
            ),
        );
    })?;
    progress.finish();
    let mut outcome = session.finish(&held_out, &ReportPlan::default())?;
    formats::save_network(&args.out, &outcome.network)?;
    if args.verify_timeout > 0.0 {
        eprintln!("trying to prove the properties on the repaired network...");
    }
    prove_repair(
        &mut outcome.report,
        &outcome.network,
        &properties,
        args.verify_timeout,
        args.seed,
    )?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&outcome.report)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if json_output {
        println!("{}", serde_json::to_string_pretty(&outcome.report)?);
    } else {
        print_report(&outcome.report, &net);
        println!("wrote {}", args.out.display());
    }
    Ok(())
}

/// One verdict line per property, first, so that no count of counterexamples found stands
/// alone as if it meant safe.
fn print_verdicts(r: &RepairReport) {
    if r.proofs.is_empty() {
        println!(
            "  verdict                       not checked by the verifier: {} counterexamples found by sampling and the falsifier, which is not a proof",
            r.fresh_violations.after.count + r.falsifier_counterexamples
        );
        return;
    }
    for p in &r.proofs {
        let detail = match p.status.as_str() {
            "proved" => "proved safe on its whole region".to_string(),
            "violated" => match &p.counterexample {
                Some(c) => format!("VIOLATED: counterexample x = {:?}", c.input),
                None => "VIOLATED".into(),
            },
            "pac" => format!(
                "not proved ({:.2} % of the region proved); PAC statement only: {}",
                100.0 * p.proved_fraction,
                r.pac.as_ref().map_or(String::new(), |s| s.to_string())
            ),
            _ => format!(
                "unknown: {:.2} % of the region proved, no counterexample found; not proved safe",
                100.0 * p.proved_fraction
            ),
        };
        let when = if p.seconds > 0.0 {
            format!("{:.2} s", p.seconds)
        } else {
            "by the verifier in the repair loop".into()
        };
        println!(
            "  {:<29} {detail} ({when})",
            format!("verdict on {}", p.property)
        );
    }
}

fn print_report(r: &RepairReport, net: &Network) {
    println!(
        "{} repair of {} (seed {}){}",
        r.method,
        net.meta().name,
        r.seed,
        if r.finished { "" } else { " - stopped early" }
    );
    print_verdicts(r);
    if let Some(c) = &r.certified {
        println!(
            "  last layer                    {} after {} program(s) on {} cells, {} decisions protected{}",
            if c.certified { "certified" } else { "not certified" },
            c.rounds,
            c.cells,
            c.protected,
            c.failure.as_ref().map_or(String::new(), |f| format!(" ({f})"))
        );
    }
    println!(
        "  time                          {:.2} s, {} round(s)",
        r.wall_ms / 1000.0,
        r.rounds
    );
    println!(
        "  data                          {} counterexamples, {} positives",
        r.training_negatives, r.training_positives
    );
    println!(
        "  held-out counterexamples      {} -> {}",
        r.held_out_violations.before, r.held_out_violations.after
    );
    println!(
        "  fresh samples of the regions  {} -> {}",
        r.fresh_violations.before, r.fresh_violations.after
    );
    println!(
        "  falsifier after repair        {} counterexamples",
        r.falsifier_counterexamples
    );
    println!("  fidelity, held-out positives  {}", r.fidelity_held_out);
    println!("  fidelity, inside the regions  {}", r.fidelity_inside);
    println!("  fidelity, outside the regions {}", r.fidelity_outside);
    println!("  fidelity, whole domain        {}", r.fidelity_domain);
    println!(
        "  parameters changed            {} of {} (relative L2 {:.3e}); output deviation {:.3e}",
        r.change.parameters_changed, r.change.parameters, r.change.relative_l2, r.output_deviation
    );
    if let Some(p) = &r.patch {
        let neurons: Vec<String> = p
            .neurons
            .iter()
            .zip(&p.scaling)
            .map(|(n, w)| format!("L{}:{} x{:.3}", n.layer, n.neuron, 1.0 + w))
            .collect();
        println!("  patch                         {}", neurons.join(", "));
    }
    if let Some(pac) = &r.pac {
        println!("  PAC: {pac}");
    }
    if let Some(why) = &r.pac_failure {
        println!("  PAC: none - {why}");
    }
}
