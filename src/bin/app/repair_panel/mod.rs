//! Checking and repairing in the page: the buttons, the progress of the worker's job, the
//! counterexamples found, and the measures of the repaired network.
//!
//! The worker does the work (see `birdnn::worker`); this module only asks, listens and shows.
//! A cancelled repair leaves the original network untouched: the result would go to a new
//! slot, and the page drops every answer of a cancelled job.
//!
//! The signals the page keeps about checks, proofs and repairs are in
//! [`crate::state`] ([`RepairSignals`](crate::state::RepairSignals)); this module's children
//! hold the jobs, the controls, the charts and the report.

mod charts;
mod jobs;
mod panel;
mod report;
mod settings;

pub use jobs::{cancel_repair, handle, reset, start_repair};
pub use panel::RepairPanel;
