//! The image view of a demo with a gallery (the handwritten digits): every image with a
//! badge (its robustness ball proved, falsified or unknown, before and after a repair), the
//! chosen image beside its counterexample and the perturbation between them, class scores
//! as bars, and a small canvas to draw a digit on.
//!
//! Each image's ball is a property the worker holds in a slot of the gallery's own (not in
//! the property list); "make this image robust" adds a copy to the list, which the repair
//! panel repairs. A repair of a gallery network keeps the decisions of the gallery images
//! and of noisy copies of them
//! ([`GallerySignals::kept_images`](crate::state::GallerySignals::kept_images)).
//!
//! The gallery's signals, its badges and what a repair keeps of it are in [`crate::state`];
//! this module's children hold the gallery's jobs in the worker and its panel.

mod jobs;
mod panel;

pub use jobs::{close, handle, open, restore};
pub use panel::GalleryPanel;
