//! The verifier in the loop: proving a method's result, and learning the counterexamples
//! it finds.

use super::inner::starts_with_finetune;
use super::RepairSession;
use crate::network::Network;
use crate::repair::{data, Method, Phase, RepairError, RepairProgress};
use crate::tensor::{Array2, BatchGrow};
use crate::verify::{overall, Verifier, VerifyConfig, VerifyStatus};

/// Random neighbours of a verifier's counterexample tried as lessons with it.
const POCKET_SAMPLES: usize = 256;

/// Verifier steps (of its own bounded size) per repair step while proving a result.
const PROVING_STEPS_PER_STEP: usize = 32;

impl RepairSession {
    /// A result of a method: final at once without the verifier in the loop, else proved
    /// first.
    pub(super) fn conclude(&mut self, net: Network) -> Result<(), RepairError> {
        if !self.settings.proving.enabled {
            self.result = Some(net);
            return Ok(());
        }
        self.start_proving(net, self.settings.proving.verify_boxes, false)
    }

    /// Starts the verifier on `net` with a budget of `max_boxes` per property.
    pub(super) fn start_proving(
        &mut self,
        net: Network,
        max_boxes: usize,
        extended: bool,
    ) -> Result<(), RepairError> {
        let config = VerifyConfig {
            max_boxes,
            ..Default::default()
        };
        let verifier = Verifier::new(&net, &self.properties, config)?;
        self.proving = Some((Box::new(verifier), net));
        self.proving_extended = extended;
        Ok(())
    }

    /// A bounded slice of the verifier's work on a result; on its verdict, the result is
    /// final (proved), learnt from (a counterexample, while retraining has rounds left), or
    /// handed to certified last-layer repair.
    pub(super) fn step_proving(&mut self) -> Result<RepairProgress, RepairError> {
        let (verifier, _) = self.proving.as_mut().expect("proving");
        for _ in 0..PROVING_STEPS_PER_STEP {
            if verifier.is_done() {
                break;
            }
            verifier.step();
        }
        let progress = verifier.progress();
        let share = (progress.property as f64 + progress.proved_fraction)
            / progress.properties.max(1) as f64;
        if verifier.is_done() {
            let (verifier, net) = self.proving.take().expect("proving");
            let verdicts = verifier.verdicts().to_vec();
            if self.patch_fallback.is_some() {
                self.after_patch_proof(net, verdicts)?;
                return self.proving_progress(share);
            }
            let status = overall(&verdicts);
            let learn = status == VerifyStatus::Counterexample
                && !matches!(self.settings.method, Method::Certified | Method::Patch)
                && self.lessons < self.settings.proving.learn_rounds;
            // The budget ran out, nothing refuted, most of the regions proved: one more try
            // with a larger budget before certified repair, which proves but may cost
            // decisions, takes the result over. Where little was proved, more boxes rarely
            // finish (ACAS Xu p7 and p8: 0-1 %) and only cost time.
            let least_proved = verdicts
                .iter()
                .map(|v| v.proved_fraction)
                .fold(1.0f64, f64::min);
            let extend = status == VerifyStatus::Unknown
                && self.settings.proving.hand_over
                && !self.proving_extended
                && least_proved >= self.settings.proving.extend_when_proved
                && self.settings.proving.extended_boxes > self.settings.proving.verify_boxes;
            if extend {
                self.start_proving(net, self.settings.proving.extended_boxes, true)?;
            } else if status == VerifyStatus::Proved && self.settings.proving.polish {
                self.start_last_layer(net, verdicts)?;
            } else if status == VerifyStatus::Proved {
                self.verdicts = verdicts;
                self.result = Some(net);
            } else if learn {
                let mut inputs = Array2::zeros((0, self.original.input_size()));
                for c in verdicts.iter().filter_map(|v| v.counterexample.as_ref()) {
                    let seed = self.round_seed(0x90C4 + self.lessons as u64);
                    inputs
                        .append_rows(&data::pocket_around(
                            &net,
                            &self.properties,
                            &c.input,
                            POCKET_SAMPLES,
                            seed,
                        )?)
                        .expect("input width");
                }
                self.data.add_negatives(&inputs);
                self.validation.add_negatives(&inputs);
                self.lessons += 1;
                if self.settings.method == Method::Domain {
                    // The PAC statement was about the candidate the verifier just refuted:
                    // the next candidate is certified afresh.
                    self.pac = None;
                    self.round_start = net.clone();
                    self.candidate = None;
                }
                self.inner = self.new_inner(
                    starts_with_finetune(&self.settings),
                    &net,
                    self.round_seed(0x9F00 + self.lessons as u64),
                )?;
            } else if self.settings.proving.patch && !self.patch_tried {
                self.patch_tried = true;
                self.patch_pending = Some((net, verdicts));
            } else if self.settings.proving.hand_over {
                self.start_last_layer(net, verdicts)?;
            } else {
                self.verdicts = verdicts;
                self.result = Some(net);
            }
        }
        self.proving_progress(share)
    }

    fn proving_progress(&self, share: f64) -> Result<RepairProgress, RepairError> {
        let best = self.current_best();
        Ok(RepairProgress {
            phase: if self.result.is_some() {
                Phase::Done
            } else if self.patch_pending.is_some() {
                Phase::Patching
            } else {
                Phase::Proving
            },
            iteration: (share * 1000.0).round() as usize,
            max_iterations: 1000,
            cost: f64::NAN,
            violations: self.validation.violations(&best)?,
            fidelity: self.validation.fidelity(&best)?,
            elapsed_ms: 0.0,
            done: self.result.is_some(),
        })
    }
}
