//! The command line's definition (clap): the global options and every command's arguments.

use crate::repair::RepairArgs;
use birdnn::falsify::FalsifierConfig;
use birdnn::network::DecisionRule;
use birdnn::repair::Method;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Repair small neural networks so that they satisfy safety properties.
#[derive(Parser)]
#[command(name = "birdnn", version, about)]
pub(crate) struct Cli {
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "auto,retrain,finetune,domain"
        )]
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
