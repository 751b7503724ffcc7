//! The worker's jobs for checks, proofs, repairs and exports: starting, stopping, and their
//! answers.

use crate::bridge;
use crate::services::download::download;
use crate::state::{AppState, ChartPoint, CheckState, LoadedNetwork, ProofState, RepairState};
use birdnn::protocol::{JobId, Request, Response};
use birdnn::repair::RepairSettings;
use leptos::prelude::*;
use std::cell::Cell;

/// Uniform samples per property in a check.
const CHECK_SAMPLES: usize = 10_000;

/// Boxes the verifier may examine per property from the page. Natively, the hardest ACAS Xu
/// instance of VNN-COMP 2021 needs 113,073 (N3,3 / p2, 31 s), and the worker runs about 1.5x
/// slower; the limit leaves room for harder (repaired) networks, with progress and Stop on
/// screen (300k boxes took 155 MB natively).
const VERIFY_MAX_BOXES: usize = 400_000;

thread_local! {
    static CHECK_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    static REPAIR_JOB: Cell<Option<(JobId, u32)>> = const { Cell::new(None) };
    /// The export asked for last: only its file is offered.
    pub(super) static EXPORT_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    static VERIFY_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
}

/// Cancels the check, the repair and the verification in flight; their late answers are
/// then dropped.
fn cancel_jobs() {
    if let Some(job) = CHECK_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    if let Some((job, _)) = REPAIR_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    if let Some(job) = VERIFY_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
}

/// Forgets results that belong to a network no longer on screen.
pub fn reset(state: AppState) {
    let r = state.repair_signals;
    cancel_jobs();
    r.check.set(CheckState::default());
    r.repair.set(RepairState::default());
    r.proof.set(ProofState::default());
}

fn property_slots(state: AppState) -> Vec<u32> {
    let net = state.network.get_untracked();
    state
        .properties
        .get_untracked()
        .iter()
        .filter(|p| {
            net.as_ref()
                .is_some_and(|n| p.summary.fit(&n.summary).is_ok())
        })
        .map(|p| p.slot)
        .collect()
}

/// The network on screen and the properties that fit it; `None` (with a message when there
/// is a network but no property) when there is nothing to check or repair.
pub(super) fn network_and_properties(state: AppState) -> Option<(LoadedNetwork, Vec<u32>)> {
    let net = state.network.get_untracked()?;
    let properties = property_slots(state);
    if properties.is_empty() {
        state.error.set(Some(
            "No property fits this network: load or draw one first.".into(),
        ));
        return None;
    }
    Some((net, properties))
}

/// Looks for counterexamples to the fitting properties on the network on screen.
pub(super) fn start_check(state: AppState) {
    let r = state.repair_signals;
    let Some((net, properties)) = network_and_properties(state) else {
        return;
    };
    if let Some(old) = CHECK_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job: old });
    }
    let job = bridge::next_job();
    CHECK_JOB.with(|c| c.set(Some(job)));
    r.check.set(CheckState {
        running: true,
        ..CheckState::default()
    });
    bridge::send(&Request::Check {
        job,
        network: net.slot,
        properties,
        samples: CHECK_SAMPLES,
        seed: r.seed.get_untracked(),
    });
}

/// Verifies the fitting properties on `network` (the one on screen, or a fresh repair).
pub(super) fn start_verify(state: AppState, network: u32, properties: Vec<u32>) {
    let r = state.repair_signals;
    if let Some(old) = VERIFY_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job: old });
    }
    let job = bridge::next_job();
    VERIFY_JOB.with(|c| c.set(Some(job)));
    r.proof.set(ProofState {
        running: true,
        network: Some(network),
        stage: "starting".into(),
        verdicts: Vec::new(),
    });
    bridge::send(&Request::Verify {
        job,
        network,
        properties,
        max_boxes: VERIFY_MAX_BOXES,
    });
}

/// Stops the verification; the verdicts so far stay.
pub(super) fn cancel_verify(state: AppState) {
    if let Some(job) = VERIFY_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    state.repair_signals.proof.update(|p| {
        p.running = false;
        p.stage = "stopped".into();
    });
}

/// Starts a repair of the network on screen against the listed properties.
pub fn start_repair(state: AppState, next_slot: u32) {
    let r = state.repair_signals;
    let Some((net, mut properties)) = network_and_properties(state) else {
        return;
    };
    properties.extend(state.gallery.kept_balls());
    // The previous result goes, unless it is the network being repaired again.
    if let Some((previous, _)) = r.repair.get_untracked().result {
        if previous.slot != net.slot {
            bridge::send(&Request::ForgetNetwork {
                network: previous.slot,
            });
        }
    }
    let job = bridge::next_job();
    REPAIR_JOB.with(|c| c.set(Some((job, next_slot))));
    r.repair.set(RepairState {
        running: true,
        stage: "starting".into(),
        ..RepairState::default()
    });
    bridge::send(&Request::Repair {
        job,
        network: net.slot,
        properties,
        settings: Box::new(RepairSettings {
            method: r.method.get_untracked(),
            seed: r.seed.get_untracked(),
            ..r.settings.get_untracked()
        }),
        result: next_slot,
        keep: state.gallery.kept_images(),
    });
}

/// Cancels the running repair; the original network is unchanged.
pub fn cancel_repair(state: AppState) {
    if let Some((job, _)) = REPAIR_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job });
    }
    state.repair_signals.repair.update(|r| {
        r.running = false;
        r.stage = "cancelled: the original network is unchanged".into();
    });
}

/// Handles the answers of checks, repairs and exports; returns the response if it is not
/// one of those (or `None` once handled).
pub fn handle(state: AppState, response: Response) -> Option<Response> {
    let r = state.repair_signals;
    match response {
        Response::CheckProgress {
            job,
            sampled,
            counterexamples,
            starts_used,
            starts_total,
            done,
        } => {
            if CHECK_JOB.with(Cell::get) == Some(job) {
                r.check.update(|c| {
                    c.sampled = Some(sampled);
                    c.counterexamples.extend(counterexamples);
                    c.starts = (starts_used, starts_total);
                    c.running = !done;
                });
                if done {
                    CHECK_JOB.with(|c| c.set(None));
                }
            }
            None
        }
        Response::VerifyProgress {
            job,
            progress,
            verdicts,
        } => {
            if VERIFY_JOB.with(Cell::get) == Some(job) {
                r.proof.update(|p| {
                    p.verdicts.extend(verdicts);
                    p.running = !progress.done;
                    p.stage = if progress.done {
                        "done".into()
                    } else {
                        format!(
                            "property {} of {}: {} ({:.1} % proved, {} boxes)",
                            progress.property + 1,
                            progress.properties,
                            if progress.stage == "falsifier" {
                                "looking for a counterexample"
                            } else {
                                "splitting the region"
                            },
                            100.0 * progress.proved_fraction,
                            progress.boxes
                        )
                    };
                });
                if progress.done {
                    VERIFY_JOB.with(|c| c.set(None));
                }
            }
            None
        }
        Response::RepairProgress {
            job,
            stage,
            progress,
        } => {
            if REPAIR_JOB.with(Cell::get).map(|(j, _)| j) == Some(job) {
                r.repair.update(|rs| {
                    rs.stage = stage;
                    if let Some(p) = progress {
                        rs.fraction = if p.done {
                            1.0
                        } else {
                            p.iteration as f64 / p.max_iterations.max(1) as f64
                        };
                        rs.chart.push(ChartPoint {
                            violations: p.violations.ratio(),
                            fidelity: p.fidelity.ratio(),
                        });
                    }
                });
            }
            None
        }
        Response::Repaired {
            job,
            network,
            summary,
            report,
            json,
        } => {
            if REPAIR_JOB.with(Cell::get).map(|(j, _)| j) == Some(job) {
                REPAIR_JOB.with(|c| c.set(None));
                let loaded = LoadedNetwork {
                    slot: network,
                    summary,
                    bytes: std::sync::Arc::new(json),
                    bytes_name: "repaired.json".into(),
                    demo: None,
                };
                r.repair.update(|rs| {
                    rs.running = false;
                    rs.fraction = 1.0;
                    rs.stage = "done".into();
                    rs.result = Some((loaded, *report));
                });
                // Try to prove the repaired network at once: "proved" says more than any
                // sample count.
                start_verify(state, network, property_slots(state));
            } else {
                bridge::send(&Request::ForgetNetwork { network });
            }
            None
        }
        Response::Exported {
            job,
            file_name,
            bytes,
        } => {
            if EXPORT_JOB.with(Cell::get) == Some(job) {
                download(&file_name, &bytes, "application/octet-stream");
            }
            None
        }
        Response::Failed { job, message } => {
            if CHECK_JOB.with(Cell::get) == Some(job) {
                CHECK_JOB.with(|c| c.set(None));
                r.check.update(|c| c.running = false);
                state
                    .error
                    .set(Some(format!("The check failed: {message}")));
                return None;
            }
            if REPAIR_JOB.with(Cell::get).map(|(j, _)| j) == Some(job) {
                REPAIR_JOB.with(|c| c.set(None));
                r.repair.update(|rs| {
                    rs.running = false;
                    rs.stage = format!("failed: {message}");
                });
                state
                    .error
                    .set(Some(format!("The repair failed: {message}")));
                return None;
            }
            if EXPORT_JOB.with(Cell::get) == Some(job) {
                state
                    .error
                    .set(Some(format!("The export failed: {message}")));
                return None;
            }
            if VERIFY_JOB.with(Cell::get) == Some(job) {
                VERIFY_JOB.with(|c| c.set(None));
                r.proof.update(|p| {
                    p.running = false;
                    p.stage = format!("failed: {message}");
                });
                return None;
            }
            Some(Response::Failed { job, message })
        }
        other => Some(other),
    }
}
