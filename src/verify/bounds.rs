//! Sound bounds on a network's values over an input box: interval bound propagation, then
//! symbolic linear bounds by back-substitution (DeepPoly / CROWN), for every activation.
//!
//! Soundness is meant for the network *as birdnn computes it*, in `f32`: every dense layer's
//! rounding is an additive error term bounded by the standard recursive-summation bound
//! `gamma(n) * sum |w_i x_i|` (`gamma(n) = n u / (1 - n u)`, `u = 2^-24`), doubled; every
//! transcendental activation gets 8 ulps of slack (libm's are within 1-2). The bounds
//! themselves are computed in `f64`, whose own rounding (relative `2^-53` per operation) is
//! far below those terms; a relative margin of `1e-9` of the magnitudes involved absorbs it
//! with room to spare.

use crate::network::{Activation, Network};
use crate::property::Property;
use crate::tensor::{Array2, ArrayRef2, BatchRows, BatchRowsMut};

mod alpha;
mod relax;

use relax::{act_range, relax};

/// Unit roundoff of `f32`.
const F32_UNIT: f64 = 5.960_464_477_539_063e-8;
/// Relative margin for the verifier's own `f64` rounding.
const F64_MARGIN: f64 = 1e-9;

/// Lower and upper bounds of a vector of values.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// Lower bounds.
    pub lower: Vec<f64>,
    /// Upper bounds.
    pub upper: Vec<f64>,
}

impl Interval {
    /// The box `[lower, upper]`.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Self {
        Interval { lower, upper }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// True when it bounds no value.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Whether every value lies within its bounds.
    pub fn contains(&self, values: &[f32]) -> bool {
        values
            .iter()
            .zip(self.lower.iter().zip(&self.upper))
            .all(|(&v, (&l, &u))| l <= v as f64 && v as f64 <= u)
    }

    /// Largest width.
    pub fn max_width(&self) -> f64 {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| u - l)
            .fold(0.0, f64::max)
    }
}

/// How bounds are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundMethod {
    /// Interval bound propagation: fast, loose.
    Interval,
    /// Symbolic linear bounds (back-substitution to the input), intersected with intervals.
    Symbolic,
}

/// Linear bounds `a_l * z + b_l <= act(z) <= a_u * z + b_u` for `z` in a neuron's range.
#[derive(Clone, Copy, Debug)]
struct Relaxation {
    lower_slope: f64,
    lower_offset: f64,
    upper_slope: f64,
    upper_offset: f64,
}

/// A network's layers in `f64`, ready for bound propagation.
#[derive(Clone, Debug)]
pub struct BoundNetwork {
    layers: Vec<Layer64>,
    inputs: usize,
}

#[derive(Clone, Debug)]
struct Layer64 {
    inputs: usize,
    outputs: usize,
    /// `inputs x outputs`, as [`crate::network::DenseLayer`].
    weights: Array2<f64>,
    bias: Vec<f64>,
    activation: Activation,
}

impl Layer64 {
    /// The weights from the inputs `rows` to the outputs `columns` (`rows x columns`).
    fn gather(&self, rows: &[usize], columns: &[usize]) -> Array2<f64> {
        let mut out = Vec::with_capacity(rows.len() * columns.len());
        for &i in rows {
            let row = self.weights.row_slice(i);
            out.extend(columns.iter().map(|&o| row[o]));
        }
        crate::tensor::from_vec(rows.len(), columns.len(), out).expect("rows x columns")
    }
}

/// Bounds of every layer for one input box.
#[derive(Clone, Debug)]
pub struct LayerBounds {
    /// Pre-activation bounds of every layer (of the values `f32` arithmetic produces).
    pub pre: Vec<Interval>,
    /// Bound on the `f32` rounding error of every layer's affine map, per neuron.
    errors: Vec<Vec<f64>>,
    relaxations: Vec<Vec<Relaxation>>,
    /// Post-activation bounds of every layer; the last is the output.
    pub post: Vec<Interval>,
    /// Neurons of every layer whose output is not identically 0 on the box (a ReLU that is
    /// off everywhere contributes nothing, so back-substitution skips it).
    live: Vec<Vec<usize>>,
    /// Each layer's weights from the live neurons before it to all its neurons
    /// (`live inputs x outputs`).
    into: Vec<Array2<f64>>,
    /// Each layer's weights from the live neurons before it to its live neurons.
    between: Vec<Array2<f64>>,
}

/// A linear function of the outputs, `coefficients . y - rhs`, bounded below over a box.
///
/// Besides the bound's value over the box it was computed for, it keeps the linear function
/// of the inputs behind it, `input_coefficients . x + constant`, which is a lower bound of the
/// output function at every point of that box: concretised over any sub-box
/// ([`LinearLowerBound::lowest_over`]) it stays sound and gets tighter.
#[derive(Clone, Debug, Default)]
pub struct LinearLowerBound {
    /// The bound: the function is at least this everywhere in the box.
    pub value: f64,
    /// Coefficients of the linear lower bound in terms of the inputs: the bound is reached at
    /// the box corner these point away from, and they say which inputs matter most.
    pub input_coefficients: Vec<f64>,
    /// Constant term of the linear lower bound.
    pub constant: f64,
    /// Sum of the magnitudes of the terms that made `constant`, for the `f64` margin.
    pub magnitude: f64,
    /// A bound that holds regardless of the input (from interval bounds of the outputs).
    pub floor: f64,
}

impl LinearLowerBound {
    /// This bound of `coefficients . y` turned into one of `coefficients . y - rhs`, with
    /// `floor` (an input-free bound of the same) and its value over `input`.
    fn less_rhs(mut self, rhs: f64, floor: f64, input: &Interval) -> Self {
        self.constant -= rhs;
        self.magnitude += rhs.abs();
        self.floor = floor;
        self.value = self.lowest_over(input);
        self
    }

    /// The bound over a sub-box of the box it was computed for (sound only there).
    pub fn lowest_over(&self, sub_box: &Interval) -> f64 {
        if self.input_coefficients.is_empty() {
            return self.floor;
        }
        lowest_over_box(
            &self.input_coefficients,
            self.constant,
            self.magnitude,
            sub_box,
        )
        .max(self.floor)
    }

    /// The smallest box containing every point of `within` where the linear lower bound is
    /// at most 0 (`None` when there is none): where it is positive, so is the output
    /// function, so a constraint `function <= 0` cannot hold there.
    pub fn clip(&self, within: &Interval) -> Option<Interval> {
        if self.floor > 0.0 {
            return None;
        }
        let a = &self.input_coefficients;
        if a.is_empty() {
            return Some(within.clone());
        }
        let lowest = lowest_over_box(a, self.constant, self.magnitude, within);
        if lowest > 0.0 {
            return None;
        }
        let mut clipped = within.clone();
        for (i, &ai) in a.iter().enumerate() {
            let (l, u) = (within.lower[i], within.upper[i]);
            if ai == 0.0 || u <= l {
                continue;
            }
            // The rest of the function is at least `lowest - (its part at the worst corner)`,
            // so `ai * x_i` may reach at most `-that` where the function can be <= 0.
            let reach = -lowest / ai.abs();
            // Outward by far more than the rounding of these few operations.
            let pad = 1e-12 * (l.abs() + u.abs() + reach.abs()) + 1e-300;
            if ai > 0.0 {
                clipped.upper[i] = u.min(l + reach + pad);
            } else {
                clipped.lower[i] = l.max(u - reach - pad);
            }
        }
        Some(clipped)
    }
}

/// Dot product with four running sums (the order does not matter here: the `f64` margin
/// covers any summation order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0f64; 4];
    let (a4, a_rest) = a.split_at(a.len() / 4 * 4);
    let (b4, b_rest) = b.split_at(a4.len());
    for (x, y) in a4.chunks_exact(4).zip(b4.chunks_exact(4)) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    for (x, y) in a_rest.iter().zip(b_rest) {
        total += x * y;
    }
    total
}

/// The lowest value of `a . x + constant` over the box (each coefficient takes its worst
/// corner), less the `f64` margin on every magnitude summed, `magnitude` (of the terms that
/// made `constant`) included. The margin takes each input at its largest magnitude in the box,
/// not at the corner, so that `a . x + constant - margin` is below the function at *every*
/// point of the box (clipping relies on that).
fn lowest_over_box(a: &[f64], constant: f64, magnitude: f64, over: &Interval) -> f64 {
    let mut value = constant;
    let mut m = magnitude + constant.abs();
    for (i, &ai) in a.iter().enumerate() {
        let (l, u) = (over.lower[i], over.upper[i]);
        value += ai * if ai >= 0.0 { l } else { u };
        m += ai.abs() * l.abs().max(u.abs());
    }
    value - F64_MARGIN * m
}

fn gamma(n: usize) -> f64 {
    let nu = n as f64 * F32_UNIT;
    nu / (1.0 - nu)
}

impl BoundNetwork {
    /// Whether the symbolic bounds over `input`, in one pass without any branching,
    /// exclude every unsafe disjunct of `property` (each has a constraint whose lower bound
    /// is positive): then no input of the box breaks it.
    pub fn excludes_unsafe(&self, input: &Interval, property: &Property) -> bool {
        let layers = self.layer_bounds(input, BoundMethod::Symbolic);
        property.unsafe_region.disjuncts.iter().all(|conj| {
            let rows: Vec<Vec<f64>> = conj.iter().map(|c| c.coefficients.clone()).collect();
            let rhs: Vec<f64> = conj.iter().map(|c| c.rhs).collect();
            self.lower_bounds_of_outputs(&layers, input, &rows, &rhs, BoundMethod::Symbolic)
                .iter()
                .any(|b| b.value > 0.0)
        })
    }

    /// Copies the network's parameters to `f64`.
    pub fn new(net: &Network) -> Self {
        BoundNetwork {
            inputs: net.input_size(),
            layers: net
                .layers()
                .iter()
                .map(|l| Layer64 {
                    inputs: l.inputs(),
                    outputs: l.outputs(),
                    weights: crate::tensor::from_vec(
                        l.inputs(),
                        l.outputs(),
                        l.weights().iter().map(|&w| w as f64).collect(),
                    )
                    .expect("a layer's weights are inputs x outputs"),
                    bias: l.bias().iter().map(|&b| b as f64).collect(),
                    activation: l.activation(),
                })
                .collect(),
        }
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Interval image of a dense layer, with the `f32` rounding error of each neuron.
    fn affine_interval(layer: &Layer64, x: &Interval) -> (Interval, Vec<f64>) {
        let n = layer.outputs;
        let mut lower = layer.bias.clone();
        let mut upper = layer.bias.clone();
        let mut magnitude: Vec<f64> = layer.bias.iter().map(|b| b.abs()).collect();
        for i in 0..layer.inputs {
            let (xl, xu) = (x.lower[i], x.upper[i]);
            let xm = xl.abs().max(xu.abs());
            let row = layer.weights.row_slice(i);
            for o in 0..n {
                let w = row[o];
                if w >= 0.0 {
                    lower[o] += w * xl;
                    upper[o] += w * xu;
                } else {
                    lower[o] += w * xu;
                    upper[o] += w * xl;
                }
                magnitude[o] += w.abs() * xm;
            }
        }
        let g = 2.0 * gamma(layer.inputs + 2);
        let errors: Vec<f64> = magnitude.iter().map(|m| g * m).collect();
        for o in 0..n {
            let pad = errors[o] + F64_MARGIN * magnitude[o];
            lower[o] -= pad;
            upper[o] += pad;
        }
        (Interval::new(lower, upper), errors)
    }

    /// Bounds of every layer over the box `input`.
    pub fn layer_bounds(&self, input: &Interval, method: BoundMethod) -> LayerBounds {
        self.layer_bounds_within(input, method, None)
    }

    /// Bounds of every layer over the box `input`, which lies inside a box whose
    /// pre-activation bounds are `enclosing`: those hold here too, so each neuron keeps the
    /// tighter of the two, and a neuron the enclosing box already decided needs no symbolic
    /// bound of its own.
    pub fn layer_bounds_within(
        &self,
        input: &Interval,
        method: BoundMethod,
        enclosing: Option<&[Interval]>,
    ) -> LayerBounds {
        let depth = self.layers.len();
        let mut bounds = LayerBounds {
            pre: Vec::with_capacity(depth),
            errors: Vec::with_capacity(depth),
            relaxations: Vec::with_capacity(depth),
            post: Vec::with_capacity(depth),
            live: Vec::with_capacity(depth),
            into: Vec::with_capacity(depth),
            between: Vec::with_capacity(depth),
        };
        let all_inputs: Vec<usize> = (0..self.inputs).collect();
        for (k, layer) in self.layers.iter().enumerate() {
            let previous = if k == 0 { input } else { &bounds.post[k - 1] };
            let (mut pre, errors) = Self::affine_interval(layer, previous);
            bounds.errors.push(errors);
            let live_in = if k == 0 {
                &all_inputs
            } else {
                &bounds.live[k - 1]
            };
            let all_outputs: Vec<usize> = (0..layer.outputs).collect();
            bounds.into.push(layer.gather(live_in, &all_outputs));
            if let Some(outer) = enclosing.and_then(|e| e.get(k)) {
                for o in 0..layer.outputs {
                    pre.lower[o] = pre.lower[o].max(outer.lower[o]);
                    pre.upper[o] = pre.upper[o].min(outer.upper[o]);
                }
            }
            if method == BoundMethod::Symbolic && k > 0 {
                // Only neurons that intervals leave undecided need symbolic bounds when the
                // activation is piecewise linear: elsewhere its relaxation is exact anyway.
                let rows: Vec<usize> = (0..layer.outputs)
                    .filter(|&o| match layer.activation {
                        Activation::Identity => k + 1 < self.layers.len(),
                        Activation::Relu | Activation::LeakyRelu { .. } => {
                            pre.lower[o] < 0.0 && pre.upper[o] > 0.0
                        }
                        _ => true,
                    })
                    .collect();
                if !rows.is_empty() {
                    // Lower bounds of z and of -z, in one pass.
                    let n = rows.len();
                    let mut spec = Array2::zeros((2 * n, layer.outputs));
                    for (r, &o) in rows.iter().enumerate() {
                        spec[[r, o]] = 1.0;
                        spec[[n + r, o]] = -1.0;
                    }
                    let found = self.back_substitute(&bounds, input, k, &spec, false);
                    for (r, &o) in rows.iter().enumerate() {
                        pre.lower[o] = pre.lower[o].max(found[r].value);
                        pre.upper[o] = pre.upper[o].min(-found[n + r].value);
                    }
                }
            }
            let act = layer.activation;
            let relaxations: Vec<Relaxation> = (0..layer.outputs)
                .map(|o| relax(act, pre.lower[o], pre.upper[o]))
                .collect();
            let (lo, hi): (Vec<f64>, Vec<f64>) = (0..layer.outputs)
                .map(|o| act_range(act, pre.lower[o], pre.upper[o]))
                .unzip();
            let live: Vec<usize> = match act {
                Activation::Relu => (0..layer.outputs).filter(|&o| pre.upper[o] > 0.0).collect(),
                _ => all_outputs,
            };
            let live_in = if k == 0 {
                &all_inputs
            } else {
                &bounds.live[k - 1]
            };
            bounds.between.push(layer.gather(live_in, &live));
            bounds.live.push(live);
            bounds.pre.push(pre);
            bounds.relaxations.push(relaxations);
            bounds.post.push(Interval::new(lo, hi));
        }
        bounds
    }

    /// Lower bounds over the box of linear functions of layer `k`'s pre-activation values
    /// (`spec`: one function per row, `functions x width(k)`), by back-substitution to the
    /// input. With `through_activation`, the functions are of layer `k`'s *post*-activation
    /// values.
    fn back_substitute(
        &self,
        bounds: &LayerBounds,
        input: &Interval,
        k: usize,
        spec: &ArrayRef2<f64>,
        through_activation: bool,
    ) -> Vec<LinearLowerBound> {
        self.back_substitute_relaxed(
            bounds,
            &bounds.relaxations,
            input,
            k,
            spec,
            through_activation,
        )
    }

    /// [`Self::back_substitute`] with every neuron's relaxation given (any sound
    /// relaxations of the box's neurons, such as optimised lower slopes).
    fn back_substitute_relaxed(
        &self,
        bounds: &LayerBounds,
        relaxations: &[Vec<Relaxation>],
        input: &Interval,
        k: usize,
        spec: &ArrayRef2<f64>,
        through_activation: bool,
    ) -> Vec<LinearLowerBound> {
        let all_outputs: Vec<usize> = (0..self.layers[k].outputs).collect();
        let rows = spec.nrows();
        // `lambda` holds coefficients (one function per row) on the neurons `columns` of
        // layer `j` (all of them at the start, the live ones below).
        let mut lambda = crate::tensor::standard(spec).into_owned();
        let mut columns: &[usize] = &all_outputs;
        let mut constant = vec![0.0f64; rows];
        let mut magnitude = vec![0.0f64; rows];
        if through_activation {
            Self::relax_into(
                &mut lambda,
                &mut constant,
                &mut magnitude,
                &relaxations[k],
                columns,
            );
        }
        let mut j = k;
        loop {
            let layer = &self.layers[j];
            let width = columns.len();
            // z_j = a_{j-1} W + b + delta, |delta| <= errors[j].
            for (r, lam) in lambda.row_slices().enumerate() {
                let mut c = 0.0;
                let mut m = 0.0;
                for (&l, &o) in lam.iter().zip(columns) {
                    let (b, e) = (layer.bias[o], bounds.errors[j][o]);
                    c += l * b - l.abs() * e;
                    m += (l * b).abs() + l.abs() * e;
                }
                constant[r] += c;
                magnitude[r] += m;
            }
            let weights = if j == k {
                &bounds.into[j]
            } else {
                &bounds.between[j]
            };
            debug_assert_eq!(weights.ncols(), width);
            let mut next = Array2::zeros((rows, weights.nrows()));
            // Rows of `weights` by `chunks_exact`: a row lookup per product would check the
            // layout each time, in the verifier's innermost loop.
            for (lam, out) in lambda
                .row_slices()
                .zip(next.flat_mut().chunks_exact_mut(weights.nrows().max(1)))
            {
                for (slot, w_row) in out
                    .iter_mut()
                    .zip(weights.flat().chunks_exact(width.max(1)))
                {
                    *slot = dot(lam, w_row);
                }
            }
            lambda = next;
            if j == 0 {
                break;
            }
            j -= 1;
            columns = &bounds.live[j];
            if columns.is_empty() {
                // Every neuron of layer j is off: the functions are constant on the box.
                lambda = Array2::zeros((rows, self.inputs));
                break;
            }
            Self::relax_into(
                &mut lambda,
                &mut constant,
                &mut magnitude,
                &relaxations[j],
                columns,
            );
        }
        // Concretise over the input box: each coefficient takes its worst corner.
        lambda
            .row_slices()
            .enumerate()
            .map(|(r, a)| LinearLowerBound {
                value: lowest_over_box(a, constant[r], magnitude[r], input),
                input_coefficients: a.to_vec(),
                constant: constant[r],
                magnitude: magnitude[r],
                floor: f64::NEG_INFINITY,
            })
            .collect()
    }

    /// Replaces coefficients on the post-activation values of the neurons `columns` by
    /// coefficients on their pre-activation values, choosing each neuron's lower or upper
    /// relaxation by the coefficient's sign.
    fn relax_into(
        lambda: &mut ArrayRef2<f64>,
        constant: &mut [f64],
        magnitude: &mut [f64],
        relaxations: &[Relaxation],
        columns: &[usize],
    ) {
        debug_assert_eq!(lambda.ncols(), columns.len());
        for r in 0..lambda.nrows() {
            let row = lambda.row_slice_mut(r);
            for (c, &o) in columns.iter().enumerate() {
                let a = row[c];
                if a == 0.0 {
                    continue;
                }
                let rel = &relaxations[o];
                let (slope, offset) = if a >= 0.0 {
                    (rel.lower_slope, rel.lower_offset)
                } else {
                    (rel.upper_slope, rel.upper_offset)
                };
                row[c] = a * slope;
                constant[r] += a * offset;
                magnitude[r] += (a * offset).abs();
            }
        }
    }

    /// Lower bounds of linear functions of the outputs (`coefficients[r] . y - rhs[r]`) over
    /// the box, given the box's layer bounds.
    pub fn lower_bounds_of_outputs(
        &self,
        bounds: &LayerBounds,
        input: &Interval,
        coefficients: &[Vec<f64>],
        rhs: &[f64],
        method: BoundMethod,
    ) -> Vec<LinearLowerBound> {
        let last = self.layers.len() - 1;
        let out = &bounds.post[last];
        match method {
            BoundMethod::Interval => coefficients
                .iter()
                .zip(rhs)
                .map(|(c, &b)| {
                    let value = lowest_over_box(c, -b, 0.0, out);
                    LinearLowerBound {
                        value,
                        input_coefficients: Vec::new(),
                        constant: value,
                        magnitude: 0.0,
                        floor: value,
                    }
                })
                .collect(),
            BoundMethod::Symbolic => {
                let width = self.layers[last].outputs;
                let mut spec = Array2::zeros((coefficients.len(), width));
                for (r, c) in coefficients.iter().enumerate() {
                    spec.row_slice_mut(r).copy_from_slice(c);
                }
                let symbolic = self.back_substitute(bounds, input, last, &spec, true);
                let interval = self.lower_bounds_of_outputs(
                    bounds,
                    input,
                    coefficients,
                    rhs,
                    BoundMethod::Interval,
                );
                symbolic
                    .into_iter()
                    .zip(interval)
                    .zip(rhs)
                    .map(|((s, i), &b)| s.less_rhs(b, i.value, input))
                    .collect()
            }
        }
    }

    /// Bounds of every output over the box.
    pub fn output_bounds(&self, input: &Interval, method: BoundMethod) -> Interval {
        let bounds = self.layer_bounds(input, method);
        let last = bounds.post.len() - 1;
        let width = bounds.post[last].len();
        let mut lower = bounds.post[last].lower.clone();
        let mut upper = bounds.post[last].upper.clone();
        if method == BoundMethod::Symbolic {
            let unit = |o: usize, sign: f64| {
                let mut c = vec![0.0; width];
                c[o] = sign;
                c
            };
            let up: Vec<Vec<f64>> = (0..width).map(|o| unit(o, 1.0)).collect();
            let down: Vec<Vec<f64>> = (0..width).map(|o| unit(o, -1.0)).collect();
            let zeros = vec![0.0; width];
            let lo = self.lower_bounds_of_outputs(&bounds, input, &up, &zeros, method);
            let hi = self.lower_bounds_of_outputs(&bounds, input, &down, &zeros, method);
            for o in 0..width {
                lower[o] = lower[o].max(lo[o].value);
                upper[o] = upper[o].min(-hi[o].value);
            }
        }
        Interval::new(lower, upper)
    }
}
