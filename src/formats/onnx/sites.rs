//! Where a named tensor of an ONNX graph sits in the chain of dense layers birdnn reads
//! from it, so that a query can constrain it (VNN-LIB 2.0's hidden nodes): a layer's values
//! before or after its activation, the input, or, for a tensor in the middle of a folded
//! affine map (a MatMul's output before its bias is added), that map applied to the values
//! entering a layer.

use super::affine::PendingAffine;
use crate::network::ForwardTrace;
use crate::tensor::BatchRows;
use crate::verify::bounds::{Interval, LayerBounds};

/// A graph tensor's place in the network read from the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorSite {
    /// The network's input.
    Input,
    /// Layer `k`'s values before its activation.
    Pre(usize),
    /// Layer `k`'s values after its activation.
    Post(usize),
    /// `v W + b` of the values `v` entering layer `layer` (the input when it is 0).
    Affine {
        /// The layer whose entering values the map reads.
        layer: usize,
        /// `inputs x outputs`, row-major.
        weights: Vec<f64>,
        /// One per output.
        bias: Vec<f64>,
    },
}

/// Relative widening of bounds computed here in `f64` for values the network computes
/// in `f32` (a folded map's rounding is far below it for the widths birdnn reads).
const ROUNDING_PAD: f64 = 1e-5;

impl TensorSite {
    /// The number of elements, in a network with the given layer widths (`widths[0]`
    /// inputs, then each layer's outputs).
    pub fn width(&self, widths: &[usize]) -> usize {
        match self {
            TensorSite::Input => widths[0],
            TensorSite::Pre(k) | TensorSite::Post(k) => widths[k + 1],
            TensorSite::Affine { bias, .. } => bias.len(),
        }
    }

    /// Its values for row `row` of a forward trace.
    pub fn values(&self, trace: &ForwardTrace, row: usize) -> Vec<f32> {
        match self {
            TensorSite::Input => trace.post[0].row_slice(row).to_vec(),
            TensorSite::Pre(k) => trace.pre[*k].row_slice(row).to_vec(),
            TensorSite::Post(k) => trace.post[k + 1].row_slice(row).to_vec(),
            TensorSite::Affine {
                layer,
                weights,
                bias,
            } => {
                let entering = trace.post[*layer].row_slice(row);
                let n = bias.len();
                (0..n)
                    .map(|o| {
                        let sum: f64 = entering
                            .iter()
                            .enumerate()
                            .map(|(i, &v)| v as f64 * weights[i * n + o])
                            .sum();
                        (sum + bias[o]) as f32
                    })
                    .collect()
            }
        }
    }

    /// Bounds of its values over the input box `input` whose layer bounds are `layers`.
    pub fn bounds(&self, input: &Interval, layers: &LayerBounds) -> Vec<(f64, f64)> {
        let pairs = |iv: &Interval| -> Vec<(f64, f64)> {
            iv.lower
                .iter()
                .copied()
                .zip(iv.upper.iter().copied())
                .collect()
        };
        match self {
            TensorSite::Input => pairs(input),
            TensorSite::Pre(k) => pairs(&layers.pre[*k]),
            TensorSite::Post(k) => pairs(&layers.post[*k]),
            TensorSite::Affine {
                layer,
                weights,
                bias,
            } => {
                let entering = if *layer == 0 {
                    input
                } else {
                    &layers.post[layer - 1]
                };
                let n = bias.len();
                (0..n)
                    .map(|o| {
                        let (mut low, mut high, mut size) = (bias[o], bias[o], bias[o].abs());
                        for (i, (&l, &u)) in entering.lower.iter().zip(&entering.upper).enumerate()
                        {
                            let w = weights[i * n + o];
                            let (a, b) = (w * l, w * u);
                            low += a.min(b);
                            high += a.max(b);
                            size += a.abs().max(b.abs());
                        }
                        let pad = ROUNDING_PAD * (size + 1.0);
                        (low - pad, high + pad)
                    })
                    .collect()
            }
        }
    }
}

/// The affine map folded so far, as it stood when a wanted tensor was produced.
pub(super) struct Snapshot {
    pub(super) name: String,
    /// Layers complete at that point.
    pub(super) layers_done: usize,
    pub(super) affine: PendingAffine,
}

/// Where the tensor of `snapshot` sits, given the folded map behind every layer.
pub(super) fn site_of(
    snapshot: &Snapshot,
    layer_maps: &[(Option<Vec<f64>>, Vec<f64>)],
) -> TensorSite {
    let k = snapshot.layers_done;
    let affine = &snapshot.affine;
    if affine.is_identity() {
        return if k == 0 {
            TensorSite::Input
        } else {
            TensorSite::Post(k - 1)
        };
    }
    if let Some((weights, bias)) = layer_maps.get(k) {
        if *weights == affine.weights && *bias == affine.bias {
            return TensorSite::Pre(k);
        }
    }
    TensorSite::Affine {
        layer: k,
        weights: affine.materialised(),
        bias: affine.bias.clone(),
    }
}
