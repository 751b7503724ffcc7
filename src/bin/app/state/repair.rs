//! What the page keeps about checks, proofs and repairs: their progress and results, the
//! chosen method and settings ([`RepairSignals`], part of [`AppState`](super::AppState)),
//! and a verdict in words. Below the panels: the repair panel runs the jobs, the property
//! list, the guide, the comparison and the explanation read the results.

use super::LoadedNetwork;
use birdnn::falsify::Counterexample;
use birdnn::measures::Rate;
use birdnn::repair::{Method, RepairReport, RepairSettings};
use birdnn::verify::{Verdict, VerifyStatus};
use leptos::prelude::*;

/// What the check has found so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckState {
    /// A check is running.
    pub running: bool,
    /// Uniform samples that are counterexamples.
    pub sampled: Option<Rate>,
    /// Counterexamples found (sampled and by the falsifier).
    pub counterexamples: Vec<Counterexample>,
    /// Falsifier progress: starts done, starts in all.
    pub starts: (usize, usize),
    /// The counterexample the slice was last moved through (an index into
    /// `counterexamples`), highlighted on the map; a new check forgets it.
    pub selected: Option<usize>,
}

/// One point of the live chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartPoint {
    /// Validation counterexamples left, as a share.
    pub violations: f64,
    /// Validation decisions kept, as a share.
    pub fidelity: f64,
}

/// Where the repair stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepairState {
    /// A repair is running.
    pub running: bool,
    /// What it is doing, in words.
    pub stage: String,
    /// Share of the session's iterations done (0..1).
    pub fraction: f64,
    /// Validation figures per step.
    pub chart: Vec<ChartPoint>,
    /// The repaired network and its report, once done.
    pub result: Option<(LoadedNetwork, RepairReport)>,
}

/// What the verifier has said about the properties, for one network.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProofState {
    /// A verification is running.
    pub running: bool,
    /// The network slot the verdicts are about.
    pub network: Option<u32>,
    /// What it is doing, in words.
    pub stage: String,
    /// Verdicts per property slot.
    pub verdicts: Vec<(u32, Verdict)>,
}

impl ProofState {
    /// The verdict on a property, if it is about `network`.
    pub fn verdict(&self, network: Option<u32>, property: u32) -> Option<&Verdict> {
        if self.network != network || network.is_none() {
            return None;
        }
        self.verdicts
            .iter()
            .find(|(slot, _)| *slot == property)
            .map(|(_, v)| v)
    }
}

/// The page's repair signals (part of [`AppState`](super::AppState)).
#[derive(Clone, Copy)]
pub struct RepairSignals {
    /// The check.
    pub check: RwSignal<CheckState>,
    /// The repair.
    pub repair: RwSignal<RepairState>,
    /// Chosen method.
    pub method: RwSignal<Method>,
    /// Seed of the check and the repair.
    pub seed: RwSignal<u64>,
    /// The verifier's verdicts.
    pub proof: RwSignal<ProofState>,
    /// Every other setting of the repair (method and seed come from their own controls).
    pub settings: RwSignal<RepairSettings>,
}

impl RepairSignals {
    /// Nothing checked or repaired yet; the automatic method with seed 1.
    pub fn new() -> Self {
        RepairSignals {
            check: RwSignal::new(CheckState::default()),
            repair: RwSignal::new(RepairState::default()),
            method: RwSignal::new(Method::Auto),
            seed: RwSignal::new(1),
            proof: RwSignal::new(ProofState::default()),
            settings: RwSignal::new(RepairSettings::default()),
        }
    }
}

impl Default for RepairSignals {
    fn default() -> Self {
        Self::new()
    }
}

/// A verdict in a few words: "proved", "violated", "PAC (...)", "unknown: 43 % proved".
pub fn badge_text(v: &Verdict, pac: bool) -> String {
    match v.status {
        VerifyStatus::Proved => "proved".into(),
        VerifyStatus::Counterexample => "violated (counterexample found)".into(),
        VerifyStatus::Unknown if pac => format!(
            "PAC certified; {:.1} % of the region proved",
            100.0 * v.proved_fraction
        ),
        VerifyStatus::Unknown => format!(
            "unknown: {:.1} % of the region proved",
            100.0 * v.proved_fraction
        ),
    }
}
