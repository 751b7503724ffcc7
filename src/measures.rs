//! What a repair fixed and what it kept, measured on data the repair never saw.
//!
//! Violation rates count negatives among inputs of the property regions; fidelity is the
//! share of inputs whose *decision* is unchanged from the original network; change size
//! compares the parameters. Nothing here edits a network.

use crate::network::{Network, NetworkError};
use crate::property::{negatives_of, InputBox, Property};
use crate::tensor::{ArrayRef2, BatchRows};
use serde::{Deserialize, Serialize};

/// A count out of a total, with its ratio.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// How many.
    pub count: usize,
    /// Out of how many.
    pub total: usize,
}

impl Rate {
    /// `count / total`, or 0 when there is nothing to count.
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.count as f64 / self.total as f64
        }
    }

    /// `100 * ratio`.
    pub fn percent(&self) -> f64 {
        100.0 * self.ratio()
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({:.3} %)", self.count, self.total, self.percent())
    }
}

/// How many inputs of a batch violate at least one property.
pub fn violations(
    net: &Network,
    properties: &[Property],
    inputs: &ArrayRef2<f32>,
) -> Result<Rate, NetworkError> {
    let inputs = &*crate::tensor::standard(inputs);
    let outputs = net.forward(inputs)?;
    Ok(Rate {
        count: negatives_of(properties, inputs, &outputs)
            .iter()
            .filter(|&&n| n)
            .count(),
        total: inputs.nrows(),
    })
}

/// How many inputs keep the original network's decision.
pub fn fidelity(
    original: &Network,
    repaired: &Network,
    inputs: &ArrayRef2<f32>,
) -> Result<Rate, NetworkError> {
    let inputs = &*crate::tensor::standard(inputs);
    let before = original.decisions(inputs)?;
    let after = repaired.decisions(inputs)?;
    Ok(Rate {
        count: before.iter().zip(&after).filter(|(a, b)| a == b).count(),
        total: inputs.nrows(),
    })
}

/// Fidelity on the inputs the original network got right (positives): inputs that were
/// negative are supposed to change.
pub fn fidelity_on_positives(
    original: &Network,
    repaired: &Network,
    properties: &[Property],
    inputs: &ArrayRef2<f32>,
) -> Result<Rate, NetworkError> {
    let inputs = &*crate::tensor::standard(inputs);
    let outputs = original.forward(inputs)?;
    let negative = negatives_of(properties, inputs, &outputs);
    let keep: Vec<usize> = (0..inputs.nrows()).filter(|&r| !negative[r]).collect();
    fidelity(original, repaired, &inputs.select_rows(&keep))
}

/// How much the parameters moved.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeSize {
    /// `||theta' - theta|| / ||theta||` over all weights and biases.
    pub relative_l2: f64,
    /// Parameters whose value changed at all.
    pub parameters_changed: usize,
    /// All parameters.
    pub parameters: usize,
}

/// Compares two networks of the same architecture, or a repaired network that grew: each
/// of its layers holds the original's neurons first (a region patch adds neurons after
/// them), and an added parameter counts as changed where it is not zero.
pub fn change_size(original: &Network, repaired: &Network) -> ChangeSize {
    let (mut diff, mut norm, mut changed, mut parameters) = (0.0f64, 0.0f64, 0usize, 0usize);
    let mut compare = |x: Option<f32>, y: f32| {
        let x0 = x.unwrap_or(0.0);
        let d = (y as f64) - (x0 as f64);
        diff += d * d;
        norm += (x0 as f64) * (x0 as f64);
        changed += usize::from(x.unwrap_or(0.0).to_bits() != y.to_bits());
        parameters += 1;
    };
    let grew = original.layers().len() == repaired.layers().len()
        && original
            .layers()
            .iter()
            .zip(repaired.layers())
            .all(|(a, b)| a.inputs() <= b.inputs() && a.outputs() <= b.outputs());
    if grew {
        for (a, b) in original.layers().iter().zip(repaired.layers()) {
            for i in 0..b.inputs() {
                for o in 0..b.outputs() {
                    let before = (i < a.inputs() && o < a.outputs()).then(|| a.weight(i, o));
                    compare(before, b.weight(i, o));
                }
            }
            for o in 0..b.outputs() {
                compare(a.bias().get(o).copied(), b.bias()[o]);
            }
        }
    } else {
        // Different architectures: compared position by position, as far as both go.
        let a = original.parameters();
        for (i, y) in repaired.parameters().into_iter().enumerate() {
            compare(a.get(i).copied(), y);
        }
    }
    ChangeSize {
        relative_l2: if norm > 0.0 {
            (diff / norm).sqrt()
        } else {
            diff.sqrt()
        },
        parameters_changed: changed,
        parameters,
    }
}

/// Mean over inputs of `||N'(x) - N(x)|| / ||N(x)||`: how far outputs moved, decisions aside.
pub fn relative_output_deviation(
    original: &Network,
    repaired: &Network,
    inputs: &ArrayRef2<f32>,
) -> Result<f64, NetworkError> {
    let inputs = &*crate::tensor::standard(inputs);
    if inputs.nrows() == 0 {
        return Ok(0.0);
    }
    let a = original.forward(inputs)?;
    let b = repaired.forward(inputs)?;
    let mut total = 0.0;
    for (ya, yb) in a.row_slices().zip(b.row_slices()) {
        let d: f64 = ya
            .iter()
            .zip(yb)
            .map(|(p, q)| ((q - p) as f64).powi(2))
            .sum();
        let n: f64 = ya.iter().map(|p| (*p as f64).powi(2)).sum();
        total += (d / n.max(1e-30)).sqrt();
    }
    Ok(total / inputs.nrows() as f64)
}

/// The box of the network's meaningful inputs, in network units (from its metadata).
pub fn input_domain(net: &Network) -> InputBox {
    let (lower, upper) = net.meta().inputs.iter().map(|s| s.network_bounds()).unzip();
    InputBox { lower, upper }
}

/// Number of fresh samples for a PAC statement: the smallest `M` with
/// `(1 - epsilon)^M <= exp(-epsilon M) <= delta`, i.e. `ceil(ln(1/delta) / epsilon)`.
pub fn pac_sample_count(epsilon: f64, delta: f64) -> Result<usize, String> {
    if !(epsilon > 0.0 && epsilon < 1.0 && delta > 0.0 && delta < 1.0) {
        return Err(format!(
            "epsilon and delta must lie strictly between 0 and 1 (got {epsilon}, {delta})"
        ));
    }
    let m = ((1.0 / delta).ln() / epsilon).ceil();
    if m > 1e9 {
        return Err(format!(
            "epsilon = {epsilon}, delta = {delta} need {m} samples: too many"
        ));
    }
    Ok(m as usize)
}

/// A probably-approximately-correct safety statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PacStatement {
    /// The regions covered (each property's input boxes, network units).
    pub regions: Vec<(String, Vec<InputBox>)>,
    /// The sampling distribution.
    pub distribution: String,
    /// Bound on the probability that a random input of the region is a counterexample.
    pub epsilon: f64,
    /// Probability that the bound is wrong.
    pub delta: f64,
    /// Fresh samples drawn, all safe.
    pub samples: usize,
    /// Seed of those samples.
    pub seed: u64,
}

impl std::fmt::Display for PacStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.regions.iter().map(|(n, _)| n.as_str()).collect();
        write!(
            f,
            "with confidence >= {:.4} %, a random input drawn {} from the region of {} is a counterexample with probability <= {} ({} fresh samples, none unsafe, seed {})",
            100.0 * (1.0 - self.delta),
            self.distribution,
            names.join(", "),
            self.epsilon,
            self.samples,
            self.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;

    #[test]
    fn pac_sample_count_follows_the_formula() {
        assert_eq!(pac_sample_count(1e-3, 1e-3).unwrap(), 6908);
        assert_eq!(pac_sample_count(0.01, 0.05).unwrap(), 300);
        // The guarantee itself: (1 - eps)^M <= delta at the returned M, not at M - 1 for
        // exp(-eps M).
        for (e, d) in [(1e-3, 1e-3), (0.05, 0.01), (1e-4, 0.1)] {
            let m = pac_sample_count(e, d).unwrap();
            assert!((1.0f64 - e).powf(m as f64) <= d);
            assert!((-e * (m as f64 - 1.0)).exp() > d);
        }
        assert!(pac_sample_count(0.0, 0.1).is_err());
        assert!(pac_sample_count(0.1, 1.0).is_err());
        assert!(pac_sample_count(1e-12, 1e-3).is_err());
    }

    #[test]
    fn identical_networks_have_full_fidelity_and_no_change() {
        let net = Network::random(&[2, 5, 3], Activation::Relu, 4).unwrap();
        let x = crate::tensor::from_rows(&[[0.1f32, 0.2], [-0.5, 0.9]]).unwrap();
        assert_eq!(
            fidelity(&net, &net, &x).unwrap(),
            Rate { count: 2, total: 2 }
        );
        let c = change_size(&net, &net);
        assert_eq!((c.relative_l2, c.parameters_changed), (0.0, 0));
        assert_eq!(relative_output_deviation(&net, &net, &x).unwrap(), 0.0);
    }
}
