//! Before and after a repair, on the main map at full size: the original network's
//! decisions and the repaired network's, with a swipe between them, either alone, or the
//! changed decisions picked out; the check's counterexamples re-checked on the repaired
//! network.
//!
//! The comparison's maps are canvases laid over the main map's plot (the axes, property
//! boxes and counterexample marks stay on top), so the picture the product exists for is the
//! largest one on the page.
//!
//! Its signals ([`CompareSignals`](crate::state::CompareSignals)) are in [`crate::state`].

use crate::bridge;
use crate::services::canvas::put_pixels;
use crate::state::{AppState, CompareMode, MAP_SIDE};
use birdnn::picture::{shade, MapPixels};
use birdnn::protocol::{JobId, Request};
use birdnn::slice::MapRows;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};

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
            pixels: MapPixels::new(MAP_SIDE),
            classes: vec![0; (MAP_SIDE * MAP_SIDE) as usize],
            done: false,
        }
    }
}

thread_local! {
    static SIDES: RefCell<[Side; 2]> = RefCell::new([Side::new(), Side::new()]);
    static RECHECK_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
}

/// Asks the worker for both maps of the current view.
fn request_maps(state: AppState) {
    let Some(view) = state.view.get_untracked() else {
        return;
    };
    let Some((after, _)) = state.repair_signals.repair.get_untracked().result else {
        return;
    };
    // The network on screen may be the repaired one; "before" is then the original.
    let Some(before) = state
        .original
        .get_untracked()
        .or(state.network.get_untracked())
        .filter(|before| before.slot != after.slot)
    else {
        return;
    };
    state.compare.status.set("computing".into());
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
                resolutions: vec![MAP_SIDE],
            });
        }
    });
}

/// Asks the worker which of the check's counterexamples still are ones on the repaired
/// network.
fn request_recheck(state: AppState) {
    state.compare.still_violating.set(None);
    let Some((after, _)) = state.repair_signals.repair.get_untracked().result else {
        return;
    };
    let inputs: Vec<Vec<f32>> = state
        .repair_signals
        .check
        .with_untracked(|c| c.counterexamples.iter().map(|c| c.input.clone()).collect());
    let properties: Vec<u32> = state.properties.with_untracked(|ps| {
        ps.iter()
            .filter(|p| p.summary.fit(&after.summary).is_ok())
            .map(|p| p.slot)
            .collect()
    });
    if inputs.is_empty() || properties.is_empty() {
        return;
    }
    let job = bridge::next_job();
    RECHECK_JOB.with(|r| r.set(Some(job)));
    bridge::send(&Request::Recheck {
        job,
        network: after.slot,
        properties,
        inputs,
    });
}

/// Takes the re-check's answer; false if it answers no re-check the page waits for.
pub fn handle_recheck(state: AppState, job: JobId, violating: Vec<bool>) -> bool {
    if RECHECK_JOB.with(Cell::get) != Some(job) {
        return false;
    }
    RECHECK_JOB.with(|r| r.set(None));
    state.compare.still_violating.set(Some(violating));
    true
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
        let at = (rows.first_row * MAP_SIDE) as usize;
        side.classes[at..at + rows.classes.len()].copy_from_slice(&rows.classes);
        if job_done {
            side.done = true;
            side.job = None;
        }
        s[0].done && s[1].done
    });
    if both_done {
        // The canvases are always on the page (hidden without a comparison): painted before
        // the status says the comparison is ready.
        paint_all();
        state.compare.status.set("ready".into());
    }
    true
}

fn put(testid: &str, rgba: &[u8]) {
    put_pixels(testid, rgba, MAP_SIDE);
}

/// The repaired network's colour where the decision changed; kept cells faded towards white,
/// so that the changes stand out and the kept layout still shows.
fn changes_rgba(before: &[u8], after: &[u8]) -> Vec<u8> {
    let mut rgba = vec![0u8; before.len() * 4];
    for (px, (&a, &b)) in rgba.chunks_exact_mut(4).zip(before.iter().zip(after)) {
        let rgb = if a == b {
            shade(usize::from(b), 0).map(|c| 255 - (255 - c) / 2)
        } else {
            shade(usize::from(b), 255)
        };
        px[..3].copy_from_slice(&rgb);
        px[3] = 255;
    }
    rgba
}

fn paint_all() {
    SIDES.with(|s| {
        let s = s.borrow();
        put("map-before", s[0].pixels.rgba());
        put("map-after", s[1].pixels.rgba());
        put("map-changed", &changes_rgba(&s[0].classes, &s[1].classes));
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

/// The comparison's canvases, laid over the main map's plot at `style` (its position).
#[component]
pub fn CompareLayers(style: String) -> impl IntoView {
    let state = expect_context::<AppState>();
    let c = state.compare;
    let visible = move |which: &'static str| {
        move || {
            c.showing()
                && match c.mode.get() {
                    CompareMode::Swipe => which != "map-changed",
                    CompareMode::Original => which == "map-before",
                    CompareMode::Repaired => which == "map-after",
                    CompareMode::Changes => which == "map-changed",
                }
        }
    };
    let layer = move |testid: &'static str| {
        let style = style.clone();
        view! {
            <canvas
                data-testid=testid
                class="compare-layer"
                class:shown=visible(testid)
                width=MAP_SIDE
                height=MAP_SIDE
                style=move || {
                    let clip = if testid == "map-after" && c.mode.get() == CompareMode::Swipe {
                        format!("clip-path:inset(0 0 0 {:.2}%);", 100.0 * c.swipe.get())
                    } else {
                        String::new()
                    };
                    format!("{style}{clip}")
                }
            ></canvas>
        }
    };
    view! { {layer("map-before")} {layer("map-after")} {layer("map-changed")} }
}

/// The swipe's divider and the two sides' names, in the map's SVG overlay.
#[component]
pub fn SwipeDivider(left: f64, top: f64, plot: f64) -> impl IntoView {
    let state = expect_context::<AppState>();
    let c = state.compare;
    move || {
        if !(c.showing() && c.mode.get() == CompareMode::Swipe) {
            return ().into_any();
        }
        let x = left + c.swipe.get() * plot;
        view! {
            <g class="swipe-divider" data-testid="swipe-divider">
                <line x1=x x2=x y1=top y2=top + plot/>
                <text x=x - 6.0 y=top + 16.0 text-anchor="end">"◀ original"</text>
                <text x=x + 6.0 y=top + 16.0 text-anchor="start">"repaired ▶"</text>
            </g>
        }
        .into_any()
    }
}

/// One button per [`CompareMode`], the chosen one pressed.
#[component]
fn ModeButtons() -> impl IntoView {
    let c = expect_context::<AppState>().compare;
    let buttons = CompareMode::ALL
        .into_iter()
        .map(|mode| {
            view! {
                <button
                    class="segment"
                    data-testid=format!("compare-mode-{}", mode.label())
                    aria-pressed=move || (c.mode.get() == mode).to_string()
                    title=mode.hint()
                    on:click=move |_| c.mode.set(mode)
                >
                    {mode.label()}
                </button>
            }
        })
        .collect_view();
    view! { <div class="segmented" role="group" aria-label="what the map shows">{buttons}</div> }
}

/// The comparison's controls above the map: what to show, the swipe, and what changed.
#[component]
pub fn Compare() -> impl IntoView {
    let state = expect_context::<AppState>();
    let c = state.compare;
    Effect::new(move |_| {
        let has_result = state.repair_signals.repair.with(|r| r.result.is_some());
        state.view.track();
        state.network.track();
        if has_result {
            request_maps(state);
        } else {
            c.status.set(String::new());
        }
    });
    Effect::new(move |_| {
        let has_result = state.repair_signals.repair.with(|r| r.result.is_some());
        state.repair_signals.check.with(|c| c.counterexamples.len());
        state.properties.track();
        if has_result {
            request_recheck(state);
        }
    });
    // A new repair starts in the swipe view.
    Effect::new(move |_| {
        if state.repair_signals.repair.with(|r| r.result.is_some()) {
            c.mode.set(CompareMode::Swipe);
        }
    });
    let recheck_text = move || {
        let total = state.repair_signals.check.with(|c| c.counterexamples.len());
        match c.still_violating.get() {
            _ if total == 0 => String::new(),
            None => format!("re-checking the {total} counterexamples on the repaired network"),
            Some(flags) => {
                let still = flags.iter().filter(|&&v| v).count();
                format!(
                    "re-checked on the repaired network: {} of {total} counterexamples fixed{}",
                    total - still,
                    if still > 0 {
                        format!(", {still} still violate (red)")
                    } else {
                        String::new()
                    }
                )
            }
        }
    };
    view! {
        <Show when=move || state.repair_signals.repair.with(|r| r.result.is_some())>
            <section class="compare" data-testid="compare" aria-label="before and after the repair">
                <div class="compare-bar">
                    <strong>"Before and after"</strong>
                    <ModeButtons/>
                    <Show when=move || c.mode.get() == CompareMode::Swipe>
                        <label class="swipe">
                            "swipe "
                            <input
                                type="range"
                                min="0"
                                max="100"
                                data-testid="compare-swipe"
                                prop:value=move || (100.0 * c.swipe.get()).round().to_string()
                                on:input=move |ev| {
                                    if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                        c.swipe.set((v / 100.0).clamp(0.0, 1.0));
                                    }
                                }
                            />
                        </label>
                    </Show>
                </div>
                <p class="hint" data-testid="compare-status">
                    {move || {
                        let status = c.status.get();
                        match (status.as_str(), changed_share()) {
                            ("ready", Some(share)) => format!(
                                "{}: {:.2} % of this slice changed its decision",
                                c.mode.get().hint(),
                                100.0 * share
                            ),
                            _ => format!("{status} the maps before and after"),
                        }
                    }}
                </p>
                <p class="hint" data-testid="compare-recheck">{recheck_text}</p>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn changed_cells_are_strong_and_kept_ones_faded() {
        let rgba = changes_rgba(&[0, 1], &[0, 2]);
        let kept = &rgba[..3];
        let changed = &rgba[4..7];
        assert_eq!(changed, shade(2, 255));
        // Paler than the palest map colour of its class.
        assert!(kept.iter().zip(shade(0, 0)).all(|(&k, s)| k >= s));
        assert!(kept.iter().any(|&k| k < 255));
        assert_eq!((rgba[3], rgba[7]), (255, 255));
    }
}
