//! Optimised ReLU lower slopes (alpha-CROWN) for the bound of one output constraint.
//!
//! For a ReLU that is neither on nor off over the box, any line `alpha * z` with `alpha` in
//! [0, 1] lies below it, and each choice gives a sound (CROWN) lower bound of the constraint.
//! The bound is piecewise linear in the slopes, and its gradient is cheap: with the relaxation
//! each neuron uses held fixed, the derivative of the bound in `alpha` of neuron `o` of layer
//! `j` is `mu_{j,o} * zhat_{j,o}`, where `mu` is the back-substituted coefficient on that
//! neuron's output (where it is `>= 0`, so the lower line is the one used) and `zhat` the
//! value of its pre-activation in the *linearised* network evaluated at the input corner the
//! bound is reached at. A few projected sign-gradient steps raise the bound; the result is
//! then recomputed by the ordinary sound back-substitution with the slopes found, so the
//! optimisation itself needs no soundness argument.

use super::{BoundNetwork, Interval, LayerBounds, LinearLowerBound, Relaxation};
use crate::network::Activation;
use crate::tensor::BatchRows;

impl BoundNetwork {
    /// A lower bound of `coefficients . y - rhs` over the box at least as high as `start`
    /// (the plain CROWN bound of the same function), after `steps` rounds of slope
    /// optimisation. Networks with activations other than ReLU get `start` back.
    pub fn optimised_lower_bound(
        &self,
        bounds: &LayerBounds,
        input: &Interval,
        coefficients: &[f64],
        rhs: f64,
        start: &LinearLowerBound,
        steps: usize,
    ) -> LinearLowerBound {
        let last = self.layers.len() - 1;
        let relu_hidden = self.layers[..last]
            .iter()
            .all(|l| l.activation == Activation::Relu);
        if steps == 0 || !relu_hidden || start.input_coefficients.is_empty() {
            return start.clone();
        }
        let unstable: Vec<Vec<bool>> = bounds.pre[..last]
            .iter()
            .map(|pre| {
                (0..pre.len())
                    .map(|o| pre.lower[o] < 0.0 && pre.upper[o] > 0.0)
                    .collect()
            })
            .collect();
        if unstable.iter().all(|u| u.iter().all(|&x| !x)) {
            return start.clone();
        }
        let mut relaxations = bounds.relaxations.clone();
        // One function: a single-row matrix of its coefficients.
        let spec =
            crate::tensor::from_vec(1, coefficients.len(), coefficients.to_vec()).expect("one row");
        let mut best = start.clone();
        let mut length = 0.5;
        for _ in 0..steps {
            let gradient = self.slope_gradient(&relaxations, input, coefficients);
            let mut moved = false;
            for (j, layer) in gradient.iter().enumerate() {
                for (o, &g) in layer.iter().enumerate() {
                    if !unstable[j][o] || g == 0.0 {
                        continue;
                    }
                    let r = &mut relaxations[j][o];
                    let slope = (r.lower_slope + length * g.signum()).clamp(0.0, 1.0);
                    moved |= slope != r.lower_slope;
                    r.lower_slope = slope;
                }
            }
            if !moved {
                break;
            }
            length *= 0.6;
            let mut found =
                self.back_substitute_relaxed(bounds, &relaxations, input, last, &spec, true);
            let candidate = found.remove(0).less_rhs(rhs, start.floor, input);
            if candidate.value > best.value {
                best = candidate;
            }
        }
        best
    }

    /// The gradient of the bound of `coefficients . y` in every hidden neuron's lower slope,
    /// with the relaxations each neuron uses held fixed.
    fn slope_gradient(
        &self,
        relaxations: &[Vec<Relaxation>],
        input: &Interval,
        coefficients: &[f64],
    ) -> Vec<Vec<f64>> {
        let last = self.layers.len() - 1;
        // Back-substitution of one row over all neurons, keeping `mu` (the coefficients on
        // each hidden layer's outputs) and which relaxation line each neuron uses.
        let mut mu: Vec<Vec<f64>> = vec![Vec::new(); last];
        let mut lambda = coefficients.to_vec();
        for j in (0..=last).rev() {
            let layer = &self.layers[j];
            let n_in = layer.inputs;
            let mut next = vec![0.0f64; n_in];
            for (i, slot) in next.iter_mut().enumerate() {
                let row = layer.weights.row_slice(i);
                *slot = row.iter().zip(&lambda).map(|(w, l)| w * l).sum();
            }
            if j == 0 {
                lambda = next;
                break;
            }
            let rel = &relaxations[j - 1];
            lambda = next
                .iter()
                .zip(rel)
                .map(|(&m, r)| {
                    if m >= 0.0 {
                        m * r.lower_slope
                    } else {
                        m * r.upper_slope
                    }
                })
                .collect();
            mu[j - 1] = next;
        }
        // The corner where the linear bound is lowest, and the linearised network there.
        let mut values: Vec<f64> = lambda
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                if a >= 0.0 {
                    input.lower[i]
                } else {
                    input.upper[i]
                }
            })
            .collect();
        let mut gradient = vec![Vec::new(); last];
        for j in 0..last {
            let layer = &self.layers[j];
            let n_out = layer.outputs;
            let mut z = layer.bias.clone();
            for (i, &v) in values.iter().enumerate() {
                let row = layer.weights.row_slice(i);
                for (zo, w) in z.iter_mut().zip(row) {
                    *zo += w * v;
                }
            }
            gradient[j] = (0..n_out)
                .map(|o| {
                    if mu[j][o] >= 0.0 {
                        mu[j][o] * z[o]
                    } else {
                        0.0
                    }
                })
                .collect();
            values = (0..n_out)
                .map(|o| {
                    let r = &relaxations[j][o];
                    if mu[j][o] >= 0.0 {
                        r.lower_slope * z[o] + r.lower_offset
                    } else {
                        r.upper_slope * z[o] + r.upper_offset
                    }
                })
                .collect();
        }
        gradient
    }
}
