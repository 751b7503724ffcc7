//! The hand-over to certified last-layer repair, and choosing between its network and the
//! one it started from.

use super::RepairSession;
use crate::measures::input_domain;
use crate::network::Network;
use crate::repair::certified::{CertifiedRepair, CertifiedSummary};
use crate::repair::{Method, Phase, RepairError, RepairProgress};
use crate::rng::SplitMix64;
use crate::sampling::sample_box;
use crate::tensor::{Array2, BatchGrow, BatchRows};
use crate::verify::{overall, Verdict, VerifyStatus};

/// Programs at most when certified last-layer repair polishes a result already proved.
const POLISH_ROUNDS: usize = 4;

impl RepairSession {
    /// Inputs whose decisions certified last-layer repair keeps: the repair's positives and
    /// fresh uniform samples of the domain the original network does not get wrong.
    pub(super) fn kept_inputs(&self) -> Result<Array2<f32>, RepairError> {
        let mut rng = SplitMix64::new(self.settings.seed ^ 0x6B65_7074);
        let fresh = sample_box(
            &mut rng,
            &input_domain(&self.original),
            self.settings.proving.kept_samples,
        );
        let outputs = self.original.forward(&fresh)?;
        let negative = crate::property::negatives_of(&self.properties, &fresh, &outputs);
        let keep: Vec<usize> = (0..fresh.nrows()).filter(|&r| !negative[r]).collect();
        let mut kept = self.data.positives.clone();
        kept.append_rows(&self.data.validation_positives)
            .expect("same width");
        kept.append_rows(&fresh.select_rows(&keep))
            .expect("same width");
        Ok(kept)
    }

    /// Hands `start` (with the verifier's verdicts on it, if any) to certified last-layer
    /// repair; a network it cannot serve (an output activation) stays the result as it is.
    pub(super) fn start_last_layer(
        &mut self,
        start: Network,
        verdicts: Vec<Verdict>,
    ) -> Result<(), RepairError> {
        let kept = self.kept_inputs()?;
        let mut config = self.settings.certified.clone();
        if overall(&verdicts) == VerifyStatus::Proved && !verdicts.is_empty() {
            // Polishing a proved result is worth a few programs, not a long search.
            config.max_rounds = config.max_rounds.min(POLISH_ROUNDS);
        }
        match CertifiedRepair::new(&self.original, &start, &self.properties, &kept, config) {
            Ok(repair) => {
                self.last_layer = Some((Box::new(repair), start, verdicts));
                Ok(())
            }
            Err(e) if self.settings.method == Method::Certified => Err(e),
            Err(_) => {
                self.verdicts = verdicts;
                self.result = Some(start);
                Ok(())
            }
        }
    }

    /// One program of certified last-layer repair; when it ends, its network is the result
    /// if the verifier proved it, or if what it started from is known to be unsafe and this
    /// one is not.
    pub(super) fn step_last_layer(&mut self) -> Result<RepairProgress, RepairError> {
        let (repair, _, _) = self.last_layer.as_mut().expect("solving");
        repair.step()?;
        let (rounds, max_rounds) = (repair.rounds(), self.settings.certified.max_rounds);
        if repair.is_done() {
            let (repair, start, start_verdicts) = self.last_layer.take().expect("solving");
            let summary = repair.summary().cloned();
            let certified = summary.as_ref().is_some_and(|s| s.certified);
            let start_unsafe = overall(&start_verdicts) == VerifyStatus::Counterexample;
            let repaired_verdicts = repair.verdicts().to_vec();
            let repaired_unsafe = overall(&repaired_verdicts) == VerifyStatus::Counterexample;
            let start_proved =
                overall(&start_verdicts) == VerifyStatus::Proved && !start_verdicts.is_empty();
            let take_repaired = if start_proved {
                certified && repair.kept_count(repair.network())? > repair.kept_count(&start)?
            } else {
                certified
                    || self.settings.method == Method::Certified
                    || (start_unsafe && !repaired_verdicts.is_empty() && !repaired_unsafe)
            };
            if take_repaired {
                self.verdicts = repaired_verdicts;
                self.result = Some(repair.network().clone());
            } else {
                self.verdicts = start_verdicts;
                self.result = Some(start);
            }
            self.certified_summary = summary.map(|s| CertifiedSummary {
                kept: take_repaired,
                ..s
            });
        }
        let best = self.current_best();
        Ok(RepairProgress {
            phase: if self.result.is_some() {
                Phase::Done
            } else {
                Phase::Solving
            },
            iteration: rounds,
            max_iterations: max_rounds,
            cost: f64::NAN,
            violations: self.validation.violations(&best)?,
            fidelity: self.validation.fidelity(&best)?,
            elapsed_ms: 0.0,
            done: self.result.is_some(),
        })
    }
}
