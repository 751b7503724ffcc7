//! The gallery's jobs in the worker: opening, closing and restoring it, proving its balls,
//! scoring images and the drawing, and the answers.

use crate::bridge;
use crate::services::fetch::fetch_bytes;
use crate::services::loading::load_property;
use crate::state::{next_slot, AppState, Badge, GalleryView, Scores};
use birdnn::images::demo::Gallery;
use birdnn::protocol::{JobId, NetworkId, PropertyId, Request, Response};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Boxes the verifier may examine per ball: the balls are small, so a proof needs few
/// boxes or none; an unknown badge says the budget ran out.
const BOXES_PER_BALL: usize = 300;

/// What an answer of the worker is for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Job {
    /// A ball loading: nothing to do but report a failure.
    Load,
    /// Verdicts on the original network (`false`) or the repaired one (`true`).
    Verify { after: bool, network: NetworkId },
    /// Scores: which of [`Scores`]' entries.
    Probe { group: usize, index: usize },
    /// The drawing's ball.
    VerifyDrawn,
}

thread_local! {
    static JOBS: RefCell<HashMap<JobId, Job>> = RefCell::new(HashMap::new());
    /// Slot of the drawing's ball, reused.
    static DRAWN_SLOT: RefCell<Option<PropertyId>> = const { RefCell::new(None) };
}

fn track(job: JobId, what: Job) {
    JOBS.with(|j| j.borrow_mut().insert(job, what));
}

/// VNN-LIB text of image `i`'s ball (the worker's only property format).
fn ball_text(gallery: &Gallery, i: usize, name: &str) -> Result<Vec<u8>, String> {
    let spec = gallery.spec(i);
    let property = spec
        .property(name, gallery.width * gallery.height, gallery.classes)
        .map_err(|e| e.to_string())?;
    Ok(birdnn::formats::vnnlib::write(&property).into_bytes())
}

fn load_ball(slot: PropertyId, name: String, bytes: Vec<u8>) {
    let job = bridge::next_job();
    track(job, Job::Load);
    bridge::send(&Request::LoadProperty {
        job,
        property: slot,
        file_name: name,
        bytes,
    });
}

/// Asks the worker to verify the balls in `slots` on `network`, within the per-ball budget.
pub(super) fn verify(network: NetworkId, slots: Vec<PropertyId>, what: Job) {
    let job = bridge::next_job();
    track(job, what);
    bridge::send(&Request::Verify {
        job,
        network,
        properties: slots,
        max_boxes: BOXES_PER_BALL,
    });
}

/// Opens the gallery in `file` (under `demos/`) for `network`.
pub fn open(state: AppState, file: String, network: NetworkId) {
    let g = state.gallery;
    g.status.set(format!("loading {file}…"));
    wasm_bindgen_futures::spawn_local(async move {
        let parsed = fetch_bytes(&format!("demos/{file}"))
            .await
            .and_then(|bytes| {
                Gallery::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| format!("{file}: {e}"))
            });
        let gallery = match parsed {
            Ok(gallery) => Arc::new(gallery),
            Err(e) => {
                g.status.set(String::new());
                state
                    .error
                    .set(Some(format!("The image gallery could not be opened: {e}")));
                return;
            }
        };
        // The network may have changed while the file was fetched.
        if state.network.get_untracked().map(|n| n.slot) != Some(network) {
            return;
        }
        let mut slots = Vec::with_capacity(gallery.images.len());
        for i in 0..gallery.images.len() {
            let slot = next_slot();
            let name = format!("image {i} (a {}) robust", gallery.images[i].label);
            match ball_text(&gallery, i, &name) {
                Ok(bytes) => load_ball(slot, format!("{name}.vnnlib"), bytes),
                Err(e) => {
                    state.error.set(Some(format!("Gallery image {i}: {e}")));
                    return;
                }
            }
            slots.push(slot);
        }
        let n = slots.len();
        verify(
            network,
            slots.clone(),
            Job::Verify {
                after: false,
                network,
            },
        );
        g.status.set(format!("proving the {n} images' balls…"));
        // The image view is what this demo is about; the repair keeps images, so the
        // settings suited to image balls come with it.
        state
            .repair_signals
            .settings
            .set(birdnn::images::benchmark::image_repair_settings());
        g.view.set(Some(GalleryView {
            gallery,
            network,
            slots,
            before: vec![Badge::Pending; n],
            after: None,
            focus: 0,
            chosen: vec![None; n],
        }));
        g.scores.set(Scores::default());
        g.drawn_badge.set(None);
    });
}

/// Closes the gallery (another network is on screen): its balls are forgotten.
pub fn close(state: AppState) {
    if let Some(view) = state.gallery.view.get_untracked() {
        for slot in view.slots {
            bridge::send(&Request::ForgetProperty { property: slot });
        }
        // The image settings came with the gallery; other networks get the defaults.
        state
            .repair_signals
            .settings
            .set(birdnn::repair::RepairSettings::default());
    }
    JOBS.with(|j| {
        for (job, _) in j.borrow_mut().drain() {
            bridge::send(&Request::Cancel { job });
        }
    });
    state.gallery.view.set(None);
    state.gallery.status.set(String::new());
}

/// A restarted worker holds nothing: the balls go to it again, and the verdicts that were
/// in flight are asked for again.
pub fn restore(state: AppState) {
    let Some(view) = state.gallery.view.get_untracked() else {
        return;
    };
    let in_flight: Vec<Job> = JOBS.with(|j| j.borrow_mut().drain().map(|(_, w)| w).collect());
    for (i, &slot) in view.slots.iter().enumerate() {
        let name = format!("image {i} robust");
        if let Ok(bytes) = ball_text(&view.gallery, i, &name) {
            load_ball(slot, format!("{name}.vnnlib"), bytes);
        }
    }
    for what in in_flight {
        if let Job::Verify { network, .. } = what {
            verify(network, view.slots.clone(), what);
        }
    }
}

/// Asks for the scores of the focused image (and its counterexample) on both networks.
pub(super) fn request_scores(state: AppState) {
    let g = state.gallery;
    let Some(view) = g.view.get_untracked() else {
        return;
    };
    g.scores.update(|s| {
        s.before = [None, None];
        s.after = [None, None];
    });
    let image = view.gallery.pixels(view.focus);
    let cex = view.before[view.focus]
        .counterexample()
        .map(<[f32]>::to_vec);
    let probe = |network: NetworkId, group: usize, index: usize, input: Vec<f32>| {
        let job = bridge::next_job();
        track(job, Job::Probe { group, index });
        bridge::send(&Request::Probe {
            job,
            network,
            input,
        });
    };
    probe(view.network, 0, 0, image.clone());
    if let Some(x) = &cex {
        probe(view.network, 0, 1, x.clone());
    }
    if let Some((after, _)) = &view.after {
        probe(*after, 1, 0, image);
        if let Some(x) = cex {
            probe(*after, 1, 1, x);
        }
    }
}

/// Asks for the drawing's scores.
pub(super) fn request_drawn_scores(state: AppState) {
    let g = state.gallery;
    let Some(view) = g.view.get_untracked() else {
        return;
    };
    let input = g.drawing.get_untracked();
    g.scores.update(|s| s.drawn = [None, None]);
    let mut networks = vec![view.network];
    if let Some((after, _)) = view.after {
        networks.push(after);
    }
    for (index, network) in networks.into_iter().enumerate() {
        let job = bridge::next_job();
        track(job, Job::Probe { group: 2, index });
        bridge::send(&Request::Probe {
            job,
            network,
            input: input.clone(),
        });
    }
}

/// Proves or falsifies the ball around the drawing, for the class the network gives it.
pub(super) fn verify_drawing(state: AppState, class: usize) {
    let g = state.gallery;
    let Some(view) = g.view.get_untracked() else {
        return;
    };
    let spec = birdnn::images::RobustnessSpec {
        image: g.drawing.get_untracked(),
        label: class,
        eps: view.gallery.eps,
    };
    let property = match spec.property(
        &format!("the drawing stays a {class}"),
        view.gallery.width * view.gallery.height,
        view.gallery.classes,
    ) {
        Ok(p) => p,
        Err(e) => {
            state.error.set(Some(format!("The drawing's ball: {e}")));
            return;
        }
    };
    let slot = DRAWN_SLOT.with(|s| *s.borrow_mut().get_or_insert_with(next_slot));
    load_ball(
        slot,
        "drawing.vnnlib".into(),
        birdnn::formats::vnnlib::write(&property).into_bytes(),
    );
    g.drawn_badge.set(Some(Badge::Pending));
    verify(view.network, vec![slot], Job::VerifyDrawn);
}

/// Handles the answers to the gallery's requests; returns any other response.
pub fn handle(state: AppState, response: Response) -> Option<Response> {
    let g = state.gallery;
    let job = match &response {
        Response::PropertyLoaded { job, .. }
        | Response::VerifyProgress { job, .. }
        | Response::Probed { job, .. }
        | Response::Failed { job, .. } => *job,
        _ => return Some(response),
    };
    let Some(what) = JOBS.with(|j| j.borrow().get(&job).copied()) else {
        return Some(response);
    };
    let finished = |job: JobId| JOBS.with(|j| j.borrow_mut().remove(&job));
    match response {
        Response::PropertyLoaded { .. } => {
            finished(job);
        }
        Response::VerifyProgress {
            progress, verdicts, ..
        } => {
            if progress.done {
                finished(job);
            }
            match what {
                Job::Verify { after, network } => {
                    g.view.update(|v| {
                        let Some(v) = v else { return };
                        if after && v.after.as_ref().map(|a| a.0) != Some(network) {
                            v.after = Some((network, vec![Badge::Pending; v.slots.len()]));
                        }
                        for (slot, verdict) in &verdicts {
                            let Some(i) = v.slots.iter().position(|s| s == slot) else {
                                continue;
                            };
                            let badge = Badge::of(verdict);
                            if after {
                                if let Some((_, badges)) = &mut v.after {
                                    badges[i] = badge;
                                }
                            } else {
                                v.before[i] = badge;
                            }
                        }
                    });
                    let side = if after { "repaired" } else { "original" };
                    g.status.set(if progress.done {
                        String::new()
                    } else {
                        format!(
                            "proving the balls on the {side} network: image {} of {}",
                            progress.property + 1,
                            progress.properties
                        )
                    });
                    if progress.done {
                        request_scores(state);
                    }
                }
                Job::VerifyDrawn => {
                    if let Some((_, verdict)) = verdicts.first() {
                        g.drawn_badge.set(Some(Badge::of(verdict)));
                    }
                }
                Job::Load | Job::Probe { .. } => {}
            }
        }
        Response::Probed { outputs, .. } => {
            finished(job);
            if let Job::Probe { group, index } = what {
                g.scores.update(|s| {
                    let slot = match group {
                        0 => &mut s.before[index],
                        1 => &mut s.after[index],
                        _ => &mut s.drawn[index],
                    };
                    *slot = Some(outputs);
                });
            }
        }
        Response::Failed { message, .. } => {
            finished(job);
            g.status.set(String::new());
            state
                .error
                .set(Some(format!("The image gallery: {message}")));
        }
        _ => {}
    }
    None
}

/// Adds (or, when it is there, removes) image `i`'s ball to the property list.
pub(super) fn toggle_chosen(state: AppState, i: usize) {
    let g = state.gallery;
    let Some(view) = g.view.get_untracked() else {
        return;
    };
    match view.chosen[i] {
        Some(slot) => {
            bridge::send(&Request::ForgetProperty { property: slot });
            state
                .properties
                .update(|list| list.retain(|p| p.slot != slot));
            g.view.update(|v| {
                if let Some(v) = v {
                    v.chosen[i] = None;
                }
            });
        }
        None => {
            let name = format!("image {i} must stay a {}", view.gallery.images[i].label);
            match ball_text(&view.gallery, i, &name) {
                Ok(bytes) => {
                    let slot =
                        load_property(state, format!("{name}.vnnlib"), Arc::new(bytes), true);
                    g.view.update(|v| {
                        if let Some(v) = v {
                            v.chosen[i] = slot;
                        }
                    });
                }
                Err(e) => state.error.set(Some(e)),
            }
        }
    }
}
