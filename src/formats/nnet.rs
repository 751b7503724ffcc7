//! The `.nnet` text format of the ACAS Xu networks (Kyle Julian, Stanford 2016).
//!
//! Layout after the leading `//` comment lines: layer count, input size, output size, largest
//! layer; the layer sizes; an unused flag; input minimums, maximums; means and ranges (inputs,
//! then one shared output entry); then for each layer its weights, one line per output
//! neuron, and its biases, one per line. Values are comma-separated with a trailing comma.
//! The format implies ReLU on hidden layers and a linear output layer.
//!
//! birdnn keeps what the format cannot say (other activations, names, units, the decision
//! rule) in one extra comment line, `// birdnn: {json}`, which other readers skip as a
//! comment. A file with non-ReLU layers therefore round-trips through birdnn, but other tools
//! will evaluate it as ReLU: [`is_standard`] tells when that matters.

use super::ParseError;
use crate::network::{
    Activation, DecisionRule, DenseLayer, InputSpec, Network, NetworkMeta, OutputScaling,
};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

const BIRDNN_COMMENT: &str = "// birdnn:";

/// What birdnn adds in its comment line.
#[derive(Serialize, Deserialize, Default)]
struct Extension {
    #[serde(default)]
    activations: Option<Vec<Activation>>,
    #[serde(default)]
    input_names: Option<Vec<String>>,
    #[serde(default)]
    input_units: Option<Vec<String>>,
    #[serde(default)]
    output_names: Option<Vec<String>>,
    #[serde(default)]
    decision: Option<DecisionRule>,
    #[serde(default)]
    name: Option<String>,
}

struct Token<'a> {
    text: &'a str,
    line: usize,
    column: usize,
}

struct Tokens<'a> {
    name: &'a str,
    items: Vec<Token<'a>>,
    next: usize,
    end_line: usize,
}

impl<'a> Tokens<'a> {
    fn remaining(&self) -> usize {
        self.items.len() - self.next
    }

    fn take(&mut self, what: &str) -> Result<&Token<'a>, ParseError> {
        match self.items.get(self.next) {
            Some(t) => {
                self.next += 1;
                Ok(t)
            }
            None => Err(ParseError::at(
                self.name,
                self.end_line,
                1,
                format!("file ends early: expected {what}"),
            )),
        }
    }

    /// The next token as a `T`, refused (with its position) when it does not parse or
    /// `acceptable` says no; `kind` describes what was expected.
    fn parse<T: std::str::FromStr>(
        &mut self,
        what: &str,
        kind: &str,
        acceptable: impl Fn(&T) -> bool,
    ) -> Result<T, ParseError> {
        let name = self.name;
        let t = self.take(what)?;
        match t.text.parse::<T>() {
            Ok(v) if acceptable(&v) => Ok(v),
            _ => Err(ParseError::at(
                name,
                t.line,
                t.column,
                format!("expected {what} ({kind}), found '{}'", t.text),
            )),
        }
    }

    fn number(&mut self, what: &str) -> Result<f64, ParseError> {
        self.parse(what, "a finite number", |v: &f64| v.is_finite())
    }

    fn float(&mut self, what: &str) -> Result<f32, ParseError> {
        self.parse(what, "a finite number", |v: &f32| v.is_finite())
    }

    fn count(&mut self, what: &str) -> Result<usize, ParseError> {
        self.parse(what, "a whole number", |_: &usize| true)
    }
}

/// Parses a `.nnet` file.
pub fn read(name: &str, text: &str) -> Result<Network, ParseError> {
    let mut extension = Extension::default();
    let mut items = Vec::new();
    let mut in_header = true;
    let mut end_line = 1;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        end_line = line_no;
        if in_header && line.trim_start().starts_with("//") {
            if let Some(json) = line.trim_start().strip_prefix(BIRDNN_COMMENT) {
                extension = serde_json::from_str(json).map_err(|e| {
                    ParseError::at(
                        name,
                        line_no,
                        e.column() + BIRDNN_COMMENT.len(),
                        format!("malformed birdnn comment: {e}"),
                    )
                })?;
            }
            continue;
        }
        in_header = false;
        let mut column = 1;
        for piece in line.split(',') {
            let trimmed = piece.trim();
            if !trimmed.is_empty() {
                let offset = piece.len() - piece.trim_start().len();
                items.push(Token {
                    text: trimmed,
                    line: line_no,
                    column: column + offset,
                });
            }
            column += piece.len() + 1;
        }
    }
    let mut tokens = Tokens {
        name,
        items,
        next: 0,
        end_line,
    };

    let num_layers = tokens.count("the number of layers")?;
    let num_inputs = tokens.count("the input size")?;
    let num_outputs = tokens.count("the output size")?;
    let _max_layer = tokens.count("the largest layer size")?;
    if num_layers == 0 || num_layers > tokens.remaining() {
        return Err(ParseError::at(
            name,
            tokens.items[0].line,
            tokens.items[0].column,
            format!("{num_layers} layers is not possible in a file of this size"),
        ));
    }
    let mut sizes = Vec::with_capacity(num_layers + 1);
    for l in 0..=num_layers {
        sizes.push(tokens.count(&format!("the size of layer {l}"))?);
    }
    if sizes[0] != num_inputs || sizes[num_layers] != num_outputs {
        return Err(ParseError::whole(
            name,
            format!(
                "layer sizes {sizes:?} do not start with the input size {num_inputs} and end with the output size {num_outputs}"
            ),
        ));
    }
    // Refuse sizes the file cannot hold before allocating anything for them.
    let needed: u128 = sizes
        .windows(2)
        .map(|w| (w[0] as u128 + 1) * w[1] as u128)
        .sum::<u128>()
        + 4 * num_inputs as u128
        + 3;
    if needed > tokens.remaining() as u128 {
        return Err(ParseError::whole(
            name,
            format!(
                "layer sizes {sizes:?} need {needed} more numbers but the file has {}",
                tokens.remaining()
            ),
        ));
    }
    let _symmetric = tokens.number("the (unused) symmetric flag")?;
    let mins: Vec<f64> = (0..num_inputs)
        .map(|i| tokens.number(&format!("the minimum of input {i}")))
        .collect::<Result<_, _>>()?;
    let maxs: Vec<f64> = (0..num_inputs)
        .map(|i| tokens.number(&format!("the maximum of input {i}")))
        .collect::<Result<_, _>>()?;
    let means: Vec<f64> = (0..=num_inputs)
        .map(|i| tokens.number(&format!("mean {i}")))
        .collect::<Result<_, _>>()?;
    let ranges: Vec<f64> = (0..=num_inputs)
        .map(|i| tokens.number(&format!("range {i}")))
        .collect::<Result<_, _>>()?;

    let activations = match extension.activations.take() {
        Some(a) if a.len() == num_layers => a,
        Some(a) => {
            return Err(ParseError::whole(
                name,
                format!(
                    "birdnn comment lists {} activations for {num_layers} layers",
                    a.len()
                ),
            ))
        }
        None => (0..num_layers)
            .map(|l| {
                if l + 1 == num_layers {
                    Activation::Identity
                } else {
                    Activation::Relu
                }
            })
            .collect(),
    };

    let mut layers = Vec::with_capacity(num_layers);
    for l in 0..num_layers {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        let mut rows = Vec::with_capacity(n_out);
        for o in 0..n_out {
            let row: Vec<f32> = (0..n_in)
                .map(|i| tokens.float(&format!("weight {o},{i} of layer {}", l + 1)))
                .collect::<Result<_, _>>()?;
            rows.push(row);
        }
        let bias: Vec<f32> = (0..n_out)
            .map(|o| tokens.float(&format!("bias {o} of layer {}", l + 1)))
            .collect::<Result<_, _>>()?;
        let layer = if n_in == 0 {
            DenseLayer::new(0, n_out, Vec::new(), bias, activations[l])
        } else {
            DenseLayer::from_output_rows(&rows, bias, activations[l])
        };
        layers.push(layer.map_err(|e| ParseError::invalid_network(name, e))?);
    }
    if let Some(extra) = tokens.items.get(tokens.next) {
        return Err(ParseError::at(
            name,
            extra.line,
            extra.column,
            format!("unexpected value '{}' after the last bias", extra.text),
        ));
    }

    let meta = build_meta(
        num_inputs,
        num_outputs,
        &sizes,
        &mins,
        &maxs,
        &means,
        &ranges,
        extension,
    );
    Network::new(layers, meta).map_err(|e| ParseError::invalid_network(name, e))
}

#[allow(clippy::too_many_arguments)]
fn build_meta(
    num_inputs: usize,
    num_outputs: usize,
    sizes: &[usize],
    mins: &[f64],
    maxs: &[f64],
    means: &[f64],
    ranges: &[f64],
    extension: Extension,
) -> NetworkMeta {
    // An ACAS Xu network is recognised by its shape and normalisation; it then gets the
    // benchmark's input names, units, advisories and argmin rule.
    let acas = NetworkMeta::acas_xu();
    let is_acas = sizes == [5, 50, 50, 50, 50, 50, 50, 5]
        && acas
            .inputs
            .iter()
            .zip(means)
            .all(|(spec, &m)| (spec.mean - m).abs() < 1e-6 * spec.mean.abs().max(1.0));
    let mut meta = if is_acas {
        acas
    } else {
        NetworkMeta::generic(num_inputs, num_outputs)
    };
    for (i, spec) in meta.inputs.iter_mut().enumerate() {
        *spec = InputSpec {
            name: std::mem::take(&mut spec.name),
            unit: std::mem::take(&mut spec.unit),
            min: mins[i],
            max: maxs[i],
            mean: means[i],
            range: ranges[i],
        };
    }
    meta.output_scaling = OutputScaling {
        mean: means[num_inputs],
        range: ranges[num_inputs],
    };
    if let Some(names) = extension.input_names.filter(|n| n.len() == num_inputs) {
        for (spec, n) in meta.inputs.iter_mut().zip(names) {
            spec.name = n;
        }
    }
    if let Some(units) = extension.input_units.filter(|n| n.len() == num_inputs) {
        for (spec, u) in meta.inputs.iter_mut().zip(units) {
            spec.unit = u;
        }
    }
    if let Some(names) = extension.output_names.filter(|n| n.len() == num_outputs) {
        meta.outputs = names;
    }
    if let Some(rule) = extension.decision {
        meta.decision = rule;
    }
    if let Some(name) = extension.name {
        meta.name = name;
    }
    meta
}

/// Whether other `.nnet` readers evaluate this network correctly: ReLU on every hidden layer,
/// identity on the last.
pub fn is_standard(net: &Network) -> bool {
    let n = net.layers().len();
    net.layers().iter().enumerate().all(|(l, layer)| {
        layer.activation()
            == if l + 1 == n {
                Activation::Identity
            } else {
                Activation::Relu
            }
    })
}

/// Writes a network as `.nnet`. Numbers are written in their shortest round-tripping form,
/// so reading the file back gives the identical network.
pub fn write(net: &Network) -> String {
    let meta = net.meta();
    let widths = net.widths();
    let scaling = meta.output_scaling;
    let extension = Extension {
        activations: Some(net.layers().iter().map(DenseLayer::activation).collect()),
        input_names: Some(meta.inputs.iter().map(|s| s.name.clone()).collect()),
        input_units: Some(meta.inputs.iter().map(|s| s.unit.clone()).collect()),
        output_names: Some(meta.outputs.clone()),
        decision: Some(meta.decision),
        name: (!meta.name.is_empty()).then(|| meta.name.clone()),
    };
    let mut lines = vec![format!(
        "// Neural network written by birdnn {}",
        env!("CARGO_PKG_VERSION")
    )];
    if !is_standard(net) {
        lines.push(
            "// Warning: not all hidden layers are ReLU; readers other than birdnn will evaluate this network wrongly."
                .into(),
        );
    }
    lines.push(format!(
        "{BIRDNN_COMMENT} {}",
        serde_json::to_string(&extension).expect("serialisable")
    ));
    let max_width = widths.iter().copied().max().unwrap_or(0);
    lines.push(format!(
        "{},{},{},{},",
        net.layers().len(),
        net.input_size(),
        net.output_size(),
        max_width
    ));
    lines.push(values_line(&widths));
    lines.push("0,".into());
    lines.push(values_line(
        &meta.inputs.iter().map(|s| s.min).collect::<Vec<_>>(),
    ));
    lines.push(values_line(
        &meta.inputs.iter().map(|s| s.max).collect::<Vec<_>>(),
    ));
    let means: Vec<f64> = meta
        .inputs
        .iter()
        .map(|s| s.mean)
        .chain([scaling.mean])
        .collect();
    lines.push(values_line(&means));
    let ranges: Vec<f64> = meta
        .inputs
        .iter()
        .map(|s| s.range)
        .chain([scaling.range])
        .collect();
    lines.push(values_line(&ranges));
    for layer in net.layers() {
        for row in layer.output_rows() {
            lines.push(values_line(&row));
        }
        for b in layer.bias() {
            lines.push(format!("{b},"));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `a,b,c,` (the format's trailing comma included).
fn values_line<T: std::fmt::Display>(values: &[T]) -> String {
    let mut s = String::new();
    for v in values {
        write!(s, "{v},").expect("writing to a String");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_activation_exactly() {
        for act in Activation::ALL {
            let mut net = Network::random(&[3, 6, 4, 2], act, 11).unwrap();
            net.set_decision(DecisionRule::Argmin);
            let text = write(&net);
            let back = read("t.nnet", &text).unwrap();
            assert_eq!(back.layers(), net.layers(), "{act}");
            assert_eq!(back.meta(), net.meta(), "{act}");
        }
    }

    #[test]
    fn errors_point_at_the_bad_value() {
        let net = Network::random(&[2, 3, 1], Activation::Relu, 1).unwrap();
        let text = write(&net);
        let bad = text.replacen("0,\n", "0,\nabc,", 1);
        let e = read("t.nnet", &bad).unwrap_err();
        assert!(e.to_string().contains("found 'abc'"), "{e}");
        let truncated = text.trim_end().rsplit_once('\n').unwrap().0;
        let e = read("t.nnet", truncated).unwrap_err();
        assert!(
            e.to_string().contains("file ends early") || e.to_string().contains("need"),
            "{e}"
        );
        let e = read("t.nnet", "2,2,2,2,\n2,99999999,2,\n").unwrap_err();
        assert!(e.to_string().contains("need"), "{e}");
    }
}
