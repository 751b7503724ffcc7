//! The page: Leptos components and the glue between them and the worker.
//!
//! The root component owns the state ([`AppState`], handed to children through context);
//! the worker's answers come in through [`handle_event`], which drops answers for jobs the
//! page no longer waits for. Nothing heavy runs here: parsing, maps and probes all happen in
//! the worker.

use crate::bridge::{self, BridgeEvent};
use crate::repair_panel::{self, RepairPanel, RepairSignals};
use crate::state::{physical_text, Hover, LoadedNetwork, LoadedProperty, MapStatus, View};
use crate::ticks::{format_tick, nice_ticks};
use birdnn::demos::DemoEntry;
use birdnn::network::DecisionRule;
use birdnn::picture::{class_css, MapPixels};
use birdnn::protocol::{JobId, NetworkId, PropertyId, Request, Response};
use birdnn::verify::VerifyStatus;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;

/// Side of the fine decision map, in cells and canvas pixels (CSS scales it up).
pub const MAP_SIDE: u32 = 256;
/// Side of the coarse map drawn first.
pub const COARSE_SIDE: u32 = 64;
/// Largest file the page sends to the worker (messages are JSON, about four bytes per byte).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Size of the plotted square on screen, CSS pixels.
const PLOT: f64 = 480.0;
/// Room for the axes around the plot.
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_TOP: f64 = 10.0;
const MARGIN_RIGHT: f64 = 14.0;
const MARGIN_BOTTOM: f64 = 50.0;

/// Everything the components share; every field is a signal, so the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The network on screen.
    pub network: RwSignal<Option<LoadedNetwork>>,
    /// The properties listed.
    pub properties: RwSignal<Vec<LoadedProperty>>,
    /// The slice on screen.
    pub view: RwSignal<Option<View>>,
    /// The map's progress.
    pub map_status: RwSignal<MapStatus>,
    /// The message in the error banner.
    pub error: RwSignal<Option<String>>,
    /// What the pointer is over.
    pub hover: RwSignal<Option<Hover>>,
    /// The built-in demos (from `demos/index.json`).
    pub demos: RwSignal<Vec<DemoEntry>>,
    /// Files being loaded, by name.
    pub loading: RwSignal<Vec<String>>,
    /// The worker's state in words.
    pub worker_status: RwSignal<String>,
    /// Bumped to ask for the map again (after a worker restart).
    pub map_epoch: RwSignal<u32>,
    /// Checks and repairs.
    pub repair_signals: RepairSignals,
    /// The network shown before the current one, when the user switched to a repaired
    /// network (for "back to the original").
    pub original: RwSignal<Option<LoadedNetwork>>,
    /// Drawing a property box on the map.
    pub drawing: RwSignal<bool>,
    /// The before/after comparison: `computing` or `ready`.
    pub compare_status: RwSignal<String>,
    /// The box being drawn: fractions of the map (left, top) to (right, bottom).
    pub draft: RwSignal<Option<Draft>>,
    /// The image gallery of a demo that has one.
    pub gallery: crate::gallery::GallerySignals,
}

/// A box drawn on the map, in fractions of the plot (x from the left, y from the top).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draft {
    /// Where the drag started.
    pub start: (f64, f64),
    /// Where the pointer is (or was released).
    pub end: (f64, f64),
    /// The pointer is still down.
    pub dragging: bool,
    /// While the whole box is being moved: where the pointer was last.
    pub moving: Option<(f64, f64)>,
}

/// How close (as a share of the map) a press must be to a corner to grab it.
const HANDLE_REACH: f64 = 0.03;

impl Draft {
    /// A new box from a press at `at`.
    fn at(at: (f64, f64)) -> Self {
        Draft {
            start: at,
            end: at,
            dragging: true,
            moving: None,
        }
    }

    /// A press at `at` on a finished box: a corner resizes it (the opposite corner stays),
    /// the inside moves it; elsewhere, `None` (a new box starts).
    fn grab(&self, at: (f64, f64)) -> Option<Draft> {
        let (l, t, r, b) = self.bounds();
        for (cx, cy) in [(l, t), (r, t), (l, b), (r, b)] {
            if (at.0 - cx).abs() <= HANDLE_REACH && (at.1 - cy).abs() <= HANDLE_REACH {
                // The opposite corner, taken as it is (no arithmetic, so it stays put exactly).
                let opposite = (if cx == l { r } else { l }, if cy == t { b } else { t });
                return Some(Draft {
                    start: opposite,
                    end: (cx, cy),
                    dragging: true,
                    moving: None,
                });
            }
        }
        let inside = (l..=r).contains(&at.0) && (t..=b).contains(&at.1);
        inside.then_some(Draft {
            dragging: true,
            moving: Some(at),
            ..*self
        })
    }

    /// Follows the pointer: moves the box (kept on the map) or its dragged corner.
    fn follow(&mut self, at: (f64, f64)) {
        let at = (at.0.clamp(0.0, 1.0), at.1.clamp(0.0, 1.0));
        match self.moving {
            Some(last) => {
                let (l, t, r, b) = self.bounds();
                let dx = (at.0 - last.0).clamp(-l, 1.0 - r);
                let dy = (at.1 - last.1).clamp(-t, 1.0 - b);
                self.start = (self.start.0 + dx, self.start.1 + dy);
                self.end = (self.end.0 + dx, self.end.1 + dy);
                self.moving = Some(at);
            }
            None => self.end = at,
        }
    }

    /// (left, top, right, bottom) fractions.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        (
            self.start.0.min(self.end.0),
            self.start.1.min(self.end.1),
            self.start.0.max(self.end.0),
            self.start.1.max(self.end.1),
        )
    }
}

impl AppState {
    fn new() -> Self {
        AppState {
            network: RwSignal::new(None),
            properties: RwSignal::new(Vec::new()),
            view: RwSignal::new(None),
            map_status: RwSignal::new(MapStatus::Empty),
            error: RwSignal::new(None),
            hover: RwSignal::new(None),
            demos: RwSignal::new(Vec::new()),
            loading: RwSignal::new(Vec::new()),
            worker_status: RwSignal::new("starting".into()),
            map_epoch: RwSignal::new(0),
            repair_signals: RepairSignals::new(),
            original: RwSignal::new(None),
            drawing: RwSignal::new(false),
            compare_status: RwSignal::new(String::new()),
            draft: RwSignal::new(None),
            gallery: crate::gallery::GallerySignals::new(),
        }
    }
}

/// What the page waits for, by job.
enum Pending {
    Network {
        slot: NetworkId,
        file_name: String,
        bytes: Arc<Vec<u8>>,
        demo: Option<String>,
        /// A demo's properties replace the list once its network loads.
        demo_properties: Option<Vec<(String, Arc<Vec<u8>>)>>,
        /// Re-sent to a restarted worker: the page already shows it.
        restore: bool,
    },
    Property {
        slot: PropertyId,
        bytes: Arc<Vec<u8>>,
        restore: bool,
        from_demo: bool,
    },
    Rule,
}

thread_local! {
    static PENDING: RefCell<HashMap<JobId, Pending>> = RefCell::new(HashMap::new());
    static NEXT_SLOT: Cell<u32> = const { Cell::new(1) };
    static MAP_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    static PROBE_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    static PIXELS: RefCell<MapPixels> = RefCell::new(MapPixels::new(MAP_SIDE));
    static PAINT_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// The status to show once the last piece is on the canvas.
    static STATUS_AFTER_PAINT: RefCell<Option<MapStatus>> = const { RefCell::new(None) };
    static COARSE_MS: Cell<f64> = const { Cell::new(0.0) };
}

/// A fresh worker slot for a network or property.
pub fn next_slot() -> u32 {
    NEXT_SLOT.with(|s| {
        let v = s.get();
        s.set(v + 1);
        v
    })
}

// --- talking to the worker --------------------------------------------------------------

fn load_network(
    state: AppState,
    file_name: String,
    bytes: Arc<Vec<u8>>,
    demo: Option<String>,
    demo_properties: Option<Vec<(String, Arc<Vec<u8>>)>>,
) {
    if bytes.len() > MAX_UPLOAD_BYTES {
        state.error.set(Some(too_big(&file_name, bytes.len())));
        return;
    }
    let job = bridge::next_job();
    let slot = next_slot();
    state.loading.update(|l| l.push(file_name.clone()));
    bridge::send(&Request::LoadNetwork {
        job,
        network: slot,
        file_name: file_name.clone(),
        bytes: bytes.to_vec(),
    });
    PENDING.with(|p| {
        p.borrow_mut().insert(
            job,
            Pending::Network {
                slot,
                file_name,
                bytes,
                demo,
                demo_properties,
                restore: false,
            },
        )
    });
}

/// Asks the worker to parse and hold a property file; returns its slot (`None` when the file
/// is too big to send).
pub fn load_property(
    state: AppState,
    file_name: String,
    bytes: Arc<Vec<u8>>,
    from_demo: bool,
) -> Option<PropertyId> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        state.error.set(Some(too_big(&file_name, bytes.len())));
        return None;
    }
    let job = bridge::next_job();
    let slot = next_slot();
    bridge::send(&Request::LoadProperty {
        job,
        property: slot,
        file_name,
        bytes: bytes.to_vec(),
    });
    PENDING.with(|p| {
        p.borrow_mut().insert(
            job,
            Pending::Property {
                slot,
                bytes,
                restore: false,
                from_demo,
            },
        )
    });
    Some(slot)
}

fn too_big(file_name: &str, len: usize) -> String {
    format!(
        "{file_name} is {:.1} MiB; the app loads files up to {} MiB (the birdnn command line \
         program has no such limit). Nothing was changed.",
        len as f64 / (1024.0 * 1024.0),
        MAX_UPLOAD_BYTES / (1024 * 1024)
    )
}

/// Loads a file the user gave: properties by their `.vnnlib` extension, networks otherwise.
fn load_user_file(state: AppState, file_name: String, bytes: Vec<u8>) {
    let bytes = Arc::new(bytes);
    if file_name.to_ascii_lowercase().ends_with(".vnnlib") {
        load_property(state, file_name, bytes, false);
    } else {
        load_network(state, file_name, bytes, None, None);
    }
}

/// A restarted worker holds nothing: give it the network and properties on screen again,
/// in the same slots, and ask for the map again.
fn restore_worker(state: AppState) {
    if let Some(net) = state.network.get_untracked() {
        let job = bridge::next_job();
        bridge::send(&Request::LoadNetwork {
            job,
            network: net.slot,
            file_name: net.bytes_name.clone(),
            bytes: net.bytes.to_vec(),
        });
        // The rule on screen may differ from the file's own.
        bridge::send(&Request::SetDecisionRule {
            job: bridge::next_job(),
            network: net.slot,
            rule: net.summary.meta.decision,
        });
        PENDING.with(|p| {
            p.borrow_mut().insert(
                job,
                Pending::Network {
                    slot: net.slot,
                    file_name: net.bytes_name.clone(),
                    bytes: net.bytes.clone(),
                    demo: net.demo.clone(),
                    demo_properties: None,
                    restore: true,
                },
            )
        });
    }
    for p in state.properties.get_untracked() {
        let job = bridge::next_job();
        bridge::send(&Request::LoadProperty {
            job,
            property: p.slot,
            file_name: p.summary.file_name.clone(),
            bytes: p.bytes.to_vec(),
        });
        PENDING.with(|pending| {
            pending.borrow_mut().insert(
                job,
                Pending::Property {
                    slot: p.slot,
                    bytes: p.bytes.clone(),
                    restore: true,
                    from_demo: p.from_demo,
                },
            )
        });
    }
    crate::gallery::restore(state);
    state.map_epoch.update(|e| *e += 1);
}

/// Everything the worker bridge reports arrives here.
fn handle_event(state: AppState, event: BridgeEvent) {
    match event {
        BridgeEvent::Response(response) => handle_response(state, response),
        BridgeEvent::Crashed(message) => {
            PENDING.with(|p| p.borrow_mut().clear());
            MAP_JOB.with(|m| m.set(None));
            state.loading.set(Vec::new());
            state.worker_status.set("restarting".into());
            state.error.set(Some(format!(
                "The worker crashed ({}). It has been restarted; your network, properties and \
                 view are kept.",
                message.lines().last().unwrap_or("no message")
            )));
        }
        BridgeEvent::Restarted => {
            state.worker_status.set("ready".into());
            restore_worker(state);
        }
        BridgeEvent::Failed(message) => {
            state.worker_status.set("stopped".into());
            state.error.set(Some(message));
        }
    }
}

fn handle_response(state: AppState, response: Response) {
    state.worker_status.set("ready".into());
    let Some(response) = crate::gallery::handle(state, response) else {
        return;
    };
    let Some(response) = repair_panel::handle(state, response) else {
        return;
    };
    match response {
        Response::MapRows {
            job,
            rows,
            resolution_done,
            job_done,
            compute_ms,
        } => {
            if MAP_JOB.with(Cell::get) != Some(job) {
                crate::compare::handle(state, job, &rows, job_done);
                return;
            }
            PIXELS.with(|p| p.borrow_mut().paint(&rows));
            if resolution_done && !job_done {
                COARSE_MS.with(|c| c.set(compute_ms));
                state.map_status.set(MapStatus::Computing(MAP_SIDE));
            }
            if job_done {
                MAP_JOB.with(|m| m.set(None));
                STATUS_AFTER_PAINT.with(|s| {
                    *s.borrow_mut() = Some(MapStatus::Ready {
                        side: rows.resolution,
                        coarse_ms: COARSE_MS.with(Cell::get),
                        fine_ms: compute_ms,
                    })
                });
            }
            schedule_paint(state);
        }
        Response::Probed {
            job,
            outputs,
            decision,
        } => {
            if PROBE_JOB.with(Cell::get) == Some(job) {
                state.hover.update(|h| {
                    if let Some(h) = h {
                        h.outputs = Some(outputs);
                        h.decision = Some(decision);
                    }
                });
            }
        }
        Response::NetworkLoaded {
            job,
            network,
            summary,
        } => {
            let Some(Pending::Network {
                slot,
                file_name,
                bytes,
                demo,
                demo_properties,
                restore,
            }) = take_pending(job)
            else {
                return;
            };
            state.loading.update(|l| l.retain(|n| *n != file_name));
            if restore {
                return;
            }
            debug_assert_eq!(slot, network);
            let old = state.network.get_untracked();
            if let Some(old) = &old {
                bridge::send(&Request::ForgetNetwork { network: old.slot });
            }
            // Everything tied to the old network goes: its repair, its original.
            let repaired = state.repair_signals.repair.get_untracked().result;
            for slot in [
                state.original.get_untracked().map(|o| o.slot),
                repaired.map(|r| r.0.slot),
            ]
            .into_iter()
            .flatten()
            {
                bridge::send(&Request::ForgetNetwork { network: slot });
            }
            state.repair_signals.reset();
            state.original.set(None);
            let n = summary.meta.inputs.len();
            let from_url = URL_VIEW
                .with(|v| v.borrow_mut().take())
                .filter(|v| v.fixed.len() == n && v.x_dim < n && v.y_dim < n && v.x_dim != v.y_dim);
            state.view.set(Some(
                from_url.unwrap_or_else(|| View::centred(&summary.meta.inputs)),
            ));
            state.hover.set(None);
            if demo.is_none() {
                store_upload(&file_name, &bytes);
            }
            let gallery = demo.as_ref().and_then(|id| {
                state
                    .demos
                    .get_untracked()
                    .into_iter()
                    .find(|d| &d.id == id)
                    .and_then(|d| d.gallery)
            });
            state.network.set(Some(LoadedNetwork {
                slot,
                summary,
                bytes,
                bytes_name: file_name,
                demo,
            }));
            crate::gallery::close(state);
            if let Some(file) = gallery {
                crate::gallery::open(state, file, slot);
            }
            if let Some(props) = demo_properties {
                for p in state.properties.get_untracked() {
                    bridge::send(&Request::ForgetProperty { property: p.slot });
                }
                state.properties.set(Vec::new());
                for (name, bytes) in props {
                    load_property(state, name, bytes, true);
                }
            }
            // The user's own properties from the address (or, without one, from storage)
            // join the first network's.
            for (name, text) in URL_PROPERTIES
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default()
            {
                load_property(state, name, Arc::new(text.into_bytes()), false);
            }
        }
        Response::PropertyLoaded {
            job,
            property,
            summary,
        } => {
            let Some(Pending::Property {
                slot,
                bytes,
                restore,
                from_demo,
                ..
            }) = take_pending(job)
            else {
                return;
            };
            debug_assert_eq!(slot, property);
            if !restore {
                state.properties.update(|list| {
                    list.push(LoadedProperty {
                        slot,
                        summary,
                        bytes,
                        from_demo,
                    })
                });
            }
        }
        Response::DecisionRuleSet { job, summary, .. } => {
            if take_pending(job).is_some() {
                state.network.update(|n| {
                    if let Some(n) = n {
                        n.summary = summary;
                    }
                });
            }
        }
        Response::Failed { job, message } => {
            if MAP_JOB.with(Cell::get) == Some(job) {
                MAP_JOB.with(|m| m.set(None));
                state.map_status.set(MapStatus::Failed(message.clone()));
                state
                    .error
                    .set(Some(format!("The map could not be drawn: {message}")));
                return;
            }
            match take_pending(job) {
                Some(Pending::Network { file_name, .. }) => {
                    state.loading.update(|l| l.retain(|n| *n != file_name));
                    let kept = state
                        .network
                        .get_untracked()
                        .map(|n| format!(" {} is still loaded.", n.summary.meta.name))
                        .unwrap_or_default();
                    state.error.set(Some(format!(
                        "Could not load the network: {message}.{kept}"
                    )));
                }
                Some(Pending::Property { .. }) => {
                    state
                        .error
                        .set(Some(format!("Could not load the property: {message}")));
                }
                Some(Pending::Rule) => {
                    state.error.set(Some(message));
                }
                None => {}
            }
        }
        // Handled by the repair panel, or not answers to anything the page asked.
        Response::Ready { .. }
        | Response::Panicked { .. }
        | Response::CheckProgress { .. }
        | Response::VerifyProgress { .. }
        | Response::RepairProgress { .. }
        | Response::Repaired { .. }
        | Response::Exported { .. } => {}
    }
}

fn take_pending(job: JobId) -> Option<Pending> {
    PENDING.with(|p| p.borrow_mut().remove(&job))
}

fn request_map(state: AppState, net: &LoadedNetwork, view: &View) {
    if let Some(old) = MAP_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job: old });
    }
    STATUS_AFTER_PAINT.with(|s| s.borrow_mut().take());
    let job = bridge::next_job();
    MAP_JOB.with(|m| m.set(Some(job)));
    state.map_status.set(MapStatus::Computing(COARSE_SIDE));
    bridge::send(&Request::DecisionMap {
        job,
        network: net.slot,
        view: view.slice(&net.summary.meta.inputs),
        resolutions: vec![COARSE_SIDE, MAP_SIDE],
    });
}

fn probe(net: &LoadedNetwork, input: Vec<f32>) {
    let job = bridge::next_job();
    PROBE_JOB.with(|p| p.set(Some(job)));
    bridge::send(&Request::Probe {
        job,
        network: net.slot,
        input,
    });
}

/// Paints the pixel buffer on the next animation frame (at most once per frame).
fn schedule_paint(state: AppState) {
    if PAINT_SCHEDULED.with(|p| p.replace(true)) {
        return;
    }
    request_animation_frame(move || {
        PAINT_SCHEDULED.with(|p| p.set(false));
        paint_canvas();
        if let Some(status) = STATUS_AFTER_PAINT.with(|s| s.borrow_mut().take()) {
            state.map_status.set(status);
        }
    });
}

fn paint_canvas() {
    PIXELS.with(|p| {
        let p = p.borrow();
        put_pixels("decision-map", p.rgba(), p.side());
    });
}

/// Puts square RGBA pixels on the canvas with this test id, if it is on the page.
pub fn put_pixels(testid: &str, rgba: &[u8], side: u32) {
    let Some(canvas) = document()
        .query_selector(&format!("[data-testid={testid}]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
    else {
        return;
    };
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if let Ok(image) =
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), side, side)
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}

// --- files ------------------------------------------------------------------------------

/// The bytes at `url` (relative to the page).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("could not fetch {url}: {e:?}"))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("could not fetch {url}: HTTP {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("could not read {url}: {e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn file_bytes(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("could not read {}: {e:?}", file.name()))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn load_files(state: AppState, files: Option<web_sys::FileList>) {
    let Some(files) = files else { return };
    let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    for file in files {
        let name = file.name();
        if file.size() > MAX_UPLOAD_BYTES as f64 {
            state.error.set(Some(too_big(&name, file.size() as usize)));
            continue;
        }
        wasm_bindgen_futures::spawn_local(async move {
            match file_bytes(&file).await {
                Ok(bytes) => load_user_file(state, name, bytes),
                Err(e) => state.error.set(Some(e)),
            }
        });
    }
}

fn load_demo(state: AppState, entry: DemoEntry) {
    state.loading.update(|l| l.push(entry.network.clone()));
    wasm_bindgen_futures::spawn_local(async move {
        let result = async {
            let net = fetch_bytes(&format!("demos/{}", entry.network)).await?;
            let mut props = Vec::new();
            for p in &entry.properties {
                props.push((
                    p.clone(),
                    Arc::new(fetch_bytes(&format!("demos/{p}")).await?),
                ));
            }
            Ok::<_, String>((net, props))
        }
        .await;
        state.loading.update(|l| l.retain(|n| *n != entry.network));
        match result {
            Ok((net, props)) => load_network(
                state,
                entry.network.clone(),
                Arc::new(net),
                Some(entry.id.clone()),
                Some(props),
            ),
            Err(e) => state.error.set(Some(e)),
        }
    });
}

/// Where the last uploaded network is kept across reloads.
const STORED_NETWORK: &str = "birdnn.uploaded-network";

/// The last uploaded network (file name and bytes), kept in the browser's local storage so
/// that a reload shows it again. Storage may be full or disabled: then nothing is kept.
fn store_upload(file_name: &str, bytes: &[u8]) {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    let text = serde_json::json!({ "file_name": file_name, "bytes": bytes }).to_string();
    if storage.set_item(STORED_NETWORK, &text).is_err() {
        let _ = storage.remove_item(STORED_NETWORK);
    }
}

fn stored_upload() -> Option<(String, Vec<u8>)> {
    let storage = web_sys::window()?.local_storage().ok()??;
    let text = storage.get_item(STORED_NETWORK).ok()??;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = value["file_name"].as_str()?.to_string();
    let bytes: Vec<u8> = serde_json::from_value(value["bytes"].clone()).ok()?;
    Some((name, bytes))
}

fn url_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name)
}

fn demo_from_url() -> Option<String> {
    url_param("demo")
}

/// The view in the URL (`x`, `y`, `at`: every input's value in network units), if any.
fn view_from_url() -> Option<View> {
    let x_dim = url_param("x")?.parse().ok()?;
    let y_dim = url_param("y")?.parse().ok()?;
    let fixed = url_param("at")?
        .split(',')
        .map(|v| v.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<Vec<f64>>>()?;
    Some(View {
        x_dim,
        y_dim,
        fixed,
    })
}

/// Keeps the address bar in step with the demo, the view and the seed, so a shared link
/// opens the same picture (`history.replaceState`: no new history entry per slider move).
fn write_url(state: AppState) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let mut query = Vec::new();
    if let Some(demo) = state.network.get_untracked().and_then(|n| n.demo) {
        query.push(format!("demo={demo}"));
    }
    if let Some(view) = state.view.get_untracked() {
        let at: Vec<String> = view.fixed.iter().map(|v| format!("{v:.6}")).collect();
        query.push(format!(
            "x={}&y={}&at={}",
            view.x_dim,
            view.y_dim,
            at.join(",")
        ));
    }
    query.push(format!(
        "seed={}",
        state.repair_signals.seed.get_untracked()
    ));
    if url_param("classroom").is_some_and(|v| v == "1") {
        query.push("classroom=1".into());
    }
    // Drawn and imported properties travel with the link (VNN-LIB text, a few hundred
    // characters each); demo properties come back with the demo.
    let own = own_properties(state);
    for (name, text) in &own {
        let value: String = js_sys::encode_uri_component(&format!("{name}\n{text}")).into();
        query.push(format!("prop={value}"));
    }
    // Until the first network has taken the address's properties, keep what storage has.
    if URL_PROPERTIES.with(|p| p.borrow().is_none()) {
        store_properties(&own);
    }
    if let Ok(history) = window.history() {
        let url = format!("?{}", query.join("&"));
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

thread_local! {
    /// The view asked for by the URL, applied to the first network that fits it.
    static URL_VIEW: RefCell<Option<View>> = RefCell::new(view_from_url());
    /// The user's properties asked for by the URL (or kept in storage), loaded with the first
    /// network.
    static URL_PROPERTIES: RefCell<Option<Vec<(String, String)>>> =
        RefCell::new(Some(properties_from_url_or_storage()));
}

/// Where the user's own properties are kept across reloads.
const STORED_PROPERTIES: &str = "birdnn.properties";

/// The user's (drawn or imported) properties as (file name, VNN-LIB text).
fn own_properties(state: AppState) -> Vec<(String, String)> {
    state
        .properties
        .get_untracked()
        .iter()
        .filter(|p| !p.from_demo)
        .map(|p| {
            (
                p.summary.file_name.clone(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect()
}

/// A property in the address: its file name, a newline, its VNN-LIB text.
fn properties_from_url_or_storage() -> Vec<(String, String)> {
    let from_url: Vec<(String, String)> = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .map(|params| {
            params
                .get_all("prop")
                .iter()
                .filter_map(|v| v.as_string())
                .filter_map(|v| {
                    let (name, text) = v.split_once('\n')?;
                    Some((name.to_string(), text.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_url.is_empty() || demo_from_url().is_some() {
        return from_url;
    }
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(STORED_PROPERTIES).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Keeps the user's properties in local storage (nothing when storage is full or off).
fn store_properties(own: &[(String, String)]) {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    let text = serde_json::to_string(own).unwrap_or_default();
    if storage.set_item(STORED_PROPERTIES, &text).is_err() {
        let _ = storage.remove_item(STORED_PROPERTIES);
    }
}

// --- components -------------------------------------------------------------------------

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    bridge::start(move |event| handle_event(state, event));
    expose_crash_hook();

    // Read before anything rewrites the address.
    let wanted = demo_from_url();
    wasm_bindgen_futures::spawn_local(async move {
        let demos = fetch_bytes("demos/index.json")
            .await
            .and_then(|b| serde_json::from_slice::<Vec<DemoEntry>>(&b).map_err(|e| e.to_string()));
        match demos {
            Ok(demos) => {
                let first = demos
                    .iter()
                    .find(|d| Some(&d.id) == wanted.as_ref())
                    .or(demos.first())
                    .cloned();
                state.demos.set(demos);
                // No demo asked for: the network uploaded before the reload, if any.
                match (wanted.is_none(), stored_upload()) {
                    (true, Some((name, bytes))) => {
                        load_network(state, name, Arc::new(bytes), None, None);
                    }
                    _ => {
                        if let Some(first) = first {
                            load_demo(state, first);
                        }
                    }
                }
            }
            Err(e) => state
                .error
                .set(Some(format!("The built-in demos could not be listed: {e}"))),
        }
    });

    if let Some(seed) = url_param("seed").and_then(|s| s.parse().ok()) {
        state.repair_signals.seed.set(seed);
    }
    Effect::new(move |_| {
        state.network.track();
        state.view.track();
        state.properties.track();
        state.repair_signals.seed.track();
        write_url(state);
    });

    Effect::new(move |_| {
        state.map_epoch.track();
        let (Some(net), Some(view)) = (state.network.get(), state.view.get()) else {
            return;
        };
        request_map(state, &net, &view);
    });

    let dragging = RwSignal::new(false);
    // `?classroom=1`: advanced controls (seed, decision rule, file upload) are hidden.
    let classroom = url_param("classroom").is_some_and(|v| v == "1");
    view! {
        <div
            class="app"
            class:classroom=classroom
            class:dragging=move || dragging.get()
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                load_files(state, ev.data_transfer().and_then(|d| d.files()));
            }
        >
            <header class="top">
                <h1>"birdnn"</h1>
                <p class="tagline">"Repair a neural network so that it keeps a safety property, and see what changed."</p>
                <NetworkPicker/>
            </header>
            <ErrorBanner/>
            <main class="layout">
                <section class="map-column">
                    <crate::gallery::GalleryPanel/>
                    <SliceControls/>
                    <DecisionMap/>
                    <DraftForm/>
                    <Legend/>
                    <crate::compare::Compare/>
                    <HoverReadout/>
                </section>
                <aside class="side-column">
                    <RepairPanel next_slot=next_slot/>
                    <crate::explain::Explain/>
                    <NetworkInfo/>
                    <PropertyList/>
                </aside>
            </main>
            <div class="drop-hint">"Drop ONNX, .nnet, JSON networks or VNN-LIB properties to load them"</div>
        </div>
    }
}

fn expose_crash_hook() {
    let hook = Closure::<dyn Fn()>::new(bridge::crash_for_testing);
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(&window, &"birdnnCrashWorker".into(), hook.as_ref());
    }
    hook.forget();
}

/// Demo picker, file upload and the worker's state.
#[component]
fn NetworkPicker() -> impl IntoView {
    let state = expect_context::<AppState>();
    let selected = move || {
        state
            .network
            .get()
            .map(|n| n.demo.unwrap_or_else(|| "upload".into()))
            .unwrap_or_default()
    };
    view! {
        <div class="picker">
            <label>
                "Network "
                <select
                    data-testid="network-picker"
                    prop:value=selected
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        if let Some(entry) = state.demos.get_untracked().into_iter().find(|d| d.id == id) {
                            load_demo(state, entry);
                        }
                    }
                >
                    <option value="" disabled=true>"choose a demo"</option>
                    <For each=move || state.demos.get() key=|d| d.id.clone() let:demo>
                        <option value=demo.id.clone() title=demo.description.clone()>{demo.title.clone()}</option>
                    </For>
                    <Show when=move || state.network.get().is_some_and(|n| n.demo.is_none())>
                        <option value="upload">
                            {move || state.network.get().map(|n| format!("uploaded: {}", n.summary.file_name)).unwrap_or_default()}
                        </option>
                    </Show>
                </select>
            </label>
            <label class="upload advanced">
                "Open files… "
                <FilePicker testid="network-upload" accept=".onnx,.nnet,.json,.vnnlib"/>
            </label>
            <span class="status" data-testid="worker-status">
                {move || {
                    let loading = state.loading.get();
                    if loading.is_empty() {
                        format!("worker: {}", state.worker_status.get())
                    } else {
                        format!("loading {}…", loading.join(", "))
                    }
                }}
            </span>
        </div>
    }
}

/// The last error, until dismissed.
#[component]
fn ErrorBanner() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <Show when=move || state.error.get().is_some()>
            <div class="error-banner" role="alert" data-testid="error-banner">
                <span>{move || state.error.get().unwrap_or_default()}</span>
                <button aria-label="dismiss" on:click=move |_| state.error.set(None)>"×"</button>
            </div>
        </Show>
    }
}

/// Axis choice and one slider per other input.
#[component]
fn SliceControls() -> impl IntoView {
    let state = expect_context::<AppState>();
    let inputs = move || {
        state
            .network
            .get()
            .map(|n| n.summary.meta.inputs)
            .unwrap_or_default()
    };
    // The slider list re-renders only when the network or the axes change, never while a
    // slider is dragged (that would replace the element under the pointer).
    let layout = Memo::new(move |_| {
        let net = state.network.get()?;
        let view = state.view.get()?;
        Some((net.slot, net.summary.meta.inputs, view.x_dim, view.y_dim))
    });
    let axis_select = move |testid: &'static str, is_x: bool| {
        view! {
            <select
                data-testid=testid
                on:change=move |ev| {
                    let Ok(dim) = event_target_value(&ev).parse::<usize>() else { return };
                    state.view.update(|v| {
                        if let Some(v) = v {
                            *v = if is_x { v.with_x(dim) } else { v.with_y(dim) };
                        }
                    });
                }
            >
                {move || {
                    let chosen = state.view.get().map(|v| if is_x { v.x_dim } else { v.y_dim });
                    inputs()
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let label = if s.unit.is_empty() { s.name.clone() } else { format!("{} ({})", s.name, s.unit) };
                            view! { <option value=i.to_string() selected=chosen == Some(i)>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
        }
    };
    view! {
        <div class="slice-controls">
            <label>"Horizontal axis " {axis_select("slice-x", true)}</label>
            <label>"Vertical axis " {axis_select("slice-y", false)}</label>
            <div class="sliders">
                {move || {
                    let Some((_, inputs, x_dim, y_dim)) = layout.get() else {
                        return Vec::new();
                    };
                    inputs
                        .into_iter()
                        .enumerate()
                        .filter(|&(i, _)| i != x_dim && i != y_dim)
                        .map(|(i, spec)| {
                            let spec_for_text = spec.clone();
                            let value = move || {
                                state.view.get().and_then(|v| v.fixed.get(i).copied()).unwrap_or(0.0)
                            };
                            let spec_for_input = spec.clone();
                            view! {
                                <label class="slider">
                                    <span class="name">{spec.name.clone()}</span>
                                    <input
                                        type="range"
                                        data-testid=format!("slice-slider-{i}")
                                        min=spec.min
                                        max=spec.max
                                        step=(spec.max - spec.min) / 400.0
                                        prop:value=move || spec.denormalise(value()).to_string()
                                        on:input=move |ev| {
                                            let Ok(physical) = event_target_value(&ev).parse::<f64>() else { return };
                                            let v = spec_for_input.normalise(physical);
                                            state.view.update(|view| {
                                                if let Some(view) = view {
                                                    view.fixed[i] = v;
                                                }
                                            });
                                        }
                                    />
                                    <output>{move || physical_text(&spec_for_text, value())}</output>
                                </label>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </div>
        </div>
    }
}

/// The canvas and its SVG overlay: axes with physical units, property boxes, the pointer.
#[component]
fn DecisionMap() -> impl IntoView {
    let state = expect_context::<AppState>();
    let width = MARGIN_LEFT + PLOT + MARGIN_RIGHT;
    let height = MARGIN_TOP + PLOT + MARGIN_BOTTOM;
    let on_move = move |ev: web_sys::MouseEvent| {
        let (Some(net), Some(view)) = (state.network.get_untracked(), state.view.get_untracked())
        else {
            return;
        };
        let fx = f64::from(ev.offset_x()) / PLOT;
        let fy = f64::from(ev.offset_y()) / PLOT;
        state.draft.update(|d| {
            if let Some(d) = d.as_mut().filter(|d| d.dragging) {
                d.follow((fx, fy));
            }
        });
        let input = view.point_at(&net.summary.meta.inputs, fx, fy);
        state.hover.set(Some(Hover {
            input: input.clone(),
            outputs: None,
            decision: None,
        }));
        probe(&net, input);
    };
    let status_text = move || match state.map_status.get() {
        MapStatus::Empty => "empty".to_string(),
        MapStatus::Computing(side) => format!("computing {side}×{side}"),
        MapStatus::Ready { .. } => "ready".to_string(),
        MapStatus::Failed(_) => "failed".to_string(),
    };
    let timing = move || {
        match state.map_status.get() {
        MapStatus::Ready {
            side,
            coarse_ms,
            fine_ms,
        } => format!(
            "{COARSE_SIDE}×{COARSE_SIDE} in {coarse_ms:.0} ms, {side}×{side} in {fine_ms:.0} ms (worker)"
        ),
        MapStatus::Failed(m) => m,
        _ => String::new(),
    }
    };
    let fine_ms = move || match state.map_status.get() {
        MapStatus::Ready { fine_ms, .. } => format!("{fine_ms:.3}"),
        _ => String::new(),
    };
    let coarse_ms = move || match state.map_status.get() {
        MapStatus::Ready { coarse_ms, .. } => format!("{coarse_ms:.3}"),
        _ => String::new(),
    };
    view! {
        <div class="map-frame">
            <div class="map-status-row">
                <button
                    data-testid="property-draw"
                    class:active=move || state.drawing.get()
                    on:click=move |_| {
                        state.drawing.update(|d| *d = !*d);
                        state.draft.set(None);
                    }
                >
                    {move || if state.drawing.get() { "Drawing: drag on the map" } else { "Draw a property" }}
                </button>
                " Decision map: "
                <span data-testid="map-status" data-fine-ms=fine_ms data-coarse-ms=coarse_ms>{status_text}</span>
                <span class="timing">{timing}</span>
            </div>
            <div class="plot" style=format!("width:{width}px;height:{height}px")>
                <canvas
                    data-testid="decision-map"
                    class="map-canvas"
                    width=MAP_SIDE
                    height=MAP_SIDE
                    style=format!("left:{MARGIN_LEFT}px;top:{MARGIN_TOP}px;width:{PLOT}px;height:{PLOT}px")
                    class:drawing=move || state.drawing.get()
                    on:mousemove=on_move
                    on:mouseleave=move |_| {
                        state.hover.set(None);
                        // Released outside the map or not: the box ends where it left it.
                        state.draft.update(|d| {
                            if let Some(d) = d.as_mut().filter(|d| d.dragging) {
                                d.dragging = false;
                                d.moving = None;
                            }
                        });
                    }
                    on:mousedown=move |ev: web_sys::MouseEvent| {
                        if state.drawing.get_untracked() {
                            ev.prevent_default();
                            let at = (f64::from(ev.offset_x()) / PLOT, f64::from(ev.offset_y()) / PLOT);
                            let grabbed = state.draft.get_untracked().and_then(|d| d.grab(at));
                            state.draft.set(Some(grabbed.unwrap_or_else(|| Draft::at(at))));
                        }
                    }
                    on:mouseup=move |_| {
                        state.draft.update(|d| {
                            if let Some(d) = d {
                                d.dragging = false;
                                d.moving = None;
                            }
                        });
                    }
                ></canvas>
                <svg
                    class="overlay"
                    width=width
                    height=height
                    viewBox=format!("0 0 {width} {height}")
                    aria-hidden="true"
                >
                    <Axes/>
                    <ProvedBoxes/>
                    <PropertyBoxes/>
                    <CounterexampleMarks/>
                    <DraftBox/>
                    <HoverMark/>
                </svg>
            </div>
        </div>
    }
}

/// Position on screen of a network-unit value along an input's axis (0..PLOT).
fn axis_fraction(state: AppState, dim: usize, network_value: f64) -> Option<f64> {
    let net = state.network.get()?;
    let (lo, hi) = net.summary.meta.inputs.get(dim)?.network_bounds();
    Some((network_value - lo) / (hi - lo))
}

/// Where a box (network units) lies on the map: (left, top, right, bottom) as fractions of
/// the map from its top-left corner, clamped to it. `None` when the box does not fit the
/// view, or, with `must_meet`, when some fixed input's value lies outside the box (the box
/// does not reach this slice).
fn box_on_map(
    state: AppState,
    view: &View,
    lower: &[f64],
    upper: &[f64],
    must_meet: bool,
) -> Option<(f64, f64, f64, f64)> {
    if lower.len() != view.fixed.len() || upper.len() != view.fixed.len() {
        return None;
    }
    let meets = (0..view.fixed.len())
        .filter(|&d| d != view.x_dim && d != view.y_dim)
        .all(|d| lower[d] <= view.fixed[d] && view.fixed[d] <= upper[d]);
    if must_meet && !meets {
        return None;
    }
    let fraction = |dim: usize, v: f64| axis_fraction(state, dim, v).map(|f| f.clamp(0.0, 1.0));
    let x0 = fraction(view.x_dim, lower[view.x_dim])?;
    let x1 = fraction(view.x_dim, upper[view.x_dim])?;
    let y0 = fraction(view.y_dim, lower[view.y_dim])?;
    let y1 = fraction(view.y_dim, upper[view.y_dim])?;
    Some((x0, 1.0 - y1, x1, 1.0 - y0))
}

#[component]
fn Axes() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let (Some(net), Some(view)) = (state.network.get(), state.view.get()) else {
            return ().into_any();
        };
        let inputs = &net.summary.meta.inputs;
        let (xs, ys) = (&inputs[view.x_dim], &inputs[view.y_dim]);
        let ticks = |spec: &birdnn::network::InputSpec| {
            let (lo, hi) = spec.network_bounds();
            let (a, b) = (spec.denormalise(lo), spec.denormalise(hi));
            nice_ticks(a.min(b), a.max(b), 6)
                .into_iter()
                .map(|t| (t, (spec.normalise(t) - lo) / (hi - lo)))
                .collect::<Vec<_>>()
        };
        let x_ticks = ticks(xs)
            .into_iter()
            .map(|(t, f)| {
                let x = MARGIN_LEFT + f * PLOT;
                let y = MARGIN_TOP + PLOT;
                view! {
                    <line x1=x x2=x y1=y y2=y + 5.0 class="tick"/>
                    <text x=x y=y + 18.0 text-anchor="middle" class="tick-label">{format_tick(t)}</text>
                }
            })
            .collect_view();
        let y_ticks = ticks(ys)
            .into_iter()
            .map(|(t, f)| {
                let y = MARGIN_TOP + (1.0 - f) * PLOT;
                view! {
                    <line x1=MARGIN_LEFT - 5.0 x2=MARGIN_LEFT y1=y y2=y class="tick"/>
                    <text x=MARGIN_LEFT - 8.0 y=y + 4.0 text-anchor="end" class="tick-label">{format_tick(t)}</text>
                }
            })
            .collect_view();
        let label = |s: &birdnn::network::InputSpec| {
            if s.unit.is_empty() {
                s.name.clone()
            } else {
                format!("{} ({})", s.name, s.unit)
            }
        };
        view! {
            <rect x=MARGIN_LEFT y=MARGIN_TOP width=PLOT height=PLOT class="frame"/>
            {x_ticks}
            {y_ticks}
            <text x=MARGIN_LEFT + PLOT / 2.0 y=MARGIN_TOP + PLOT + 40.0 text-anchor="middle" class="axis-label" data-testid="x-axis-label">{label(xs)}</text>
            <text
                x=14.0
                y=MARGIN_TOP + PLOT / 2.0
                text-anchor="middle"
                class="axis-label"
                data-testid="y-axis-label"
                transform=format!("rotate(-90 14 {})", MARGIN_TOP + PLOT / 2.0)
            >
                {label(ys)}
            </text>
        }
        .into_any()
    }
}

/// Property boxes where they meet the slice.
#[component]
fn PropertyBoxes() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let Some(view) = state.view.get() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in state.properties.get() {
            for b in &p.summary.boxes {
                let Some((l, t, r, bottom)) = box_on_map(state, &view, &b.lower, &b.upper, true)
                else {
                    continue;
                };
                out.push(view! {
                    <g class="property-box" data-testid="property-box">
                        <title>{p.summary.name.clone()}</title>
                        <rect
                            x=MARGIN_LEFT + l * PLOT
                            y=MARGIN_TOP + t * PLOT
                            width=(r - l) * PLOT
                            height=(bottom - t) * PLOT
                        />
                        <text x=MARGIN_LEFT + l * PLOT + 3.0 y=MARGIN_TOP + t * PLOT + 12.0>{p.summary.name.clone()}</text>
                    </g>
                });
            }
        }
        out
    }
}

/// The parts of property regions the verifier proved, where they meet the slice.
#[component]
fn ProvedBoxes() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let (Some(view), Some(net)) = (state.view.get(), state.network.get()) else {
            return Vec::new();
        };
        let proof = state.repair_signals.proof.get();
        if proof.network != Some(net.slot) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (_, verdict) in &proof.verdicts {
            for (lower, upper) in &verdict.proved_boxes {
                let Some((l, t, r, b)) = box_on_map(state, &view, lower, upper, true) else {
                    continue;
                };
                out.push(view! {
                    <rect
                        class="proved-box"
                        data-testid="proved-box"
                        x=MARGIN_LEFT + l * PLOT
                        y=MARGIN_TOP + t * PLOT
                        width=(r - l) * PLOT
                        height=(b - t) * PLOT
                    />
                });
            }
        }
        out
    }
}

/// The box being drawn.
#[component]
fn DraftBox() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let d = state.draft.get()?;
        let (l, t, r, b) = d.bounds();
        let handle = |x: f64, y: f64| {
            view! {
                <rect
                    class="draft-handle"
                    x=MARGIN_LEFT + x * PLOT - 4.0
                    y=MARGIN_TOP + y * PLOT - 4.0
                    width=8.0
                    height=8.0
                />
            }
        };
        Some(view! {
            <g>
                <rect
                    class="draft-box"
                    data-testid="draft-box"
                    x=MARGIN_LEFT + l * PLOT
                    y=MARGIN_TOP + t * PLOT
                    width=(r - l) * PLOT
                    height=(b - t) * PLOT
                />
                {(!d.dragging).then(|| vec![handle(l, t), handle(r, t), handle(l, b), handle(r, b)])}
            </g>
        })
    }
}

/// How far a drawn property reaches in the inputs that are not on the axes.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    Point,
    Band,
    Full,
}

/// Turns the drawn box into a property and loads it through the real VNN-LIB parser.
fn add_drawn_property(
    state: AppState,
    requirement: &str,
    reach: Reach,
    name: &str,
) -> Result<(), String> {
    let net = state.network.get_untracked().ok_or("no network")?;
    let view = state.view.get_untracked().ok_or("no view")?;
    let draft = state
        .draft
        .get_untracked()
        .ok_or("draw a box on the map first")?;
    let inputs = &net.summary.meta.inputs;
    let (l, t, r, b) = draft.bounds();
    if r - l < 1e-3 || b - t < 1e-3 {
        return Err("the box is empty: drag on the map to draw it".into());
    }
    let mut lower = Vec::with_capacity(inputs.len());
    let mut upper = Vec::with_capacity(inputs.len());
    for (i, spec) in inputs.iter().enumerate() {
        let (lo, hi) = spec.network_bounds();
        let (a, z) = if i == view.x_dim {
            (lo + l * (hi - lo), lo + r * (hi - lo))
        } else if i == view.y_dim {
            (hi - b * (hi - lo), hi - t * (hi - lo))
        } else {
            let v = view.fixed[i];
            match reach {
                Reach::Point => (v, v),
                Reach::Band => (
                    (v - 0.05 * (hi - lo)).max(lo),
                    (v + 0.05 * (hi - lo)).min(hi),
                ),
                Reach::Full => (lo, hi),
            }
        };
        lower.push(a);
        upper.push(z);
    }
    let input_box = birdnn::property::InputBox::new(lower, upper)?;
    let (kind, detail) = requirement.split_once(':').ok_or("choose a requirement")?;
    let outputs = net.summary.meta.outputs.len();
    let rule = net.summary.meta.decision;
    let property = if kind == "custom" {
        birdnn::property::outputs_must_satisfy(name, input_box, outputs, detail)
            .map_err(|e| format!("The requirement cannot be read: {e}"))?
    } else {
        let class: usize = detail.parse().map_err(|_| "choose a requirement")?;
        match kind {
            "must" => birdnn::property::decision_must_be(name, input_box, outputs, class, rule),
            _ => birdnn::property::decision_must_not_be(name, input_box, outputs, class, rule),
        }
    };
    let text = birdnn::formats::vnnlib::write(&property);
    load_property(
        state,
        format!("{name}.vnnlib"),
        Arc::new(text.into_bytes()),
        false,
    );
    state.draft.set(None);
    state.drawing.set(false);
    Ok(())
}

/// What the drawn box must satisfy, shown once a box is drawn.
#[component]
fn DraftForm() -> impl IntoView {
    let state = expect_context::<AppState>();
    let requirement = RwSignal::new("must:0".to_string());
    let custom = RwSignal::new("y0 >= y1".to_string());
    let reach = RwSignal::new(Reach::Band);
    let count = RwSignal::new(1u32);
    let outputs = move || {
        state
            .network
            .get()
            .map(|n| n.summary.meta.outputs)
            .unwrap_or_default()
    };
    view! {
        <Show when=move || state.draft.get().is_some_and(|d| !d.dragging)>
            <div class="draft-form" data-testid="draft-form">
                "Inside the box, the decision "
                <select data-testid="property-requirement" on:change=move |ev| requirement.set(event_target_value(&ev))>
                    {move || {
                        let names = outputs();
                        let chosen = requirement.get_untracked();
                        let options: Vec<(String, String)> = names
                            .iter()
                            .enumerate()
                            .map(|(j, n)| (format!("must:{j}"), format!("must be {n}")))
                            .chain(names.iter().enumerate().map(|(j, n)| (format!("not:{j}"), format!("must not be {n}"))))
                            .chain(std::iter::once(("custom:".to_string(), "— or: the outputs must satisfy…".to_string())))
                            .collect();
                        options
                            .into_iter()
                            .map(|(value, label)| {
                                let selected = value == chosen;
                                view! { <option value=value selected=selected>{label}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <Show when=move || requirement.get().starts_with("custom")>
                    " "
                    <input
                        type="text"
                        size="28"
                        data-testid="property-custom"
                        title="Linear comparisons of the outputs y0, y1, ... joined by 'and', e.g. y0 >= y1 + 0.5 and y2 <= 3"
                        prop:value=move || custom.get()
                        on:input=move |ev| custom.set(event_target_value(&ev))
                    />
                </Show>
                <Show when=move || state.network.get().is_some_and(|n| n.summary.meta.inputs.len() > 2)>
                    " ; the other inputs: "
                    <select data-testid="property-reach" on:change=move |ev| {
                        reach.set(match event_target_value(&ev).as_str() {
                            "point" => Reach::Point,
                            "full" => Reach::Full,
                            _ => Reach::Band,
                        })
                    }>
                        <option value="band" selected=true>"their slider value ± 5 % of the range"</option>
                        <option value="point">"exactly their slider value"</option>
                        <option value="full">"their full range"</option>
                    </select>
                </Show>
                " "
                <button data-testid="property-add" on:click=move |_| {
                    let name = format!("drawn-{}", count.get_untracked());
                    let wanted = match requirement.get_untracked().as_str() {
                        "custom:" => format!("custom:{}", custom.get_untracked()),
                        other => other.to_string(),
                    };
                    match add_drawn_property(state, &wanted, reach.get_untracked(), &name) {
                        Ok(()) => count.update(|c| *c += 1),
                        Err(e) => state.error.set(Some(e)),
                    }
                }>"Add property"</button>
                " "
                <button on:click=move |_| state.draft.set(None)>"Discard"</button>
            </div>
        </Show>
    }
}

/// Counterexamples found by the check, projected on the slice; a click moves the sliders to
/// one, so the slice goes through it.
#[component]
fn CounterexampleMarks() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let Some(view) = state.view.get() else {
            return Vec::new();
        };
        let found = state.repair_signals.check.get().counterexamples;
        found
            .into_iter()
            .filter_map(|c| {
                let fx = axis_fraction(state, view.x_dim, f64::from(*c.input.get(view.x_dim)?))?;
                let fy = axis_fraction(state, view.y_dim, f64::from(*c.input.get(view.y_dim)?))?;
                let input: Vec<f64> = c.input.iter().map(|&v| f64::from(v)).collect();
                Some(view! {
                    <circle
                        class="counterexample"
                        data-testid="counterexample-mark"
                        cx=MARGIN_LEFT + fx.clamp(0.0, 1.0) * PLOT
                        cy=MARGIN_TOP + (1.0 - fy.clamp(0.0, 1.0)) * PLOT
                        r=3.0
                        on:click=move |_| {
                            let input = input.clone();
                            state.view.update(|v| {
                                if let Some(v) = v {
                                    if v.fixed.len() == input.len() {
                                        v.fixed = input;
                                    }
                                }
                            });
                        }
                    >
                        <title>"counterexample: click to slice through it"</title>
                    </circle>
                })
            })
            .collect::<Vec<_>>()
    }
}

#[component]
fn HoverMark() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let (Some(h), Some(view)) = (state.hover.get(), state.view.get()) else {
            return ().into_any();
        };
        let fx = axis_fraction(state, view.x_dim, f64::from(h.input[view.x_dim])).unwrap_or(0.0);
        let fy = axis_fraction(state, view.y_dim, f64::from(h.input[view.y_dim])).unwrap_or(0.0);
        view! {
            <circle cx=MARGIN_LEFT + fx * PLOT cy=MARGIN_TOP + (1.0 - fy) * PLOT r=4.0 class="hover-mark"/>
        }
        .into_any()
    }
}

/// Output names with their colours.
#[component]
fn Legend() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <div class="legend" data-testid="legend">
            {move || {
                state
                    .network
                    .get()
                    .map(|n| {
                        n.summary
                            .meta
                            .outputs
                            .iter()
                            .enumerate()
                            .map(|(j, name)| {
                                view! {
                                    <span class="legend-item">
                                        <span class="swatch" style=format!("background:{}", class_css(j))></span>
                                        {name.clone()}
                                    </span>
                                }
                            })
                            .collect_view()
                    })
            }}
            <span class="legend-note">"strong colour: sure; pale: near a decision boundary"</span>
        </div>
    }
}

/// The input under the pointer, the outputs there and the decision.
#[component]
fn HoverReadout() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <div class="hover-readout" data-testid="hover-readout">
            {move || {
                let (Some(h), Some(net)) = (state.hover.get(), state.network.get()) else {
                    return view! { <p class="hint">"Point at the map to see the input, the outputs and the decision there."</p> }.into_any();
                };
                let meta = net.summary.meta;
                let point = meta
                    .inputs
                    .iter()
                    .zip(&h.input)
                    .map(|(s, &v)| format!("{} = {}", s.name, physical_text(s, f64::from(v))))
                    .collect::<Vec<_>>()
                    .join(", ");
                let outputs = h.outputs.clone().unwrap_or_default();
                let rows = meta
                    .outputs
                    .iter()
                    .zip(outputs.iter())
                    .enumerate()
                    .map(|(j, (name, &y))| {
                        let winner = h.decision == Some(j);
                        view! {
                            <tr class:winner=winner>
                                <td><span class="swatch" style=format!("background:{}", class_css(j))></span>{name.clone()}</td>
                                <td class="num">{format!("{y:.5}")}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                let decision = h
                    .decision
                    .and_then(|d| meta.outputs.get(d).cloned())
                    .map(|d| format!("decision: {d} ({})", meta.decision))
                    .unwrap_or_default();
                view! {
                    <p class="point">{point}</p>
                    <p class="decision">{decision}</p>
                    <table class="outputs">{rows}</table>
                }
                .into_any()
            }}
        </div>
    }
}

/// Architecture, inputs and outputs, and the decision rule (which the user can change).
#[component]
fn NetworkInfo() -> impl IntoView {
    let state = expect_context::<AppState>();
    let set_rule = move |ev| {
        let Ok(rule) = event_target_value(&ev).parse::<DecisionRule>() else {
            return;
        };
        let Some(net) = state.network.get_untracked() else {
            return;
        };
        let job = bridge::next_job();
        PENDING.with(|p| p.borrow_mut().insert(job, Pending::Rule));
        bridge::send(&Request::SetDecisionRule {
            job,
            network: net.slot,
            rule,
        });
    };
    view! {
        <section class="panel" data-testid="network-info">
            <h2>"Network"</h2>
            {move || {
                let Some(net) = state.network.get() else {
                    return view! { <p class="hint">"No network loaded yet."</p> }.into_any();
                };
                let s = net.summary;
                let layers = s
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| {
                        view! {
                            <tr>
                                <td>{l + 1}</td>
                                <td class="num">{format!("{} → {}", layer.inputs, layer.outputs)}</td>
                                <td>{layer.activation.clone()}</td>
                                <td class="num">{layer.parameters}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                let inputs = s
                    .meta
                    .inputs
                    .iter()
                    .map(|spec| {
                        let unit = if spec.unit.is_empty() { String::new() } else { format!(" {}", spec.unit) };
                        let scaling = if spec.is_identity_scaling() {
                            String::new()
                        } else {
                            format!(" (network sees (x − {}) / {})", spec.mean, spec.range)
                        };
                        view! {
                            <li>
                                <b>{spec.name.clone()}</b>
                                {format!(": {} to {}{unit}{scaling}", format_tick(spec.min), format_tick(spec.max))}
                            </li>
                        }
                    })
                    .collect_view();
                let outputs = s
                    .meta
                    .outputs
                    .iter()
                    .enumerate()
                    .map(|(j, name)| {
                        view! {
                            <li><span class="swatch" style=format!("background:{}", class_css(j))></span>{name.clone()}</li>
                        }
                    })
                    .collect_view();
                let rule = s.meta.decision.to_string();
                view! {
                    <p class="network-name">
                        <b data-testid="network-name">{s.meta.name.clone()}</b>
                        " "
                        <small>{format!("from {}", s.file_name)}</small>
                    </p>
                    <table class="layers">
                        <thead><tr><th>"layer"</th><th>"in → out"</th><th>"activation"</th><th>"parameters"</th></tr></thead>
                        <tbody>{layers}</tbody>
                    </table>
                    <p data-testid="parameter-count">{format!("{} parameters in {} layers", s.parameters, s.layers.len())}</p>
                    <h3>"Inputs"</h3>
                    <ul class="inputs">{inputs}</ul>
                    <h3>"Outputs"</h3>
                    <ul class="outputs-list">{outputs}</ul>
                    <label class="advanced">
                        "Decision: "
                        <select data-testid="decision-rule" on:change=set_rule>
                            // `selected` on the options, not `prop:value` on the select: the
                            // value would be set before the options exist.
                            <option value="argmax" selected=rule == "argmax">"argmax (largest output wins)"</option>
                            <option value="argmin" selected=rule == "argmin">"argmin (smallest output wins, as in ACAS Xu)"</option>
                        </select>
                    </label>
                }
                .into_any()
            }}
        </section>
    }
}

/// A file input whose files go through [`load_files`] (properties by their `.vnnlib`
/// extension, networks otherwise); emptied after each choice so that the same file can be
/// chosen again.
#[component]
fn FilePicker(testid: &'static str, accept: &'static str) -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <input
            type="file"
            multiple=true
            accept=accept
            data-testid=testid
            on:change=move |ev| {
                let input: web_sys::HtmlInputElement = event_target(&ev);
                load_files(state, input.files());
                input.set_value("");
            }
        />
    }
}

/// Loaded properties, whether each fits the network, and a way to remove them.
#[component]
fn PropertyList() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <section class="panel" data-testid="property-list">
            <h2>"Properties"</h2>
            <label class="upload">
                "Import VNN-LIB… "
                <FilePicker testid="property-import" accept=".vnnlib"/>
            </label>
            {move || {
                let props = state.properties.get();
                if props.is_empty() {
                    return view! { <p class="hint">"No property loaded. Demos bring theirs; open a VNN-LIB file to add one."</p> }.into_any();
                }
                let net = state.network.get();
                props
                    .into_iter()
                    .map(|p| {
                        let fit = net.as_ref().map(|n| p.summary.fit(&n.summary));
                        let slot = p.slot;
                        let (file_name, bytes) = (p.summary.file_name.clone(), p.bytes.clone());
                        let stem = file_name.strip_suffix(".vnnlib").unwrap_or(&file_name).to_string();
                        let export = move |_| {
                            repair_panel::download(&format!("{stem}.vnnlib"), &bytes, "text/plain");
                        };
                        // The same property as a VNN-LIB 2.0 query (typed, shaped declarations),
                        // for harnesses that read the newer standard.
                        let summary = p.summary.clone();
                        let export_v2 = move |_| {
                            let property = birdnn::property::Property {
                                name: summary.name.clone(),
                                num_inputs: summary.num_inputs,
                                num_outputs: summary.num_outputs,
                                input_boxes: summary.boxes.clone(),
                                unsafe_region: summary.unsafe_region.clone(),
                            };
                            let text = birdnn::formats::vnnlib::write_v2(&property);
                            let stem = summary.file_name.strip_suffix(".vnnlib").unwrap_or(&summary.file_name);
                            repair_panel::download(&format!("{stem}-2.0.vnnlib"), text.as_bytes(), "text/plain");
                        };
                        let remove = move |_| {
                            bridge::send(&Request::ForgetProperty { property: slot });
                            state.properties.update(|l| l.retain(|q| q.slot != slot));
                        };
                        // Editing takes the property back into a draft box on the slice
                        // (handles to move and resize it, then a requirement and "Add").
                        let first_box = p.summary.boxes.first().cloned();
                        let edit = move |_| {
                            let (Some(view), Some(b)) = (state.view.get_untracked(), first_box.clone()) else {
                                return;
                            };
                            // The box where it lies on the map, even off this slice.
                            let Some((l, t, r, bottom)) = box_on_map(state, &view, &b.lower, &b.upper, false) else {
                                return;
                            };
                            bridge::send(&Request::ForgetProperty { property: slot });
                            state.properties.update(|l| l.retain(|q| q.slot != slot));
                            state.drawing.set(true);
                            state.draft.set(Some(Draft {
                                start: (l, t),
                                end: (r, bottom),
                                dragging: false,
                                moving: None,
                            }));
                        };
                        let editable = !p.from_demo
                            && p.summary.boxes.len() == 1
                            && state.view.get().is_some_and(|v| p.summary.boxes[0].dims() == v.fixed.len());
                        view! {
                            <div class="property">
                                <b>{p.summary.name.clone()}</b>
                                {format!(
                                    " — {} input box{}, {} unsafe case{}",
                                    p.summary.boxes.len(),
                                    if p.summary.boxes.len() == 1 { "" } else { "es" },
                                    p.summary.unsafe_region.disjuncts.len(),
                                    if p.summary.unsafe_region.disjuncts.len() == 1 { "" } else { "s" },
                                )}
                                {match fit {
                                    Some(Err(why)) => view! { <span class="warning">{format!(" (does not fit: {why})")}</span> }.into_any(),
                                    _ => ().into_any(),
                                }}
                                {move || {
                                    let r = state.repair_signals;
                                    let on_screen = state.network.get().map(|n| n.slot);
                                    let proof = r.proof.get();
                                    let pac = r
                                        .repair
                                        .get()
                                        .result
                                        .is_some_and(|(n, rep)| Some(n.slot) == on_screen && rep.pac.is_some());
                                    let (status, text) = match proof.verdict(on_screen, slot) {
                                        Some(v) => (
                                            match v.status {
                                                VerifyStatus::Proved => "proved",
                                                VerifyStatus::Counterexample => "violated",
                                                VerifyStatus::Unknown if pac => "pac",
                                                VerifyStatus::Unknown => "unknown",
                                            },
                                            repair_panel::badge_text(v, pac),
                                        ),
                                        None if pac => ("pac", "PAC certified".to_string()),
                                        None => ("unchecked", "not proved yet".to_string()),
                                    };
                                    view! {
                                        <span class=format!("badge badge-{status}") data-testid="proof-badge" data-status=status>{text}</span>
                                    }
                                }}
                                <button class="remove" data-testid="property-export" on:click=export title="The property as it was loaded">"VNN-LIB"</button>
                                <button class="remove" data-testid="property-export-v2" on:click=export_v2 title="The property as a VNN-LIB 2.0 query (typed, shaped declarations)">"2.0"</button>
                                {editable.then(|| view! {
                                    <button class="remove" data-testid="property-edit" on:click=edit title="Edit its box on the map and choose its requirement again">"edit"</button>
                                })}
                                <button class="remove" on:click=remove aria-label="remove property">"remove"</button>
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
        </section>
    }
}

/// Components mounted in a real page (headless Chromium, through wasm-bindgen-test).
#[cfg(test)]
mod tests {
    use super::*;
    use birdnn::network::NetworkMeta;
    use birdnn::protocol::{LayerSummary, NetworkSummary};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Lets the reactive system run its pending effects.
    async fn settle() {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10);
        });
        let _ = JsFuture::from(promise).await;
    }

    fn acas_like() -> LoadedNetwork {
        let mut layers = vec![LayerSummary {
            inputs: 5,
            outputs: 50,
            activation: "relu".into(),
            parameters: 300,
        }];
        layers.push(LayerSummary {
            inputs: 50,
            outputs: 5,
            activation: "identity".into(),
            parameters: 255,
        });
        let mut meta = NetworkMeta::acas_xu();
        meta.name = "N1,9".into();
        LoadedNetwork {
            slot: 1,
            summary: NetworkSummary {
                file_name: "n19.onnx".into(),
                meta,
                layers,
                parameters: 555,
                margin_scale: 0.01,
            },
            bytes: Arc::new(Vec::new()),
            bytes_name: "n19.onnx".into(),
            demo: None,
        }
    }

    /// Mounts a view with `state` in context into a fresh element of the page.
    fn mount<N: IntoView + 'static>(
        state: AppState,
        view: impl FnOnce() -> N + 'static,
    ) -> web_sys::HtmlElement {
        let div: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
        document().body().unwrap().append_child(&div).unwrap();
        let handle = leptos::mount::mount_to(div.clone(), move || {
            provide_context(state);
            view()
        });
        handle.forget();
        div
    }

    fn text(el: &web_sys::HtmlElement) -> String {
        el.text_content().unwrap_or_default()
    }

    #[wasm_bindgen_test]
    fn a_finished_box_moves_and_resizes_by_its_handles() {
        let mut d = Draft::at((0.2, 0.2));
        d.follow((0.4, 0.5));
        d.dragging = false;
        // A corner: the opposite one stays.
        let mut corner = d.grab((0.41, 0.49)).expect("the bottom-right handle");
        corner.follow((0.6, 0.7));
        assert_eq!(corner.bounds(), (0.2, 0.2, 0.6, 0.7));
        // The inside: the whole box moves, but not off the map.
        let mut whole = d.grab((0.3, 0.3)).expect("inside");
        whole.follow((0.4, 0.35));
        let (l, t, r, b) = whole.bounds();
        assert!((l - 0.3).abs() < 1e-12 && (t - 0.25).abs() < 1e-12);
        assert!((r - 0.5).abs() < 1e-12 && (b - 0.55).abs() < 1e-12);
        whole.follow((2.0, 2.0));
        assert_eq!(whole.bounds().2, 1.0);
        assert_eq!(whole.bounds().3, 1.0);
        // Elsewhere: a new box.
        assert!(d.grab((0.9, 0.1)).is_none());
    }

    #[wasm_bindgen_test]
    async fn network_info_shows_layers_units_and_the_decision_rule() {
        let state = AppState::new();
        state.network.set(Some(acas_like()));
        let el = mount(state, || view! { <NetworkInfo/> });
        let t = text(&el);
        for expected in [
            "N1,9",
            "from n19.onnx",
            "5 → 50",
            "identity",
            "555 parameters in 2 layers",
            "rho",
            "0 to 60760 ft",
            "strong right",
        ] {
            assert!(t.contains(expected), "{expected:?} missing from {t}");
        }
        let select: web_sys::HtmlSelectElement = el
            .query_selector("[data-testid=decision-rule]")
            .unwrap()
            .unwrap()
            .unchecked_into();
        assert_eq!(select.value(), "argmin");
        state.network.set(None);
        settle().await;
        assert!(text(&el).contains("No network loaded yet"));
    }

    #[wasm_bindgen_test]
    async fn the_error_banner_appears_and_is_dismissed() {
        let state = AppState::new();
        let el = mount(state, || view! { <ErrorBanner/> });
        assert!(el
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .is_none());
        state
            .error
            .set(Some("broken.onnx: not an ONNX model".into()));
        settle().await;
        let banner = el
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .unwrap();
        assert!(banner.text_content().unwrap().contains("broken.onnx"));
        let button: web_sys::HtmlElement = banner
            .query_selector("button")
            .unwrap()
            .unwrap()
            .unchecked_into();
        button.click();
        settle().await;
        assert!(el
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .is_none());
        assert_eq!(state.error.get_untracked(), None);
    }

    #[wasm_bindgen_test]
    async fn slice_controls_offer_a_slider_per_free_input_in_physical_units() {
        let state = AppState::new();
        let net = acas_like();
        state
            .view
            .set(Some(View::centred(&net.summary.meta.inputs)));
        state.network.set(Some(net));
        let el = mount(state, || view! { <SliceControls/> });
        settle().await;
        for i in 2..5 {
            assert!(
                el.query_selector(&format!("[data-testid=slice-slider-{i}]"))
                    .unwrap()
                    .is_some(),
                "slider {i}"
            );
        }
        assert!(el
            .query_selector("[data-testid=slice-slider-0]")
            .unwrap()
            .is_none());
        let v_own: web_sys::HtmlInputElement = el
            .query_selector("[data-testid=slice-slider-3]")
            .unwrap()
            .unwrap()
            .unchecked_into();
        assert_eq!(
            (v_own.min(), v_own.max(), v_own.value()),
            ("100".into(), "1200".into(), "650".into())
        );
        // Moving a slider changes the view in network units.
        v_own.set_value("1200");
        v_own
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
        let fixed = state.view.get_untracked().unwrap().fixed[3];
        assert!((fixed - 0.5).abs() < 1e-12, "{fixed}");
        settle().await;
        assert!(text(&el).contains("1200 ft/s"));
        // Picking the x input for the y axis swaps the axes; the sliders follow.
        state.view.update(|v| *v = v.as_ref().map(|v| v.with_y(0)));
        settle().await;
        assert!(el
            .query_selector("[data-testid=slice-slider-1]")
            .unwrap()
            .is_none());
        assert!(el
            .query_selector("[data-testid=slice-slider-2]")
            .unwrap()
            .is_some());
    }
}
