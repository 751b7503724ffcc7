//! The slice being viewed, the status of its map, and what the pointer is over. Plain data,
//! so it can live in reactive signals; compiled natively too, for the tests below.

use birdnn::network::InputSpec;
use birdnn::slice::SliceView;

/// The slice on screen: two axes and where every other input is fixed (network units).
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Input on the horizontal axis.
    pub x_dim: usize,
    /// Input on the vertical axis.
    pub y_dim: usize,
    /// One value per input (those of the axes are ignored).
    pub fixed: Vec<f64>,
}

impl View {
    /// The first two inputs on the axes, the others at the middle of their range.
    pub fn centred(inputs: &[InputSpec]) -> Self {
        View {
            x_dim: 0,
            y_dim: usize::from(inputs.len() > 1),
            fixed: inputs
                .iter()
                .map(|s| {
                    let (lo, hi) = s.network_bounds();
                    0.5 * (lo + hi)
                })
                .collect(),
        }
    }

    /// A view that shows the box `[lower, upper]` (network units): its two widest inputs,
    /// measured against each input's meaningful range, on the axes (the widest on x), every
    /// other input at the box's centre. Ties go to the earlier input.
    pub fn onto_box(inputs: &[InputSpec], lower: &[f64], upper: &[f64]) -> Self {
        let relative_width = |i: usize| {
            let (lo, hi) = inputs[i].network_bounds();
            let span = hi - lo;
            if span > 0.0 && span.is_finite() {
                (upper[i] - lower[i]) / span
            } else {
                0.0
            }
        };
        let mut order: Vec<usize> = (0..inputs.len().min(lower.len()).min(upper.len())).collect();
        order.sort_by(|&a, &b| {
            relative_width(b)
                .total_cmp(&relative_width(a))
                .then(a.cmp(&b))
        });
        let mut view = View::centred(inputs);
        if let Some(&x) = order.first() {
            view.x_dim = x;
            view.y_dim = order.get(1).copied().unwrap_or(x);
        }
        for (i, value) in view.fixed.iter_mut().enumerate() {
            if let (Some(l), Some(u)) = (lower.get(i), upper.get(i)) {
                *value = 0.5 * (l + u);
            }
        }
        view
    }

    /// Puts input `dim` on the x axis; if it was on the y axis, the axes swap.
    pub fn with_x(&self, dim: usize) -> Self {
        let mut v = self.clone();
        if dim == v.y_dim {
            v.y_dim = v.x_dim;
        }
        v.x_dim = dim;
        v
    }

    /// Puts input `dim` on the y axis; if it was on the x axis, the axes swap.
    pub fn with_y(&self, dim: usize) -> Self {
        let mut v = self.clone();
        if dim == v.x_dim {
            v.x_dim = v.y_dim;
        }
        v.y_dim = dim;
        v
    }

    /// The worker's description of this slice over the inputs' meaningful ranges.
    pub fn slice(&self, inputs: &[InputSpec]) -> SliceView {
        SliceView {
            x_dim: self.x_dim,
            y_dim: self.y_dim,
            x_range: inputs[self.x_dim].network_bounds(),
            y_range: inputs[self.y_dim].network_bounds(),
            fixed: self.fixed.clone(),
        }
    }

    /// The input (network units) at fractions (`fx` from the left, `fy` from the top) of
    /// the map.
    pub fn point_at(&self, inputs: &[InputSpec], fx: f64, fy: f64) -> Vec<f32> {
        let slice = self.slice(inputs);
        let mut x: Vec<f32> = self.fixed.iter().map(|&v| v as f32).collect();
        let (x0, x1) = slice.x_range;
        let (y0, y1) = slice.y_range;
        x[self.x_dim] = (x0 + fx.clamp(0.0, 1.0) * (x1 - x0)) as f32;
        x[self.y_dim] = (y1 - fy.clamp(0.0, 1.0) * (y1 - y0)) as f32;
        x
    }
}

/// Where the map for the current view stands.
#[derive(Clone, Debug, PartialEq)]
pub enum MapStatus {
    /// Nothing to draw yet.
    Empty,
    /// Rows are arriving for this grid side.
    Computing(u32),
    /// Fully drawn; how long the worker computed each resolution.
    Ready {
        /// Fine grid side.
        side: u32,
        /// Compute time of the coarse grid, ms.
        coarse_ms: f64,
        /// Compute time of the fine grid, ms.
        fine_ms: f64,
        /// From the request to the page holding the coarse grid's last rows, ms (the
        /// worker's compute plus the messages' cost).
        coarse_latency_ms: f64,
        /// From the request to the page holding the fine grid's last rows, ms.
        fine_latency_ms: f64,
    },
    /// The worker refused or failed.
    Failed(String),
}

/// What the pointer is over.
#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    /// The input under the pointer, network units.
    pub input: Vec<f32>,
    /// The network's outputs there, once the worker answered.
    pub outputs: Option<Vec<f32>>,
    /// The decision there, once the worker answered.
    pub decision: Option<usize>,
}

/// A physical value with its unit, rounded for reading.
pub fn physical_text(spec: &InputSpec, network_value: f64) -> String {
    let v = spec.denormalise(network_value);
    let text = if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    if spec.unit.is_empty() {
        text
    } else {
        format!("{text} {}", spec.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use birdnn::network::NetworkMeta;

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn choosing_an_axis_already_in_use_swaps_the_axes() {
        let inputs = NetworkMeta::acas_xu().inputs;
        let v = View::centred(&inputs);
        assert_eq!((v.x_dim, v.y_dim), (0, 1));
        let w = v.with_x(1);
        assert_eq!((w.x_dim, w.y_dim), (1, 0));
        let w = v.with_y(4);
        assert_eq!((w.x_dim, w.y_dim), (0, 4));
        let w = v.with_y(0);
        assert_eq!((w.x_dim, w.y_dim), (1, 0));
    }

    #[test]
    fn a_box_is_shown_by_its_two_widest_inputs_with_the_others_at_its_centre() {
        let inputs = NetworkMeta::acas_xu().inputs;
        // ACAS Xu property 2's box in network units: rho and the speeds are narrow, theta
        // and psi span their whole ranges.
        let lower = [0.6, -0.5, -0.5, 0.45, -0.5];
        let upper = [0.679857769, 0.5, 0.5, 0.5, -0.45];
        let v = View::onto_box(&inputs, &lower, &upper);
        assert_eq!((v.x_dim, v.y_dim), (1, 2));
        for i in [0, 3, 4] {
            assert!(
                (v.fixed[i] - 0.5 * (lower[i] + upper[i])).abs() < 1e-12,
                "{i}"
            );
        }
        // A one-input network puts its input on both axes.
        let one = vec![InputSpec::plain("x", 0.0, 1.0)];
        let v = View::onto_box(&one, &[0.2], &[0.4]);
        assert_eq!((v.x_dim, v.y_dim), (0, 0));
        assert!((v.fixed[0] - 0.3).abs() < 1e-12);
    }

    #[test]
    fn map_corners_are_the_input_bounds() {
        let inputs = NetworkMeta::acas_xu().inputs;
        let v = View::centred(&inputs);
        let top_left = v.point_at(&inputs, 0.0, 0.0);
        let (rho_lo, _) = inputs[0].network_bounds();
        let (_, theta_hi) = inputs[1].network_bounds();
        assert_eq!(top_left[0], rho_lo as f32);
        assert_eq!(top_left[1], theta_hi as f32);
        assert_eq!(top_left[2], v.fixed[2] as f32);
        assert_eq!(
            physical_text(&inputs[0], inputs[0].normalise(60760.0)),
            "60760 ft"
        );
        assert_eq!(physical_text(&inputs[1], 0.0), "0.000 rad");
    }
}
