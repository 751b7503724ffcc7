//! `birdnn bench`: the ACAS Xu violation instances, each repaired by each method, measured,
//! and printed as a table beside the prototype's published figures.

use crate::parallel::run_in_order;
use birdnn::falsify::{Falsifier, FalsifierConfig};
use birdnn::formats;
use birdnn::network::Network;
use birdnn::property::Property;
use birdnn::repair::{
    HeldOut, Method, RepairData, RepairReport, RepairSession, RepairSettings, ReportPlan,
    SamplingPlan,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which instances to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InstanceSet {
    /// N1,9/p7 and N2,9/p8 with the paper's sample sets, and N3,3/p2.
    Paper,
    /// Every network N_{i>=2} with property 2, plus N1,9/p7 and N2,9/p8, with drawn data.
    Acasxu,
    /// Both ACAS Xu sets.
    All,
    /// Robustness of 8x8 handwritten digits (64-32-32-10 ReLU and tanh, eps 1/16).
    Digits,
    /// Robustness on the 5,000-image MNIST subset (784-100-100-10 ReLU, eps 0.03).
    Mnist5k,
}

impl InstanceSet {
    /// The image benchmark this set names, if it is one.
    pub fn images(self) -> Option<crate::bench_images::ImageBenchmark> {
        match self {
            InstanceSet::Digits => Some(crate::bench_images::ImageBenchmark::Digits),
            InstanceSet::Mnist5k => Some(crate::bench_images::ImageBenchmark::Mnist5k),
            _ => None,
        }
    }
}

struct Instance {
    net: (usize, usize),
    property: usize,
    /// Prefix of the paper's sample files (`N19`), when used.
    samples: Option<&'static str>,
}

impl Instance {
    fn name(&self) -> String {
        let data = if self.samples.is_some() {
            " (paper data)"
        } else {
            ""
        };
        format!("N{},{}/p{}{data}", self.net.0, self.net.1, self.property)
    }
}

/// The prototype's figures from `shared/docs/baseline.md` (fine-tuning k=5 and retraining
/// with its mini-batch bug fixed): wall seconds, violations after, fidelity after.
fn prototype_figures(instance: &Instance, method: Method) -> Option<&'static str> {
    match (instance.net, instance.samples.is_some(), method) {
        ((1, 9), true, Method::Finetune) => Some("26-30 s, 0.00 %, fidelity 99.84-99.94 %"),
        ((2, 9), true, Method::Finetune) => Some("27-28 s, 0.04 %, fidelity 88.8-97.9 %"),
        ((1, 9), true, Method::Retrain) => Some("349 s, 0.18-0.27 %, fidelity 100.00 %"),
        ((2, 9), true, Method::Retrain) => Some("383 s, 0.04 %, fidelity 99.89 %"),
        _ => None,
    }
}

fn instances(set: InstanceSet) -> Vec<Instance> {
    let mut out = Vec::new();
    if matches!(set, InstanceSet::Paper | InstanceSet::All) {
        out.push(Instance {
            net: (1, 9),
            property: 7,
            samples: Some("N19"),
        });
        out.push(Instance {
            net: (2, 9),
            property: 8,
            samples: Some("N29"),
        });
        out.push(Instance {
            net: (3, 3),
            property: 2,
            samples: Some("N33"),
        });
    }
    if matches!(set, InstanceSet::Acasxu | InstanceSet::All) {
        for i in 2..=5 {
            for j in 1..=9 {
                out.push(Instance {
                    net: (i, j),
                    property: 2,
                    samples: None,
                });
            }
        }
        out.push(Instance {
            net: (1, 9),
            property: 7,
            samples: None,
        });
        out.push(Instance {
            net: (2, 9),
            property: 8,
            samples: None,
        });
    }
    out
}

struct Row {
    instance: String,
    method: String,
    seconds: f64,
    outcome: Result<RepairReport, String>,
    prototype: Option<&'static str>,
}

/// Seed of every run, and the verifier's time per repaired property (0: no proof tried).
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Seconds the verifier may spend on each repaired property.
    pub verify_timeout: f64,
}

fn run_one(
    dir: &Path,
    instance: &Instance,
    base: &RepairSettings,
    method: Method,
    run: RunOptions,
) -> Result<RepairReport, String> {
    let RunOptions {
        seed,
        verify_timeout,
    } = run;
    let (i, j) = instance.net;
    let net: Network =
        formats::load_network(&dir.join(format!("onnx/ACASXU_run2a_{i}_{j}_batch_2000.onnx")))
            .map_err(|e| e.to_string())?;
    let property: Property =
        formats::load_property(&dir.join(format!("vnnlib/prop_{}.vnnlib", instance.property)))
            .map_err(|e| e.to_string())?;
    let properties = [property];
    let plan = SamplingPlan::default();
    let (data, held_out) = match instance.samples {
        Some(prefix) => {
            let file = |kind: &str| {
                crate::command::read_samples(&dir.join(format!("samples/{prefix}_{kind}.csv")), 5)
                    .map_err(|e| e.to_string())
            };
            (
                RepairData::from_samples(
                    &net,
                    &properties,
                    &file("counterexample")?,
                    &file("drawndown")?,
                )
                .map_err(|e| e.to_string())?,
                HeldOut::from_samples(
                    &net,
                    &properties,
                    &file("counterexample_test")?,
                    &file("drawndown_test")?,
                )
                .map_err(|e| e.to_string())?,
            )
        }
        None => (
            RepairData::sampled(&net, &properties, &plan, seed).map_err(|e| e.to_string())?,
            HeldOut::sampled(&net, &properties, &plan, seed).map_err(|e| e.to_string())?,
        ),
    };
    if data.negatives.nrows() == 0 {
        // Look harder before calling it safe: the falsifier with a larger budget.
        let config = FalsifierConfig {
            starts: 8192,
            seed,
            ..Default::default()
        };
        let found = Falsifier::new(&net, &properties, config)
            .map_err(|e| e.to_string())?
            .run();
        return Err(if found.is_empty() {
            "nothing to repair: no counterexample found by sampling or the falsifier".into()
        } else {
            format!(
                "{} counterexamples found only by the larger falsifier run; not repaired",
                found.len()
            )
        });
    }
    let settings = RepairSettings {
        method,
        seed,
        ..base.clone()
    };
    let mut session =
        RepairSession::new(&net, &properties, data, settings).map_err(|e| e.to_string())?;
    session.run(|_| {}).map_err(|e| e.to_string())?;
    let mut outcome = session
        .finish(&held_out, &ReportPlan::default())
        .map_err(|e| e.to_string())?;
    crate::repair::prove_repair(
        &mut outcome.report,
        &outcome.network,
        &properties,
        verify_timeout,
        seed,
    )
    .map_err(|e| e.to_string())?;
    Ok(outcome.report)
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs the benchmark and prints the table; writes CSV when asked.
pub fn bench(
    dir: &Path,
    set: InstanceSet,
    methods: &[Method],
    out: Option<&PathBuf>,
    threads: usize,
    base: &RepairSettings,
    run: RunOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    if !dir.join("onnx").is_dir() {
        return Err(format!(
            "ACAS Xu data not found at {} (use --data or BIRDNN_ACASXU_DIR)",
            dir.display()
        )
        .into());
    }
    let jobs: Vec<(usize, Method)> = (0..instances(set).len())
        .flat_map(|k| methods.iter().map(move |&m| (k, m)))
        .collect();
    // The list's last instances start first (in the acasxu set, p7 and p8, the slowest), so
    // that the threads do not end waiting for one long run; the table keeps the list's order.
    let mut jobs = jobs;
    jobs.reverse();
    let all = instances(set);
    let started = Instant::now();
    let mut rows = run_in_order(
        &jobs,
        threads,
        |&(k, method)| {
            let instance = &all[k];
            let t = Instant::now();
            let outcome = run_one(dir, instance, base, method, run);
            Row {
                instance: instance.name(),
                method: method.to_string(),
                seconds: t.elapsed().as_secs_f64(),
                prototype: prototype_figures(instance, method),
                outcome,
            }
        },
        |done, total, _, row| {
            eprintln!(
                "bench: {done}/{total} done ({} {}, {:.1} s)",
                row.instance, row.method, row.seconds
            );
        },
    );
    rows.reverse();
    print_table(&rows);
    print_summary(&rows, set);
    println!(
        "\n{} runs in {:.1} s on {threads} thread(s); peak memory of the whole process {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        peak_memory_mib().map_or("unknown".into(), |m| format!("{m:.0} MiB"))
    );
    if let Some(path) = out {
        std::fs::write(path, to_csv(&rows)).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<26} {:<9} {:>7} {:>7} {:>22} {:>20} {:>5} {:>9} {:>9} {:>9} {:>7} {:>16}  PAC / note",
        "instance",
        "method",
        "repair s",
        "total s",
        "held-out cex unsafe",
        "fresh unsafe",
        "fals.",
        "fid held",
        "fid in",
        "fid dom",
        "changed",
        "proof"
    );
    for r in rows {
        match &r.outcome {
            Ok(rep) => {
                println!(
                    "{:<26} {:<9} {:>8.2} {:>7.2} {:>22} {:>20} {:>5} {:>8.3}% {:>8.3}% {:>8.3}% {:>7} {:>16}  {}",
                    r.instance,
                    r.method,
                    rep.wall_ms / 1000.0,
                    r.seconds,
                    format!("{} -> {}", rep.held_out_violations.before.count, rep.held_out_violations.after.count),
                    format!("{} -> {}", rep.fresh_violations.before.count, rep.fresh_violations.after.count),
                    rep.falsifier_counterexamples,
                    rep.fidelity_held_out.percent(),
                    rep.fidelity_inside.percent(),
                    rep.fidelity_domain.percent(),
                    rep.change.parameters_changed,
                    proof_summary(rep),
                    match (&rep.pac, &rep.pac_failure) {
                        (Some(p), _) => format!("eps {} delta {} on {} samples", p.epsilon, p.delta, p.samples),
                        (None, Some(why)) => format!("no PAC: {why}"),
                        _ => String::new(),
                    }
                );
                if let Some(proto) = r.prototype {
                    println!("{:<26} {:<9} prototype (baseline.md): {proto}", "", "");
                }
            }
            Err(e) => println!(
                "{:<26} {:<9} {:>8} {:>7.2}  {e}",
                r.instance, r.method, "", r.seconds
            ),
        }
    }
}

/// Figures published for repairing the unsafe ACAS Xu networks, shown beside ours: repairs
/// ending proved safe, and the repaired networks' accuracy against the original's decisions
/// (min / mean / max, per cent). From the Veritex evaluation (Yang et al., Table 7.2: 48
/// vCPUs, their test data, their accuracy measure, so comparable in kind, not digit for
/// digit); the anchor.
const PUBLISHED: [(&str, &str, [f64; 3]); 3] = [
    ("Veritex", "35/35", [98.74, 99.70, 100.0]),
    ("ART", "34/35", [89.08, 94.57, 98.06]),
    ("ART-refinement", "35/35", [88.82, 95.85, 98.64]),
];

/// Per method: repairs proved, held-out and whole-domain fidelity (min, median, mean, max)
/// and time per instance; for the ACAS Xu set, the published figures beside them.
fn print_summary(rows: &[Row], set: InstanceSet) {
    let mut methods: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
    methods.dedup();
    methods.sort_unstable();
    methods.dedup();
    let stats = |mut v: Vec<f64>| -> [f64; 4] {
        if v.is_empty() {
            return [f64::NAN; 4];
        }
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        [v[0], v[v.len() / 2], mean, v[v.len() - 1]]
    };
    println!(
        "\n{:<16} {:>9} {:>31} {:>31} {:>17}",
        "method",
        "proved",
        "held-out fidelity min/med/mean/max %",
        "whole domain min/med/mean/max %",
        "total s med/max"
    );
    let mut without_report = 0;
    for method in methods {
        let reports: Vec<(&RepairReport, f64)> = rows
            .iter()
            .filter(|r| r.method == method)
            .filter_map(|r| r.outcome.as_ref().ok().map(|rep| (rep, r.seconds)))
            .collect();
        // Runs without a report (nothing to repair, or an error the table names) are not
        // counted as repairs that failed to be proved.
        without_report += rows.iter().filter(|r| r.method == method).count() - reports.len();
        let proved = reports
            .iter()
            .filter(|(rep, _)| {
                !rep.proofs.is_empty() && rep.proofs.iter().all(|p| p.status == "proved")
            })
            .count();
        let held = stats(
            reports
                .iter()
                .map(|(r, _)| r.fidelity_held_out.percent())
                .collect(),
        );
        let domain = stats(
            reports
                .iter()
                .map(|(r, _)| r.fidelity_domain.percent())
                .collect(),
        );
        let time = stats(reports.iter().map(|(_, s)| *s).collect());
        let four = |v: [f64; 4]| format!("{:.2}/{:.2}/{:.2}/{:.2}", v[0], v[1], v[2], v[3]);
        println!(
            "{:<16} {:>9} {:>31} {:>31} {:>17}",
            format!("birdnn {method}"),
            format!("{proved}/{}", reports.len()),
            four(held),
            four(domain),
            format!("{:.0}/{:.0}", time[1], time[3])
        );
    }
    if without_report > 0 {
        println!("({without_report} run(s) without a repair: nothing to repair, or the error in the table)");
    }
    if matches!(set, InstanceSet::Acasxu | InstanceSet::All) {
        for (tool, proved, [min, mean, max]) in PUBLISHED {
            println!(
                "{:<16} {:>9} {:>31} {:>31} {:>17}",
                tool,
                proved,
                format!("{min:.2}/-/{mean:.2}/{max:.2}"),
                "-",
                "-"
            );
        }
        println!(
            "(published: the Veritex evaluation, Table 7.2, 35 unsafe networks, accuracy on their \
             test data; birdnn: the 36 violation instances, fidelity on held-out samples)"
        );
    }
}

/// "proved 1.2 s", "violated", "pac", "unknown 93 %" (the first property's; instances have
/// one), or "-" when the verifier did not run.
fn proof_summary(rep: &RepairReport) -> String {
    match rep.proofs.first() {
        None => "-".into(),
        Some(p) if p.status == "unknown" || p.status == "pac" => format!(
            "{} {:.0}% {:.0}s",
            p.status,
            100.0 * p.proved_fraction,
            p.seconds
        ),
        Some(p) => format!("{} {:.1}s", p.status, p.seconds),
    }
}

fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "instance,method,repair_seconds,total_seconds,held_out_before,held_out_after,held_out_total,fresh_before,fresh_after,fresh_total,falsifier_after,fidelity_held_out,fidelity_inside,fidelity_outside,fidelity_domain,parameters_changed,relative_l2,pac_epsilon,pac_delta,pac_samples,proof,proved_fraction,proof_seconds,note\n",
    );
    for r in rows {
        match &r.outcome {
            Ok(rep) => out.push_str(&format!(
                "\"{}\",{},{:.3},{:.3},{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{},{:.6e},{},{},{},{},{},{},{}\n",
                r.instance,
                r.method,
                rep.wall_ms / 1000.0,
                r.seconds,
                rep.held_out_violations.before.count,
                rep.held_out_violations.after.count,
                rep.held_out_violations.after.total,
                rep.fresh_violations.before.count,
                rep.fresh_violations.after.count,
                rep.fresh_violations.after.total,
                rep.falsifier_counterexamples,
                rep.fidelity_held_out.ratio(),
                rep.fidelity_inside.ratio(),
                rep.fidelity_outside.ratio(),
                rep.fidelity_domain.ratio(),
                rep.change.parameters_changed,
                rep.change.relative_l2,
                rep.pac.as_ref().map_or(String::new(), |p| p.epsilon.to_string()),
                rep.pac.as_ref().map_or(String::new(), |p| p.delta.to_string()),
                rep.pac.as_ref().map_or(String::new(), |p| p.samples.to_string()),
                rep.proofs.first().map_or(String::new(), |p| p.status.clone()),
                rep.proofs.first().map_or(String::new(), |p| format!("{:.6}", p.proved_fraction)),
                rep.proofs.first().map_or(String::new(), |p| format!("{:.3}", p.seconds)),
                rep.pac_failure.clone().unwrap_or_default().replace(',', ";"),
            )),
            Err(e) => out.push_str(&format!(
                "\"{}\",{},,{:.3},,,,,,,,,,,,,,,,,,,,{}\n",
                r.instance,
                r.method,
                r.seconds,
                e.replace(',', ";")
            )),
        }
    }
    out
}
