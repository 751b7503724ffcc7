//! Pocket-finding: a short projected-gradient attack inside one box of branch and bound.
//!
//! The falsifier searches the whole input region from random starts and misses violations
//! that live in tiny pockets (N5,3 / property 2 violates by 8e-6 in a sliver of the box).
//! Branch and bound narrows the search down to such pockets by itself: every box it cannot
//! prove gets a few signed-gradient steps from its centre and from the corners its linear
//! bounds point to. What the attack finds is only a candidate; the verifier re-checks it with
//! a plain forward pass before reporting it.

use crate::falsify::descent_objective_gradient;
use crate::network::Network;
use crate::property::{clamp_f32_into, Property};
use crate::tensor::{Array2, BatchRows, BatchRowsMut};

/// The outcome of one attack: the most nearly unsafe point it visited, and whether it is
/// unsafe.
pub(super) struct AttackResult {
    /// The point with the smallest violation margin seen (inside the box).
    pub best: Vec<f32>,
    /// Its margin (`<= 0`: unsafe by the trace's output, still to be re-checked).
    pub margin: f64,
}

/// Descends the violation margin from `starts` inside the box `[lower, upper]` for `steps`
/// signed-gradient steps whose lengths shrink geometrically from 30 % of each width.
pub(super) fn attack_box(
    net: &Network,
    property: &Property,
    lower: &[f64],
    upper: &[f64],
    starts: &[Vec<f64>],
    steps: usize,
) -> AttackResult {
    let n = lower.len();
    let mut points = Array2::zeros((starts.len(), n));
    for (r, start) in starts.iter().enumerate() {
        for (i, slot) in points.row_slice_mut(r).iter_mut().enumerate() {
            *slot = clamp_f32_into(start[i], lower[i], upper[i]);
        }
    }
    let mut best = AttackResult {
        best: points.row_slice(0).to_vec(),
        margin: f64::INFINITY,
    };
    let outputs = net.output_size();
    let mut length = 0.3;
    for step in 0..=steps {
        let Ok(trace) = net.forward_trace(&points) else {
            return best;
        };
        let y = trace.output();
        let mut d_output = Array2::zeros((points.nrows(), outputs));
        for r in 0..points.nrows() {
            let (margin, _) = property.unsafe_region.violation_margin(y.row_slice(r));
            if margin < best.margin {
                best.margin = margin;
                best.best = points.row_slice(r).to_vec();
            }
            if margin <= 0.0 {
                return best;
            }
            descent_objective_gradient(
                &property.unsafe_region,
                y.row_slice(r),
                d_output.row_slice_mut(r),
            );
        }
        if step == steps {
            break;
        }
        let gradient = net.input_gradient(&trace, &d_output);
        for r in 0..points.nrows() {
            let g = gradient.row_slice(r);
            for (i, x) in points.row_slice_mut(r).iter_mut().enumerate() {
                let width = upper[i] - lower[i];
                if g[i] == 0.0 || width <= 0.0 {
                    continue;
                }
                let moved = *x as f64 - length * width * (g[i] as f64).signum();
                *x = clamp_f32_into(moved, lower[i], upper[i]);
            }
        }
        length *= 0.6;
    }
    best
}
