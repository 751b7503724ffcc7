//! Measures of a repaired image classifier, the way the peers report them (drawdown D,
//! generalisation G, efficacy) and what only a verifier can add (balls proved or refuted).
//! Every falsifier run here uses seeds the repair never saw.

use super::benchmark::{accuracy, attack, property_of, RepairCase};
use super::{ImageError, ImageSet};
use crate::falsify::FalsifierConfig;
use crate::measures::{fidelity, violations, Rate};
use crate::network::Network;
use crate::property::{Property, PropertyError};
use crate::verify::{Verifier, VerifyConfig, VerifyStatus};

/// What the robustness of images looks like on one network: per image, whether it is
/// classified right and whether the falsifier broke its ball.
#[derive(Clone, Debug, PartialEq)]
pub struct Robustness {
    /// Classified as labelled.
    pub correct: Vec<bool>,
    /// The falsifier found a counterexample in the ball (always true when not correct).
    pub falsified: Vec<bool>,
}

impl Robustness {
    /// Whether image `i` is robust as far as the falsifier can tell.
    pub fn robust(&self, i: usize) -> bool {
        self.correct[i] && !self.falsified[i]
    }
}

/// Classifies every image and attacks every ball of radius `eps`.
pub fn robustness(
    net: &Network,
    images: &ImageSet,
    eps: f64,
    attack_config: &FalsifierConfig,
) -> Result<Robustness, ImageError> {
    let decisions = net.decisions(&images.pixels)?;
    let mut correct = Vec::with_capacity(images.len());
    let mut falsified = Vec::with_capacity(images.len());
    for (i, (&decision, &label)) in decisions.iter().zip(&images.labels).enumerate() {
        let right = decision == label;
        correct.push(right);
        if !right {
            falsified.push(true);
            continue;
        }
        let config = FalsifierConfig {
            seed: attack_config.seed ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
            ..attack_config.clone()
        };
        let found = attack(
            net,
            &property_of(images, i, eps, net.output_size())?,
            &config,
        )?;
        falsified.push(found.nrows() > 0);
    }
    Ok(Robustness { correct, falsified })
}

/// Verdicts on `properties`, each with at most `max_boxes` boxes of branch and bound (a box
/// budget rather than a clock, so that runs repeat exactly).
pub fn prove_each(
    net: &Network,
    properties: &[Property],
    max_boxes: usize,
    seed: u64,
) -> Result<Vec<VerifyStatus>, PropertyError> {
    let mut config = VerifyConfig {
        max_boxes,
        ..VerifyConfig::default()
    };
    config.falsifier.seed = seed;
    let verifier = Verifier::new(net, properties, config)?;
    Ok(verifier.run(|_| true).iter().map(|v| v.status).collect())
}

/// The peer-style measures of a repaired image classifier.
#[derive(Clone, Debug)]
pub struct ImageRepairMeasures {
    /// Held-out accuracy of the original.
    pub accuracy_before: f64,
    /// Held-out accuracy of the repaired network.
    pub accuracy_after: f64,
    /// The repair set's training counterexamples now classified right.
    pub fixed: Rate,
    /// Repair boxes where a fresh falsifier run finds nothing on the repaired network.
    pub unbroken: Rate,
    /// Repair boxes the verifier proves.
    pub proved: Rate,
    /// Repair boxes where the verifier finds a counterexample (re-checked by a forward
    /// pass): the falsifier's "unbroken" is a weaker claim than this one's opposite.
    pub refuted: Rate,
    /// Held-out images falsified before (and classified right) that the falsifier no
    /// longer breaks.
    pub generalised: Rate,
    /// Of those, the ones the verifier proves robust.
    pub generalised_proved: Rate,
    /// Held-out images robust before (by the falsifier) that are broken or misclassified
    /// after.
    pub newly_broken: Rate,
    /// Held-out decisions kept.
    pub fidelity: Rate,
}

impl ImageRepairMeasures {
    /// Drawdown in accuracy points (positive when accuracy fell).
    pub fn drawdown(&self) -> f64 {
        100.0 * (self.accuracy_before - self.accuracy_after)
    }
}

/// The robustness of the held-out images as [`measure_image_repair`] judges it, with the
/// judge's own seeds: computed once for the original network and shared by every repair of
/// it that is measured.
pub fn held_out_robustness(
    net: &Network,
    held_out: &ImageSet,
    eps: f64,
    attack_config: &FalsifierConfig,
) -> Result<Robustness, ImageError> {
    let fresh = FalsifierConfig {
        seed: attack_config.seed ^ 0x6E0E_5A11,
        ..attack_config.clone()
    };
    robustness(net, held_out, eps, &fresh)
}

/// Measures `repaired` against `original` on the repair set and the held-out images, with
/// falsifier seeds the repair never used; `before` is [`held_out_robustness`] of the
/// original with the same `attack_config`.
#[allow(clippy::too_many_arguments)]
pub fn measure_image_repair(
    original: &Network,
    repaired: &Network,
    cases: &[RepairCase],
    held_out: &ImageSet,
    before: &Robustness,
    eps: f64,
    attack_config: &FalsifierConfig,
    max_boxes: usize,
) -> Result<ImageRepairMeasures, ImageError> {
    let mut fixed = Rate::default();
    let mut unbroken = Rate::default();
    let properties: Vec<Property> = cases.iter().map(|c| c.property.clone()).collect();
    for (k, case) in cases.iter().enumerate() {
        let left = violations(
            repaired,
            std::slice::from_ref(&case.property),
            &case.counterexamples,
        )?;
        fixed.total += left.total;
        fixed.count += left.total - left.count;
        let config = FalsifierConfig {
            seed: attack_config.seed ^ 0xF5E5_4000 ^ k as u64,
            ..attack_config.clone()
        };
        unbroken.total += 1;
        if attack(repaired, &case.property, &config)?.nrows() == 0 {
            unbroken.count += 1;
        }
    }
    let verdicts = prove_each(repaired, &properties, max_boxes, attack_config.seed)?;
    let tally = |status: VerifyStatus| Rate {
        count: verdicts.iter().filter(|v| **v == status).count(),
        total: verdicts.len(),
    };
    let (proved, refuted) = (
        tally(VerifyStatus::Proved),
        tally(VerifyStatus::Counterexample),
    );
    let after = held_out_robustness(repaired, held_out, eps, attack_config)?;
    let (mut generalised, mut newly_broken) = (Rate::default(), Rate::default());
    let mut now_robust = Vec::new();
    for i in 0..held_out.len() {
        if before.correct[i] && before.falsified[i] {
            generalised.total += 1;
            if after.robust(i) {
                generalised.count += 1;
                now_robust.push(property_of(held_out, i, eps, repaired.output_size())?);
            }
        }
        if before.robust(i) {
            newly_broken.total += 1;
            newly_broken.count += usize::from(!after.robust(i));
        }
    }
    let generalised_proved = Rate {
        count: prove_each(repaired, &now_robust, max_boxes, attack_config.seed)?
            .iter()
            .filter(|v| **v == VerifyStatus::Proved)
            .count(),
        total: generalised.total,
    };
    Ok(ImageRepairMeasures {
        accuracy_before: accuracy(original, held_out)?,
        accuracy_after: accuracy(repaired, held_out)?,
        fixed,
        unbroken,
        proved,
        refuted,
        generalised,
        generalised_proved,
        newly_broken,
        fidelity: fidelity(original, repaired, &held_out.pixels)?,
    })
}
