//! Domain-wise repair with a probably-approximately-correct statement (method.md, section 5).
//!
//! The loop: repair (retraining or fine-tuning), then draw `M = ceil(ln(1/delta)/epsilon)`
//! fresh uniform samples of every property region, independent of everything the repair
//! saw, and run the falsifier on the repaired network. No negative: the statement holds
//! (with confidence `1 - delta`, a random input of the region is unsafe with probability at
//! most `epsilon`). Otherwise the negatives found join the training data and the repair runs
//! again from where it stopped, up to `max_rounds`; then the run ends with an honest failure.

use super::RepairError;
use crate::falsify::{Falsifier, FalsifierConfig};
use crate::measures::{pac_sample_count, PacStatement};
use crate::network::Network;
use crate::property::{negatives_of, Property};
use crate::rng::SplitMix64;
use crate::sampling::sample_property;
use crate::tensor::{Array2, ArrayRef2, BatchGrow, BatchRows};
use serde::{Deserialize, Serialize};

/// Which repair the PAC loop runs inside.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InnerMethod {
    /// Fine-tuning, retraining, and retraining without imitation targets, from the same
    /// start; the candidate with fewer validation counterexamples, then more decisions
    /// kept, goes on (default). None wins everywhere: on ACAS Xu property 2, fine-tuning
    /// keeps more decisions on most networks but wrecks one, and imitation targets cost
    /// decisions there while the paper's N1,9 data needs them.
    #[default]
    Best,
    /// Behaviour-imitation retraining.
    Retrain,
    /// Behaviour-difference fine-tuning.
    Finetune,
}

/// Settings of domain-wise repair. Defaults are documented on each field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DomainConfig {
    /// Bound on the violation probability (default 1e-3).
    pub epsilon: f64,
    /// Probability that the bound is wrong (default 1e-3).
    pub delta: f64,
    /// Repair-and-certify rounds at most (default 6).
    pub max_rounds: usize,
    /// The repair inside the loop (default: the better of both).
    pub inner: InnerMethod,
    /// Falsifier run on every repaired candidate (default: 4096 starts, half of them near
    /// the known counterexamples).
    pub falsifier: FalsifierConfig,
    /// Fresh samples evaluated per `step()` while certifying (default 4096).
    pub samples_per_step: usize,
}

impl Default for DomainConfig {
    fn default() -> Self {
        DomainConfig {
            epsilon: 1e-3,
            delta: 1e-3,
            max_rounds: 6,
            inner: InnerMethod::Best,
            falsifier: FalsifierConfig {
                starts: 4096,
                max_counterexamples: 100,
                ..Default::default()
            },
            samples_per_step: 4096,
        }
    }
}

impl DomainConfig {
    /// Checks every setting, naming the first bad one.
    pub fn check(&self) -> Result<(), RepairError> {
        pac_sample_count(self.epsilon, self.delta).map_err(RepairError::Setting)?;
        if self.max_rounds == 0 || self.samples_per_step == 0 {
            return Err(RepairError::Setting(
                "domain max_rounds and samples_per_step must be at least 1".into(),
            ));
        }
        self.falsifier.check().map_err(RepairError::Setting)
    }

    /// Fresh samples per property region for the statement.
    pub fn sample_count(&self) -> usize {
        pac_sample_count(self.epsilon, self.delta).expect("checked")
    }
}

/// The seed of the certification samples of a round: unrelated to the repair's streams.
pub(crate) fn certification_seed(seed: u64, round: usize) -> u64 {
    SplitMix64::new(seed ^ 0xCE27_1F1C_A710_0000 ^ round as u64).next_u64()
}

/// Certifying one candidate: fresh samples in chunks, then the falsifier.
pub(crate) struct Certification {
    pub(crate) seed: u64,
    rng: SplitMix64,
    property: usize,
    drawn: usize,
    pub(crate) per_region: usize,
    pub(crate) negatives: Array2<f32>,
    falsifier: Option<Falsifier>,
    pub(crate) falsifier_found: usize,
    pub(crate) done: bool,
}

impl Certification {
    pub(crate) fn new(net: &Network, seed: u64, per_region: usize) -> Self {
        Certification {
            seed,
            rng: SplitMix64::new(seed),
            property: 0,
            drawn: 0,
            per_region,
            negatives: Array2::zeros((0, net.input_size())),
            falsifier: None,
            falsifier_found: 0,
            done: false,
        }
    }

    /// Samples drawn so far (over all regions).
    pub(crate) fn samples_drawn(&self, properties: usize) -> usize {
        (self.property.min(properties)) * self.per_region + self.drawn
    }

    /// One bounded slice: a chunk of samples, or one falsifier step.
    pub(crate) fn step(
        &mut self,
        net: &Network,
        properties: &[Property],
        config: &DomainConfig,
        known_counterexamples: &ArrayRef2<f32>,
    ) -> Result<(), RepairError> {
        if self.done {
            return Ok(());
        }
        if self.property < properties.len() {
            let p = &properties[self.property];
            let count = config.samples_per_step.min(self.per_region - self.drawn);
            let x = sample_property(&mut self.rng, p, count);
            let y = net.forward(&x)?;
            let negative = negatives_of(properties, &x, &y);
            for (r, &n) in negative.iter().enumerate() {
                if n {
                    self.negatives
                        .push_slice(x.row_slice(r))
                        .expect("same width");
                }
            }
            self.drawn += count;
            if self.drawn >= self.per_region {
                self.property += 1;
                self.drawn = 0;
            }
            return Ok(());
        }
        let falsifier = match &mut self.falsifier {
            Some(f) => f,
            None => {
                let cfg = FalsifierConfig {
                    seed: self.seed ^ 0xFA15,
                    ..config.falsifier.clone()
                };
                self.falsifier.insert(Falsifier::with_hints(
                    net,
                    properties,
                    cfg,
                    known_counterexamples,
                )?)
            }
        };
        // A few falsifier steps per slice keep a slice short.
        for _ in 0..4 {
            if falsifier.is_done() {
                break;
            }
            falsifier.step();
        }
        if falsifier.is_done() {
            for c in falsifier.counterexamples() {
                self.negatives.push_slice(&c.input).expect("same width");
            }
            self.falsifier_found = falsifier.counterexamples().len();
            self.done = true;
        }
        Ok(())
    }

    /// The statement, when nothing unsafe was found.
    pub(crate) fn statement(
        &self,
        properties: &[Property],
        config: &DomainConfig,
    ) -> Option<PacStatement> {
        if !self.done || self.negatives.nrows() > 0 {
            return None;
        }
        Some(PacStatement {
            regions: properties
                .iter()
                .map(|p| (p.name.clone(), p.input_boxes.clone()))
                .collect(),
            distribution: "uniformly (unions of boxes: box by volume, then uniform in it)".into(),
            epsilon: config.epsilon,
            delta: config.delta,
            samples: self.per_region,
            seed: self.seed,
        })
    }
}
