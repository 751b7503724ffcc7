//! `birdnn bench-verify`: the sound verifier on ACAS Xu pairs, each verdict checked against
//! the VNN-COMP 2021 results and printed beside the published times of nnenum and
//! alpha-beta-CROWN; and the ablation (each of the verifier's refinements switched off).

use crate::parallel::run_in_order;
use birdnn::formats;
use birdnn::verify::{Branching, Verdict, VerifyConfig, VerifyStatus};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which (network, property) pairs `bench-verify` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifySet {
    /// The 186 instances of the VNN-COMP 2021 ACAS Xu benchmark: properties 1-4 on all 45
    /// networks, 5 and 6 on N1,1, 7 on N1,9, 8 on N2,9, 9 on N3,3, 10 on N4,5.
    Vnncomp2021,
    /// The 36 pairs that violate their property: p2 on the 34 networks N2,1..N5,9 except N3,3
    /// and N4,2, p7 on N1,9, p8 on N2,9. The verifier must never prove them.
    Violated,
    /// Properties 1, 3 and 4 on all 45 networks.
    Standard,
    /// A fixed subset of 13 instances (easy and hard, holding and violated) for quick runs
    /// and the ablation.
    Subset,
}

type Pair = ((usize, usize), usize);

fn nets() -> impl Iterator<Item = (usize, usize)> {
    (1..=5).flat_map(|i| (1..=9).map(move |j| (i, j)))
}

fn verify_pairs(set: VerifySet) -> Vec<Pair> {
    match set {
        VerifySet::Vnncomp2021 => {
            let mut out: Vec<Pair> = nets().flat_map(|n| (1..=4).map(move |p| (n, p))).collect();
            out.extend([
                ((1, 1), 5),
                ((1, 1), 6),
                ((1, 9), 7),
                ((2, 9), 8),
                ((3, 3), 9),
                ((4, 5), 10),
            ]);
            out
        }
        VerifySet::Violated => {
            let mut out: Vec<Pair> = nets()
                .filter(|&(i, j)| i >= 2 && (i, j) != (3, 3) && (i, j) != (4, 2))
                .map(|n| (n, 2))
                .collect();
            out.push(((1, 9), 7));
            out.push(((2, 9), 8));
            out
        }
        VerifySet::Standard => [1, 3, 4]
            .into_iter()
            .flat_map(|p| nets().map(move |n| (n, p)))
            .collect(),
        VerifySet::Subset => vec![
            ((1, 1), 1),
            ((2, 2), 1),
            ((4, 7), 1),
            ((1, 1), 2),
            ((1, 5), 2),
            ((2, 1), 2),
            ((5, 3), 2),
            ((1, 2), 3),
            ((3, 3), 3),
            ((2, 2), 4),
            ((1, 1), 6),
            ((1, 9), 7),
            ((2, 9), 8),
        ],
    }
}

/// One instance's published results (VNN-COMP 2021).
struct Published {
    truth: &'static str,
    nnenum_seconds: Option<f64>,
    abcrown_seconds: Option<f64>,
}

/// The published results by pair, from the CSV kept beside this file.
fn published() -> BTreeMap<Pair, Published> {
    let mut out = BTreeMap::new();
    for line in include_str!("vnncomp2021_acasxu.csv")
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .skip(1)
    {
        let f: Vec<&str> = line.split(',').collect();
        let (Some(net), Some(p)) = (f.first(), f.get(1)) else {
            continue;
        };
        let Some((i, j)) = net.split_once('_') else {
            continue;
        };
        let (Ok(i), Ok(j), Ok(p)) = (i.parse(), j.parse(), p.parse()) else {
            continue;
        };
        out.insert(
            ((i, j), p),
            Published {
                truth: f.get(2).copied().unwrap_or(""),
                nnenum_seconds: f.get(4).and_then(|s| s.parse().ok()),
                abcrown_seconds: f.get(6).and_then(|s| s.parse().ok()),
            },
        );
    }
    out
}

/// A verdict contradicts the published truth when it proves a violated instance or finds a
/// counterexample to one that holds.
fn contradicts(status: VerifyStatus, truth: &str) -> bool {
    matches!(
        (status, truth),
        (VerifyStatus::Proved, "violated") | (VerifyStatus::Counterexample, "holds")
    )
}

#[derive(Debug)]
struct Row {
    pair: Pair,
    variant: &'static str,
    result: Result<(Verdict, f64), String>,
}

fn pair_name(((i, j), p): Pair) -> String {
    format!("N{i},{j}/p{p}")
}

/// The pair as two CSV fields: `network,property` (`1_9,7`).
fn pair_csv(((i, j), p): Pair) -> String {
    format!("{i}_{j},{p}")
}

/// Runs every (pair, variant) on `threads` threads, the slowest-looking first.
fn run_all(
    dir: &Path,
    jobs: Vec<(Pair, &'static str, VerifyConfig)>,
    timeout: f64,
    threads: usize,
) -> Vec<Row> {
    let verify = |&(pair, _, ref config): &(Pair, &'static str, VerifyConfig)| {
        let ((i, j), p) = pair;
        let net =
            formats::load_network(&dir.join(format!("onnx/ACASXU_run2a_{i}_{j}_batch_2000.onnx")))
                .map_err(|e| e.to_string())?;
        let property = formats::load_property(&dir.join(format!("vnnlib/prop_{p}.vnnlib")))
            .map_err(|e| e.to_string())?;
        let mut verdicts =
            crate::verify::verify_each(&net, &[property], config, timeout, |_, _| {})
                .map_err(|e| e.to_string())?;
        Ok(verdicts.remove(0))
    };
    let results = run_in_order(
        &jobs,
        threads,
        verify,
        |done, total, (pair, variant, _), result: &Result<(Verdict, f64), String>| {
            let status = match result {
                Ok((v, s)) => format!("{} in {s:.2} s", v.status),
                Err(e) => format!("error: {e}"),
            };
            eprintln!(
                "bench-verify: {done}/{total} {} {variant}: {status}",
                pair_name(*pair)
            );
        },
    );
    jobs.iter()
        .zip(results)
        .map(|(&(pair, variant, _), result)| Row {
            pair,
            variant,
            result,
        })
        .collect()
}

/// Verifies ACAS Xu pairs with the sound verifier and prints one line each (beside the
/// published VNN-COMP 2021 figures) plus totals; with `ablation`, runs each pair once per
/// refinement switched off and prints boxes and seconds side by side.
pub fn bench_verify(
    dir: &Path,
    set: VerifySet,
    timeout: f64,
    threads: usize,
    ablation: bool,
    out: Option<&PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let pairs = verify_pairs(set);
    let variants = if ablation {
        ablation_variants()
    } else {
        vec![("full", VerifyConfig::default())]
    };
    let jobs = pairs
        .iter()
        .flat_map(|&pair| variants.iter().map(move |(v, c)| (pair, *v, c.clone())))
        .collect();
    let started = Instant::now();
    let rows = run_all(dir, jobs, timeout, threads);
    let wall = started.elapsed().as_secs_f64();
    let published = published();
    let csv = if ablation {
        print_ablation(&rows, &variants)
    } else {
        print_verdicts(&rows, &published)
    };
    println!(
        "{} runs in {wall:.1} s on {threads} thread(s), timeout {timeout} s per run",
        rows.len()
    );
    if let Some(path) = out {
        std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let contradictions = rows
        .iter()
        .filter(|r| {
            let truth = published.get(&r.pair).map_or("", |p| p.truth);
            matches!(&r.result, Ok((v, _)) if contradicts(v.status, truth))
        })
        .count();
    if contradictions > 0 {
        return Err(format!("{contradictions} verdict(s) contradict VNN-COMP 2021").into());
    }
    Ok(())
}

/// The full verifier and, one at a time, each refinement switched off.
fn ablation_variants() -> Vec<(&'static str, VerifyConfig)> {
    let full = VerifyConfig::default();
    vec![
        ("full", full.clone()),
        (
            "no-sb",
            VerifyConfig {
                branching: Branching::Legacy,
                ..full.clone()
            },
        ),
        (
            "no-clip",
            VerifyConfig {
                clip_boxes: false,
                ..full.clone()
            },
        ),
        (
            "no-reuse",
            VerifyConfig {
                reuse_enclosing_bounds: false,
                ..full.clone()
            },
        ),
        (
            "no-alpha",
            VerifyConfig {
                alpha_steps: 0,
                ..full.clone()
            },
        ),
        (
            "no-balance",
            VerifyConfig {
                split_balance: f64::INFINITY,
                ..full.clone()
            },
        ),
        (
            "no-attack",
            VerifyConfig {
                attack_steps: 0,
                attack_random_starts: 0,
                ..full
            },
        ),
    ]
}

fn print_verdicts(rows: &[Row], published: &BTreeMap<Pair, Published>) -> String {
    let mut csv = String::from(
        "network,property,truth,status,proved_fraction,seconds,boxes,nnenum_seconds,abcrown_seconds\n",
    );
    println!(
        "{:<12} {:<9} {:<15} {:>9} {:>8} {:>9} {:>8} {:>8}",
        "pair", "truth", "birdnn", "proved", "seconds", "boxes", "nnenum", "a-b-CROWN"
    );
    let mut counts = BTreeMap::<String, (usize, f64, f64)>::new();
    let mut decided = 0;
    let seconds_or_dash = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.2}"));
    for row in rows {
        let name = pair_name(row.pair);
        let p = published.get(&row.pair);
        let truth = p.map_or("?", |p| p.truth);
        let (nnenum, abcrown) = (
            p.and_then(|p| p.nnenum_seconds),
            p.and_then(|p| p.abcrown_seconds),
        );
        match &row.result {
            Ok((v, seconds)) => {
                let mark = if contradicts(v.status, truth) {
                    " CONTRADICTS"
                } else {
                    ""
                };
                println!(
                    "{name:<12} {truth:<9} {:<15} {:>8.3}% {seconds:>8.2} {:>9} {:>8} {:>8}{mark}",
                    v.status.to_string(),
                    100.0 * v.proved_fraction,
                    v.boxes,
                    seconds_or_dash(nnenum),
                    seconds_or_dash(abcrown),
                );
                csv.push_str(&format!(
                    "{},{truth},{},{:.6},{seconds:.3},{},{},{}\n",
                    pair_csv(row.pair),
                    v.status,
                    v.proved_fraction,
                    v.boxes,
                    nnenum.map_or(String::new(), |s| s.to_string()),
                    abcrown.map_or(String::new(), |s| s.to_string()),
                ));
                let c = counts.entry(v.status.to_string()).or_default();
                c.0 += 1;
                c.1 += seconds;
                c.2 = c.2.max(*seconds);
                if v.status != VerifyStatus::Unknown {
                    decided += 1;
                }
            }
            Err(e) => println!("{name:<12} error: {e}"),
        }
    }
    println!();
    for (status, (n, sum, max)) in &counts {
        println!(
            "{status:<15} {n:>3} pairs, mean {:.2} s, max {max:.2} s",
            sum / *n as f64
        );
    }
    let sum = |f: fn(&Published) -> Option<f64>| -> f64 {
        rows.iter()
            .filter_map(|r| published.get(&r.pair).and_then(f))
            .sum()
    };
    let ours: f64 = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok().map(|(_, s)| *s))
        .sum();
    println!(
        "decided {decided} of {}; total seconds: birdnn {ours:.1} (1 thread per pair), \
         published nnenum {:.1}, alpha-beta-CROWN {:.1} (VNN-COMP 2021 hardware, start-up included)",
        rows.len(),
        sum(|p| p.nnenum_seconds),
        sum(|p| p.abcrown_seconds),
    );
    csv
}

fn print_ablation(rows: &[Row], variants: &[(&'static str, VerifyConfig)]) -> String {
    let mut csv = String::from("network,property,variant,status,seconds,boxes\n");
    print!("{:<12}", "pair");
    for (v, _) in variants {
        print!(" {v:>24}");
    }
    println!();
    let mut pairs: Vec<Pair> = rows.iter().map(|r| r.pair).collect();
    pairs.dedup();
    for pair in pairs {
        print!("{:<12}", pair_name(pair));
        for (variant, _) in variants {
            let cell = rows
                .iter()
                .find(|r| r.pair == pair && r.variant == *variant)
                .map(|r| match &r.result {
                    Ok((v, s)) => {
                        csv.push_str(&format!(
                            "{},{variant},{},{s:.3},{}\n",
                            pair_csv(pair),
                            v.status,
                            v.boxes
                        ));
                        let status = match v.status {
                            VerifyStatus::Proved => "P",
                            VerifyStatus::Counterexample => "C",
                            VerifyStatus::Unknown => "?",
                        };
                        format!("{status} {:>8} bx {s:>7.2} s", v.boxes)
                    }
                    Err(e) => format!("error: {e}"),
                })
                .unwrap_or_default();
            print!(" {cell:>24}");
        }
        println!();
    }
    println!("(P proved, C counterexample, ? unknown at the timeout)");
    csv
}
