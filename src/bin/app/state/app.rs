//! The state every component shares: [`AppState`], one `Copy` struct of signals handed to
//! the components through Leptos context, and the worker slots the page hands out. It sits
//! below every panel so that the panels read and write the same signals without importing
//! one another.

use super::{
    CompareSignals, Draft, GallerySignals, Hover, LoadedNetwork, LoadedProperty, MapStatus,
    RepairSignals, View,
};
use birdnn::demos::DemoEntry;
use leptos::prelude::*;
use std::cell::Cell;

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
    /// Where the keyboard's pointer is on the focused map (fractions from the top-left).
    pub keyboard_pointer: RwSignal<Option<(f64, f64)>>,
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
    pub compare: CompareSignals,
    /// The box being drawn: fractions of the map (left, top) to (right, bottom).
    pub draft: RwSignal<Option<Draft>>,
    /// The image gallery of a demo that has one.
    pub gallery: GallerySignals,
}

impl AppState {
    /// A page that has loaded nothing yet.
    pub fn new() -> Self {
        AppState {
            network: RwSignal::new(None),
            properties: RwSignal::new(Vec::new()),
            view: RwSignal::new(None),
            map_status: RwSignal::new(MapStatus::Empty),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            hover: RwSignal::new(None),
            keyboard_pointer: RwSignal::new(None),
            demos: RwSignal::new(Vec::new()),
            loading: RwSignal::new(Vec::new()),
            worker_status: RwSignal::new("starting".into()),
            map_epoch: RwSignal::new(0),
            repair_signals: RepairSignals::new(),
            original: RwSignal::new(None),
            drawing: RwSignal::new(false),
            compare: CompareSignals::new(),
            draft: RwSignal::new(None),
            gallery: GallerySignals::new(),
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
