//! Repairing a network: a resumable session that the CLI and the browser worker drive.
//!
//! Configure ([`RepairSettings`], checked), build a [`RepairSession`], call
//! [`RepairSession::step`] until it reports `done` (each call does a bounded slice of work
//! and returns [`RepairProgress`]), then [`RepairSession::finish`] measures the result on
//! held-out data and returns the repaired network and its [`RepairReport`]. Cancelling is
//! just not calling `step` again: the original network is never modified.
//!
//! Same seed, same data, same settings: same repaired network, natively and on wasm32. The
//! work done by a step is counted in samples and batches, never in time.

pub mod certified;
pub mod data;
pub mod domain;
mod error;
pub mod finetune;
mod interval_hinge;
pub mod patch;
mod progress;
mod report;
pub mod retrain;
mod session;
mod settings;
mod validation;

pub use certified::{CertifiedConfig, CertifiedSummary};
pub use data::{HeldOut, RepairData, SamplingPlan};
pub use domain::{DomainConfig, InnerMethod};
pub(crate) use error::setting_error;
pub use error::RepairError;
pub use finetune::{FinetuneConfig, LayerChoice, NeuronId};
pub use patch::{PatchConfig, PatchSummary};
pub use progress::{Phase, RepairProgress};
pub use report::{measure, BeforeAfter, Patch, RepairOutcome, RepairReport, ReportPlan};
pub use retrain::RetrainConfig;
pub use session::{default_clock, Clock, RepairSession};
pub use settings::{Method, ProvingConfig, RepairSettings};
pub use validation::Validation;
