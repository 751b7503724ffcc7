//! What a repair hands back: the repaired network and its report, measured on data the
//! repair never saw.

use super::{CertifiedSummary, HeldOut, Method, NeuronId, RepairError, RepairSettings};
use crate::falsify::{Falsifier, FalsifierConfig};
use crate::measures::{self, input_domain, ChangeSize, PacStatement, Rate};
use crate::network::Network;
use crate::property::Property;
use crate::rng::SplitMix64;
use crate::sampling::{sample_box, sample_property};
use crate::tensor::{Array2, ArrayRef2, BatchGrow, BatchRows};
use serde::{Deserialize, Serialize};

/// How the final report samples fresh data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportPlan {
    /// Fresh uniform samples per property region (default 10,000).
    pub region_samples: usize,
    /// Fresh uniform samples of the whole input domain (default 10,000).
    pub domain_samples: usize,
    /// Falsifier run on the repaired network.
    pub falsifier: FalsifierConfig,
    /// Seed of the fresh samples (default: unrelated to every repair seed).
    pub seed: u64,
}

impl Default for ReportPlan {
    fn default() -> Self {
        ReportPlan {
            region_samples: 10_000,
            domain_samples: 10_000,
            falsifier: FalsifierConfig {
                starts: 2048,
                max_counterexamples: 50,
                seed: 0xFA15_1F1E,
                ..Default::default()
            },
            seed: 0x4E90_27ED,
        }
    }
}

/// The fine-tuning patch, for pictures of what changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// The patched neurons.
    pub neurons: Vec<NeuronId>,
    /// Their factors `w` (each output is multiplied by `1 + w`).
    pub scaling: Vec<f64>,
    /// Every neuron's responsibility, per layer.
    pub responsibilities: Vec<Vec<f64>>,
}

/// A before/after pair of rates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeforeAfter {
    /// On the original network.
    pub before: Rate,
    /// On the repaired network.
    pub after: Rate,
}

/// The measures of method.md section 6, on data the repair never saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepairReport {
    /// The method used.
    pub method: Method,
    /// The seed used.
    pub seed: u64,
    /// All settings.
    pub settings: RepairSettings,
    /// False when the session was stopped early.
    pub finished: bool,
    /// Held-out counterexamples still unsafe.
    pub held_out_violations: BeforeAfter,
    /// Fresh uniform samples of the regions that are unsafe.
    pub fresh_violations: BeforeAfter,
    /// Counterexamples the falsifier finds on the repaired network (0 is the goal).
    pub falsifier_counterexamples: usize,
    /// Held-out positives whose decision is kept.
    pub fidelity_held_out: Rate,
    /// Fresh positives inside the regions whose decision is kept.
    pub fidelity_inside: Rate,
    /// Fresh samples of the domain outside every region whose decision is kept.
    pub fidelity_outside: Rate,
    /// Fresh samples of the whole domain whose decision is kept.
    pub fidelity_domain: Rate,
    /// The prototype's "accuracy": held-out positives and negatives that satisfy the
    /// properties after repair (for comparison with the paper only).
    pub property_satisfaction: Rate,
    /// Parameter change.
    pub change: ChangeSize,
    /// Mean relative output deviation on held-out positives.
    pub output_deviation: f64,
    /// Time spent repairing (ms; 0 without a clock).
    pub wall_ms: f64,
    /// Repair rounds (domain-wise repair) or 1.
    pub rounds: usize,
    /// Training counterexamples at the end.
    pub training_negatives: usize,
    /// Training positives.
    pub training_positives: usize,
    /// The PAC statement, for domain-wise repair that earned one.
    pub pac: Option<PacStatement>,
    /// Why domain-wise repair earned no statement.
    pub pac_failure: Option<String>,
    /// The fine-tuning patch.
    pub patch: Option<Patch>,
    /// Proof status of every property on the repaired network, when the verifier ran
    /// (the command line and the app run it after the repair).
    #[serde(default)]
    pub proofs: Vec<crate::verify::PropertyProof>,
    /// How certified last-layer repair ended, when it ran.
    #[serde(default)]
    pub certified: Option<CertifiedSummary>,
    /// How the region patch ended, when it ran.
    #[serde(default)]
    pub region_patch: Option<crate::repair::PatchSummary>,
    /// Why the region patch did not serve, when it was tried and did not.
    #[serde(default)]
    pub region_patch_failure: Option<String>,
}

/// A repaired network and its report.
#[derive(Clone, Debug)]
pub struct RepairOutcome {
    /// An ordinary network of the original architecture.
    pub network: Network,
    /// What the repair fixed and kept.
    pub report: RepairReport,
}

/// Measures `repaired` against `original` on held-out and fresh data.
/// `known_counterexamples` (of the original network, e.g. the training negatives) seed half
/// of the falsifier's starts: what a repair leaves unsafe usually sits near them.
pub fn measure(
    original: &Network,
    repaired: &Network,
    properties: &[Property],
    held_out: &HeldOut,
    known_counterexamples: &ArrayRef2<f32>,
    plan: &ReportPlan,
) -> Result<RepairReport, RepairError> {
    let known_counterexamples = &*crate::tensor::standard(known_counterexamples);
    let mut rng = SplitMix64::new(plan.seed);
    let mut region = Array2::zeros((0, original.input_size()));
    for p in properties {
        region
            .append_rows(&sample_property(&mut rng, p, plan.region_samples))
            .expect("same width");
    }
    let domain = sample_box(&mut rng, &input_domain(original), plan.domain_samples);
    let outside: Vec<usize> = (0..domain.nrows())
        .filter(|&r| {
            !properties
                .iter()
                .any(|p| p.precondition_holds(domain.row_slice(r)))
        })
        .collect();
    let outside = domain.select_rows(&outside);

    let falsifier = Falsifier::with_hints(
        repaired,
        properties,
        plan.falsifier.clone(),
        known_counterexamples,
    )?
    .run();
    let mut all_held_out = crate::tensor::to_standard(&held_out.negatives);
    all_held_out
        .append_rows(&held_out.positives)
        .expect("same width");
    let unsafe_after = measures::violations(repaired, properties, &all_held_out)?;

    Ok(RepairReport {
        method: Method::default(),
        seed: 0,
        settings: RepairSettings::default(),
        finished: true,
        held_out_violations: BeforeAfter {
            before: measures::violations(original, properties, &held_out.negatives)?,
            after: measures::violations(repaired, properties, &held_out.negatives)?,
        },
        fresh_violations: BeforeAfter {
            before: measures::violations(original, properties, &region)?,
            after: measures::violations(repaired, properties, &region)?,
        },
        falsifier_counterexamples: falsifier.len(),
        fidelity_held_out: measures::fidelity(original, repaired, &held_out.positives)?,
        fidelity_inside: measures::fidelity_on_positives(original, repaired, properties, &region)?,
        fidelity_outside: measures::fidelity(original, repaired, &outside)?,
        fidelity_domain: measures::fidelity(original, repaired, &domain)?,
        property_satisfaction: Rate {
            count: unsafe_after.total - unsafe_after.count,
            total: unsafe_after.total,
        },
        change: measures::change_size(original, repaired),
        output_deviation: measures::relative_output_deviation(
            original,
            repaired,
            &held_out.positives,
        )?,
        wall_ms: 0.0,
        proofs: Vec::new(),
        certified: None,
        region_patch: None,
        region_patch_failure: None,
        rounds: 1,
        training_negatives: 0,
        training_positives: 0,
        pac: None,
        pac_failure: None,
        patch: None,
    })
}
