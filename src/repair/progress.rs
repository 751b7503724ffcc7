//! What every step of a repair reports.

use crate::measures::Rate;
use serde::{Deserialize, Serialize};

/// What a session is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Training weights (retraining).
    Training,
    /// Particle swarm search (fine-tuning).
    Searching,
    /// Drawing fresh samples and running the falsifier for a PAC statement.
    Certifying,
    /// Running the falsifier on a retrained candidate: what it finds is learnt next.
    Falsifying,
    /// Running the verifier on a result.
    Proving,
    /// Solving for a certified last layer.
    Solving,
    /// Patching the property boxes (region patch).
    Patching,
    /// Finished.
    Done,
}

/// Reads `null` as NaN: serde_json writes non-finite numbers as `null`.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Progress reported by every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepairProgress {
    /// What the session is doing.
    pub phase: Phase,
    /// Round (retraining), swarm iteration (fine-tuning) of the current repair.
    pub iteration: usize,
    /// The most iterations the current repair may take.
    pub max_iterations: usize,
    /// Training loss (retraining) or swarm cost (fine-tuning); NaN while no cost applies
    /// (certifying, falsifying), which JSON carries as `null`.
    #[serde(deserialize_with = "nan_from_null")]
    pub cost: f64,
    /// Validation counterexamples still unsafe.
    pub violations: Rate,
    /// Validation positives whose decision is kept.
    pub fidelity: Rate,
    /// Time spent in `step()` so far (0 where no clock is available).
    pub elapsed_ms: f64,
    /// True once the session has finished.
    pub done: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_without_a_cost_survives_json() {
        let p = RepairProgress {
            phase: Phase::Falsifying,
            iteration: 3,
            max_iterations: 10,
            cost: f64::NAN,
            violations: Rate { count: 0, total: 5 },
            fidelity: Rate { count: 5, total: 5 },
            elapsed_ms: 1.0,
            done: false,
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("\"cost\":null"), "{text}");
        let back: RepairProgress = serde_json::from_str(&text).unwrap();
        assert!(back.cost.is_nan());
        assert_eq!(back.phase, Phase::Falsifying);
    }
}
