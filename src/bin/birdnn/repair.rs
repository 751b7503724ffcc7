//! `birdnn repair`: its arguments, the settings they make, the repair and the proof of its
//! result.

use crate::command::{load_network, read_samples, CliResult, Progress};
use crate::report::print_report;
use crate::verify::verify_each;
use birdnn::formats;
use birdnn::network::Network;
use birdnn::property::Property;
use birdnn::repair::{
    HeldOut, LayerChoice, Method, RepairData, RepairReport, RepairSession, RepairSettings,
    ReportPlan, SamplingPlan,
};
use birdnn::verify::{PropertyProof, VerifyConfig};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct RepairArgs {
    /// Network file.
    net: PathBuf,
    /// VNN-LIB property files or robustness sets (all are repaired together).
    #[arg(required = true)]
    properties: Vec<PathBuf>,
    /// auto (the region patch where it suits the network and is proved, else retrain),
    /// retrain, finetune, domain, certified or patch.
    #[arg(long, default_value = "auto")]
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

/// Applies `--set a.b=value` edits to the settings through their JSON form, so that every
/// setting is reachable and checked by the same deserialisation as a settings file.
pub(crate) fn apply_settings(
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

/// `birdnn repair`: repairs, tries to prove the result, writes it and prints the report.
pub(crate) fn repair(args: &RepairArgs, json_output: bool) -> CliResult {
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
        data.negatives.nrows(),
        data.positives.nrows(),
        data.validation_negatives.nrows(),
        data.validation_positives.nrows()
    );
    let mut session = RepairSession::new(&net, &properties, data, settings)?;
    let mut progress = Progress::new();
    session.run(|p| {
        progress.report(
            &format!("{:?}", p.phase).to_lowercase(),
            p.iteration,
            p.max_iterations,
            &format!(
                // No cost applies while falsifying or proving (it is NaN then).
                "{}validation violations {}, fidelity {:.3} %",
                if p.cost.is_nan() {
                    String::new()
                } else {
                    format!("cost {:.4e}, ", p.cost)
                },
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
