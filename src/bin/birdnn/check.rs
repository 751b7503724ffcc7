//! `birdnn check`: estimating how often properties are violated, and searching for
//! counterexamples.

use crate::command::{load_network, read_samples, CliResult, Progress};
use birdnn::falsify::{Counterexample, Falsifier, FalsifierConfig};
use birdnn::network::DecisionRule;
use birdnn::property::negatives_of;
use birdnn::rng::SplitMix64;
use birdnn::sampling::sample_property;
use birdnn::tensor::Array2;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The settings of `birdnn check`.
pub(crate) struct CheckSettings {
    /// Uniform samples per property region.
    pub(crate) samples: usize,
    /// Seed of the sampler.
    pub(crate) seed: u64,
    /// Decision rule replacing the network's own.
    pub(crate) decision: Option<DecisionRule>,
    /// The falsifier (none with 0 starts).
    pub(crate) falsifier: FalsifierConfig,
    /// CSV of known counterexamples that half of the falsifier's starts begin near.
    pub(crate) hints: Option<PathBuf>,
}

/// `birdnn check`: violation rates by sampling, and the falsifier's counterexamples.
pub(crate) fn check(
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
        total_samples += x.nrows();
        total_violations += violations;
        per_property.push((p, x.nrows(), violations));
    }

    let mut counterexamples: Vec<Counterexample> = Vec::new();
    let mut evaluations = 0;
    if settings.falsifier.starts > 0 {
        settings.falsifier.check()?;
        let hints = match &settings.hints {
            Some(path) => read_samples(path, net.input_size())?,
            None => Array2::zeros((0, net.input_size())),
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
