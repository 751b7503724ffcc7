//! Two-dimensional slices of a network's input space, and the decision maps drawn on them.
//!
//! A [`SliceView`] picks two inputs for the axes and fixes every other input at a value; a
//! [`DecisionMapJob`] runs the network on a grid over that plane a few rows at a time, so the
//! browser worker can stream rows, answer messages between them, and drop a map the user has
//! already left. Everything is in network units; the app converts to physical units for
//! display. Row 0 of a grid is the *top* of the picture (the largest y), as on a canvas.

use crate::network::Network;
use crate::rng::SplitMix64;
use crate::sampling::sample_box;
use crate::tensor::{Array2, BatchRows, BatchRowsMut};
use serde::{Deserialize, Serialize};

/// Largest grid side the map computes (a 1024 x 1024 map is already 4 MiB of pixels).
pub const MAX_RESOLUTION: u32 = 1024;

/// Decision maps store a class per cell as a byte.
pub const MAX_CLASSES: usize = 256;

/// The plane through the input space that a decision map shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceView {
    /// Input shown on the horizontal axis.
    pub x_dim: usize,
    /// Input shown on the vertical axis.
    pub y_dim: usize,
    /// Horizontal extent `[left, right]`, network units.
    pub x_range: (f64, f64),
    /// Vertical extent `[bottom, top]`, network units.
    pub y_range: (f64, f64),
    /// A full input point; the entries for `x_dim` and `y_dim` are ignored.
    pub fixed: Vec<f64>,
}

impl SliceView {
    /// The first two inputs over their meaningful ranges, every other input at the middle of
    /// its range. A network with one input gets the same input on both axes.
    pub fn centred(net: &Network) -> Self {
        let bounds: Vec<(f64, f64)> = net
            .meta()
            .inputs
            .iter()
            .map(|s| s.network_bounds())
            .collect();
        let y_dim = usize::from(bounds.len() > 1);
        SliceView {
            x_dim: 0,
            y_dim,
            x_range: bounds[0],
            y_range: bounds[y_dim],
            fixed: bounds.iter().map(|&(lo, hi)| 0.5 * (lo + hi)).collect(),
        }
    }

    /// Checks the view against a network with `inputs` inputs.
    pub fn check(&self, inputs: usize) -> Result<(), String> {
        if self.fixed.len() != inputs {
            return Err(format!(
                "the view fixes {} inputs, the network has {inputs}",
                self.fixed.len()
            ));
        }
        for (axis, dim) in [("x", self.x_dim), ("y", self.y_dim)] {
            if dim >= inputs {
                return Err(format!(
                    "the {axis} axis shows input {dim}, the network has {inputs} inputs"
                ));
            }
        }
        for (axis, (a, b)) in [("x", self.x_range), ("y", self.y_range)] {
            if !(a.is_finite() && b.is_finite() && a < b) {
                return Err(format!(
                    "the {axis} range [{a}, {b}] must be finite and not empty"
                ));
            }
        }
        if let Some(i) = self.fixed.iter().position(|v| !v.is_finite()) {
            return Err(format!("input {i} is fixed at a value that is not finite"));
        }
        Ok(())
    }

    /// The input at the centre of cell (`col`, `row`) of a `side x side` grid.
    pub fn cell_centre(&self, col: u32, row: u32, side: u32) -> Vec<f32> {
        let mut x: Vec<f32> = self.fixed.iter().map(|&v| v as f32).collect();
        let (vx, vy) = self.cell_coordinates(col, row, side);
        x[self.x_dim] = vx;
        x[self.y_dim] = vy;
        x
    }

    /// The two axis values at the centre of cell (`col`, `row`) of a `side x side` grid.
    pub fn cell_coordinates(&self, col: u32, row: u32, side: u32) -> (f32, f32) {
        let n = f64::from(side);
        let fx = (f64::from(col) + 0.5) / n;
        let fy = 1.0 - (f64::from(row) + 0.5) / n;
        (
            (self.x_range.0 + fx * (self.x_range.1 - self.x_range.0)) as f32,
            (self.y_range.0 + fy * (self.y_range.1 - self.y_range.0)) as f32,
        )
    }
}

/// Rows of a decision map: per cell the winning output and how sure the network is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapRows {
    /// Grid side (the map is `resolution x resolution`).
    pub resolution: u32,
    /// First row in this piece (0 = top).
    pub first_row: u32,
    /// Winning output per cell, row-major.
    #[serde(with = "serde_bytes")]
    pub classes: Vec<u8>,
    /// Confidence per cell, 0 (a tie) to 255 (margin at least twice the network's typical
    /// margin), row-major.
    #[serde(with = "serde_bytes")]
    pub confidence: Vec<u8>,
}

impl MapRows {
    /// Number of rows in this piece.
    pub fn rows(&self) -> u32 {
        (self.classes.len() / self.resolution.max(1) as usize) as u32
    }
}

/// The typical margin between a network's best two outputs: the median over `samples`
/// points drawn uniformly from its input domain. Decision maps scale confidence by it, so
/// lightness means the same thing across slices and slider positions.
pub fn typical_margin(net: &Network, samples: usize, seed: u64) -> f32 {
    let domain = crate::measures::input_domain(net);
    let mut rng = SplitMix64::new(seed);
    let inputs = sample_box(&mut rng, &domain, samples.max(1));
    let Ok(outputs) = net.forward(&inputs) else {
        return 1.0;
    };
    let rule = net.meta().decision;
    let mut margins: Vec<f32> = outputs
        .row_slices()
        .map(|y| rule.margin(y))
        .filter(|m| m.is_finite())
        .collect();
    if margins.is_empty() {
        return 1.0;
    }
    let mid = margins.len() / 2;
    let (_, median, _) = margins.select_nth_unstable_by(mid, f32::total_cmp);
    if *median > 0.0 {
        *median
    } else {
        1.0
    }
}

/// A decision map computed a few rows at a time, for each resolution in turn (coarse first).
#[derive(Clone, Debug)]
pub struct DecisionMapJob {
    view: SliceView,
    resolutions: Vec<u32>,
    margin_scale: f32,
    stage: usize,
    next_row: u32,
}

impl DecisionMapJob {
    /// A job for `view` on `net` at each of `resolutions` (each in `1..=MAX_RESOLUTION`).
    /// `margin_scale` is the margin drawn at mid confidence (see [`typical_margin`]).
    pub fn new(
        net: &Network,
        view: SliceView,
        resolutions: Vec<u32>,
        margin_scale: f32,
    ) -> Result<Self, String> {
        view.check(net.input_size())?;
        if net.output_size() > MAX_CLASSES {
            return Err(format!(
                "decision maps show up to {MAX_CLASSES} outputs, the network has {}",
                net.output_size()
            ));
        }
        if resolutions.is_empty() {
            return Err("a decision map needs at least one resolution".into());
        }
        if let Some(r) = resolutions.iter().find(|&&r| r == 0 || r > MAX_RESOLUTION) {
            return Err(format!(
                "map resolution {r} is outside 1..={MAX_RESOLUTION}"
            ));
        }
        Ok(DecisionMapJob {
            view,
            resolutions,
            margin_scale: if margin_scale.is_finite() && margin_scale > 0.0 {
                margin_scale
            } else {
                1.0
            },
            stage: 0,
            next_row: 0,
        })
    }

    /// Whether every resolution is complete.
    pub fn is_done(&self) -> bool {
        self.stage >= self.resolutions.len()
    }

    /// The resolution being computed (the last one once done).
    pub fn resolution(&self) -> u32 {
        self.resolutions[self.stage.min(self.resolutions.len() - 1)]
    }

    /// Computes the next rows, about `max_cells` cells (at least one row). Returns `None` once
    /// done. The second value says whether this piece completed its resolution.
    pub fn step(&mut self, net: &Network, max_cells: usize) -> Option<(MapRows, bool)> {
        if self.is_done() {
            return None;
        }
        let side = self.resolutions[self.stage];
        let rows_left = side - self.next_row;
        let rows = ((max_cells / side as usize).max(1) as u32).min(rows_left);
        let first_row = self.next_row;
        let n_inputs = net.input_size();
        let mut inputs = Array2::zeros(((rows * side) as usize, n_inputs));
        let fixed: Vec<f32> = self.view.fixed.iter().map(|&v| v as f32).collect();
        for r in 0..rows {
            for c in 0..side {
                let x = inputs.row_slice_mut((r * side + c) as usize);
                x.copy_from_slice(&fixed);
                let (vx, vy) = self.view.cell_coordinates(c, first_row + r, side);
                x[self.view.x_dim] = vx;
                x[self.view.y_dim] = vy;
            }
        }
        let outputs = net.forward(&inputs).expect("the view was checked");
        let rule = net.meta().decision;
        let mut classes = Vec::with_capacity(outputs.nrows());
        let mut confidence = Vec::with_capacity(outputs.nrows());
        for y in outputs.row_slices() {
            classes.push(rule.decide(y).unwrap_or(0) as u8);
            let sure = rule.margin(y) / (2.0 * self.margin_scale);
            confidence.push((sure.clamp(0.0, 1.0) * 255.0).round() as u8);
        }
        self.next_row += rows;
        let finished = self.next_row == side;
        if finished {
            self.stage += 1;
            self.next_row = 0;
        }
        Some((
            MapRows {
                resolution: side,
                first_row,
                classes,
                confidence,
            },
            finished,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Activation, NetworkMeta};

    fn net_2d() -> Network {
        Network::random(&[2, 8, 3], Activation::Relu, 3).unwrap()
    }

    #[test]
    fn cell_centres_cover_the_view_top_row_first() {
        let view = SliceView {
            x_dim: 1,
            y_dim: 0,
            x_range: (0.0, 4.0),
            y_range: (-2.0, 2.0),
            fixed: vec![9.0, 9.0, 7.0],
        };
        assert_eq!(view.cell_centre(0, 0, 4), vec![1.5, 0.5, 7.0]);
        assert_eq!(view.cell_centre(3, 3, 4), vec![-1.5, 3.5, 7.0]);
    }

    #[test]
    fn views_that_do_not_fit_are_refused_with_the_reason() {
        let mut view = SliceView::centred(&net_2d());
        assert!(view.check(2).is_ok());
        assert!(view.check(3).unwrap_err().contains("fixes 2 inputs"));
        view.y_dim = 5;
        assert!(view.check(2).unwrap_err().contains("y axis shows input 5"));
        view.y_dim = 1;
        view.x_range = (1.0, 1.0);
        assert!(view.check(2).unwrap_err().contains("not empty"));
        view.x_range = (0.0, 1.0);
        view.fixed[0] = f64::NAN;
        assert!(view.check(2).unwrap_err().contains("not finite"));
    }

    #[test]
    fn streamed_rows_equal_a_direct_forward_pass() {
        let net = net_2d();
        let view = SliceView::centred(&net);
        let mut job = DecisionMapJob::new(&net, view.clone(), vec![4, 16], 0.5).unwrap();
        let mut pieces = Vec::new();
        while let Some((rows, finished)) = job.step(&net, 40) {
            pieces.push((rows, finished));
        }
        assert!(job.is_done());
        // 4x4 fits one step of 40 cells; 16x16 takes 2 rows per step.
        assert_eq!(pieces.len(), 1 + 8);
        assert!(pieces[0].1 && pieces[8].1 && !pieces[1].1);
        let mut fine = vec![0u8; 256];
        for (rows, _) in &pieces[1..] {
            let at = (rows.first_row * 16) as usize;
            fine[at..at + rows.classes.len()].copy_from_slice(&rows.classes);
        }
        for row in 0..16 {
            for col in 0..16 {
                let y = net.forward_one(&view.cell_centre(col, row, 16)).unwrap();
                let want = net.meta().decision.decide(&y).unwrap() as u8;
                assert_eq!(fine[(row * 16 + col) as usize], want, "cell {col},{row}");
            }
        }
    }

    #[test]
    fn confidence_is_zero_on_ties_and_saturates_far_from_the_boundary() {
        let mut net = net_2d();
        // All-zero output weights and biases: every output ties everywhere.
        for w in net.layers_mut()[1].weights_mut() {
            *w = 0.0;
        }
        for b in net.layers_mut()[1].bias_mut() {
            *b = 0.0;
        }
        let view = SliceView::centred(&net);
        let mut job = DecisionMapJob::new(&net, view.clone(), vec![8], 1.0).unwrap();
        let (rows, _) = job.step(&net, 1000).unwrap();
        assert!(rows.confidence.iter().all(|&c| c == 0));
        assert!(rows.classes.iter().all(|&c| c == 0));
        net.layers_mut()[1].bias_mut()[2] = 10.0;
        let mut job = DecisionMapJob::new(&net, view, vec![8], 1.0).unwrap();
        let (rows, _) = job.step(&net, 1000).unwrap();
        assert!(rows.confidence.iter().all(|&c| c == 255));
        assert!(rows.classes.iter().all(|&c| c == 2));
    }

    #[test]
    fn bad_resolutions_and_wide_outputs_are_refused() {
        let net = net_2d();
        let view = SliceView::centred(&net);
        assert!(DecisionMapJob::new(&net, view.clone(), vec![], 1.0).is_err());
        assert!(DecisionMapJob::new(&net, view.clone(), vec![0], 1.0).is_err());
        assert!(DecisionMapJob::new(&net, view.clone(), vec![MAX_RESOLUTION + 1], 1.0).is_err());
        let wide = Network::random(&[2, 300], Activation::Relu, 1).unwrap();
        let err = DecisionMapJob::new(&wide, SliceView::centred(&wide), vec![4], 1.0).unwrap_err();
        assert!(err.contains("300"));
    }

    #[test]
    fn typical_margin_is_positive_and_reproducible() {
        let mut net = net_2d();
        net.set_meta(NetworkMeta::generic(2, 3)).unwrap();
        let a = typical_margin(&net, 512, 7);
        assert!(a > 0.0);
        assert_eq!(a, typical_margin(&net, 512, 7));
    }
}
