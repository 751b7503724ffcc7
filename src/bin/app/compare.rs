//! Before and after a repair, side by side on the slice being viewed: the original
//! network's decisions, the repaired network's, and where they differ.

use crate::bridge;
use crate::ui::AppState;
use birdnn::picture::{shade, MapPixels};
use birdnn::protocol::{JobId, Request};
use birdnn::slice::MapRows;
use leptos::prelude::*;
use std::cell::RefCell;

/// Grid side of the comparison maps.
pub const SIDE: u32 = 128;

struct Side {
    job: Option<JobId>,
    pixels: MapPixels,
    classes: Vec<u8>,
    done: bool,
}

impl Side {
    fn new() -> Self {
        Side {
            job: None,
            pixels: MapPixels::new(SIDE),
            classes: vec![0; (SIDE * SIDE) as usize],
            done: false,
        }
    }
}

thread_local! {
    static SIDES: RefCell<[Side; 2]> = RefCell::new([Side::new(), Side::new()]);
}

/// Asks the worker for both maps of the current view.
pub fn request(state: AppState) {
    let Some(view) = state.view.get_untracked() else {
        return;
    };
    let Some((after, _)) = state.repair_signals.repair.get_untracked().result else {
        return;
    };
    let before = state
        .original
        .get_untracked()
        .or(state.network.get_untracked());
    let Some(before) = before else { return };
    // The network on screen may be the repaired one; "before" is then the original.
    let before = if before.slot == after.slot {
        return;
    } else {
        before
    };
    state.compare_status.set("computing".into());
    SIDES.with(|s| {
        let mut s = s.borrow_mut();
        for (side, net) in s.iter_mut().zip([&before, &after]) {
            if let Some(old) = side.job.take() {
                bridge::send(&Request::Cancel { job: old });
            }
            let job = bridge::next_job();
            side.job = Some(job);
            side.done = false;
            bridge::send(&Request::DecisionMap {
                job,
                network: net.slot,
                view: view.slice(&net.summary.meta.inputs),
                resolutions: vec![SIDE],
            });
        }
    });
}

/// Takes rows of a comparison map; false if they belong to no comparison job.
pub fn handle(state: AppState, job: JobId, rows: &MapRows, job_done: bool) -> bool {
    let Some(index) = SIDES.with(|s| s.borrow().iter().position(|side| side.job == Some(job)))
    else {
        return false;
    };
    let both_done = SIDES.with(|s| {
        let mut s = s.borrow_mut();
        let side = &mut s[index];
        side.pixels.paint(rows);
        let at = (rows.first_row * SIDE) as usize;
        side.classes[at..at + rows.classes.len()].copy_from_slice(&rows.classes);
        if job_done {
            side.done = true;
            side.job = None;
        }
        s[0].done && s[1].done
    });
    if both_done {
        paint_all();
        state.compare_status.set("ready".into());
    }
    true
}

fn put(testid: &str, rgba: &[u8]) {
    crate::ui::put_pixels(testid, rgba, SIDE);
}

fn paint_all() {
    SIDES.with(|s| {
        let s = s.borrow();
        put("map-before", s[0].pixels.rgba());
        put("map-after", s[1].pixels.rgba());
        // Changed cells in the repaired network's colour; kept ones pale grey.
        let mut changed = vec![0u8; (SIDE * SIDE * 4) as usize];
        for (cell, px) in changed.chunks_exact_mut(4).enumerate() {
            let (a, b) = (s[0].classes[cell], s[1].classes[cell]);
            let rgb = if a == b {
                [0xf2, 0xf2, 0xf2]
            } else {
                shade(usize::from(b), 255)
            };
            px[..3].copy_from_slice(&rgb);
            px[3] = 255;
        }
        put("map-changed", &changed);
    });
}

/// Share of cells whose decision changed, once both maps are in.
fn changed_share() -> Option<f64> {
    SIDES.with(|s| {
        let s = s.borrow();
        if !(s[0].done && s[1].done) {
            return None;
        }
        let n = s[0]
            .classes
            .iter()
            .zip(&s[1].classes)
            .filter(|(a, b)| a != b)
            .count();
        Some(n as f64 / s[0].classes.len() as f64)
    })
}

/// The three small maps.
#[component]
pub fn Compare() -> impl IntoView {
    let state = expect_context::<AppState>();
    Effect::new(move |_| {
        let has_result = state.repair_signals.repair.with(|r| r.result.is_some());
        state.view.track();
        state.network.track();
        if has_result {
            request(state);
        }
    });
    let canvas = |testid: &'static str, title: &'static str| {
        view! {
            <figure>
                <canvas data-testid=testid width=SIDE height=SIDE class="compare-canvas"></canvas>
                <figcaption>{title}</figcaption>
            </figure>
        }
    };
    view! {
        <Show when=move || state.repair_signals.repair.with(|r| r.result.is_some())>
            <section class="compare" data-testid="compare">
                <h3>"Before and after, on this slice"</h3>
                <div class="compare-row">
                    {canvas("map-before", "original")}
                    {canvas("map-after", "repaired")}
                    {canvas("map-changed", "changed decisions")}
                </div>
                <p class="hint" data-testid="compare-status">
                    {move || {
                        let status = state.compare_status.get();
                        match (status.as_str(), changed_share()) {
                            ("ready", Some(share)) => format!("{:.2} % of this slice changed its decision", 100.0 * share),
                            _ => status,
                        }
                    }}
                </p>
            </section>
        </Show>
    }
}
