//! A certified-training term for retraining: interval bounds (IBP) of the network over each
//! property box, and a hinge on the bound of every unsafe disjunct, with its gradient.
//!
//! Sampled counterexamples teach the network the points they are; a box that must be
//! *proved* needs the network to be safe everywhere in it with room to spare for the
//! verifier's over-approximation. Interval bounds are the cheapest certificate whose
//! gradient is simple: centre/radius form through each layer, `z_c = c W + b`,
//! `z_r = r |W|`, then the activation's image of `[z_c - z_r, z_c + z_r]` (every supported
//! activation is monotone). The last layer is folded into each constraint (`a . y` has
//! weights `W a`), which is much tighter than bounding every output separately.
//!
//! This term only steers training; it proves nothing. The sound verifier decides afterwards.

use crate::network::{Activation, DenseLayer, LayerGradient, Network};
use crate::property::Property;

/// One property box in the tail's input space, with the disjuncts it must stay out of.
struct TailBox {
    centre: Vec<f32>,
    radius: Vec<f32>,
    /// Each unsafe disjunct as constraints `a . y - rhs <= 0` (safe: one of them is > 0).
    disjuncts: Vec<Vec<(Vec<f32>, f32)>>,
}

/// The boxes of some properties, pushed through the frozen layers once.
pub(crate) struct IntervalHinge {
    boxes: Vec<TailBox>,
}

/// Intermediate values of one box's forward pass, kept for the backward pass.
struct LayerBounds {
    centre: Vec<f32>,
    radius: Vec<f32>,
    /// Pre-activation centre and radius.
    z_centre: Vec<f32>,
    z_radius: Vec<f32>,
}

impl IntervalHinge {
    /// The input boxes of `properties`, carried through `frozen` (the layers that do not
    /// train) by interval arithmetic. Returns `None` when the last layer of `tail` is
    /// not linear (the constraint folding needs it) or there is no box.
    pub(crate) fn new(
        properties: &[Property],
        frozen: &[DenseLayer],
        tail: &Network,
    ) -> Option<Self> {
        let last = tail.layers().last()?;
        if last.activation() != Activation::Identity {
            return None;
        }
        let mut boxes = Vec::new();
        for p in properties {
            let disjuncts: Vec<Vec<(Vec<f32>, f32)>> = p
                .unsafe_region
                .disjuncts
                .iter()
                .map(|conj| {
                    conj.iter()
                        .map(|c| {
                            let a = c.coefficients.iter().map(|&v| v as f32).collect();
                            (a, c.rhs as f32)
                        })
                        .collect()
                })
                .collect();
            for b in &p.input_boxes {
                let mut centre: Vec<f32> = b
                    .lower
                    .iter()
                    .zip(&b.upper)
                    .map(|(l, u)| ((l + u) / 2.0) as f32)
                    .collect();
                let mut radius: Vec<f32> = b
                    .lower
                    .iter()
                    .zip(&b.upper)
                    .map(|(l, u)| ((u - l) / 2.0) as f32)
                    .collect();
                for layer in frozen {
                    let (zc, zr) = linear_bounds(layer, &centre, &radius);
                    (centre, radius) = activate(layer.activation(), &zc, &zr);
                }
                boxes.push(TailBox {
                    centre,
                    radius,
                    disjuncts: disjuncts.clone(),
                });
            }
        }
        (!boxes.is_empty()).then_some(IntervalHinge { boxes })
    }

    /// Number of boxes.
    pub(crate) fn len(&self) -> usize {
        self.boxes.len()
    }

    /// Number of (box, disjunct) pairs.
    pub(crate) fn pairs(&self) -> usize {
        self.boxes.iter().map(|b| b.disjuncts.len()).sum()
    }

    /// How many (box, disjunct) pairs have an interval bound below `margin`: not yet
    /// certified with room to spare.
    pub(crate) fn uncertified(&self, tail: &Network, margin: f32) -> usize {
        let mut count = 0;
        for b in &self.boxes {
            let bounds = forward(tail, b);
            let last = tail.layers().last().expect("checked in new");
            let h = bounds.last().expect("one entry per layer");
            for conj in &b.disjuncts {
                let best = conj
                    .iter()
                    .map(|(a, rhs)| folded_lower(last, &h.centre, &h.radius, a, *rhs).0)
                    .fold(f32::NEG_INFINITY, f32::max);
                // A NaN bound certifies nothing.
                if best.is_nan() || best < margin {
                    count += 1;
                }
            }
        }
        count
    }

    /// Adds `weight * sum max(0, margin - bound)` over every (box, disjunct) to the tail's
    /// gradient `grads`, where `bound` is the best interval lower bound of the disjunct's
    /// constraints; returns that loss.
    pub(crate) fn add_gradient(
        &self,
        tail: &Network,
        margin: f32,
        weight: f32,
        grads: &mut [LayerGradient],
    ) -> f64 {
        let layers = tail.layers();
        let last_index = layers.len() - 1;
        let last = &layers[last_index];
        let mut loss = 0.0f64;
        for b in &self.boxes {
            let bounds = forward(tail, b);
            let h = &bounds[last_index];
            let mut d_centre = vec![0.0f32; h.centre.len()];
            let mut d_radius = vec![0.0f32; h.radius.len()];
            let mut any = false;
            for conj in &b.disjuncts {
                let Some((lower, folded, a)) = conj
                    .iter()
                    .map(|(a, rhs)| {
                        let (lower, folded) = folded_lower(last, &h.centre, &h.radius, a, *rhs);
                        (lower, folded, a)
                    })
                    .max_by(|x, y| x.0.total_cmp(&y.0))
                else {
                    continue;
                };
                if lower >= margin || !lower.is_finite() {
                    continue;
                }
                any = true;
                loss += (weight * (margin - lower)) as f64;
                // d lower / d W[i,o] = a_o (c_i - sign(u_i) r_i); d lower / d b_o = a_o;
                // d lower / d c_i = u_i; d lower / d r_i = -|u_i|. The loss has slope -weight.
                let g = &mut grads[last_index];
                let outs = last.outputs();
                for (i, &u) in folded.iter().enumerate() {
                    let along = h.centre[i] - u.signum() * h.radius[i];
                    for (o, &ao) in a.iter().enumerate() {
                        g.weights[i * outs + o] -= weight * ao * along;
                    }
                    d_centre[i] -= weight * u;
                    d_radius[i] += weight * u.abs();
                }
                for (o, &ao) in a.iter().enumerate() {
                    g.bias[o] -= weight * ao;
                }
            }
            if any {
                backward_hidden(tail, &bounds, d_centre, d_radius, grads);
            }
        }
        loss
    }
}

/// Centre and radius of `x W + b` for `x` in the box `centre +- radius`.
fn linear_bounds(layer: &DenseLayer, centre: &[f32], radius: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let outs = layer.outputs();
    let w = layer.weights();
    let mut zc = layer.bias().to_vec();
    let mut zr = vec![0.0f32; outs];
    for (i, (&c, &r)) in centre.iter().zip(radius).enumerate() {
        let row = &w[i * outs..(i + 1) * outs];
        for ((zc, zr), &wio) in zc.iter_mut().zip(zr.iter_mut()).zip(row) {
            *zc += c * wio;
            *zr += r * wio.abs();
        }
    }
    (zc, zr)
}

/// The monotone activation's image of `[zc - zr, zc + zr]`, as centre and radius.
fn activate(act: Activation, zc: &[f32], zr: &[f32]) -> (Vec<f32>, Vec<f32>) {
    zc.iter()
        .zip(zr)
        .map(|(&c, &r)| {
            let (lo, hi) = (act.apply(c - r), act.apply(c + r));
            ((hi + lo) / 2.0, (hi - lo) / 2.0)
        })
        .unzip()
}

/// Bounds of every hidden layer's input: entry `l` is the box entering layer `l` (entry 0
/// the tail's input box), with that layer's pre-activation bounds.
fn forward(tail: &Network, b: &TailBox) -> Vec<LayerBounds> {
    let layers = tail.layers();
    let mut out: Vec<LayerBounds> = Vec::with_capacity(layers.len());
    let (mut centre, mut radius) = (b.centre.clone(), b.radius.clone());
    for (l, layer) in layers.iter().enumerate() {
        if l + 1 == layers.len() {
            out.push(LayerBounds {
                centre,
                radius,
                z_centre: Vec::new(),
                z_radius: Vec::new(),
            });
            break;
        }
        let (zc, zr) = linear_bounds(layer, &centre, &radius);
        let (next_c, next_r) = activate(layer.activation(), &zc, &zr);
        out.push(LayerBounds {
            centre: std::mem::replace(&mut centre, next_c),
            radius: std::mem::replace(&mut radius, next_r),
            z_centre: zc,
            z_radius: zr,
        });
    }
    out
}

/// Interval lower bound of `a . (h W + b) - rhs` over `h` in `centre +- radius`, and the
/// folded weights `u = W a`.
fn folded_lower(
    layer: &DenseLayer,
    centre: &[f32],
    radius: &[f32],
    a: &[f32],
    rhs: f32,
) -> (f32, Vec<f32>) {
    let outs = layer.outputs();
    let w = layer.weights();
    let folded: Vec<f32> = (0..layer.inputs())
        .map(|i| {
            w[i * outs..(i + 1) * outs]
                .iter()
                .zip(a)
                .map(|(w, a)| w * a)
                .sum()
        })
        .collect();
    let constant: f32 = layer.bias().iter().zip(a).map(|(b, a)| b * a).sum::<f32>() - rhs;
    let lower = constant
        + folded
            .iter()
            .zip(centre.iter().zip(radius))
            .map(|(&u, (&c, &r))| u * c - u.abs() * r)
            .sum::<f32>();
    (lower, folded)
}

/// Back-propagates the loss's gradient with respect to the last hidden layer's output box
/// (`d_centre`, `d_radius`) through the hidden layers into `grads`.
fn backward_hidden(
    tail: &Network,
    bounds: &[LayerBounds],
    mut d_centre: Vec<f32>,
    mut d_radius: Vec<f32>,
    grads: &mut [LayerGradient],
) {
    let layers = tail.layers();
    for l in (0..layers.len() - 1).rev() {
        let layer = &layers[l];
        let act = layer.activation();
        let b = &bounds[l];
        let outs = layer.outputs();
        let mut dz_c = vec![0.0f32; outs];
        let mut dz_r = vec![0.0f32; outs];
        for o in 0..outs {
            // centre' = (hi + lo) / 2 and radius' = (hi - lo) / 2, with
            // hi = act(zc + zr) and lo = act(zc - zr).
            let d_hi = (d_centre[o] + d_radius[o]) / 2.0;
            let d_lo = (d_centre[o] - d_radius[o]) / 2.0;
            let (up, down) = (b.z_centre[o] + b.z_radius[o], b.z_centre[o] - b.z_radius[o]);
            let d_up = d_hi * act.derivative(up, act.apply(up));
            let d_down = d_lo * act.derivative(down, act.apply(down));
            dz_c[o] = d_up + d_down;
            dz_r[o] = d_up - d_down;
        }
        let w = layer.weights();
        let g = &mut grads[l];
        let mut next_c = vec![0.0f32; layer.inputs()];
        let mut next_r = vec![0.0f32; layer.inputs()];
        for i in 0..layer.inputs() {
            let (c, r) = (b.centre[i], b.radius[i]);
            let row = &w[i * outs..(i + 1) * outs];
            let grow = &mut g.weights[i * outs..(i + 1) * outs];
            let (mut sc, mut sr) = (0.0f32, 0.0f32);
            for o in 0..outs {
                grow[o] += dz_c[o] * c + dz_r[o] * r * row[o].signum();
                sc += row[o] * dz_c[o];
                sr += row[o].abs() * dz_r[o];
            }
            next_c[i] = sc;
            next_r[i] = sr;
        }
        for (gb, d) in g.bias.iter_mut().zip(&dz_c) {
            *gb += d;
        }
        d_centre = next_c;
        d_radius = next_r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Activation, DecisionRule};
    use crate::property::{decision_must_be, InputBox};
    use crate::rng::SplitMix64;

    /// "Within `eps` of `centre` (not clipped), the class stays `label`".
    fn robustness_box(centre: &[f64], eps: f64, label: usize, classes: usize) -> Property {
        let lower = centre.iter().map(|c| c - eps).collect();
        let upper = centre.iter().map(|c| c + eps).collect();
        decision_must_be(
            "ball",
            InputBox::new(lower, upper).unwrap(),
            classes,
            label,
            DecisionRule::Argmax,
        )
    }

    /// The loss as a function of the parameters, for finite differences.
    fn loss_of(hinge: &IntervalHinge, net: &Network, margin: f32) -> f64 {
        let mut g = net.zero_gradients();
        hinge.add_gradient(net, margin, 1.0, &mut g)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for act in [Activation::Relu, Activation::Tanh] {
            let net = Network::random(&[3, 5, 4, 3], act, 5).unwrap();
            let p = robustness_box(&[0.2, -0.1, 0.4], 0.05, 1, 3);
            let hinge = IntervalHinge::new(&[p], &[], &net).unwrap();
            let margin = 10.0;
            let mut grads = net.zero_gradients();
            hinge.add_gradient(&net, margin, 1.0, &mut grads);
            let h = 1e-3f32;
            let mut rng = SplitMix64::new(9);
            for (l, layer_grads) in grads.iter().enumerate() {
                for _ in 0..6 {
                    let k = rng.below(layer_grads.weights.len());
                    let mut plus = net.clone();
                    plus.layers_mut()[l].weights_mut()[k] += h;
                    let mut minus = net.clone();
                    minus.layers_mut()[l].weights_mut()[k] -= h;
                    let numeric = (loss_of(&hinge, &plus, margin)
                        - loss_of(&hinge, &minus, margin))
                        / (2.0 * h as f64);
                    let analytic = layer_grads.weights[k] as f64;
                    assert!(
                        (numeric - analytic).abs() < 2e-2 * (1.0 + numeric.abs()),
                        "{act:?} layer {l} weight {k}: numeric {numeric}, analytic {analytic}"
                    );
                }
            }
        }
    }

    #[test]
    fn bound_is_below_every_sample_and_frozen_layers_are_carried() {
        let net = Network::random(&[4, 8, 6, 3], Activation::Relu, 3).unwrap();
        let p = robustness_box(&[0.1, 0.5, -0.3, 0.2], 0.1, 0, 3);
        let frozen = &net.layers()[..1];
        let tail = Network::new(
            net.layers()[1..].to_vec(),
            crate::network::NetworkMeta::generic(8, 3),
        )
        .unwrap();
        let hinge = IntervalHinge::new(std::slice::from_ref(&p), frozen, &tail).unwrap();
        let b = &hinge.boxes[0];
        let bounds = forward(&tail, b);
        let h = bounds.last().unwrap();
        let last = tail.layers().last().unwrap();
        let mut rng = SplitMix64::new(1);
        let region = &p.input_boxes[0];
        for _ in 0..500 {
            let x: Vec<f32> = (0..4)
                .map(|i| {
                    (region.lower[i] + rng.next_f64() * (region.upper[i] - region.lower[i])) as f32
                })
                .collect();
            let y = net.forward_one(&x).unwrap();
            for (conj, spec) in b.disjuncts.iter().zip(&p.unsafe_region.disjuncts) {
                let (a, rhs) = &conj[0];
                let (lower, _) = folded_lower(last, &h.centre, &h.radius, a, *rhs);
                let exact = spec[0].slack(&y) as f32;
                assert!(
                    lower <= exact + 1e-4,
                    "bound {lower} above the value {exact}"
                );
            }
        }
    }

    #[test]
    fn a_non_linear_last_layer_turns_the_term_off() {
        let mut net = Network::random(&[2, 3, 2], Activation::Relu, 1).unwrap();
        let last = net.layers().len() - 1;
        net.layers_mut()[last].set_activation(Activation::Tanh);
        let p = robustness_box(&[0.0, 0.0], 0.1, 0, 2);
        assert!(IntervalHinge::new(&[p], &[], &net).is_none());
    }
}
