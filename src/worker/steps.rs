//! Advancing the queued jobs, one bounded slice at a time: maps, checks, verifications and
//! repairs.

use super::{
    margin_scale, missing_network, HeldNetwork, JobKind, RepairStage, WorkerCore,
    GATHER_BATCHES_PER_STEP, MAP_CELLS_PER_STEP, MAX_REPORTED_COUNTEREXAMPLES,
};
use crate::falsify::Counterexample;
use crate::images::gallery_repair::{GalleryPreparation, GatherPhase, GatherProgress};
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
                if !keep.is_empty() {
                    // Image balls: the falsifier's searches take seconds, so they run a few
                    // batches per step (the next branch) where the page can cancel them.
                    let preparation = GalleryPreparation::new(properties, keep, settings.seed);
                    let progress = gather_text(&preparation.progress());
                    *stage = RepairStage::Gathering {
                        original: Box::new(net.clone()),
                        preparation: Box::new(preparation),
                        properties: std::mem::take(properties),
                        settings: std::mem::take(settings),
                    };
                    return Ok((repairing(job, progress), false));
                }
                let plan = SamplingPlan::default();
                let data = RepairData::sampled(net, properties, &plan, settings.seed)
                    .map_err(|e| e.to_string())?;
                let held_out = HeldOut::sampled(net, properties, &plan, settings.seed)
                    .map_err(|e| e.to_string())?;
                *stage =
                    self.start_session(net, properties, settings, data, held_out, Vec::new())?;
                Ok((repairing(job, "repairing".into()), false))
            }
            RepairStage::Gathering {
                original,
                preparation,
                properties,
                settings,
            } => {
                let net = &**original;
                let progress = preparation
                    .step(net, GATHER_BATCHES_PER_STEP)
                    .map_err(gallery_error)?;
                if !preparation.is_ready() {
                    return Ok((repairing(job, gather_text(&progress)), false));
                }
                let preparation =
                    std::mem::replace(preparation, Box::new(GalleryPreparation::new(&[], &[], 0)));
                let gallery = preparation.finish(net).map_err(gallery_error)?;
                *stage = self.start_session(
                    net,
                    properties,
                    settings,
                    gallery.data,
                    gallery.held_out,
                    gallery.guards,
                )?;
                Ok((repairing(job, "repairing".into()), false))
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

    /// The running stage of a repair of `properties` on `net` from its data.
    fn start_session(
        &self,
        net: &crate::network::Network,
        properties: &[crate::property::Property],
        settings: &crate::repair::RepairSettings,
        data: RepairData,
        held_out: HeldOut,
        guards: Vec<crate::property::Property>,
    ) -> Result<RepairStage, String> {
        let mut session =
            RepairSession::new(net, properties, data, settings.clone()).map_err(|e| match e {
                RepairError::NothingToRepair => "nothing to repair: neither sampling nor the \
                                                 falsifier finds a counterexample"
                    .to_string(),
                other => other.to_string(),
            })?;
        session.set_guards(guards).map_err(|e| e.to_string())?;
        session.set_clock(self.clock);
        Ok(RepairStage::Running {
            session: Box::new(session),
            held_out: Box::new(held_out),
        })
    }
}

/// A progress message of a repair that has no session progress yet.
fn repairing(job: JobId, stage: String) -> Response {
    Response::RepairProgress {
        job,
        stage,
        progress: None,
    }
}

/// A gallery repair's searches, in words for the page.
fn gather_text(progress: &GatherProgress) -> String {
    match progress.phase {
        GatherPhase::Attacking => format!(
            "searching the chosen balls for counterexamples: {} of {}",
            progress.searched, progress.total
        ),
        GatherPhase::HeldOut => format!(
            "searching the broken balls again for held-out counterexamples: {} of {}",
            progress.searched, progress.total
        ),
        GatherPhase::Ready => "drawing the repair's data".into(),
    }
}

fn gallery_error(e: crate::images::ImageError) -> String {
    match e {
        crate::images::ImageError::Repair(RepairError::NothingToRepair) => {
            "nothing to repair: the falsifier breaks none of these images' balls".to_string()
        }
        other => other.to_string(),
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
