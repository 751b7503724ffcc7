//! Decision-map speed natively: `cargo run --release --example map_speed -- NET.onnx`.
//! (The browser figure comes from `cargo test --release --test browser bench -- --ignored`.)

use birdnn::slice::{DecisionMapJob, SliceView};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: map_speed NETWORK");
        std::process::exit(2);
    };
    let net = match birdnn::formats::load_network(std::path::Path::new(&path)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for side in [64, 256] {
        let mut times = Vec::new();
        for _ in 0..9 {
            let start = Instant::now();
            let mut job =
                DecisionMapJob::new(&net, SliceView::centred(&net), vec![side], 1.0).expect("view");
            while job.step(&net, 4096).is_some() {}
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!("{side}x{side}: median {:.1} ms", times[times.len() / 2]);
    }
}
