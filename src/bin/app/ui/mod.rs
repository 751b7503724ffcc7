//! The main panels around the decision map: the map itself (with its overlays and the box
//! being drawn), its jobs in the worker, the slice controls, the legend and the readouts, the
//! property list and the network picker.
//!
//! Panels like `compare`, `gallery` or `repair_panel`: they import `state`, `services`,
//! `bridge` and `ticks`, and `compare` for the comparison's layers the map lays over its plot;
//! the page mounts them.

mod draft;
mod map;
pub mod map_jobs;
mod map_keys;
mod picker;
mod property_list;
mod readouts;
mod slice_controls;

pub use draft::DraftForm;
pub use map::DecisionMap;
pub use picker::NetworkPicker;
pub use property_list::PropertyList;
pub use readouts::{HoverReadout, Legend, NetworkInfo};
pub use slice_controls::SliceControls;
