//! The page: Leptos components and the glue between them and the worker.
//!
//! The root component owns the state ([`AppState`], handed to children through context);
//! the worker's answers come in through [`responses::handle_event`], which drops answers for
//! jobs the page no longer waits for. Nothing heavy runs here: parsing, maps and probes all
//! happen in the worker.
//!
//! This module holds what the parts of the page share (the state, the plot's geometry, the
//! worker slots); each child module holds one part of the page or of its talk with the worker.

mod canvas;
mod draft;
mod loading;
mod map;
mod page;
mod picker;
mod property_list;
mod readouts;
mod responses;
mod slice_controls;
#[cfg(test)]
mod test_support;
mod url_state;

pub use canvas::put_pixels;
pub use loading::{fetch_bytes, load_property};
pub use page::App;

use crate::repair_panel::RepairSignals;
use crate::state::{Hover, LoadedNetwork, LoadedProperty, MapStatus, View};
use birdnn::demos::DemoEntry;
use draft::Draft;
use leptos::prelude::*;
use std::cell::Cell;

/// Side of the fine decision map, in cells and canvas pixels (CSS scales it up).
pub const MAP_SIDE: u32 = 256;
/// Side of the coarse map drawn first.
pub const COARSE_SIDE: u32 = 64;
/// Largest file the page sends to the worker (its bytes are transferred, not copied; the
/// limit keeps a mistaken drop of a huge file from filling the worker's memory).
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
    /// A message that is no error (what the page did on the user's behalf), until dismissed.
    pub notice: RwSignal<Option<String>>,
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
    /// The before/after comparison on the main map.
    pub compare: crate::compare::CompareSignals,
    /// The box being drawn: fractions of the map (left, top) to (right, bottom).
    pub draft: RwSignal<Option<Draft>>,
    /// The image gallery of a demo that has one.
    pub gallery: crate::gallery::GallerySignals,
}

impl AppState {
    fn new() -> Self {
        AppState {
            network: RwSignal::new(None),
            properties: RwSignal::new(Vec::new()),
            view: RwSignal::new(None),
            map_status: RwSignal::new(MapStatus::Empty),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            hover: RwSignal::new(None),
            demos: RwSignal::new(Vec::new()),
            loading: RwSignal::new(Vec::new()),
            worker_status: RwSignal::new("starting".into()),
            map_epoch: RwSignal::new(0),
            repair_signals: RepairSignals::new(),
            original: RwSignal::new(None),
            drawing: RwSignal::new(false),
            compare: crate::compare::CompareSignals::new(),
            draft: RwSignal::new(None),
            gallery: crate::gallery::GallerySignals::new(),
        }
    }
}

thread_local! {
    static NEXT_SLOT: Cell<u32> = const { Cell::new(1) };
}

/// A fresh worker slot for a network or property.
pub fn next_slot() -> u32 {
    NEXT_SLOT.with(|s| {
        let v = s.get();
        s.set(v + 1);
        v
    })
}
