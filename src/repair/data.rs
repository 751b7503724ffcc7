//! The samples a repair learns from and is judged on.
//!
//! Negatives are inputs that violate a property on the original network; positives are
//! inputs whose behaviour must be kept. Either both come from sample files (the paper's
//! counterexample / drawndown sets), or they are drawn: uniform samples of every property's
//! region, counterexamples found by the falsifier and their neighbourhoods, and uniform
//! samples of the whole input domain (behaviour outside the regions must be kept too).
//! Validation sets steer the repair; the held-out sets are only for the final report.

use crate::falsify::{Falsifier, FalsifierConfig};
use crate::measures::input_domain;
use crate::network::Network;
use crate::property::{negatives_of, InputBox, Property, PropertyError};
use crate::rng::SplitMix64;
use crate::sampling::{sample_box, sample_property};
use crate::tensor::{Array2, ArrayRef2, BatchGrow, BatchRows};

/// Training and validation samples of a repair.
#[derive(Clone, Debug)]
pub struct RepairData {
    /// Counterexamples the repair must fix.
    pub negatives: Array2<f32>,
    /// Inputs whose decisions the repair must keep.
    pub positives: Array2<f32>,
    /// Counterexamples used to steer and stop (not trained on).
    pub validation_negatives: Array2<f32>,
    /// Positives used to steer and stop (not trained on).
    pub validation_positives: Array2<f32>,
}

/// Samples that no part of the repair sees, for the final report.
#[derive(Clone, Debug)]
pub struct HeldOut {
    /// Held-out counterexamples (all negative on the original network).
    pub negatives: Array2<f32>,
    /// Held-out positives (their decisions should be kept).
    pub positives: Array2<f32>,
}

/// How many samples to draw when no sample files are given.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingPlan {
    /// Uniform samples per property region.
    pub per_region: usize,
    /// Uniform samples of the whole input domain (kept behaviour outside the regions).
    pub domain: usize,
    /// Falsifier settings used to find negatives that uniform sampling misses.
    pub falsifier: FalsifierConfig,
    /// Neighbours drawn around each falsifier counterexample (most are negatives too).
    pub neighbours: usize,
    /// Share of each set set aside for validation.
    pub validation_share: f64,
}

impl Default for SamplingPlan {
    fn default() -> Self {
        SamplingPlan {
            per_region: 10_000,
            domain: 5_000,
            falsifier: FalsifierConfig {
                starts: 2048,
                max_counterexamples: 200,
                ..Default::default()
            },
            neighbours: 20,
            validation_share: 0.2,
        }
    }
}

/// Splits `rows` into (train, validation) with `share` of them, spread evenly, in validation.
pub(crate) fn split(rows: &ArrayRef2<f32>, share: f64) -> (Array2<f32>, Array2<f32>) {
    let n = rows.nrows();
    let every = if share <= 0.0 {
        usize::MAX
    } else {
        ((1.0 / share).round() as usize).max(2)
    };
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for r in 0..n {
        if r % every == every - 1 {
            val.push(r);
        } else {
            train.push(r);
        }
    }
    (rows.select_rows(&train), rows.select_rows(&val))
}

/// Separates inputs into (negatives, positives) on the network.
pub fn partition(
    net: &Network,
    properties: &[Property],
    inputs: &ArrayRef2<f32>,
) -> Result<(Array2<f32>, Array2<f32>), PropertyError> {
    let inputs = &*crate::tensor::standard(inputs);
    let outputs = net.forward(inputs)?;
    let negative = negatives_of(properties, inputs, &outputs);
    let neg: Vec<usize> = (0..inputs.nrows()).filter(|&r| negative[r]).collect();
    let pos: Vec<usize> = (0..inputs.nrows()).filter(|&r| !negative[r]).collect();
    Ok((inputs.select_rows(&neg), inputs.select_rows(&pos)))
}

impl RepairData {
    /// The same data with every batch in standard layout (a no-op for data birdnn made; the
    /// fields are public, and the repair reads rows as slices).
    pub fn into_standard_layout(self) -> Self {
        let standard = |a: Array2<f32>| {
            if a.is_standard_layout() {
                a
            } else {
                crate::tensor::to_standard(&a)
            }
        };
        RepairData {
            negatives: standard(self.negatives),
            positives: standard(self.positives),
            validation_negatives: standard(self.validation_negatives),
            validation_positives: standard(self.validation_positives),
        }
    }

    /// From sample files: `negatives` are candidate counterexamples, `positives` inputs whose
    /// behaviour to keep. Rows are re-classified on the network: a "counterexample" that is
    /// not one (outside the region, or safe) joins the positives. Every fifth row of each
    /// set goes to validation.
    pub fn from_samples(
        net: &Network,
        properties: &[Property],
        negatives: &ArrayRef2<f32>,
        positives: &ArrayRef2<f32>,
    ) -> Result<Self, PropertyError> {
        let negatives = &*crate::tensor::standard(negatives);
        let positives = &*crate::tensor::standard(positives);
        let (neg, mut pos_from_neg) = partition(net, properties, negatives)?;
        let (neg_from_pos, pos) = partition(net, properties, positives)?;
        let mut all_neg = neg;
        all_neg.append_rows(&neg_from_pos).expect("same width");
        pos_from_neg.append_rows(&pos).expect("same width");
        let (negatives, validation_negatives) = split(&all_neg, 0.2);
        let (positives, validation_positives) = split(&pos_from_neg, 0.2);
        Ok(RepairData {
            negatives,
            positives,
            validation_negatives,
            validation_positives,
        })
    }

    /// Draws the data: uniform samples of every region and of the whole domain, plus the
    /// falsifier's counterexamples and their neighbours.
    pub fn sampled(
        net: &Network,
        properties: &[Property],
        plan: &SamplingPlan,
        seed: u64,
    ) -> Result<Self, PropertyError> {
        let mut rng = SplitMix64::new(seed);
        let n = net.input_size();
        let mut inputs = Array2::zeros((0, n));
        for p in properties {
            p.check_fits(net)?;
            inputs
                .append_rows(&sample_property(&mut rng, p, plan.per_region))
                .expect("same width");
        }
        let domain = input_domain(net);
        inputs
            .append_rows(&sample_box(&mut rng, &domain, plan.domain))
            .expect("same width");
        let config = FalsifierConfig {
            seed: rng.next_u64(),
            ..plan.falsifier.clone()
        };
        let found = Falsifier::new(net, properties, config)?.run();
        for c in &found {
            inputs.push_slice(&c.input).expect("same width");
            // Neighbours within 1 % of the region's width around the counterexample.
            let region = properties[c.property].bounding_box();
            if let Some(around) = neighbourhood(&c.input, &region, 0.01) {
                inputs
                    .append_rows(&sample_box(&mut rng, &around, plan.neighbours))
                    .expect("same width");
            }
        }
        let (negatives, positives) = partition(net, properties, &inputs)?;
        let (negatives, validation_negatives) = split(&negatives, plan.validation_share);
        let (positives, validation_positives) = split(&positives, plan.validation_share);
        Ok(RepairData {
            negatives,
            positives,
            validation_negatives,
            validation_positives,
        })
    }

    /// Adds `per_negative` random neighbours of every training counterexample, each within
    /// `radius` (a share of the property region's width) in every dimension and clipped to
    /// the region, that are counterexamples on the original network: counterexamples often
    /// sit in small pockets that the given samples cover only sparsely, and the neighbours
    /// teach the repair the pocket rather than the points.
    pub fn augment_neighbours(
        &mut self,
        net: &Network,
        properties: &[Property],
        per_negative: usize,
        radius: f64,
        seed: u64,
    ) -> Result<(), PropertyError> {
        if per_negative == 0 || self.negatives.nrows() == 0 {
            return Ok(());
        }
        let mut rng = SplitMix64::new(seed);
        let region = bounding_box(properties);
        let n = net.input_size();
        let mut around = Array2::zeros((0, n));
        for r in 0..self.negatives.nrows() {
            if let Some(b) = neighbourhood(self.negatives.row_slice(r), &region, radius) {
                around
                    .append_rows(&sample_box(&mut rng, &b, per_negative))
                    .expect("same width");
            }
        }
        // Only the new counterexamples are kept: the safe neighbours sit right at the
        // boundary, and preserving their exact outputs fought the repair (measured on
        // N2,9/p8: fidelity 99.83 % with them, 99.91 % without).
        let (neg, _) = partition(net, properties, &around)?;
        self.negatives.append_rows(&neg).expect("same width");
        Ok(())
    }

    /// Adds inputs whose decisions must be kept, found later (by a guard search), to
    /// training and validation.
    pub fn add_positives(&mut self, found: &ArrayRef2<f32>) {
        let found = &*crate::tensor::standard(found);
        append_split(found, &mut self.positives, &mut self.validation_positives);
    }

    /// Adds counterexamples found later (by the PAC check) to training and validation.
    pub fn add_negatives(&mut self, found: &ArrayRef2<f32>) {
        let found = &*crate::tensor::standard(found);
        append_split(found, &mut self.negatives, &mut self.validation_negatives);
    }
}

/// Appends four fifths of `found` to `train` and the rest to `validation`, as
/// [`split`] divides them.
fn append_split(found: &ArrayRef2<f32>, train: &mut Array2<f32>, validation: &mut Array2<f32>) {
    let (to_train, to_validate) = split(found, 0.2);
    train.append_rows(&to_train).expect("same width");
    validation.append_rows(&to_validate).expect("same width");
}

/// `x` and up to `count` random points within 1 % of the region's width around it that
/// `net` gets wrong: a counterexample the verifier found usually sits in a pocket, and
/// learning the pocket rather than the point keeps the next candidate out of it.
pub fn pocket_around(
    net: &Network,
    properties: &[Property],
    x: &[f32],
    count: usize,
    seed: u64,
) -> Result<Array2<f32>, PropertyError> {
    let mut pocket = Array2::zeros((0, x.len()));
    pocket.push_slice(x).expect("input width");
    if let Some(around) = neighbourhood(x, &bounding_box(properties), 0.01) {
        let near = sample_box(&mut SplitMix64::new(seed), &around, count);
        let (wrong, _) = partition(net, properties, &near)?;
        pocket.append_rows(&wrong).expect("same width");
    }
    Ok(pocket)
}

/// The box within `radius` (a share of `region`'s width per dimension) around `x`, clipped
/// to `region`; `None` when `x` lies so far outside that nothing is left.
pub(crate) fn neighbourhood(x: &[f32], region: &InputBox, radius: f64) -> Option<InputBox> {
    let (mut lower, mut upper) = (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()));
    for (i, &v) in x.iter().enumerate() {
        let reach = radius * (region.upper[i] - region.lower[i]);
        lower.push((v as f64 - reach).max(region.lower[i]));
        upper.push((v as f64 + reach).min(region.upper[i]));
    }
    let empty = lower.iter().zip(&upper).any(|(l, u)| l > u);
    (!empty).then_some(InputBox { lower, upper })
}

/// The smallest box containing every property's region.
fn bounding_box(properties: &[Property]) -> InputBox {
    let mut boxes = properties.iter().map(Property::bounding_box);
    let first = boxes.next().expect("at least one property");
    boxes.fold(first, |acc, b| InputBox {
        lower: acc
            .lower
            .iter()
            .zip(&b.lower)
            .map(|(a, b)| a.min(*b))
            .collect(),
        upper: acc
            .upper
            .iter()
            .zip(&b.upper)
            .map(|(a, b)| a.max(*b))
            .collect(),
    })
}

impl HeldOut {
    /// Held-out sets from files, keeping only real negatives (and only real positives).
    pub fn from_samples(
        net: &Network,
        properties: &[Property],
        negatives: &ArrayRef2<f32>,
        positives: &ArrayRef2<f32>,
    ) -> Result<Self, PropertyError> {
        let negatives = &*crate::tensor::standard(negatives);
        let positives = &*crate::tensor::standard(positives);
        let (neg, _) = partition(net, properties, negatives)?;
        let (_, pos) = partition(net, properties, positives)?;
        Ok(HeldOut {
            negatives: neg,
            positives: pos,
        })
    }

    /// Drawn held-out sets: fresh samples of every region and of the domain, plus falsifier
    /// counterexamples from a different seed.
    pub fn sampled(
        net: &Network,
        properties: &[Property],
        plan: &SamplingPlan,
        seed: u64,
    ) -> Result<Self, PropertyError> {
        // The same recipe with an unrelated seed; validation share 0 keeps everything.
        let plan = SamplingPlan {
            validation_share: 0.0,
            ..plan.clone()
        };
        let data = RepairData::sampled(net, properties, &plan, seed ^ 0x005E_ED0F_4E1D_0075)?;
        Ok(HeldOut {
            negatives: data.negatives,
            positives: data.positives,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_disjoint_and_complete() {
        let rows: Vec<[f32; 1]> = (0..23).map(|i| [i as f32]).collect();
        let m = crate::tensor::from_rows(&rows).unwrap();
        let (a, b) = split(&m, 0.2);
        assert_eq!(a.nrows() + b.nrows(), 23);
        assert_eq!(b.nrows(), 4);
        let mut all: Vec<f32> = a.flat().iter().chain(b.flat()).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, m.flat());
        assert_eq!(split(&m, 0.0).1.nrows(), 0);
    }
}
