//! The image view of a demo with a gallery (the handwritten digits): every image with a
//! badge (its robustness ball proved, falsified or unknown, before and after a repair), the
//! chosen image beside its counterexample and the perturbation between them, class scores
//! as bars, and a small canvas to draw a digit on.
//!
//! Each image's ball is a property the worker holds in a slot of the gallery's own (not in
//! the property list); "make this image robust" adds a copy to the list, which the repair
//! panel repairs. A repair of a gallery network keeps the decisions of the gallery images
//! and of noisy copies of them ([`kept_images`]).

use crate::bridge;
use crate::ui::{fetch_bytes, load_property, next_slot, put_pixels, AppState};
use birdnn::images::demo::Gallery;
use birdnn::picture::{class_css, grey_rgba, perturbation_rgba};
use birdnn::protocol::{JobId, NetworkId, PropertyId, Request, Response};
use birdnn::verify::{Verdict, VerifyStatus};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Boxes the verifier may examine per ball: the balls are small, so a proof needs few
/// boxes or none; an unknown badge says the budget ran out.
const BOXES_PER_BALL: usize = 300;
/// Side of the drawing canvas's image (the digits are 8x8).
const DRAW_SIDE: usize = 8;

/// What a badge says about one ball on one network.
#[derive(Clone, Debug, PartialEq)]
pub enum Badge {
    /// Not verified yet.
    Pending,
    /// Proved robust.
    Proved,
    /// A counterexample was found (the input).
    Falsified(Vec<f32>),
    /// Neither within the budget; the share of the ball proved.
    Unknown(f64),
}

impl Badge {
    fn of(verdict: &Verdict) -> Badge {
        match verdict.status {
            VerifyStatus::Proved => Badge::Proved,
            VerifyStatus::Counterexample => Badge::Falsified(
                verdict
                    .counterexample
                    .as_ref()
                    .map(|c| c.input.clone())
                    .unwrap_or_default(),
            ),
            VerifyStatus::Unknown => Badge::Unknown(verdict.proved_fraction),
        }
    }

    /// The word tests and styles key on.
    pub fn kind(&self) -> &'static str {
        match self {
            Badge::Pending => "pending",
            Badge::Proved => "proved",
            Badge::Falsified(_) => "falsified",
            Badge::Unknown(_) => "unknown",
        }
    }

    fn text(&self) -> String {
        match self {
            Badge::Pending => "checking…".into(),
            Badge::Proved => "robust (proved)".into(),
            Badge::Falsified(_) => "not robust (counterexample)".into(),
            Badge::Unknown(p) => format!("unknown ({:.0} % proved)", 100.0 * p),
        }
    }

    fn counterexample(&self) -> Option<&[f32]> {
        match self {
            Badge::Falsified(x) if !x.is_empty() => Some(x),
            _ => None,
        }
    }
}

/// The gallery on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct GalleryView {
    /// The images and their radius.
    pub gallery: Arc<Gallery>,
    /// The network the gallery was opened with.
    pub network: NetworkId,
    /// The worker slot of each image's ball.
    pub slots: Vec<PropertyId>,
    /// Badges on the original network.
    pub before: Vec<Badge>,
    /// The repaired network the `after` badges are about, and the badges.
    pub after: Option<(NetworkId, Vec<Badge>)>,
    /// The image shown large.
    pub focus: usize,
    /// Images the user asked to make robust, with the slot of the property in the list.
    pub chosen: Vec<Option<PropertyId>>,
}

/// Class scores of the focused image (and its counterexample) on both networks, and of the
/// drawing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scores {
    /// Original network: the image, the counterexample.
    pub before: [Option<Vec<f32>>; 2],
    /// Repaired network: the image, the counterexample.
    pub after: [Option<Vec<f32>>; 2],
    /// The drawing on the original and on the repaired network.
    pub drawn: [Option<Vec<f32>>; 2],
}

/// The gallery's signals (part of [`AppState`]).
#[derive(Clone, Copy)]
pub struct GallerySignals {
    /// The gallery, when the network on screen (or its original) has one.
    pub view: RwSignal<Option<GalleryView>>,
    /// Scores shown as bars.
    pub scores: RwSignal<Scores>,
    /// Grey levels of the drawing, row-major.
    pub drawing: RwSignal<Vec<f32>>,
    /// The drawing's ball: its badge on the original network.
    pub drawn_badge: RwSignal<Option<Badge>>,
    /// What the gallery is doing, in words.
    pub status: RwSignal<String>,
}

impl GallerySignals {
    /// No gallery.
    pub fn new() -> Self {
        GallerySignals {
            view: RwSignal::new(None),
            scores: RwSignal::new(Scores::default()),
            drawing: RwSignal::new(vec![0.0; DRAW_SIDE * DRAW_SIDE]),
            drawn_badge: RwSignal::new(None),
            status: RwSignal::new(String::new()),
        }
    }
}

impl Default for GallerySignals {
    fn default() -> Self {
        Self::new()
    }
}

/// What an answer of the worker is for.
#[derive(Clone, Copy, Debug)]
enum Job {
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

/// The inputs a repair must keep: the gallery's images while a gallery is open (its network
/// or a repair of it is on screen; loading any other network closes the gallery). Empty
/// otherwise, and the repair samples its data.
pub fn kept_images(state: AppState) -> Vec<Vec<f32>> {
    let Some(view) = state.gallery.view.get_untracked() else {
        return Vec::new();
    };
    (0..view.gallery.images.len())
        .map(|i| view.gallery.pixels(i))
        .collect()
}

/// The gallery balls a repair must keep proved: those proved on the original network
/// (their hidden slots). Passed to the repair as properties, so that certified training
/// holds them too: measured on the digits demo, repairing one ball alone lost 9 of 26
/// proofs and changed 5 other images' classes; with the proved balls passed along it lost
/// none.
pub fn kept_balls(state: AppState) -> Vec<PropertyId> {
    state.gallery.view.with_untracked(|v| {
        v.as_ref().map_or(Vec::new(), |v| {
            v.before
                .iter()
                .zip(&v.slots)
                .filter(|(b, _)| matches!(b, Badge::Proved))
                .map(|(_, &slot)| slot)
                .collect()
        })
    })
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

fn verify(network: NetworkId, slots: Vec<PropertyId>, what: Job) {
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
fn request_scores(state: AppState) {
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
fn request_drawn_scores(state: AppState) {
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
fn verify_drawing(state: AppState, class: usize) {
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
fn toggle_chosen(state: AppState, i: usize) {
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

/// An 8x8 (or any square) image drawn large.
#[component]
fn ImageCanvas(
    #[prop(into)] testid: String,
    side: u32,
    rgba: Signal<Option<Vec<u8>>>,
    #[prop(default = 128)] size: u32,
) -> impl IntoView {
    let id = testid.clone();
    Effect::new(move |_| {
        if let Some(pixels) = rgba.get() {
            // After the canvas is in the page.
            let id = id.clone();
            request_animation_frame(move || put_pixels(&id, &pixels, side));
        }
    });
    view! {
        <canvas
            class="image-canvas"
            data-testid=testid
            data-painted=move || rgba.get().is_some().to_string()
            width=side
            height=side
            style=format!("width: {size}px; height: {size}px")
        ></canvas>
    }
}

/// Class scores as bars, the winner marked.
#[component]
fn ScoreBars(
    testid: &'static str,
    title: &'static str,
    scores: Signal<Option<Vec<f32>>>,
) -> impl IntoView {
    view! {
        <div class="score-bars" data-testid=testid>
            <div class="score-title">{title}</div>
            {move || match scores.get() {
                None => view! { <div class="hint">"—"</div> }.into_any(),
                Some(y) => {
                    let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let min = y.iter().copied().fold(f32::INFINITY, f32::min);
                    let span = (max - min).max(1e-6);
                    let winner = y.iter().position(|&v| v == max).unwrap_or(0);
                    view! {
                        <div data-winner=winner.to_string()>
                            {y.iter().enumerate().map(|(k, &v)| {
                                let width = 4.0 + 96.0 * ((v - min) / span) as f64;
                                view! {
                                    <div class="score-row" class:winner=k == winner>
                                        <span class="score-class">{k.to_string()}</span>
                                        <span class="score-bar" style=format!("width: {width:.0}%; background: {}", class_css(k))></span>
                                        <span class="score-value">{format!("{v:.2}")}</span>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }
                    .into_any()
                }
            }}
        </div>
    }
}

/// The gallery, the focused image and the drawing canvas.
#[component]
pub fn GalleryPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let g = state.gallery;
    // A new repaired network: its badges.
    Effect::new(move |_| {
        let result = state.repair_signals.repair.get().result.map(|r| r.0.slot);
        let Some(view) = g.view.get_untracked() else {
            return;
        };
        match result {
            Some(slot) if view.after.as_ref().map(|a| a.0) != Some(slot) => {
                g.view.update(|v| {
                    if let Some(v) = v {
                        v.after = Some((slot, vec![Badge::Pending; v.slots.len()]));
                    }
                });
                verify(
                    slot,
                    view.slots.clone(),
                    Job::Verify {
                        after: true,
                        network: slot,
                    },
                );
            }
            None if view.after.is_some() => g.view.update(|v| {
                if let Some(v) = v {
                    v.after = None;
                }
            }),
            _ => {}
        }
    });
    let focus = Memo::new(move |_| g.view.with(|v| v.as_ref().map(|v| v.focus)));
    let focused = move || {
        g.view.with(|v| {
            v.as_ref().map(|v| {
                let i = v.focus;
                (
                    v.gallery.clone(),
                    i,
                    v.before[i].clone(),
                    v.after.as_ref().map(|a| a.1[i].clone()),
                    v.chosen[i].is_some(),
                )
            })
        })
    };
    let original_rgba =
        Signal::derive(move || focused().map(|(gallery, i, ..)| grey_rgba(&gallery.pixels(i))));
    let cex_rgba = Signal::derive(move || {
        focused().and_then(|(_, _, before, ..)| before.counterexample().map(grey_rgba))
    });
    let perturbation = Signal::derive(move || {
        focused().and_then(|(gallery, i, before, ..)| {
            before
                .counterexample()
                .map(|x| perturbation_rgba(&gallery.pixels(i), x, gallery.eps))
        })
    });
    let drawing_rgba = Signal::derive(move || Some(grey_rgba(&g.drawing.get())));
    let score =
        move |f: fn(&Scores) -> Option<Vec<f32>>| Signal::derive(move || f(&g.scores.get()));
    let painting = RwSignal::new(None::<f32>);
    // The keyboard's place on the grid: arrows move it, space or enter inks, delete erases.
    let cursor = RwSignal::new(0usize);
    let on_grid_key = move |ev: web_sys::KeyboardEvent| {
        let at = cursor.get_untracked();
        let (row, col) = (at / DRAW_SIDE, at % DRAW_SIDE);
        let moved = match ev.key().as_str() {
            "ArrowLeft" => Some(row * DRAW_SIDE + col.saturating_sub(1)),
            "ArrowRight" => Some(row * DRAW_SIDE + (col + 1).min(DRAW_SIDE - 1)),
            "ArrowUp" => Some(row.saturating_sub(1) * DRAW_SIDE + col),
            "ArrowDown" => Some((row + 1).min(DRAW_SIDE - 1) * DRAW_SIDE + col),
            _ => None,
        };
        if let Some(next) = moved {
            ev.prevent_default();
            cursor.set(next);
            return;
        }
        let level = match ev.key().as_str() {
            " " | "Enter" => Some(if g.drawing.with_untracked(|d| d[at]) > 0.5 {
                0.0
            } else {
                1.0
            }),
            "Delete" | "Backspace" => Some(0.0),
            _ => None,
        };
        if let Some(level) = level {
            ev.prevent_default();
            g.drawing.update(|d| d[at] = level);
            request_drawn_scores(state);
        }
    };
    let paint = move |cell: usize| {
        if let Some(level) = painting.get_untracked() {
            g.drawing.update(|d| d[cell] = level);
        }
    };
    let chosen_count = move || {
        g.view.with(|v| {
            v.as_ref()
                .map_or(0, |v| v.chosen.iter().filter(|c| c.is_some()).count())
        })
    };
    let drawn_class = move || {
        g.scores.with(|s| {
            s.drawn[0].as_ref().and_then(|y| {
                let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                y.iter().position(|&v| v == max)
            })
        })
    };
    view! {
        <Show when=move || g.view.with(Option::is_some)>
            <section class="panel gallery" data-testid="gallery">
                <h2>"Images"</h2>
                <p class="hint">
                    {move || g.view.with(|v| v.as_ref().map(|v| format!(
                        "Each badge says whether every image within {:.4} of this one (each pixel moved by up to that much) keeps its class: proved by the verifier, refuted by a counterexample, or unknown. Pick an image to see its counterexample; \"make this image robust\" adds its ball to the properties, and Repair repairs them all.",
                        v.gallery.eps
                    )).unwrap_or_default())}
                </p>
                <p class="status" data-testid="gallery-status">{move || g.status.get()}</p>
                <div class="thumbs">
                    {move || g.view.with(|v| v.as_ref().map(|v| {
                        (0..v.gallery.images.len()).map(|i| {
                            let before = v.before[i].clone();
                            let after = v.after.as_ref().map(|a| a.1[i].clone());
                            let rgba = grey_rgba(&v.gallery.pixels(i));
                            let label = v.gallery.images[i].label;
                            let chosen = v.chosen[i].is_some();
                            view! {
                                <button
                                    class=format!("thumb badge-{}", after.as_ref().unwrap_or(&before).kind())
                                    class:focused=v.focus == i
                                    class:chosen=chosen
                                    data-testid=format!("gallery-image-{i}")
                                    data-badge=before.kind()
                                    data-after=after.as_ref().map(|a| a.kind()).unwrap_or("none")
                                    title=format!("a {label}: {}{}", before.text(), after.as_ref().map(|a| format!("; repaired: {}", a.text())).unwrap_or_default())
                                    on:click=move |_| {
                                        g.view.update(|v| if let Some(v) = v { v.focus = i; });
                                        request_scores(state);
                                    }
                                >
                                    <ImageCanvas testid=format!("thumb-{i}") side=8 rgba=Signal::derive(move || Some(rgba.clone())) size=40/>
                                    <span class="thumb-label">{label.to_string()}</span>
                                    <span class="thumb-badge">{match &after {
                                        Some(a) => format!("{} → {}", short(&before), short(a)),
                                        None => short(&before).to_string(),
                                    }}</span>
                                </button>
                            }
                        }).collect_view()
                    }))}
                </div>
                <div class="focus" data-testid="gallery-focus" data-focus=move || focus.get().map(|f| f.to_string()).unwrap_or_default()>
                    <figure>
                        <ImageCanvas testid="image-original" side=8 rgba=original_rgba/>
                        <figcaption>{move || focused().map(|(gallery, i, ..)| format!("image {i}: a {}", gallery.images[i].label)).unwrap_or_default()}</figcaption>
                    </figure>
                    <figure>
                        <ImageCanvas testid="image-perturbation" side=8 rgba=perturbation/>
                        <figcaption>"perturbation (red +, blue −, full colour = the radius)"</figcaption>
                    </figure>
                    <figure>
                        <ImageCanvas testid="image-counterexample" side=8 rgba=cex_rgba/>
                        <figcaption data-testid="counterexample-caption">{move || match focused() {
                            Some((_, _, Badge::Falsified(_), ..)) => "counterexample: the original network changes its mind".to_string(),
                            Some((_, _, Badge::Proved, ..)) => "no counterexample: the ball is proved".to_string(),
                            Some((_, _, Badge::Unknown(_), ..)) => "no counterexample found; not proved either".to_string(),
                            _ => String::new(),
                        }}</figcaption>
                    </figure>
                    <div class="focus-side">
                        <p data-testid="focus-badges">{move || focused().map(|(_, _, before, after, _)| match after {
                            Some(a) => format!("original: {}; repaired: {}", before.text(), a.text()),
                            None => format!("original: {}", before.text()),
                        }).unwrap_or_default()}</p>
                        <button
                            data-testid="make-robust"
                            on:click=move |_| if let Some(i) = focus.get_untracked() { toggle_chosen(state, i) }
                        >{move || if focused().is_some_and(|f| f.4) { "Remove from the properties" } else { "Make this image robust" }}</button>
                        <p>
                            <button
                                data-testid="gallery-repair"
                                disabled=move || chosen_count() == 0 || state.repair_signals.repair.get().running
                                on:click=move |_| crate::repair_panel::start_repair(state, next_slot())
                            >{move || format!("Repair the {} chosen", chosen_count())}</button>
                            " "
                            <button
                                data-testid="gallery-repair-cancel"
                                disabled=move || !state.repair_signals.repair.get().running
                                on:click=move |_| crate::repair_panel::cancel_repair(state)
                            >"Cancel"</button>
                        </p>
                        <p class="hint" data-testid="gallery-repair-stage">{move || {
                            let r = state.repair_signals.repair.get();
                            if r.running || r.result.is_some() {
                                format!("repair: {}", r.stage)
                            } else {
                                "Choose images, then repair: the other gallery images keep their classes, and the settings are in the panel.".to_string()
                            }
                        }}</p>
                    </div>
                </div>
                <div class="bars">
                    <ScoreBars testid="scores-before" title="original: image" scores=score(|s| s.before[0].clone())/>
                    <ScoreBars testid="scores-before-cex" title="original: counterexample" scores=score(|s| s.before[1].clone())/>
                    <ScoreBars testid="scores-after" title="repaired: image" scores=score(|s| s.after[0].clone())/>
                    <ScoreBars testid="scores-after-cex" title="repaired: counterexample" scores=score(|s| s.after[1].clone())/>
                </div>
                <h3>"Draw a digit"</h3>
                <div class="draw">
                    <div
                        class="draw-grid"
                        data-testid="draw-grid"
                        tabindex="0"
                        role="application"
                        aria-label="8 by 8 drawing grid: arrow keys move, space or enter inks or clears a cell, delete erases"
                        on:keydown=on_grid_key
                        on:pointerup=move |_| {
                            painting.set(None);
                            request_drawn_scores(state);
                        }
                        on:pointerleave=move |_| {
                            if painting.get_untracked().is_some() {
                                painting.set(None);
                                request_drawn_scores(state);
                            }
                        }
                        on:contextmenu=move |ev| ev.prevent_default()
                    >
                        {(0..DRAW_SIDE * DRAW_SIDE).map(|cell| view! {
                            <div
                                class="draw-cell"
                                class:cursor=move || cursor.get() == cell
                                data-testid=format!("draw-cell-{cell}")
                                style=move || {
                                    let ink = g.drawing.with(|d| d[cell]);
                                    let v = (255.0 * (1.0 - ink)).round() as u8;
                                    format!("background: rgb({v},{v},{v})")
                                }
                                on:pointerdown=move |ev: web_sys::PointerEvent| {
                                    ev.prevent_default();
                                    cursor.set(cell);
                                    // Right button or shift erases.
                                    let level = if ev.button() == 2 || ev.shift_key() { 0.0 } else { 1.0 };
                                    painting.set(Some(level));
                                    paint(cell);
                                }
                                on:pointerenter=move |_| paint(cell)
                            ></div>
                        }).collect_view()}
                    </div>
                    <div class="draw-side">
                        <ImageCanvas testid="drawing-image" side=8 rgba=drawing_rgba size=64/>
                        <p>
                            <button data-testid="draw-clear" on:click=move |_| {
                                g.drawing.set(vec![0.0; DRAW_SIDE * DRAW_SIDE]);
                                g.drawn_badge.set(None);
                                request_drawn_scores(state);
                            }>"Clear"</button>
                            " "
                            <button
                                data-testid="draw-verify"
                                disabled=move || drawn_class().is_none()
                                on:click=move |_| if let Some(class) = drawn_class() { verify_drawing(state, class) }
                            >"Is it robust?"</button>
                        </p>
                        <p data-testid="drawn-verdict" data-badge=move || g.drawn_badge.get().map(|b| b.kind()).unwrap_or("none")>
                            {move || match (drawn_class(), g.drawn_badge.get()) {
                                (Some(class), Some(badge)) => format!("the network reads a {class}; its ball: {}", badge.text()),
                                (Some(class), None) => format!("the network reads a {class}"),
                                _ => "press and drag on the grid to draw (right button or shift erases), or use the arrow keys and space".to_string(),
                            }}
                        </p>
                    </div>
                    <ScoreBars testid="scores-drawn" title="original: drawing" scores=score(|s| s.drawn[0].clone())/>
                    <ScoreBars testid="scores-drawn-after" title="repaired: drawing" scores=score(|s| s.drawn[1].clone())/>
                </div>
            </section>
        </Show>
    }
}

/// A badge in one word, for the thumbnails.
fn short(badge: &Badge) -> &'static str {
    match badge {
        Badge::Pending => "…",
        Badge::Proved => "proved",
        Badge::Falsified(_) => "falsified",
        Badge::Unknown(_) => "unknown",
    }
}
