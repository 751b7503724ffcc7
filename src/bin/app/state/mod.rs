//! The lowest layer of the page (with `bridge` and `ticks`): what it holds, and nothing that
//! acts. [`AppState`] is every signal the components share (a `Copy` struct handed down
//! through Leptos context), with the structs of signals it is made of, the data they hold,
//! the plot's geometry and the worker slots. Every other module of the app imports this one;
//! it imports none of them, so the panels share state without importing one another.
//!
//! `loaded`, `pointer` and `view` are plain data and compile natively too (their tests run
//! natively); the rest holds Leptos signals and is built for the browser only.

mod loaded;
mod pointer;
mod view;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod app;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod compare;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod draft;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod gallery;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod geometry;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod repair;

// Natively only the tests use them (as `dead_code` in main.rs).
#[cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    allow(unused_imports)
)]
pub use loaded::{LoadedNetwork, LoadedProperty};
#[cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    allow(unused_imports)
)]
pub use pointer::{fractions_of, moved, step_through, MapKey};
#[cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    allow(unused_imports)
)]
pub use view::{physical_text, Hover, MapStatus, View};

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use app::{next_slot, AppState};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use compare::{CompareMode, CompareSignals, MarkState};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use draft::Draft;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use gallery::{Badge, GallerySignals, GalleryView, Scores, DRAW_SIDE};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use geometry::{
    COARSE_SIDE, MAP_SIDE, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, PLOT,
};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use repair::{badge_text, ChartPoint, CheckState, ProofState, RepairSignals, RepairState};
