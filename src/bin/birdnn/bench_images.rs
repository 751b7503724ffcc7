//! `birdnn bench --instances digits | mnist5k`: image-robustness repair, measured the way
//! the peers measure it (drawdown D, generalisation G, efficacy), beside their published
//! figures (different data, marked so).

use birdnn::demos::TrainingPlan;
use birdnn::falsify::FalsifierConfig;
use birdnn::images::benchmark::{
    accuracy, repair_images, repair_set, split_images, train_image_classifier, ImageDataPlan,
    RepairCase, Split,
};
use birdnn::images::measure::{
    held_out_robustness, measure_image_repair, ImageRepairMeasures, Robustness,
};
use birdnn::images::ImageSet;
use birdnn::network::{Activation, Network};
use birdnn::repair::{Method, RepairSettings};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which image benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageBenchmark {
    /// 8x8 UCI digits: 64-32-32-10 ReLU and tanh, eps 1/16.
    Digits,
    /// The 5,000-image MNIST subset: 784-100-100-10 ReLU, eps 0.03.
    Mnist5k,
}

struct Recipe {
    file: &'static str,
    side: usize,
    max_level: f64,
    hidden: &'static [usize],
    activations: &'static [Activation],
    eps: f64,
    training: TrainingPlan,
    sizes: &'static [usize],
}

fn recipe(which: ImageBenchmark) -> Recipe {
    match which {
        ImageBenchmark::Digits => Recipe {
            file: "digits.csv.gz",
            side: 8,
            max_level: 16.0,
            hidden: &[32, 32],
            activations: &[Activation::Relu, Activation::Tanh],
            eps: 1.0 / 16.0,
            training: TrainingPlan {
                epochs: 100,
                batch: 32,
                learning_rate: 0.003,
            },
            sizes: &[10, 25, 50, 100],
        },
        ImageBenchmark::Mnist5k => Recipe {
            file: "mnist_5k.csv.gz",
            side: 28,
            max_level: 255.0,
            hidden: &[100, 100],
            activations: &[Activation::Relu],
            eps: 0.03,
            training: TrainingPlan {
                epochs: 30,
                batch: 32,
                learning_rate: 0.001,
            },
            sizes: &[100],
        },
    }
}

/// The peers' published figures (their data and networks, not ours).
fn peer_figures(which: ImageBenchmark) -> &'static [&'static str] {
    match which {
        ImageBenchmark::Digits => &[],
        ImageBenchmark::Mnist5k => &[
            "APRNN (3x100 MNIST MLP, 100 points): D 1.28 %, G 31.5 %, 5 s (different data)",
            "REASSURE (10-100 misclassified MNIST images): accuracy 98.0 -> 99.0 %, 259-2,117 s on 10 cores (different data)",
        ],
    }
}

/// Reads a gzipped (or plain) image CSV.
pub fn read_image_csv(
    path: &Path,
    side: usize,
    max_level: f64,
) -> Result<ImageSet, Box<dyn std::error::Error>> {
    let bytes = crate::files::read_maybe_gzip(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not text", path.display()))?;
    Ok(ImageSet::parse_csv(&text, side, side, max_level, 10)
        .map_err(|e| format!("{}: {e}", path.display()))?)
}

struct Row {
    network: String,
    size: usize,
    found: usize,
    method: Method,
    /// The repair and its measuring.
    seconds: f64,
    outcome: Result<Measured, String>,
}

/// One repair's measures, its size and the repair's own time (the measuring after it,
/// which proves every ball and attacks every held-out image, is not counted).
struct Measured {
    measures: ImageRepairMeasures,
    parameters_changed: usize,
    seconds: f64,
}

fn attack_config(seed: u64) -> FalsifierConfig {
    FalsifierConfig {
        starts: 64,
        batch: 64,
        steps: 30,
        max_counterexamples: 8,
        seed,
        ..Default::default()
    }
}

/// The judge's falsifier: seeds differ from every seed the repair used.
fn judge_config(seed: u64) -> FalsifierConfig {
    attack_config(seed ^ 0x00DD_BA11)
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    net: &Network,
    split: &Split,
    cases: &[RepairCase],
    before: &Robustness,
    method: Method,
    base: &RepairSettings,
    eps: f64,
    seed: u64,
) -> Result<Measured, String> {
    let settings = RepairSettings {
        method,
        seed,
        ..base.clone()
    };
    let attack = attack_config(seed);
    let started = Instant::now();
    let outcome = repair_images(
        net,
        split,
        cases,
        settings,
        &ImageDataPlan::default(),
        &attack,
    )
    .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let measures = measure_image_repair(
        net,
        &outcome.network,
        cases,
        &split.held_out,
        before,
        eps,
        &judge_config(seed),
        2000,
    )
    .map_err(|e| e.to_string())?;
    Ok(Measured {
        measures,
        parameters_changed: outcome.report.change.parameters_changed,
        seconds,
    })
}

/// Runs an image benchmark and prints its table; writes CSV when asked.
pub fn bench_images(
    dir: &Path,
    which: ImageBenchmark,
    methods: &[Method],
    out: Option<&PathBuf>,
    base: &RepairSettings,
    seed: u64,
    sizes: &[usize],
) -> Result<(), Box<dyn std::error::Error>> {
    let r = recipe(which);
    let sizes = if sizes.is_empty() { r.sizes } else { sizes };
    let set = read_image_csv(&dir.join(r.file), r.side, r.max_level)?;
    let split = split_images(&set, 0.5, 0.3, seed);
    eprintln!(
        "bench: {} images: {} train, {} pool, {} held out",
        set.len(),
        split.train.len(),
        split.pool.len(),
        split.held_out.len()
    );
    let mut rows = Vec::new();
    for &activation in r.activations {
        let t = Instant::now();
        let (net, train_accuracy) =
            train_image_classifier(&split.train, r.hidden, activation, 10, &r.training, seed)?;
        let name = format!(
            "{}-{}-10 {activation}",
            r.side * r.side,
            r.hidden
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join("-")
        );
        eprintln!(
            "bench: {name} trained in {:.1} s: train accuracy {:.2} %, held-out {:.2} %",
            t.elapsed().as_secs_f64(),
            100.0 * train_accuracy,
            100.0 * accuracy(&net, &split.held_out)?
        );
        let largest = sizes.iter().copied().max().unwrap_or(0);
        let all_cases = repair_set(&net, &split.pool, r.eps, largest, &attack_config(seed))?;
        let before = held_out_robustness(&net, &split.held_out, r.eps, &judge_config(seed))?;
        for &size in sizes {
            let cases = &all_cases[..size.min(all_cases.len())];
            for &method in methods {
                let t = Instant::now();
                let outcome = run_one(&net, &split, cases, &before, method, base, r.eps, seed);
                let seconds = t.elapsed().as_secs_f64();
                eprintln!(
                    "bench: {name} N={size} {method} done in {seconds:.1} s with the measures"
                );
                rows.push(Row {
                    network: name.clone(),
                    size,
                    found: cases.len(),
                    method,
                    seconds,
                    outcome,
                });
            }
        }
    }
    print_table(&rows, r.eps);
    for line in peer_figures(which) {
        println!("peer: {line}");
    }
    if let Some(path) = out {
        std::fs::write(path, to_csv(&rows)).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[Row], eps: f64) {
    println!("eps {eps}; repair s = the repair's own time (measuring is not counted); D = held-out accuracy points lost; G = held-out images the falsifier broke before and no longer does (proved: the verifier proves them)");
    println!(
        "{:<18} {:>4} {:<9} {:>8} {:>15} {:>6} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16} {:>8}",
        "network",
        "N",
        "method",
        "repair s",
        "accuracy",
        "D",
        "cex fixed",
        "boxes unbroken",
        "boxes proved",
        "boxes refuted",
        "G falsifier",
        "G proved",
        "newly broken",
        "changed"
    );
    for r in rows {
        let size = if r.found < r.size {
            format!("{}*", r.found)
        } else {
            r.size.to_string()
        };
        match &r.outcome {
            Ok(Measured {
                measures: m,
                parameters_changed: changed,
                seconds,
            }) => println!(
                "{:<18} {:>4} {:<9} {:>8.1} {:>15} {:>6.2} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16} {:>8}",
                r.network,
                size,
                r.method.to_string(),
                seconds,
                format!(
                    "{:.2} -> {:.2}",
                    100.0 * m.accuracy_before,
                    100.0 * m.accuracy_after
                ),
                m.drawdown(),
                short(m.fixed),
                short(m.unbroken),
                short(m.proved),
                short(m.refuted),
                short(m.generalised),
                short(m.generalised_proved),
                short(m.newly_broken),
                changed
            ),
            Err(e) => println!(
                "{:<18} {:>4} {:<9} {:>8.1}  {e}",
                r.network,
                size,
                r.method.to_string(),
                r.seconds
            ),
        }
    }
    if rows.iter().any(|r| r.found < r.size) {
        println!("*: the pool held fewer breakable images than asked");
    }
}

fn short(c: birdnn::measures::Rate) -> String {
    if c.total == 0 {
        return "0/0".into();
    }
    format!("{}/{} {:.0}%", c.count, c.total, c.percent())
}

fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from("network,n,found,method,repair_seconds,total_seconds,accuracy_before,accuracy_after,drawdown_points,cex_fixed,cex_total,boxes_unbroken,boxes_proved,boxes_refuted,boxes,generalised,generalised_proved,generalisation_total,newly_broken,robust_before,fidelity,parameters_changed,error\n");
    for r in rows {
        match &r.outcome {
            Ok(Measured {
                measures: m,
                parameters_changed: changed,
                seconds,
            }) => out.push_str(&format!(
                "{},{},{},{},{:.3},{:.3},{:.6},{:.6},{:.4},{},{},{},{},{},{},{},{},{},{},{},{:.6},{},\n",
                r.network,
                r.size,
                r.found,
                r.method,
                seconds,
                r.seconds,
                m.accuracy_before,
                m.accuracy_after,
                m.drawdown(),
                m.fixed.count,
                m.fixed.total,
                m.unbroken.count,
                m.proved.count,
                m.refuted.count,
                m.proved.total,
                m.generalised.count,
                m.generalised_proved.count,
                m.generalised.total,
                m.newly_broken.count,
                m.newly_broken.total,
                m.fidelity.ratio(),
                changed
            )),
            Err(e) => out.push_str(&format!(
                "{},{},{},{},,{:.3},,,,,,,,,,,,,,,,,{}\n",
                r.network,
                r.size,
                r.found,
                r.method,
                r.seconds,
                e.replace(',', ";")
            )),
        }
    }
    out
}
