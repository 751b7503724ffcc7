//! What the panels share that is no component: painting pixels on a canvas, fetching bytes,
//! offering downloads, the address bar and local storage, and loading files into the worker.
//!
//! A layer of its own between `state` (and `bridge`) below and the panels above: it imports
//! only those two, so a panel that needs one of these helpers never imports another panel.

pub mod canvas;
pub mod download;
pub mod fetch;
pub mod loading;
pub mod url_state;
