//! `birdnn info`: what a network file holds.

use crate::command::{load_network, CliResult};
use serde_json::json;
use std::path::Path;

/// `birdnn info`: a network's layers, metadata and decision rule, as text or JSON.
pub(crate) fn info(path: &Path, json_output: bool) -> CliResult {
    let net = load_network(path)?;
    let meta = net.meta();
    if json_output {
        let layers: Vec<_> = net
            .layers()
            .iter()
            .map(|l| {
                json!({
                    "inputs": l.inputs(),
                    "outputs": l.outputs(),
                    "activation": l.activation().to_string(),
                    "parameters": l.parameter_count(),
                })
            })
            .collect();
        let out = json!({
            "name": meta.name,
            "inputs": meta.inputs,
            "outputs": meta.outputs,
            "output_scaling": meta.output_scaling,
            "decision": meta.decision,
            "widths": net.widths(),
            "layers": layers,
            "parameters": net.parameter_count(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{}", meta.name);
    println!(
        "  {} inputs -> {} outputs, {} layers, {} parameters, decision: {}",
        net.input_size(),
        net.output_size(),
        net.layers().len(),
        net.parameter_count(),
        meta.decision
    );
    println!("  widths: {:?}", net.widths());
    println!("\n  layer  in -> out  activation      parameters");
    for (l, layer) in net.layers().iter().enumerate() {
        println!(
            "  {:>5}  {:>3} -> {:<3}  {:<14}  {:>10}",
            l + 1,
            layer.inputs(),
            layer.outputs(),
            layer.activation().to_string(),
            layer.parameter_count()
        );
    }
    println!("\n  input   unit   physical range              normalisation (x - mean) / range");
    for spec in &meta.inputs {
        println!(
            "  {:<7} {:<6} [{}, {}]  mean {} range {}",
            spec.name, spec.unit, spec.min, spec.max, spec.mean, spec.range
        );
    }
    let scaling = meta.output_scaling;
    println!(
        "\n  outputs: {} (physical = y * {} + {})",
        meta.outputs.join(", "),
        scaling.range,
        scaling.mean
    );
    Ok(())
}
