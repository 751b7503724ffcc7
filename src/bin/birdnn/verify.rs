//! `birdnn verify NET PROPERTY...`: proving properties, or finding counterexamples.

use crate::command::{load_network, CliResult, Progress};
use birdnn::network::{DecisionRule, Network};
use birdnn::property::Property;
use birdnn::verify::{overall, Verdict, Verifier, VerifyConfig, VerifyStatus};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// `birdnn verify NET PROPERTY...`: a verdict per property, as text or JSON.
pub(crate) fn verify(
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
