//! The partition of the property regions into cells, and what the frozen hidden layers are
//! known to do on each cell: a linear lower and upper bound of every last-hidden feature in
//! the inputs (the verifier's symbolic bounds).

use crate::network::{Network, NetworkMeta};
use crate::property::Property;
use crate::tensor::{to_standard, Array2, ArrayRef2};
use crate::verify::bounds::{BoundMethod, BoundNetwork, Interval};

/// `coefficients . x + constant`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Affine {
    pub coefficients: Vec<f64>,
    pub constant: f64,
}

impl Affine {
    /// The function's value at `x`.
    pub fn at(&self, x: &[f64]) -> f64 {
        self.constant
            + self
                .coefficients
                .iter()
                .zip(x)
                .map(|(a, v)| a * v)
                .sum::<f64>()
    }
}

/// Bounds of one feature on a cell: `lower(x) <= h(x) <= upper(x)` for every `x` in it.
#[derive(Clone, Debug)]
pub(crate) struct FeatureBound {
    pub feature: usize,
    pub lower: Affine,
    pub upper: Affine,
    /// `lower` at its lowest and `upper` at its highest over the cell (intersected with the
    /// feature's interval bounds).
    pub low: f64,
    pub high: f64,
}

impl FeatureBound {
    /// Whether both bounds have the same slopes (every neuron behind the feature is stable
    /// on the cell): then `a * h` is bounded by one linear function whatever the sign of `a`.
    pub fn is_exact(&self) -> bool {
        self.lower.coefficients == self.upper.coefficients
    }
}

/// One cell of the partition.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    /// Index of the property the cell belongs to.
    pub property: usize,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Features that are not identically zero on the cell.
    pub features: Vec<FeatureBound>,
    /// Per disjunct of the property's unsafe region, the constraint the repaired network
    /// must violate everywhere on the cell (chosen when the cell is made).
    pub witnesses: Vec<usize>,
    /// How many times the cell's ancestors were split.
    pub depth: u32,
}

impl Cell {
    pub fn centre(&self) -> Vec<f64> {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| 0.5 * (l + u))
            .collect()
    }

    pub fn radius(&self) -> Vec<f64> {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| 0.5 * (u - l))
            .collect()
    }
}

/// The hidden layers of a network, frozen, as a bound engine for their last features.
pub(crate) struct FeatureMap {
    /// `None` for a network without hidden layers: the features are the inputs.
    hidden: Option<(Network, BoundNetwork)>,
    inputs: usize,
    features: usize,
}

impl FeatureMap {
    /// All layers but the last of `net`.
    pub fn new(net: &Network) -> Self {
        let layers = net.layers();
        let last = layers.len() - 1;
        let inputs = net.input_size();
        let features = layers[last].inputs();
        let hidden = (last > 0).then(|| {
            let meta = NetworkMeta::generic(inputs, features);
            let hidden = Network::new(layers[..last].to_vec(), meta)
                .expect("a prefix of a valid network is valid");
            let bounds = BoundNetwork::new(&hidden);
            (hidden, bounds)
        });
        FeatureMap {
            hidden,
            inputs,
            features,
        }
    }

    /// Width of the feature vector.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The features of a batch of inputs, as the network computes them in `f32`.
    pub fn of_inputs(&self, inputs: &ArrayRef2<f32>) -> Array2<f32> {
        let inputs = &*crate::tensor::standard(inputs);
        match &self.hidden {
            Some((net, _)) => net.forward(inputs).expect("inputs of the network's width"),
            None => to_standard(inputs),
        }
    }

    /// Linear bounds of every feature that is not identically zero on the box.
    pub fn bounds_on(&self, lower: &[f64], upper: &[f64]) -> Vec<FeatureBound> {
        let Some((_, bound_net)) = &self.hidden else {
            return (0..self.inputs)
                .map(|i| {
                    let mut coefficients = vec![0.0; self.inputs];
                    coefficients[i] = 1.0;
                    let exact = Affine {
                        coefficients,
                        constant: 0.0,
                    };
                    FeatureBound {
                        feature: i,
                        lower: exact.clone(),
                        upper: exact,
                        low: lower[i],
                        high: upper[i],
                    }
                })
                .collect();
        };
        let input = Interval::new(lower.to_vec(), upper.to_vec());
        let layer_bounds = bound_net.layer_bounds(&input, BoundMethod::Symbolic);
        let post = layer_bounds.post.last().expect("at least one layer");
        let live: Vec<usize> = (0..self.features)
            .filter(|&i| post.lower[i] != 0.0 || post.upper[i] != 0.0)
            .collect();
        let mut specs = Vec::with_capacity(2 * live.len());
        for &i in &live {
            for sign in [1.0, -1.0] {
                let mut c = vec![0.0; self.features];
                c[i] = sign;
                specs.push(c);
            }
        }
        let zeros = vec![0.0; specs.len()];
        let found = bound_net.lower_bounds_of_outputs(
            &layer_bounds,
            &input,
            &specs,
            &zeros,
            BoundMethod::Symbolic,
        );
        live.iter()
            .enumerate()
            .map(|(n, &feature)| {
                let below = &found[2 * n];
                let above = &found[2 * n + 1];
                FeatureBound {
                    feature,
                    lower: affine_of(below, self.inputs, 1.0),
                    upper: affine_of(above, self.inputs, -1.0),
                    low: below.value.max(post.lower[feature]),
                    high: (-above.value).min(post.upper[feature]),
                }
            })
            .collect()
    }
}

/// The linear function behind a lower bound of `sign * h`, as a bound of `h` (the `f64`
/// margin is left to the sound re-check: the program only has to aim right).
fn affine_of(bound: &crate::verify::bounds::LinearLowerBound, inputs: usize, sign: f64) -> Affine {
    if bound.input_coefficients.is_empty() {
        return Affine {
            coefficients: vec![0.0; inputs],
            constant: sign * bound.value,
        };
    }
    Affine {
        coefficients: bound.input_coefficients.iter().map(|c| sign * c).collect(),
        constant: sign * bound.constant,
    }
}

/// The lower bound over `cell` of `r . (W h + b) - d` for the last layer given by
/// `weight(o, i)` and `bias(o)`, from the cell's feature bounds (each feature's bound chosen
/// by the sign of its coefficient).
pub(crate) fn requirement_lower_bound(
    cell: &Cell,
    r: &[f64],
    d: f64,
    weight: impl Fn(usize, usize) -> f64,
    bias: impl Fn(usize) -> f64,
) -> f64 {
    let (g, features_constant) = requirement_affine(cell, r, weight);
    let constant = features_constant - d
        + r.iter()
            .enumerate()
            .map(|(o, &ro)| ro * bias(o))
            .sum::<f64>();
    let centre = cell.centre();
    let radius = cell.radius();
    constant
        + g.iter()
            .zip(&centre)
            .zip(&radius)
            .map(|((gj, c), rad)| gj * c - gj.abs() * rad)
            .sum::<f64>()
}

/// The linear lower bound of `r . W h` on the cell: its slopes in the inputs and constant.
fn requirement_affine(
    cell: &Cell,
    r: &[f64],
    weight: impl Fn(usize, usize) -> f64,
) -> (Vec<f64>, f64) {
    let mut g = vec![0.0; cell.lower.len()];
    let mut constant = 0.0;
    for f in &cell.features {
        let a: f64 = r
            .iter()
            .enumerate()
            .map(|(o, &ro)| ro * weight(o, f.feature))
            .sum();
        let chosen = if a >= 0.0 { &f.lower } else { &f.upper };
        constant += a * chosen.constant;
        for (gj, c) in g.iter_mut().zip(&chosen.coefficients) {
            *gj += a * c;
        }
    }
    (g, constant)
}

/// The cells' first partition: every input box of every property bisected, widest input
/// first (relative to the box), until there are about `per_box` cells per box.
pub(crate) fn initial_partition(
    properties: &[Property],
    per_box: usize,
) -> Vec<(usize, Vec<f64>, Vec<f64>)> {
    let mut cells = Vec::new();
    for (p, property) in properties.iter().enumerate() {
        for b in &property.input_boxes {
            let widths = b.widths();
            let mut level = vec![(b.lower.clone(), b.upper.clone())];
            while level.len() * 2 <= per_box.max(1) {
                let before = level.len();
                let mut next = Vec::with_capacity(before * 2);
                for (lower, upper) in level {
                    match widest_relative(&lower, &upper, &widths) {
                        Some(j) => {
                            let (a, b) = bisect(&lower, &upper, j);
                            next.push(a);
                            next.push(b);
                        }
                        None => next.push((lower, upper)),
                    }
                }
                let stuck = next.len() == before;
                level = next;
                if stuck {
                    break;
                }
            }
            cells.extend(level.into_iter().map(|(l, u)| (p, l, u)));
        }
    }
    cells
}

/// The input with the largest width relative to the root box (`None` when all are 0).
pub(crate) fn widest_relative(lower: &[f64], upper: &[f64], root: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for j in 0..lower.len() {
        if root[j] <= 0.0 || upper[j] <= lower[j] {
            continue;
        }
        let rel = (upper[j] - lower[j]) / root[j];
        if best.is_none_or(|(_, b)| rel > b) {
            best = Some((j, rel));
        }
    }
    best.map(|(j, _)| j)
}

/// A box's lower and upper corners.
pub(crate) type Corners = (Vec<f64>, Vec<f64>);

/// The two halves of a box along input `j` (they share the midpoint, so together they
/// cover every point of the box).
pub(crate) fn bisect(lower: &[f64], upper: &[f64], j: usize) -> (Corners, Corners) {
    let mid = 0.5 * (lower[j] + upper[j]);
    let mut left_upper = upper.to_vec();
    left_upper[j] = mid;
    let mut right_lower = lower.to_vec();
    right_lower[j] = mid;
    ((lower.to_vec(), left_upper), (right_lower, upper.to_vec()))
}

/// Where to split a cell whose requirement fails: the input whose slope times width
/// matters most to the bound under the current last layer, unless some input is far wider
/// relative to the root box (then that one, so every input keeps being refined).
pub(crate) fn split_input(
    cell: &Cell,
    root_widths: &[f64],
    slope: impl Fn(usize) -> f64,
) -> Option<usize> {
    let widest = widest_relative(&cell.lower, &cell.upper, root_widths)?;
    let relative = |j: usize| (cell.upper[j] - cell.lower[j]) / root_widths[j];
    let mut best: Option<(usize, f64)> = None;
    for (j, &root) in root_widths.iter().enumerate() {
        if root <= 0.0 || cell.upper[j] <= cell.lower[j] {
            continue;
        }
        let score = slope(j).abs() * (cell.upper[j] - cell.lower[j]);
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((j, score));
        }
    }
    match best {
        Some((j, s)) if s > 0.0 && relative(widest) <= 8.0 * relative(j) => Some(j),
        _ => Some(widest),
    }
}

/// The slopes of the requirement's bound in the inputs, for [`split_input`].
pub(crate) fn requirement_slopes(
    cell: &Cell,
    r: &[f64],
    weight: impl Fn(usize, usize) -> f64,
) -> Vec<f64> {
    requirement_affine(cell, r, weight).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_evaluates() {
        let a = Affine {
            coefficients: vec![1.0, -2.0],
            constant: 0.5,
        };
        assert_eq!(a.at(&[1.0, 1.0]), -0.5);
    }

    #[test]
    fn halves_cover_the_box() {
        let ((l1, u1), (l2, u2)) = bisect(&[0.0, 0.0], &[1.0, 2.0], 1);
        assert_eq!((l1, u1), (vec![0.0, 0.0], vec![1.0, 1.0]));
        assert_eq!((l2, u2), (vec![0.0, 1.0], vec![1.0, 2.0]));
    }
}
