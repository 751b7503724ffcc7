//! The decision map's and the probe's jobs in the worker, and painting the map's pixels on its
//! canvas. The page asks for the map; its dispatcher feeds the rows in through the statics here.

use crate::bridge;
use crate::services::canvas::put_pixels;
use crate::state::{AppState, LoadedNetwork, MapStatus, View, COARSE_SIDE, MAP_SIDE};
use birdnn::picture::MapPixels;
use birdnn::protocol::{JobId, Request};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};

thread_local! {
    /// The job drawing the map on screen (other map rows are the comparison's).
    pub static MAP_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    /// The latest probe: only its answer goes to the readout.
    pub static PROBE_JOB: Cell<Option<JobId>> = const { Cell::new(None) };
    /// The map's pixels, painted on the canvas at most once a frame.
    pub static PIXELS: RefCell<MapPixels> = RefCell::new(MapPixels::new(MAP_SIDE));
    static PAINT_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// The status to show once the last piece is on the canvas.
    pub static STATUS_AFTER_PAINT: RefCell<Option<MapStatus>> = const { RefCell::new(None) };
    /// How long the coarse map took, shown once the fine one is done.
    pub static COARSE_MS: Cell<f64> = const { Cell::new(0.0) };
    /// When the map on screen was asked for (`performance.now()`, ms).
    pub static REQUESTED_AT: Cell<f64> = const { Cell::new(0.0) };
    /// From the request to the coarse map's last rows at the page, ms.
    pub static COARSE_LATENCY_MS: Cell<f64> = const { Cell::new(0.0) };
}

/// Asks the worker for the map of this view, coarse then fine (the previous map job is
/// cancelled).
pub fn request_map(state: AppState, net: &LoadedNetwork, view: &View) {
    if let Some(old) = MAP_JOB.with(Cell::take) {
        bridge::send(&Request::Cancel { job: old });
    }
    STATUS_AFTER_PAINT.with(|s| s.borrow_mut().take());
    let job = bridge::next_job();
    MAP_JOB.with(|m| m.set(Some(job)));
    REQUESTED_AT.with(|r| r.set(now_ms()));
    state.map_status.set(MapStatus::Computing(COARSE_SIDE));
    bridge::send(&Request::DecisionMap {
        job,
        network: net.slot,
        view: view.slice(&net.summary.meta.inputs),
        resolutions: vec![COARSE_SIDE, MAP_SIDE],
    });
}

/// The page's clock, ms.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Asks the worker for the outputs at `input` (for the readout under the pointer).
pub(super) fn probe(net: &LoadedNetwork, input: Vec<f32>) {
    let job = bridge::next_job();
    PROBE_JOB.with(|p| p.set(Some(job)));
    bridge::send(&Request::Probe {
        job,
        network: net.slot,
        input,
    });
}

/// Paints the pixel buffer on the next animation frame (at most once per frame).
pub fn schedule_paint(state: AppState) {
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
