//! The hand-over to the region patch: a result the verifier could not prove is patched
//! (constant offsets inside the property boxes) and the patched network is proved; where
//! that fails, certified last-layer repair takes over from the unpatched result.

use super::RepairSession;
use crate::network::Network;
use crate::repair::patch::region_patch;
use crate::repair::{Method, Phase, RepairError, RepairProgress};
use crate::verify::{overall, Verdict, VerifyStatus};

impl RepairSession {
    /// Patches the pending network and starts proving the patched one.
    pub(super) fn step_patch(&mut self) -> Result<RepairProgress, RepairError> {
        let (start, verdicts) = self.patch_pending.take().expect("a network to patch");
        let kept = self.kept_inputs()?;
        let seed = self.round_seed(0x7061_7463);
        match region_patch(&start, &self.properties, &kept, &self.settings.patch, seed) {
            Ok((patched, summary)) => {
                self.patch_summary = Some(summary);
                if self.settings.proving.enabled {
                    self.patch_fallback = Some((start, verdicts));
                    // No second, larger attempt: a patch is proved at once or not at all.
                    self.start_proving(patched, self.settings.proving.verify_boxes, true)?;
                } else {
                    // Nothing proves it: the automatic method has chosen the patch all the
                    // same, and the report says so (with no verdict).
                    if self.auto_patch_first {
                        self.auto_patch_first = false;
                        self.settings.method = Method::Patch;
                    }
                    self.result = Some(patched);
                }
            }
            Err(e) if self.settings.method == Method::Patch => return Err(e),
            Err(e) => {
                self.patch_failure = Some(e.to_string());
                self.after_patch(start, verdicts)?;
            }
        }
        let best = self.current_best();
        Ok(RepairProgress {
            phase: if self.result.is_some() {
                Phase::Done
            } else {
                Phase::Patching
            },
            iteration: 1,
            max_iterations: 1,
            cost: f64::NAN,
            violations: self.validation.violations(&best)?,
            fidelity: self.validation.fidelity(&best)?,
            elapsed_ms: 0.0,
            done: self.result.is_some(),
        })
    }

    /// The verifier finished on a patched network: proved, it is the result; otherwise the
    /// network it was patched from goes on as if there had been no patch (the region patch
    /// as the method keeps its network, with the verdicts said plainly).
    pub(super) fn after_patch_proof(
        &mut self,
        patched: Network,
        verdicts: Vec<Verdict>,
    ) -> Result<(), RepairError> {
        let (start, start_verdicts) = self.patch_fallback.take().expect("a patched network");
        let proved = overall(&verdicts) == VerifyStatus::Proved && !verdicts.is_empty();
        if proved || self.settings.method == Method::Patch {
            if self.auto_patch_first {
                self.auto_patch_first = false;
                self.settings.method = Method::Patch;
            }
            if let Some(s) = self.patch_summary.as_mut() {
                s.used = true;
            }
            self.verdicts = verdicts;
            self.result = Some(patched);
            return Ok(());
        }
        self.patch_failure = Some(match overall(&verdicts) {
            VerifyStatus::Counterexample => "the verifier refuted the patched network".into(),
            _ => "the verifier could not prove the patched network".into(),
        });
        self.after_patch(start, start_verdicts)
    }

    /// Where the patch did not serve: certified last-layer repair takes `start` over, or
    /// it stays the result as it is.
    fn after_patch(&mut self, start: Network, verdicts: Vec<Verdict>) -> Result<(), RepairError> {
        if self.auto_patch_first {
            return self.retrain_instead();
        }
        if self.settings.proving.hand_over {
            self.start_last_layer(start, verdicts)
        } else {
            self.verdicts = verdicts;
            self.result = Some(start);
            Ok(())
        }
    }

    /// The automatic method's patch of the original was not proved (or not possible):
    /// retraining from the original, exactly as `Method::Retrain` with the same seed would,
    /// hand-overs included.
    fn retrain_instead(&mut self) -> Result<(), RepairError> {
        self.auto_patch_first = false;
        self.settings.method = Method::Retrain;
        self.patch_tried = false;
        if let Some(why) = self.patch_failure.take() {
            self.patch_failure = Some(format!(
                "the region patch of the original: {why}; retrained instead"
            ));
        }
        let original = self.original.clone();
        self.inner = self.new_inner(false, &original, self.settings.seed)?;
        Ok(())
    }
}
