//! What the page has loaded: the network on screen and the properties listed, each with the
//! worker slot that holds it and the file's bytes (the worker holds the weights; the page
//! keeps the bytes so that a restarted worker can be given them again). Plain data, compiled
//! natively too.

use birdnn::protocol::{NetworkId, NetworkSummary, PropertyId, PropertySummary};
use std::sync::Arc;

/// The network on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedNetwork {
    /// Its slot in the worker.
    pub slot: NetworkId,
    /// What the worker said about it.
    pub summary: NetworkSummary,
    /// The file, kept to reload a restarted worker.
    pub bytes: Arc<Vec<u8>>,
    /// The name that tells the worker the format of `bytes`.
    pub bytes_name: String,
    /// The demo id it came from, if it is a demo.
    pub demo: Option<String>,
}

/// A property in the list.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedProperty {
    /// Its slot in the worker.
    pub slot: PropertyId,
    /// What the worker said about it.
    pub summary: PropertySummary,
    /// The file, kept to reload a restarted worker.
    pub bytes: Arc<Vec<u8>>,
    /// Whether it came with a demo (the demo brings it back; others go into the address
    /// and the browser's storage).
    pub from_demo: bool,
}
