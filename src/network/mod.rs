//! Dense feed-forward networks: the model every format loads into and every repair edits.
//!
//! A [`Network`] is a chain of [`DenseLayer`]s, each `y = act(x W + b)` with `W` stored
//! `inputs x outputs` row-major. It computes batched forward passes, forward passes that keep
//! every layer's activations (fault localisation needs them), and gradients of a scalar loss
//! with respect to the inputs and all parameters (retraining and the falsifier need them).
//! It never does I/O.
//!
//! Batches are [`ndarray`] arrays: **one input per row, one feature per column**, and the
//! outputs come back the same way (`batch x outputs`). Any array, view or layout is accepted;
//! results are computed in a fixed order and are bit-identical on every platform.
//!
//! ```
//! use birdnn::network::{Activation, DenseLayer, Network, NetworkMeta};
//! use birdnn::tensor::ndarray::{array, s, ShapeBuilder};
//! // One layer: 2 inputs -> 1 output, y = relu(x0 - x1 + 0.5).
//! let layer = DenseLayer::new(2, 1, vec![1.0, -1.0], vec![0.5], Activation::Relu).unwrap();
//! let net = Network::new(vec![layer], NetworkMeta::generic(2, 1)).unwrap();
//! let batch = array![[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]]; // 3 inputs of 2 numbers
//! let out = net.forward(&batch).unwrap();
//! assert_eq!(out.dim(), (3, 1)); // 3 inputs x 1 output
//! assert_eq!(out, array![[1.5], [0.0], [2.5]]);
//! // Views and column-major arrays give the same rows.
//! assert_eq!(net.forward(&batch.slice(s![1.., ..])).unwrap(), array![[0.0], [2.5]]);
//! let mut columns = birdnn::tensor::Array2::zeros((3, 2).f());
//! columns.assign(&batch);
//! assert_eq!(net.forward(&columns).unwrap(), out);
//! // A batch of the wrong width is an error naming both shapes.
//! let err = net.forward(&array![[1.0, 2.0, 3.0]]).unwrap_err();
//! assert_eq!(err.to_string(), "a batch of shape 1x3 does not fit: the network takes 1x2 (one input of 2 numbers per row)");
//! ```

mod activation;
mod metadata;

pub use activation::Activation;
pub use metadata::{DecisionRule, InputSpec, NetworkMeta, OutputScaling};

use crate::tensor::{
    affine_batch, to_standard, Array2, ArrayRef2, BatchGrow, BatchRows, BatchRowsMut,
};
use serde::{Deserialize, Serialize};

/// Why a network cannot be built or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// A layer's weight or bias buffer has the wrong length.
    #[error("layer {layer}: {what} has {got} numbers, expected {expected}")]
    BufferLength {
        /// Layer index.
        layer: usize,
        /// "weights" or "bias".
        what: &'static str,
        /// Length found.
        got: usize,
        /// Length required by the layer's shape.
        expected: usize,
    },
    /// Consecutive layers do not fit together.
    #[error("layer {layer} takes {expected} inputs but the previous layer gives {got}")]
    LayerMismatch {
        /// Index of the layer whose input width is wrong.
        layer: usize,
        /// Its input width.
        expected: usize,
        /// The previous layer's output width.
        got: usize,
    },
    /// A weight, bias or activation parameter is NaN or infinite.
    #[error("layer {layer}: {what} contains a non-finite value ({value})")]
    NonFinite {
        /// Layer index.
        layer: usize,
        /// Which buffer.
        what: &'static str,
        /// The offending value.
        value: f32,
    },
    /// The network has no layer.
    #[error("a network needs at least one layer")]
    Empty,
    /// Metadata does not match the layers.
    #[error("metadata: {0}")]
    Metadata(String),
    /// An input batch has the wrong width.
    #[error("a batch of shape {rows}x{got} does not fit: the network takes {rows}x{expected} (one input of {expected} numbers per row)")]
    InputWidth {
        /// Rows of the batch given.
        rows: usize,
        /// The network's input count.
        expected: usize,
        /// The width given.
        got: usize,
    },
}

/// One dense layer: `y = activation(x W + b)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseLayer {
    inputs: usize,
    outputs: usize,
    /// `inputs x outputs`, row-major: the weight from input `i` to output `o` is
    /// `weights[i * outputs + o]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

impl DenseLayer {
    /// Builds a layer from weights stored `inputs x outputs` row-major.
    pub fn new(
        inputs: usize,
        outputs: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    ) -> Result<Self, NetworkError> {
        let layer = DenseLayer {
            inputs,
            outputs,
            weights,
            bias,
            activation,
        };
        layer.validate(0)?;
        Ok(layer)
    }

    /// Builds a layer from weights stored one row per *output* neuron (the `.nnet` and
    /// PyTorch layout): `rows[o][i]`.
    pub fn from_output_rows(
        rows: &[Vec<f32>],
        bias: Vec<f32>,
        activation: Activation,
    ) -> Result<Self, NetworkError> {
        let outputs = rows.len();
        let inputs = rows.first().map_or(0, Vec::len);
        let mut weights = vec![0.0; inputs * outputs];
        for (o, row) in rows.iter().enumerate() {
            if row.len() != inputs {
                return Err(NetworkError::BufferLength {
                    layer: 0,
                    what: "weights",
                    got: row.len(),
                    expected: inputs,
                });
            }
            for (i, &w) in row.iter().enumerate() {
                weights[i * outputs + o] = w;
            }
        }
        DenseLayer::new(inputs, outputs, weights, bias, activation)
    }

    fn validate(&self, index: usize) -> Result<(), NetworkError> {
        if self.weights.len() != self.inputs * self.outputs {
            return Err(NetworkError::BufferLength {
                layer: index,
                what: "weights",
                got: self.weights.len(),
                expected: self.inputs * self.outputs,
            });
        }
        if self.bias.len() != self.outputs {
            return Err(NetworkError::BufferLength {
                layer: index,
                what: "bias",
                got: self.bias.len(),
                expected: self.outputs,
            });
        }
        for (what, buf) in [("weights", &self.weights), ("bias", &self.bias)] {
            if let Some(&value) = buf.iter().find(|v| !v.is_finite()) {
                return Err(NetworkError::NonFinite {
                    layer: index,
                    what,
                    value,
                });
            }
        }
        if !self.activation.is_valid() {
            return Err(NetworkError::NonFinite {
                layer: index,
                what: "activation parameter",
                value: f32::NAN,
            });
        }
        Ok(())
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output width (number of neurons).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Weights, `inputs x outputs` row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Weights, mutable (the shape cannot change).
    pub fn weights_mut(&mut self) -> &mut [f32] {
        &mut self.weights
    }

    /// The weight from input `i` to neuron `o`.
    pub fn weight(&self, i: usize, o: usize) -> f32 {
        self.weights[i * self.outputs + o]
    }

    /// Biases, one per neuron.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// Biases, mutable.
    pub fn bias_mut(&mut self) -> &mut [f32] {
        &mut self.bias
    }

    /// The activation after the affine map.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Replaces the activation.
    pub fn set_activation(&mut self, activation: Activation) {
        self.activation = activation;
    }

    /// Weights as one row per output neuron (`.nnet` layout).
    pub fn output_rows(&self) -> Vec<Vec<f32>> {
        (0..self.outputs)
            .map(|o| (0..self.inputs).map(|i| self.weight(i, o)).collect())
            .collect()
    }

    /// Number of weights and biases.
    pub fn parameter_count(&self) -> usize {
        self.weights.len() + self.bias.len()
    }

    fn forward_into(&self, x: &[f32], pre: &mut [f32]) {
        affine_batch(x, &self.weights, &self.bias, self.inputs, self.outputs, pre);
    }
}

/// Every layer's values from one batched forward pass.
#[derive(Clone, Debug)]
pub struct ForwardTrace {
    /// `pre[l]`: layer `l`'s values before its activation (`batch x width`).
    pub pre: Vec<Array2<f32>>,
    /// `post[0]` is the input; `post[l + 1]` is layer `l`'s output after its activation.
    pub post: Vec<Array2<f32>>,
}

impl ForwardTrace {
    /// The network's output (`batch x outputs`).
    pub fn output(&self) -> &Array2<f32> {
        self.post.last().expect("a trace holds at least the input")
    }
}

/// Gradient of a scalar loss with respect to one layer's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGradient {
    /// Same layout as [`DenseLayer::weights`].
    pub weights: Vec<f32>,
    /// Same layout as [`DenseLayer::bias`].
    pub bias: Vec<f32>,
}

/// Gradients of a scalar loss with respect to the inputs and every parameter.
#[derive(Clone, Debug)]
pub struct Gradients {
    /// `batch x inputs`: d loss / d input.
    pub inputs: Array2<f32>,
    /// One entry per layer, summed over the batch.
    pub layers: Vec<LayerGradient>,
}

/// A dense feed-forward network with its metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    layers: Vec<DenseLayer>,
    meta: NetworkMeta,
}

impl Network {
    /// A network with the given widths (`[inputs, hidden..., outputs]`), `hidden` after
    /// every hidden layer and identity after the last, and He-style random weights drawn
    /// from `seed`: the same seed gives the same network on every platform.
    pub fn random(widths: &[usize], hidden: Activation, seed: u64) -> Result<Self, NetworkError> {
        if widths.len() < 2 {
            return Err(NetworkError::Empty);
        }
        let mut rng = crate::rng::SplitMix64::new(seed);
        let mut layers = Vec::with_capacity(widths.len() - 1);
        for (l, w) in widths.windows(2).enumerate() {
            let scale = (2.0 / w[0].max(1) as f64).sqrt();
            let weights = (0..w[0] * w[1])
                .map(|_| ((rng.next_f64() * 2.0 - 1.0) * scale) as f32)
                .collect();
            let bias = (0..w[1])
                .map(|_| (rng.next_f64() * 0.2 - 0.1) as f32)
                .collect();
            let activation = if l + 2 == widths.len() {
                Activation::Identity
            } else {
                hidden
            };
            layers.push(DenseLayer::new(w[0], w[1], weights, bias, activation)?);
        }
        Network::new(
            layers,
            NetworkMeta::generic(widths[0], widths[widths.len() - 1]),
        )
    }

    /// Checks that the layers chain, hold finite numbers, and that the metadata fits.
    pub fn new(layers: Vec<DenseLayer>, meta: NetworkMeta) -> Result<Self, NetworkError> {
        let net = Network { layers, meta };
        net.validate()?;
        Ok(net)
    }

    /// Re-checks every invariant (useful after editing weights in place).
    pub fn validate(&self) -> Result<(), NetworkError> {
        if self.layers.is_empty() {
            return Err(NetworkError::Empty);
        }
        for (l, layer) in self.layers.iter().enumerate() {
            layer.validate(l)?;
            if l > 0 && layer.inputs != self.layers[l - 1].outputs {
                return Err(NetworkError::LayerMismatch {
                    layer: l,
                    expected: layer.inputs,
                    got: self.layers[l - 1].outputs,
                });
            }
        }
        if self.meta.inputs.len() != self.input_size() {
            return Err(NetworkError::Metadata(format!(
                "{} input descriptions for {} inputs",
                self.meta.inputs.len(),
                self.input_size()
            )));
        }
        if self.meta.outputs.len() != self.output_size() {
            return Err(NetworkError::Metadata(format!(
                "{} output names for {} outputs",
                self.meta.outputs.len(),
                self.output_size()
            )));
        }
        for spec in &self.meta.inputs {
            let numbers = [spec.min, spec.max, spec.mean, spec.range];
            if numbers.iter().any(|v| !v.is_finite()) || spec.range == 0.0 {
                return Err(NetworkError::Metadata(format!(
                    "input '{}' has a non-finite bound or normalisation, or range 0",
                    spec.name
                )));
            }
            if spec.min > spec.max {
                return Err(NetworkError::Metadata(format!(
                    "input '{}' has min {} > max {}",
                    spec.name, spec.min, spec.max
                )));
            }
        }
        let scaling = self.meta.output_scaling;
        if !scaling.mean.is_finite() || !scaling.range.is_finite() || scaling.range == 0.0 {
            return Err(NetworkError::Metadata(
                "output scaling must be finite with a non-zero range".into(),
            ));
        }
        Ok(())
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[DenseLayer] {
        &self.layers
    }

    /// Mutable layers (their shapes cannot change; call [`Network::validate`] after edits
    /// that might introduce non-finite numbers).
    pub fn layers_mut(&mut self) -> &mut [DenseLayer] {
        &mut self.layers
    }

    /// Metadata.
    pub fn meta(&self) -> &NetworkMeta {
        &self.meta
    }

    /// Replaces the metadata; fails when it does not fit the layers.
    pub fn set_meta(&mut self, meta: NetworkMeta) -> Result<(), NetworkError> {
        let old = std::mem::replace(&mut self.meta, meta);
        if let Err(e) = self.validate() {
            self.meta = old;
            return Err(e);
        }
        Ok(())
    }

    /// Changes only the decision rule.
    pub fn set_decision(&mut self, rule: DecisionRule) {
        self.meta.decision = rule;
    }

    /// Number of inputs.
    pub fn input_size(&self) -> usize {
        self.layers[0].inputs
    }

    /// Number of outputs.
    pub fn output_size(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// Widths from input to output, e.g. `[5, 50, 50, 5]`.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.input_size())
            .chain(self.layers.iter().map(|l| l.outputs))
            .collect()
    }

    /// Total number of weights and biases.
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(DenseLayer::parameter_count).sum()
    }

    /// Adds `scale * step` to every parameter (`step` laid out as [`Network::backward`]'s
    /// layer gradients). Used by gradient descent.
    pub fn add_scaled(&mut self, step: &[LayerGradient], scale: f32) {
        for (layer, g) in self.layers.iter_mut().zip(step) {
            for (w, d) in layer.weights.iter_mut().zip(&g.weights) {
                *w += scale * d;
            }
            for (b, d) in layer.bias.iter_mut().zip(&g.bias) {
                *b += scale * d;
            }
        }
    }

    /// Every parameter in one vector: layer by layer, weights then biases.
    pub fn parameters(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.parameter_count());
        for layer in &self.layers {
            out.extend_from_slice(&layer.weights);
            out.extend_from_slice(&layer.bias);
        }
        out
    }

    fn check_width(&self, inputs: &ArrayRef2<f32>) -> Result<(), NetworkError> {
        if inputs.ncols() != self.input_size() {
            return Err(NetworkError::InputWidth {
                rows: inputs.nrows(),
                expected: self.input_size(),
                got: inputs.ncols(),
            });
        }
        Ok(())
    }

    /// Outputs for a batch of inputs (one per row), in network units.
    pub fn forward(&self, inputs: &ArrayRef2<f32>) -> Result<Array2<f32>, NetworkError> {
        let inputs = &*crate::tensor::standard(inputs);
        self.check_width(inputs)?;
        self.forward_from(0, inputs)
    }

    /// Output for one input.
    pub fn forward_one(&self, input: &[f32]) -> Result<Vec<f32>, NetworkError> {
        let batch = crate::tensor::from_vec(1, input.len(), input.to_vec()).expect("one row");
        Ok(self.forward(&batch)?.into_flat_vec())
    }

    /// Runs layers `first..` on the given values (the input of layer `first`, e.g. a cached
    /// `trace.post[first]`). `forward_from(0, x)` is `forward(x)`.
    pub fn forward_from(
        &self,
        first: usize,
        values: &ArrayRef2<f32>,
    ) -> Result<Array2<f32>, NetworkError> {
        let values = &*crate::tensor::standard(values);
        let expected = self.layers.get(first).map_or(0, |l| l.inputs);
        if values.ncols() != expected {
            return Err(NetworkError::InputWidth {
                rows: values.nrows(),
                expected,
                got: values.ncols(),
            });
        }
        let batch = values.nrows();
        let mut current = to_standard(values);
        for layer in &self.layers[first..] {
            let mut next = Array2::zeros((batch, layer.outputs));
            layer.forward_into(current.flat(), next.flat_mut());
            layer.activation.apply_slice(next.flat_mut());
            current = next;
        }
        Ok(current)
    }

    /// Forward pass that keeps every layer's values before and after its activation.
    pub fn forward_trace(&self, inputs: &ArrayRef2<f32>) -> Result<ForwardTrace, NetworkError> {
        let inputs = &*crate::tensor::standard(inputs);
        self.check_width(inputs)?;
        let batch = inputs.nrows();
        let mut pre = Vec::with_capacity(self.layers.len());
        let mut post = Vec::with_capacity(self.layers.len() + 1);
        post.push(to_standard(inputs));
        for layer in &self.layers {
            let mut z = Array2::zeros((batch, layer.outputs));
            layer.forward_into(post.last().expect("input").flat(), z.flat_mut());
            let mut a = z.clone();
            layer.activation.apply_slice(a.flat_mut());
            pre.push(z);
            post.push(a);
        }
        Ok(ForwardTrace { pre, post })
    }

    /// Decisions (winning output index) for a batch.
    pub fn decisions(&self, inputs: &ArrayRef2<f32>) -> Result<Vec<usize>, NetworkError> {
        let inputs = &*crate::tensor::standard(inputs);
        let out = self.forward(inputs)?;
        Ok(self.decisions_of_outputs(&out))
    }

    /// Decisions for outputs already computed.
    pub fn decisions_of_outputs(&self, outputs: &ArrayRef2<f32>) -> Vec<usize> {
        let outputs = &*crate::tensor::standard(outputs);
        outputs
            .row_slices()
            .map(|y| self.meta.decision.decide(y).unwrap_or(0))
            .collect()
    }

    /// A zero gradient for every layer (the shape of this network's parameters): where
    /// gradients are summed, and optimisers' moments start.
    pub fn zero_gradients(&self) -> Vec<LayerGradient> {
        self.layers
            .iter()
            .map(|l| LayerGradient {
                weights: vec![0.0; l.weights.len()],
                bias: vec![0.0; l.bias.len()],
            })
            .collect()
    }

    /// Gradient of a scalar loss with respect to the inputs and every parameter, given the
    /// trace of the forward pass and `d loss / d output` (`batch x outputs`). Parameter
    /// gradients are summed over the batch.
    pub fn backward(&self, trace: &ForwardTrace, d_output: &ArrayRef2<f32>) -> Gradients {
        let d_output = &*crate::tensor::standard(d_output);
        let mut layers = self.zero_gradients();
        let inputs = self.backpropagate(trace, d_output, Some(&mut layers), 0.0, true);
        Gradients { inputs, layers }
    }

    /// Like [`Network::backward`] without the input gradient, which training never needs
    /// and which, through a wide first layer, costs as much as all the rest.
    pub fn parameter_gradients(
        &self,
        trace: &ForwardTrace,
        d_output: &ArrayRef2<f32>,
    ) -> Vec<LayerGradient> {
        let d_output = &*crate::tensor::standard(d_output);
        let mut layers = self.zero_gradients();
        self.backpropagate(trace, d_output, Some(&mut layers), 0.0, false);
        layers
    }

    /// Gradient of a scalar loss with respect to the inputs only (cheaper than
    /// [`Network::backward`]; the falsifier needs nothing else).
    pub fn input_gradient(&self, trace: &ForwardTrace, d_output: &ArrayRef2<f32>) -> Array2<f32> {
        let d_output = &*crate::tensor::standard(d_output);
        self.backpropagate(trace, d_output, None, 0.0, true)
    }

    /// A search direction rather than a gradient: like [`Network::input_gradient`], but
    /// switched-off ReLUs pass `leak` times the signal back instead of nothing. Where a whole
    /// layer is off, the true gradient is zero and a search has no direction; the leak points
    /// towards inputs that switch neurons back on (a "surrogate gradient").
    pub fn surrogate_input_gradient(
        &self,
        trace: &ForwardTrace,
        d_output: &ArrayRef2<f32>,
        leak: f32,
    ) -> Array2<f32> {
        let d_output = &*crate::tensor::standard(d_output);
        self.backpropagate(trace, d_output, None, leak, true)
    }

    fn backpropagate(
        &self,
        trace: &ForwardTrace,
        d_output: &ArrayRef2<f32>,
        mut parameter_grads: Option<&mut Vec<LayerGradient>>,
        relu_leak: f32,
        want_input_gradient: bool,
    ) -> Array2<f32> {
        let batch = d_output.nrows();
        let mut delta = to_standard(d_output);
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let (n_in, n_out) = (layer.inputs, layer.outputs);
            // delta := d loss / d pre-activation of layer l.
            let pre = trace.pre[l].flat();
            let post = trace.post[l + 1].flat();
            if layer.activation != Activation::Identity {
                let floor = match layer.activation {
                    Activation::Relu | Activation::LeakyRelu { .. } => relu_leak,
                    _ => 0.0,
                };
                for ((d, &z), &a) in delta.flat_mut().iter_mut().zip(pre).zip(post) {
                    *d *= layer.activation.derivative(z, a).max(floor);
                }
            }
            let x = trace.post[l].flat();
            if let Some(grads) = parameter_grads.as_deref_mut() {
                let g = &mut grads[l];
                for b in 0..batch {
                    let d_row = delta.row_slice(b);
                    for (gb, &d) in g.bias.iter_mut().zip(d_row) {
                        *gb += d;
                    }
                    for (i, &xi) in x[b * n_in..(b + 1) * n_in].iter().enumerate() {
                        if xi == 0.0 {
                            continue;
                        }
                        let g_row = &mut g.weights[i * n_out..(i + 1) * n_out];
                        for (gw, &d) in g_row.iter_mut().zip(d_row) {
                            *gw += xi * d;
                        }
                    }
                }
            }
            if l == 0 && !want_input_gradient {
                return Array2::zeros((batch, 0));
            }
            let mut d_in = Array2::zeros((batch, n_in));
            for b in 0..batch {
                let d_row = delta.row_slice(b);
                if d_row.iter().all(|&d| d == 0.0) {
                    // Nothing flows back (the falsifier zeroes rows it does not need): the
                    // row stays +0, which is also what the sum below would give.
                    continue;
                }
                let out_row = d_in.row_slice_mut(b);
                for (i, o) in out_row.iter_mut().enumerate() {
                    *o = crate::tensor::dot(&layer.weights[i * n_out..(i + 1) * n_out], d_row);
                }
            }
            delta = d_in;
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn loss(net: &Network, x: &ArrayRef2<f32>, coeff: &[f32]) -> f32 {
        // A fixed linear functional of the outputs, summed over the batch.
        let y = net.forward(x).unwrap();
        y.row_slices()
            .map(|r| r.iter().zip(coeff).map(|(a, b)| a * b).sum::<f32>())
            .sum()
    }

    #[test]
    fn column_major_batches_give_the_bits_of_row_major_ones() {
        use ndarray::ShapeBuilder;
        let column_major = |a: &Array2<f32>| {
            let mut c = Array2::zeros(a.raw_dim().f());
            c.assign(a);
            c
        };
        let net = Network::random(&[3, 9, 4], Activation::Relu, 3).unwrap();
        let mut rng = SplitMix64::new(1);
        let x = Array2::from_shape_fn((7, 3), |_| rng.next_f64() as f32 - 0.5);
        let d_out = Array2::from_shape_fn((7, 4), |(r, c)| (r as f32 - c as f32) * 0.25);
        let (xc, dc) = (column_major(&x), column_major(&d_out));
        assert_eq!(net.forward(&xc).unwrap(), net.forward(&x).unwrap());
        assert_eq!(net.decisions(&xc).unwrap(), net.decisions(&x).unwrap());
        let out = net.forward(&x).unwrap();
        assert_eq!(
            net.decisions_of_outputs(&column_major(&out)),
            net.decisions_of_outputs(&out)
        );
        let (trace, trace_c) = (
            net.forward_trace(&x).unwrap(),
            net.forward_trace(&xc).unwrap(),
        );
        assert_eq!(trace_c.post, trace.post);
        let (g, gc) = (net.backward(&trace, &d_out), net.backward(&trace, &dc));
        assert_eq!(gc.inputs, g.inputs);
        assert_eq!(gc.layers, g.layers);
    }

    #[test]
    fn gradients_match_central_differences_for_every_activation() {
        for act in Activation::ALL {
            let mut net = Network::random(&[3, 7, 6, 2], act, 7).unwrap();
            let x = crate::tensor::from_rows(&[[0.3f32, -0.2, 0.5], [-0.6, 0.1, 0.05]]).unwrap();
            let coeff = [0.7f32, -1.3];
            let trace = net.forward_trace(&x).unwrap();
            let d_out = crate::tensor::from_rows(&[coeff, coeff]).unwrap();
            let g = net.backward(&trace, &d_out);
            let h = 1e-2f32;
            // Input gradient.
            for b in 0..2 {
                for i in 0..3 {
                    let mut xp = x.clone();
                    xp.row_slice_mut(b)[i] += h;
                    let mut xm = x.clone();
                    xm.row_slice_mut(b)[i] -= h;
                    let numeric = (loss(&net, &xp, &coeff) - loss(&net, &xm, &coeff)) / (2.0 * h);
                    let analytic = g.inputs.row_slice(b)[i];
                    assert!(
                        (numeric - analytic).abs() < 2e-2 * (1.0 + numeric.abs()),
                        "{act}: d/dx[{b}][{i}] numeric {numeric} analytic {analytic}"
                    );
                }
            }
            // A few parameter gradients in every layer.
            for l in 0..net.layers().len() {
                for k in [0usize, 3, 5] {
                    let k = k % net.layers()[l].weights().len();
                    let orig = net.layers()[l].weights()[k];
                    net.layers_mut()[l].weights_mut()[k] = orig + h;
                    let up = loss(&net, &x, &coeff);
                    net.layers_mut()[l].weights_mut()[k] = orig - h;
                    let down = loss(&net, &x, &coeff);
                    net.layers_mut()[l].weights_mut()[k] = orig;
                    let numeric = (up - down) / (2.0 * h);
                    let analytic = g.layers[l].weights[k];
                    assert!(
                        (numeric - analytic).abs() < 2e-2 * (1.0 + numeric.abs()),
                        "{act}: layer {l} weight {k}: numeric {numeric} analytic {analytic}"
                    );
                }
                let orig = net.layers()[l].bias()[0];
                net.layers_mut()[l].bias_mut()[0] = orig + h;
                let up = loss(&net, &x, &coeff);
                net.layers_mut()[l].bias_mut()[0] = orig - h;
                let down = loss(&net, &x, &coeff);
                net.layers_mut()[l].bias_mut()[0] = orig;
                let numeric = (up - down) / (2.0 * h);
                assert!(
                    (numeric - g.layers[l].bias[0]).abs() < 2e-2 * (1.0 + numeric.abs()),
                    "{act}: layer {l} bias: numeric {numeric} analytic {}",
                    g.layers[l].bias[0]
                );
            }
        }
    }

    #[test]
    fn trace_agrees_with_forward_and_batches_agree_with_single_rows() {
        let net = Network::random(&[4, 9, 9, 3], Activation::Tanh, 3).unwrap();
        let mut rng = SplitMix64::new(5);
        let rows: Vec<Vec<f32>> = (0..17)
            .map(|_| (0..4).map(|_| rng.next_f64() as f32).collect())
            .collect();
        let x = crate::tensor::from_rows(&rows).unwrap();
        let y = net.forward(&x).unwrap();
        assert_eq!(net.forward_trace(&x).unwrap().output(), &y);
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(net.forward_one(row).unwrap(), y.row_slice(r));
        }
    }

    #[test]
    fn bad_shapes_and_values_are_errors_not_panics() {
        assert!(matches!(
            DenseLayer::new(2, 2, vec![1.0; 3], vec![0.0; 2], Activation::Relu),
            Err(NetworkError::BufferLength {
                what: "weights",
                ..
            })
        ));
        assert!(matches!(
            DenseLayer::new(1, 1, vec![f32::NAN], vec![0.0], Activation::Relu),
            Err(NetworkError::NonFinite { .. })
        ));
        let a = DenseLayer::new(2, 3, vec![0.0; 6], vec![0.0; 3], Activation::Relu).unwrap();
        let b = DenseLayer::new(4, 1, vec![0.0; 4], vec![0.0], Activation::Relu).unwrap();
        assert!(matches!(
            Network::new(vec![a.clone(), b], NetworkMeta::generic(2, 1)),
            Err(NetworkError::LayerMismatch { layer: 1, .. })
        ));
        let net = Network::new(vec![a], NetworkMeta::generic(2, 3)).unwrap();
        assert!(matches!(
            net.forward(&Array2::zeros((4, 5))),
            Err(NetworkError::InputWidth {
                rows: 4,
                expected: 2,
                got: 5
            })
        ));
        assert!(Network::new(vec![], NetworkMeta::generic(0, 0)).is_err());
    }
}
