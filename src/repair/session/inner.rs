//! The sample-based method inside a session (retraining or fine-tuning), and how a round
//! picks and starts it.

use crate::network::Network;
use crate::property::Property;
use crate::repair::finetune::FineTuner;
use crate::repair::retrain::Retrainer;
use crate::repair::{
    InnerMethod, Method, Phase, RepairData, RepairError, RepairProgress, RepairSettings, Validation,
};

/// The sample-based method a session is running, or the network it starts from without one.
pub(super) enum Inner {
    Retrain(Box<Retrainer>),
    Finetune(Box<FineTuner>),
    /// No sample-based method: certified last-layer repair starts from this network.
    Frozen(Box<Network>),
}

impl Inner {
    /// The method's best network so far.
    pub(super) fn best(&self) -> Network {
        match self {
            Inner::Retrain(r) => r.best().clone(),
            Inner::Finetune(f) => f.best(),
            Inner::Frozen(n) => (**n).clone(),
        }
    }

    /// Whether the method has finished.
    pub(super) fn is_done(&self) -> bool {
        match self {
            Inner::Retrain(r) => r.is_done(),
            Inner::Finetune(f) => f.is_done(),
            Inner::Frozen(_) => true,
        }
    }

    /// One bounded slice of the method's work.
    pub(super) fn step(&mut self, validation: &Validation) -> Result<RepairProgress, RepairError> {
        match self {
            Inner::Retrain(r) => r.step(validation),
            Inner::Finetune(f) => f.step(validation),
            Inner::Frozen(n) => Ok(RepairProgress {
                phase: Phase::Solving,
                iteration: 0,
                max_iterations: 0,
                cost: f64::NAN,
                violations: validation.violations(n)?,
                fidelity: validation.fidelity(n)?,
                elapsed_ms: 0.0,
                done: false,
            }),
        }
    }
}

/// Whether a round starts with fine-tuning (domain-wise repair with `Best` tries it first).
pub(super) fn starts_with_finetune(settings: &RepairSettings) -> bool {
    match settings.method {
        Method::Finetune => true,
        Method::Auto | Method::Retrain | Method::Certified | Method::Patch => false,
        Method::Domain => settings.domain.inner != InnerMethod::Retrain,
    }
}

/// Prepares fine-tuning or retraining from `start`.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_inner(
    use_finetune: bool,
    settings: &RepairSettings,
    original: &Network,
    start: &Network,
    properties: &[Property],
    data: &RepairData,
    validation: &Validation,
    seed: u64,
) -> Result<Inner, RepairError> {
    Ok(if use_finetune {
        Inner::Finetune(Box::new(FineTuner::new(
            settings.finetune.clone(),
            original,
            start,
            properties,
            data,
            seed,
        )?))
    } else {
        Inner::Retrain(Box::new(Retrainer::new(
            settings.retrain.clone(),
            original,
            start,
            properties,
            data,
            validation,
            seed,
        )?))
    })
}
