//! `birdnn eval`: running a network on a CSV of inputs.

use crate::command::{load_network, read_samples, CliResult};
use birdnn::formats::csv;
use birdnn::tensor::{BatchRows, BatchRowsMut};
use std::io::Write;
use std::path::Path;

/// `birdnn eval`: the network's outputs on a CSV of inputs, as CSV.
pub(crate) fn eval(path: &Path, inputs: &Path, physical: bool, decisions: bool) -> CliResult {
    let net = load_network(path)?;
    let mut x = read_samples(inputs, net.input_size())?;
    if physical {
        let specs = &net.meta().inputs;
        for r in 0..x.nrows() {
            for (v, spec) in x.row_slice_mut(r).iter_mut().zip(specs) {
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
        for row in y.row_slices() {
            let d = net.meta().decision.decide(row).unwrap_or(0);
            let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            writeln!(out, "{},{d}", values.join(","))?;
        }
    } else {
        write!(out, "{}", csv::write(&header, &y))?;
    }
    Ok(())
}
