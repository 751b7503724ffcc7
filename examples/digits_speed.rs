//! The digits benchmark's repair at N = 50 (`birdnn bench --instances digits --sizes 50`
//! without the measuring), timed, for comparing a native build with wasm32 in V8: the
//! digits CSV comes on standard input, so that the wasm32-wasip1 build needs no file access.
//!
//! ```sh
//! gunzip -c ../shared/digits/digits.csv.gz > /tmp/digits.csv
//! cargo run --release --example digits_speed < /tmp/digits.csv
//! cargo build --release --example digits_speed --target wasm32-wasip1
//! node tools/run-wasi.mjs target/wasm32-wasip1/release/examples/digits_speed.wasm < /tmp/digits.csv
//! ```
//!
//! The browser's wasm is built with SIMD (`.cargo/config.toml`); for the same here, build
//! with `CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128"`. Without it the
//! wasm32 run is about 1.7x slower (results/digits-n50.txt).
//!
//! Standard input is a file, not a pipe: Node's WASI reads a pipe without waiting and gives
//! up when it is momentarily empty. Both print the same fingerprints: the same seed gives
//! the same repair.

use birdnn::demos::TrainingPlan;
use birdnn::falsify::FalsifierConfig;
use birdnn::images::benchmark::{
    image_repair_settings, repair_images, repair_set, split_images, train_image_classifier,
    ImageDataPlan,
};
use birdnn::images::ImageSet;
use birdnn::network::Activation;
use std::io::Read;
use std::time::Instant;

fn main() {
    let mut csv = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut csv) {
        eprintln!("standard input: {e}");
        std::process::exit(2);
    }
    if csv.is_empty() {
        eprintln!("usage: digits_speed < digits.csv");
        std::process::exit(2);
    }
    let set = ImageSet::parse_csv(&csv, 8, 8, 16.0, 10).unwrap_or_else(|e| {
        eprintln!("digits CSV: {e}");
        std::process::exit(1)
    });
    let split = split_images(&set, 0.5, 0.3, 0);
    // The benchmark's own recipe and falsifier (src/bin/birdnn/bench_images.rs).
    let training = TrainingPlan {
        epochs: 100,
        batch: 32,
        learning_rate: 0.003,
    };
    let attack = FalsifierConfig {
        starts: 64,
        batch: 64,
        steps: 30,
        max_counterexamples: 8,
        seed: 0,
        ..Default::default()
    };
    for activation in [Activation::Relu, Activation::Tanh] {
        let (net, _) =
            train_image_classifier(&split.train, &[32, 32], activation, 10, &training, 0)
                .expect("training");
        let cases = repair_set(&net, &split.pool, 1.0 / 16.0, 50, &attack).expect("repair set");
        let mut settings = image_repair_settings();
        settings.seed = 0;
        let started = Instant::now();
        let outcome = repair_images(
            &net,
            &split,
            &cases,
            settings,
            &ImageDataPlan::default(),
            &attack,
        )
        .expect("repair");
        let seconds = started.elapsed().as_secs_f64();
        let fingerprint = outcome
            .network
            .parameters()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
                (h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3)
            });
        println!(
            "64-32-32-10 {activation} N={}: repair {seconds:.1} s, network {fingerprint:016x}",
            cases.len()
        );
    }
}
