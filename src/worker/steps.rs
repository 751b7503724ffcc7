//! Advancing the queued jobs, one bounded slice at a time: maps, checks, verifications and
//! repairs.

use super::{
    margin_scale, missing_network, HeldNetwork, JobKind, RepairStage, WorkerCore,
    MAP_CELLS_PER_STEP, MAX_REPORTED_COUNTEREXAMPLES,
};
use crate::falsify::Counterexample;
use crate::protocol::{JobId, NetworkId, PropertyId, Response};
use crate::repair::{HeldOut, RepairData, RepairError, RepairSession, ReportPlan, SamplingPlan};
use crate::verify::Verdict;

impl WorkerCore {
    /// Does one bounded slice of the next job and returns what it produced.
    pub fn step(&mut self) -> Vec<Response> {
        let Some(mut job) = self.jobs.pop_front() else {
            return Vec::new();
        };
        let started = (self.clock)();
        let mut out = Vec::new();
        let finished = match &mut job.kind {
            JobKind::Map {
                network,
                map,
                compute_ms,
            } => match self.networks.get(network) {
                None => {
                    out.push(missing_network(job.id, *network));
                    true
                }
                Some(held) => {
                    if let Some((rows, resolution_done)) = map.step(&held.net, MAP_CELLS_PER_STEP) {
                        *compute_ms += (self.clock)() - started;
                        out.push(Response::MapRows {
                            job: job.id,
                            rows,
                            resolution_done,
                            job_done: map.is_done(),
                            compute_ms: *compute_ms,
                        });
                        if resolution_done {
                            *compute_ms = 0.0;
                        }
                    }
                    map.is_done()
                }
            },
            JobKind::Check {
                falsifier,
                sampled,
                pending,
                falsifier_sent,
                reported,
                ..
            } => {
                let progress = falsifier.step();
                let mut fresh: Vec<Counterexample> = std::mem::take(pending);
                let found = falsifier.counterexamples();
                fresh.extend(found[*falsifier_sent..].iter().cloned());
                *falsifier_sent = found.len();
                fresh.truncate(MAX_REPORTED_COUNTEREXAMPLES.saturating_sub(*reported));
                *reported += fresh.len();
                out.push(Response::CheckProgress {
                    job: job.id,
                    sampled: *sampled,
                    counterexamples: fresh,
                    starts_used: progress.starts_used,
                    starts_total: progress.starts_total,
                    done: progress.done,
                });
                progress.done
            }
            JobKind::Verify {
                verifier,
                slots,
                sent,
                ..
            } => {
                let progress = verifier.step();
                let verdicts: Vec<(PropertyId, Verdict)> = verifier.verdicts()[*sent..]
                    .iter()
                    .zip(&slots[*sent..])
                    .map(|(v, &slot)| (slot, v.clone()))
                    .collect();
                *sent += verdicts.len();
                let done = progress.done;
                out.push(Response::VerifyProgress {
                    job: job.id,
                    progress,
                    verdicts,
                });
                done
            }
            JobKind::Repair {
                network,
                result,
                stage,
            } => match self.step_repair(job.id, *network, *result, stage) {
                Ok((response, done)) => {
                    out.push(response);
                    done
                }
                Err(message) => {
                    out.push(Response::Failed {
                        job: job.id,
                        message,
                    });
                    true
                }
            },
        };
        if !finished {
            self.jobs.push_back(job);
        }
        out
    }

    /// One step of a repair: drawing the data, a session step, or the final measures.
    fn step_repair(
        &mut self,
        job: JobId,
        network: NetworkId,
        result: NetworkId,
        stage: &mut RepairStage,
    ) -> Result<(Response, bool), String> {
        // Borrowed, not cloned: this runs on every step of the repair.
        let net = &self
            .networks
            .get(&network)
            .ok_or_else(|| format!("the worker holds no network {network}"))?
            .net;
        match stage {
            RepairStage::Preparing {
                properties,
                settings,
                keep,
            } => {
                let nothing = "nothing to repair: neither sampling nor the falsifier finds a \
                               counterexample";
                let (data, held_out, guards) = if keep.is_empty() {
                    let plan = SamplingPlan::default();
                    let data = RepairData::sampled(net, properties, &plan, settings.seed)
                        .map_err(|e| e.to_string())?;
                    let held_out = HeldOut::sampled(net, properties, &plan, settings.seed)
                        .map_err(|e| e.to_string())?;
                    (data, held_out, Vec::new())
                } else {
                    let gallery = crate::images::benchmark::gallery_repair_data(
                        net,
                        properties,
                        keep,
                        settings.seed,
                    )
                    .map_err(|e| match e {
                        crate::images::ImageError::Repair(RepairError::NothingToRepair) => {
                            "nothing to repair: the falsifier breaks none of these images' balls"
                                .to_string()
                        }
                        other => other.to_string(),
                    })?;
                    (gallery.data, gallery.held_out, gallery.guards)
                };
                let mut session = RepairSession::new(net, properties, data, (**settings).clone())
                    .map_err(|e| match e {
                    RepairError::NothingToRepair => nothing.to_string(),
                    other => other.to_string(),
                })?;
                session.set_guards(guards).map_err(|e| e.to_string())?;
                session.set_clock(self.clock);
                *stage = RepairStage::Running {
                    session: Box::new(session),
                    held_out: Box::new(held_out),
                };
                Ok((
                    Response::RepairProgress {
                        job,
                        stage: "repairing".into(),
                        progress: None,
                    },
                    false,
                ))
            }
            RepairStage::Running { session, .. } => {
                if !session.is_done() {
                    let progress = session.step().map_err(|e| e.to_string())?;
                    return Ok((
                        Response::RepairProgress {
                            job,
                            stage: repair_stage_text(&progress),
                            progress: Some(progress),
                        },
                        false,
                    ));
                }
                let RepairStage::Running { session, held_out } = std::mem::replace(
                    stage,
                    RepairStage::Preparing {
                        properties: Vec::new(),
                        settings: Box::default(),
                        keep: Vec::new(),
                    },
                ) else {
                    unreachable!("matched above")
                };
                let outcome = session
                    .finish(&held_out, &ReportPlan::default())
                    .map_err(|e| e.to_string())?;
                let file_name = self
                    .networks
                    .get(&network)
                    .map(|h| h.file_name.clone())
                    .unwrap_or_default();
                let mut repaired = outcome.network;
                let mut meta = repaired.meta().clone();
                meta.name = format!("{} (repaired)", meta.name);
                repaired.set_meta(meta).map_err(|e| e.to_string())?;
                let held = HeldNetwork {
                    margin_scale: margin_scale(&repaired),
                    net: repaired,
                    file_name,
                };
                let summary = held.summary();
                let json = crate::formats::json::write(&held.net).into_bytes();
                self.networks.insert(result, held);
                Ok((
                    Response::Repaired {
                        job,
                        network: result,
                        summary,
                        report: Box::new(outcome.report),
                        json,
                    },
                    true,
                ))
            }
        }
    }
}

/// What a repair step is doing, in words for the page.
fn repair_stage_text(progress: &crate::repair::RepairProgress) -> String {
    use crate::repair::Phase;
    if progress.done {
        return "measuring on data the repair never saw".into();
    }
    match progress.phase {
        Phase::Proving => format!(
            "proving the result: {:.1} % of the regions proved",
            100.0 * progress.iteration as f64 / progress.max_iterations.max(1) as f64
        ),
        Phase::Solving => format!(
            "solving for a certified last layer: program {} of at most {}",
            progress.iteration + 1,
            progress.max_iterations
        ),
        Phase::Patching => "patching the property boxes".into(),
        Phase::Falsifying => "searching the result for counterexamples".into(),
        Phase::Certifying => "testing with fresh samples for a PAC statement".into(),
        Phase::Training | Phase::Searching | Phase::Done => "repairing".into(),
    }
}
