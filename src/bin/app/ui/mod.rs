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
mod map;
mod page;
mod picker;
mod property_list;
mod readouts;
mod responses;
mod slice_controls;
#[cfg(test)]
mod test_support;

pub use page::App;
