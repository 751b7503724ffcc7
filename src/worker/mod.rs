//! Everything the browser app's worker does, without the browser.
//!
//! [`WorkerCore`] holds the networks and properties the app loaded and the jobs it started.
//! [`WorkerCore::handle`] answers a request at once (parsing, probes) or queues a job;
//! [`WorkerCore::step`] does one bounded slice of the next queued job (round robin), so the
//! thin web shell can run a few steps, return to its event loop to receive a cancel or a new
//! view, and run a few more. Nothing here blocks for long, and nothing here knows about the
//! web: the native tests drive it exactly as the worker does.
//!
//! This module holds the worker's state and its queued jobs' types; [`WorkerCore::handle`]
//! is in `requests`, [`WorkerCore::step`] in `steps`.

mod requests;
mod steps;
#[cfg(test)]
mod tests;

use crate::falsify::{Counterexample, Falsifier};
use crate::images::gallery_repair::GalleryPreparation;
use crate::measures::Rate;
use crate::network::Network;
use crate::property::Property;
use crate::protocol::{JobId, LayerSummary, NetworkId, NetworkSummary, PropertyId, Response};
use crate::repair::{HeldOut, RepairSession, RepairSettings};
use crate::slice::{typical_margin, DecisionMapJob};
use crate::verify::Verifier;
use std::collections::{BTreeMap, VecDeque};

/// Cells of a decision map computed per step: about 10-20 ms on an ACAS Xu network in the
/// browser, so a cancel or a new view waits at most that long.
pub const MAP_CELLS_PER_STEP: usize = 4096;

/// Falsifier batches of a gallery repair's searches per step: a batch of 256 starts on the
/// digits network takes about a millisecond natively, so a step stays within the maps'.
pub const GATHER_BATCHES_PER_STEP: usize = 8;

/// Inputs sampled to find a network's typical output margin (the maps' confidence scale).
const MARGIN_SAMPLES: usize = 1024;

/// The confidence scale of a network's decision maps, as the worker computes it.
pub fn margin_scale(net: &Network) -> f32 {
    typical_margin(net, MARGIN_SAMPLES, 1)
}

struct HeldNetwork {
    net: Network,
    file_name: String,
    margin_scale: f32,
}

impl HeldNetwork {
    fn summary(&self) -> NetworkSummary {
        let layers: Vec<LayerSummary> = self
            .net
            .layers()
            .iter()
            .map(|l| LayerSummary {
                inputs: l.inputs(),
                outputs: l.outputs(),
                activation: l.activation().to_string(),
                parameters: l.parameter_count(),
            })
            .collect();
        NetworkSummary {
            file_name: self.file_name.clone(),
            meta: self.net.meta().clone(),
            parameters: self.net.parameter_count(),
            layers,
            margin_scale: self.margin_scale,
        }
    }
}

/// Boxes the verifier examines per step: a step of an ACAS Xu network stays within a few
/// milliseconds in the browser.
pub const VERIFY_BOXES_PER_STEP: usize = 4;

/// Counterexamples a check reports at most (the falsifier may find more).
pub const MAX_REPORTED_COUNTEREXAMPLES: usize = 500;

enum JobKind {
    Map {
        network: NetworkId,
        map: DecisionMapJob,
        compute_ms: f64,
    },
    Check {
        network: NetworkId,
        falsifier: Box<Falsifier>,
        sampled: Rate,
        /// Sampled counterexamples not sent yet.
        pending: Vec<Counterexample>,
        /// Falsifier counterexamples already sent.
        falsifier_sent: usize,
        /// Counterexamples sent in all.
        reported: usize,
    },
    Repair {
        network: NetworkId,
        result: NetworkId,
        stage: RepairStage,
    },
    Verify {
        network: NetworkId,
        verifier: Box<Verifier>,
        /// Property slot of each verdict, in order.
        slots: Vec<PropertyId>,
        /// Verdicts sent so far.
        sent: usize,
    },
}

enum RepairStage {
    /// Data not drawn yet (the first step draws it).
    Preparing {
        properties: Vec<Property>,
        settings: Box<RepairSettings>,
        /// Inputs whose decisions must be kept (image balls); empty: sampled data.
        keep: Vec<Vec<f32>>,
    },
    /// A gallery repair's falsifier searches, a few batches per step, on a copy of the
    /// network as it was when the repair began (the slot may be loaded anew meanwhile).
    Gathering {
        original: Box<Network>,
        preparation: Box<GalleryPreparation>,
        properties: Vec<Property>,
        settings: Box<RepairSettings>,
    },
    Running {
        session: Box<RepairSession>,
        held_out: Box<HeldOut>,
    },
}

impl JobKind {
    fn network(&self) -> NetworkId {
        match self {
            JobKind::Map { network, .. }
            | JobKind::Check { network, .. }
            | JobKind::Repair { network, .. }
            | JobKind::Verify { network, .. } => *network,
        }
    }
}

struct Job {
    id: JobId,
    kind: JobKind,
}

/// The worker's state: held networks and properties, queued jobs.
pub struct WorkerCore {
    networks: BTreeMap<NetworkId, HeldNetwork>,
    properties: BTreeMap<PropertyId, Property>,
    jobs: VecDeque<Job>,
    clock: fn() -> f64,
}

fn no_clock() -> f64 {
    0.0
}

impl Default for WorkerCore {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerCore {
    /// An empty worker whose timings read 0 (see [`WorkerCore::set_clock`]).
    pub fn new() -> Self {
        WorkerCore {
            networks: BTreeMap::new(),
            properties: BTreeMap::new(),
            jobs: VecDeque::new(),
            clock: no_clock,
        }
    }

    /// Sets the millisecond clock used for reported compute times (`performance.now` in
    /// the browser; `std::time::Instant` does not exist there).
    pub fn set_clock(&mut self, clock: fn() -> f64) {
        self.clock = clock;
    }

    /// Whether no job is queued.
    pub fn is_idle(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Runs every queued job to its end, step by step as the web worker would (without
    /// returning to an event loop between steps), and returns all they produced in order.
    /// For native callers and tests; a job that never ends would never return.
    pub fn run_to_idle(&mut self) -> Vec<Response> {
        let mut out = Vec::new();
        while !self.is_idle() {
            out.extend(self.step());
        }
        out
    }

    /// The network held in `slot`, if any.
    pub fn network(&self, slot: NetworkId) -> Option<&Network> {
        self.networks.get(&slot).map(|h| &h.net)
    }

    /// The property held in `slot`, if any.
    pub fn property(&self, slot: PropertyId) -> Option<&Property> {
        self.properties.get(&slot)
    }

    /// The held properties `slots`, each checked against `net`.
    fn properties_for(&self, net: &Network, slots: &[PropertyId]) -> Result<Vec<Property>, String> {
        if slots.is_empty() {
            return Err("choose at least one property".into());
        }
        slots
            .iter()
            .map(|slot| {
                let p = self
                    .properties
                    .get(slot)
                    .ok_or_else(|| format!("the worker holds no property {slot}"))?;
                p.check_fits(net).map_err(|e| e.to_string())?;
                Ok(p.clone())
            })
            .collect()
    }
}

fn missing_network(job: JobId, network: NetworkId) -> Response {
    Response::Failed {
        job,
        message: format!("the worker holds no network {network} (was it replaced?)"),
    }
}
