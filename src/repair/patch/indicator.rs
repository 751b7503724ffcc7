//! The indicator neurons of a region patch, built from whatever activation each hidden
//! layer applies: 1 (up to a constant scale) inside a box, exactly 0 a band's width outside.
//!
//! The indicator needs a way to compute "exactly zero" in `f32`, which each activation gives
//! differently:
//! - ReLU is exactly 0 for every input at or below 0;
//! - tanh, sigmoid and ELU saturate: in `f32` they return exactly -1, 0 and `-alpha` below
//!   -9.02, -103.98 and -17.33 (the `deep` values below leave a margin), so a comparison
//!   scaled to be far below that inside the box is exactly constant there, and the second
//!   layer's AND is exactly constant outside;
//! - leaky ReLU saturates nowhere, but `leaky(t) + alpha * leaky(-t)` is `(1 - alpha^2)
//!   relu(t)` and, for `t <= 0`, the two products `alpha * t` and `alpha * -t` cancel
//!   exactly: a pair of neurons plays one ReLU.
//!
//! A carried value that is exactly `c` outside is shifted by `-c` in the next layer's
//! pre-activation; `K * c - K * c` is exactly 0 in `f32`, and every activation but the
//! sigmoid maps 0 to 0 (the sigmoid is shifted far below instead). So from the third hidden
//! layer on the indicator is exactly 0 outside, and the output layer adds nothing there:
//! outputs past the band are bit-identical to the start's. With only two hidden layers and
//! an activation whose floor is not 0 (tanh, ELU) or a leaky ReLU pair, the output layer
//! itself subtracts the floor, which leaves a rounding-sized difference outside.

use crate::network::{Activation, DenseLayer, Network};
use crate::repair::RepairError;

use super::PatchedBox;

/// How a hidden layer's activation makes the indicator's neurons.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Gate {
    /// One neuron per value: pre-activations at or below `-deep` give exactly `low`, and
    /// `on` is the pre-activation used for "inside" (where the activation is 1, or its
    /// identity part).
    Saturating { low: f64, deep: f64, on: f64 },
    /// Leaky ReLU: a pair of neurons `leaky(t)` and `leaky(-t)`, weighted 1 and `alpha`.
    Pair { alpha: f32 },
    /// No activation: carries a value on, makes no comparison.
    Linear,
}

impl Gate {
    /// The gate of an activation, or `None` where the indicator cannot use it.
    pub(super) fn of(activation: Activation) -> Option<Gate> {
        match activation {
            Activation::Relu => Some(Gate::Saturating {
                low: 0.0,
                deep: 0.0,
                on: 1.0,
            }),
            Activation::Tanh => Some(Gate::Saturating {
                low: -1.0,
                deep: 10.0,
                on: 11.0,
            }),
            Activation::Sigmoid => Some(Gate::Saturating {
                low: 0.0,
                deep: 110.0,
                on: 20.0,
            }),
            Activation::Elu { alpha } if alpha.is_finite() && alpha > 0.0 => {
                Some(Gate::Saturating {
                    low: f64::from(-alpha),
                    deep: 20.0,
                    on: 1.0,
                })
            }
            Activation::LeakyRelu { alpha } if alpha.is_finite() && alpha.abs() < 1.0 => {
                Some(Gate::Pair { alpha })
            }
            Activation::Identity => Some(Gate::Linear),
            _ => None,
        }
    }

    /// Whether the gate can compare (first two hidden layers).
    pub(super) fn compares(self) -> bool {
        self != Gate::Linear
    }

    /// How far below `-deep` a pre-activation is pushed to land exactly on the floor: a
    /// whole unit for the saturating curves (their `f32` rounding is far smaller), nothing
    /// for ReLU-like kinks, where 0 is exact.
    pub(super) fn deep_margin(self) -> f64 {
        match self {
            Gate::Saturating { deep, .. } if deep > 0.0 => deep + 1.0,
            _ => 0.0,
        }
    }

    /// The pre-activation that means "inside".
    fn on(self) -> f64 {
        match self {
            Gate::Saturating { on, .. } => on,
            _ => 1.0,
        }
    }

    /// The scale of the first layer's comparisons: `s` (half the band) beyond the box edge
    /// the pre-activation is `deep + 1` (1 for ReLU-like kinks, whose comparisons are
    /// already `s` away from 0 inside the box).
    pub(super) fn comparison_scale(self, slack: f64) -> f64 {
        match self.deep_margin() {
            m if m > 0.0 => m / slack,
            _ => 1.0,
        }
    }
}

/// One value of the indicator in one layer: `sum of weight * neuron + constant` over that
/// layer's neurons; 0 past the band (exactly, when `constant` is 0 and it is no pair), about
/// `inside` in the box.
struct Signal {
    terms: Vec<(usize, f64)>,
    constant: f64,
    inside: f64,
    pair: bool,
}

/// A new neuron: its incoming weights (index among the previous layer's outputs) and bias.
struct Neuron {
    weights: Vec<(usize, f64)>,
    bias: f64,
}

/// New neurons of one layer, numbered from `first` (after the start's own).
struct Layer {
    first: usize,
    neurons: Vec<Neuron>,
}

impl Layer {
    /// Adds a neuron; returns its index among the layer's outputs.
    fn add(&mut self, weights: Vec<(usize, f64)>, bias: f64) -> usize {
        self.neurons.push(Neuron { weights, bias });
        self.first + self.neurons.len() - 1
    }
}

/// How far above its floor a comparison is at pre-activation `pre` (the value its signal
/// takes), in exact arithmetic.
fn excess_at(gate: Gate, activation: Activation, pre: f64) -> f64 {
    match (gate, activation) {
        (Gate::Pair { alpha }, _) => (1.0 - f64::from(alpha).powi(2)) * pre.max(0.0),
        (_, Activation::Tanh) => pre.tanh() + 1.0,
        (_, Activation::Sigmoid) => 1.0 / (1.0 + (-pre).exp()),
        (_, Activation::Elu { alpha }) => pre.max(0.0) + f64::from(alpha) * pre.min(0.0).exp(),
        _ => pre.max(0.0),
    }
}

/// `scale * signal` as a pre-activation.
fn pre_of(signal: &Signal, scale: f64) -> (Vec<(usize, f64)>, f64) {
    let weights = signal.terms.iter().map(|&(i, w)| (i, scale * w)).collect();
    (weights, scale * signal.constant)
}

/// A pair signal is consumed exactly only by powers of two: `2^k * (alpha * t)` and
/// `(2^k * alpha) * -t` round alike.
fn exact_scale(signal: &Signal, scale: f64) -> f64 {
    if signal.pair {
        2f64.powi(scale.log2().ceil() as i32)
    } else {
        scale
    }
}

/// Emits neurons for the pre-activation `(weights, bias)`, whose value inside is
/// `pre_inside`, under `gate`; past the band the pre-activation is at or below `-deep`
/// (`floor` true) or exactly 0 (a carried value).
fn emit(
    layer: &mut Layer,
    gate: Gate,
    activation: Activation,
    (weights, bias): (Vec<(usize, f64)>, f64),
    pre_inside: f64,
    floor: bool,
) -> Signal {
    let value = |pre: f64| f64::from(activation.apply(pre as f32));
    match gate {
        Gate::Pair { alpha } if floor => {
            let negated = weights.iter().map(|&(i, w)| (i, -w)).collect();
            let p = layer.add(weights, bias);
            let q = layer.add(negated, -bias);
            Signal {
                terms: vec![(p, 1.0), (q, f64::from(alpha))],
                constant: 0.0,
                inside: value(pre_inside) + f64::from(alpha) * value(-pre_inside),
                pair: true,
            }
        }
        Gate::Saturating { low, .. } if floor => {
            let h = layer.add(weights, bias);
            Signal {
                terms: vec![(h, 1.0)],
                constant: -low,
                inside: value(pre_inside) - low,
                pair: false,
            }
        }
        _ => {
            let h = layer.add(weights, bias);
            Signal {
                terms: vec![(h, 1.0)],
                constant: 0.0,
                inside: value(pre_inside),
                pair: false,
            }
        }
    }
}

/// The patched network: the start's neurons first in every layer, each box's indicator
/// neurons after them; returns it with the number of neurons added. `slack` is half the
/// band (at least the comparisons' rounding), `steepness` the least slope of the AND.
pub(super) fn build(
    start: &Network,
    boxes: &[PatchedBox],
    slack: f64,
    steepness: f64,
) -> Result<(Network, usize), RepairError> {
    let layers = start.layers();
    let depth = layers.len();
    let mut out_bias: Vec<f64> = layers[depth - 1]
        .bias()
        .iter()
        .map(|&b| f64::from(b))
        .collect();
    for b in boxes.iter().filter(|b| b.whole_domain) {
        for (v, o) in out_bias.iter_mut().zip(&b.offsets) {
            *v = f64::from((*v + o) as f32);
        }
    }
    let n = start.input_size();
    let mut added: Vec<Layer> = layers[..depth - 1]
        .iter()
        .map(|l| Layer {
            first: l.outputs(),
            neurons: Vec::new(),
        })
        .collect();
    // Per output of the last layer, the extra weights (index among the last hidden
    // layer's outputs) and bias.
    let mut out_weights: Vec<Vec<(usize, f64)>> = vec![Vec::new(); start.output_size()];
    for b in boxes.iter().filter(|b| !b.whole_domain) {
        let act = |l: usize| layers[l].activation();
        let gate = |l: usize| Gate::of(act(l)).filter(|g| l >= 2 || g.compares());
        let (Some(first), Some(second)) = (gate(0), gate(1)) else {
            return Err(RepairError::Setting(
                "the region patch cannot build an indicator from these activations".into(),
            ));
        };
        // Layer 1: two comparisons per input, at most `-deep - 1` inside the box.
        let k1 = first.comparison_scale(slack);
        let mut excess = Vec::with_capacity(2 * n);
        for i in 0..n {
            let (lo, hi) = (b.input_box.lower[i], b.input_box.upper[i]);
            for (w, bias) in [(-k1, k1 * (lo - slack)), (k1, -k1 * (hi + slack))] {
                excess.push(emit(
                    &mut added[0],
                    first,
                    act(0),
                    (vec![(i, w)], bias),
                    -k1 * slack,
                    true,
                ));
            }
        }
        // Past the band one comparison is at least `least_excess` above its floor; the
        // AND `on - K * sum of excesses` must then be below `-deep` of the second layer.
        // ReLU-like kinks take the band's own slope (their AND is exactly `on` inside
        // whatever it is); a saturating floor takes no more than it needs, since inside
        // the box `K * floor` rounds.
        let least_excess = excess_at(first, act(0), k1 * slack);
        let needed = (second.on() + second.deep_margin()) / least_excess;
        let k2 = if first.deep_margin() > 0.0 {
            needed
        } else {
            steepness.max(needed)
        };
        let k2 = exact_scale(&excess[0], k2);
        let mut weights = Vec::new();
        let mut bias = second.on();
        for e in &excess {
            let (w, c) = pre_of(e, -k2);
            weights.extend(w);
            bias += c;
        }
        let mut signal = emit(
            &mut added[1],
            second,
            act(1),
            (weights, bias),
            second.on(),
            true,
        );
        // Later hidden layers carry it on, exactly 0 outside from the first carry.
        for (l, layer) in added.iter_mut().enumerate().skip(2) {
            let gate = Gate::of(act(l)).ok_or_else(|| {
                RepairError::Setting(format!(
                    "the region patch cannot carry its indicator through {:?}",
                    act(l)
                ))
            })?;
            let shift = match act(l) {
                // The sigmoid's 0 is at -infinity: shifted below its exact floor.
                Activation::Sigmoid => -111.0,
                _ => 0.0,
            };
            let scale = exact_scale(&signal, (gate.on() - shift) / signal.inside);
            let (w, c) = pre_of(&signal, scale);
            let pre_inside = scale * signal.inside + shift;
            signal = emit(layer, gate, act(l), (w, c + shift), pre_inside, false);
        }
        for (o, &d) in b.offsets.iter().enumerate() {
            let (w, c) = pre_of(&signal, d / signal.inside);
            out_weights[o].extend(w);
            out_bias[o] += c;
        }
    }
    let mut new_layers = Vec::with_capacity(depth);
    for (l, layer) in layers.iter().enumerate() {
        let extra_in = if l == 0 {
            0
        } else {
            added[l - 1].neurons.len()
        };
        let extra_out = added.get(l).map_or(0, |a| a.neurons.len());
        let (ins, outs) = (layer.inputs(), layer.outputs());
        let (all_in, all_out) = (ins + extra_in, outs + extra_out);
        let mut weights = vec![0.0f32; all_in * all_out];
        for i in 0..ins {
            for o in 0..outs {
                weights[i * all_out + o] = layer.weight(i, o);
            }
        }
        let mut bias = if l + 1 == depth {
            out_bias.iter().map(|&b| b as f32).collect()
        } else {
            layer.bias().to_vec()
        };
        bias.resize(all_out, 0.0);
        if let Some(a) = added.get(l) {
            for (k, neuron) in a.neurons.iter().enumerate() {
                for &(i, w) in &neuron.weights {
                    weights[i * all_out + outs + k] = w as f32;
                }
                bias[outs + k] = neuron.bias as f32;
            }
        } else {
            for (o, terms) in out_weights.iter().enumerate() {
                for &(i, w) in terms {
                    weights[i * all_out + o] = w as f32;
                }
            }
        }
        new_layers.push(DenseLayer::new(
            all_in,
            all_out,
            weights,
            bias,
            layer.activation(),
        )?);
    }
    let count = added.iter().map(|a| a.neurons.len()).sum();
    Ok((Network::new(new_layers, start.meta().clone())?, count))
}
