//! Proof where proof is cheap (method.md, section 7): sound bounds with input splitting.
//!
//! For every property, the verifier first runs the falsifier (most violated properties fall
//! to it in a moment), then branch and bound over the property's input boxes
//! (`search.rs`): a box is *proved* when, for every disjunct of the unsafe region, the
//! symbolic lower bound of some constraint's slack is positive, so no output in the box can
//! satisfy that disjunct. A box that is not proved is clipped to where a counterexample can
//! still be, attacked (`attack.rs`: a few gradient steps), and split; the least proved box
//! waits least. Every counterexample is re-checked by a plain forward pass before it is
//! reported. The work is cut into steps, so the browser worker can run it with progress and
//! cancel.

mod attack;
pub mod bounds;
mod search;

use crate::falsify::{Falsifier, FalsifierConfig};
use crate::network::Network;
use crate::property::{Property, PropertyError};
use bounds::BoundNetwork;
use search::{Constraints, Frontier, Search, Tally, Task};
use serde::{Deserialize, Serialize};

/// Settings of a verification run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyConfig {
    /// Boxes examined per property at most before it is reported unknown (default 1,000,000).
    pub max_boxes: usize,
    /// Boxes examined per `step()` (default 16): bounds the work of one step.
    pub boxes_per_step: usize,
    /// Splits along one path at most (default 60): deeper boxes are left unknown.
    pub max_depth: u32,
    /// The falsifier run before splitting (default: 256 starts, stops at the first find).
    pub falsifier: FalsifierConfig,
    /// How the input to split is chosen (default: the sb score).
    pub branching: Branching,
    /// Shrink each box to the part where its linear bounds allow a counterexample before
    /// splitting it (default true).
    pub clip_boxes: bool,
    /// Each box keeps its enclosing box's neuron and constraint bounds where they are
    /// tighter than its own (default true).
    pub reuse_enclosing_bounds: bool,
    /// Signed-gradient steps of the attack on every box not proved (default 4; 0 only
    /// tries the centre and the corners the bounds point to).
    pub attack_steps: usize,
    /// Random starting points of that attack besides the centre and the corners (default 2;
    /// drawn from a generator seeded by the box, so runs repeat exactly).
    pub attack_random_starts: usize,
    /// Rounds of ReLU lower-slope optimisation (alpha-CROWN) on the constraint closest to
    /// excluding each open disjunct (default 3; 0: off; more rounds cost more time than
    /// the boxes they save on ACAS Xu).
    pub alpha_steps: usize,
    /// Largest ratio between the relative widths of the least and the most finely split
    /// inputs of a box before the sb score is overruled and the least split input is split
    /// (default 64).
    pub split_balance: f64,
}

/// The rule that picks the input along which a box is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branching {
    /// For each input the largest `|coefficient| x width` over every constraint of every
    /// open disjunct (alpha-beta-CROWN's "sb" input-split score).
    Sb,
    /// birdnn's first rule: the best constraint's coefficients only, and every third level
    /// the widest input (kept for the ablation benchmark).
    Legacy,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            max_boxes: 1_000_000,
            boxes_per_step: 16,
            max_depth: 60,
            falsifier: FalsifierConfig {
                starts: 256,
                max_counterexamples: 1,
                ..Default::default()
            },
            branching: Branching::Sb,
            clip_boxes: true,
            reuse_enclosing_bounds: true,
            attack_steps: 4,
            attack_random_starts: 2,
            alpha_steps: 3,
            split_balance: 64.0,
        }
    }
}

/// What the verifier concluded about a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    /// No input of the property's region is unsafe.
    Proved,
    /// An unsafe input was found (and re-checked).
    Counterexample,
    /// Neither, within the budget.
    Unknown,
}

impl std::fmt::Display for VerifyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifyStatus::Proved => "proved",
            VerifyStatus::Counterexample => "counterexample",
            VerifyStatus::Unknown => "unknown",
        })
    }
}

/// An unsafe input and the network's output on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifiedCounterexample {
    /// The input (network units).
    pub input: Vec<f32>,
    /// The network's output on it.
    pub output: Vec<f32>,
}

/// The verdict on one property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The property's name.
    pub property: String,
    /// Proved, counterexample or unknown.
    pub status: VerifyStatus,
    /// Share of the property's region (by volume) proved safe.
    pub proved_fraction: f64,
    /// The unsafe input, when one was found.
    pub counterexample: Option<VerifiedCounterexample>,
    /// Boxes examined by branch and bound.
    pub boxes: usize,
    /// Proved sub-boxes, for pictures of what is proved (at most [`MAX_PROVED_BOXES`]
    /// kept, the largest first, in network units).
    #[serde(default)]
    pub proved_boxes: Vec<(Vec<f64>, Vec<f64>)>,
}

/// How many proved boxes a verdict keeps for pictures.
pub const MAX_PROVED_BOXES: usize = 4096;

/// Progress of a verification run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyProgress {
    /// Index of the property being verified.
    pub property: usize,
    /// Properties in the run.
    pub properties: usize,
    /// What is happening: "falsifier" or "splitting".
    pub stage: String,
    /// Share of the current property's region proved so far.
    pub proved_fraction: f64,
    /// Boxes examined so far for the current property.
    pub boxes: usize,
    /// Boxes waiting.
    pub open_boxes: usize,
    /// True when every property has its verdict.
    pub done: bool,
}

enum Stage {
    Falsifying(Box<Falsifier>),
    Splitting(Frontier),
}

/// A verification run over several properties, one after the other.
pub struct Verifier {
    net: Network,
    bound_net: BoundNetwork,
    properties: Vec<Property>,
    config: VerifyConfig,
    current: usize,
    stage: Option<Stage>,
    tally: Tally,
    boxes: usize,
    /// The current property's constraints, flattened.
    constraints: Constraints,
    /// Widths of the current property's bounding box (positive where any box has width).
    root_widths: Vec<f64>,
    verdicts: Vec<Verdict>,
}

impl Verifier {
    /// Prepares a run; the properties must fit the network.
    pub fn new(
        net: &Network,
        properties: &[Property],
        config: VerifyConfig,
    ) -> Result<Self, PropertyError> {
        for p in properties {
            p.check_fits(net)?;
        }
        let mut v = Verifier {
            net: net.clone(),
            bound_net: BoundNetwork::new(net),
            properties: properties.to_vec(),
            config,
            current: 0,
            stage: None,
            tally: Tally::default(),
            boxes: 0,
            constraints: Constraints::default(),
            root_widths: Vec::new(),
            verdicts: Vec::new(),
        };
        v.start_property()?;
        Ok(v)
    }

    fn start_property(&mut self) -> Result<(), PropertyError> {
        self.tally = Tally::default();
        self.boxes = 0;
        self.stage = match self.properties.get(self.current) {
            None => None,
            Some(p) => {
                self.root_widths = p
                    .bounding_box()
                    .widths()
                    .into_iter()
                    .map(|w| if w > 0.0 { w } else { 1.0 })
                    .collect();
                self.constraints = Constraints::of(p);
                let f = Falsifier::new(
                    &self.net,
                    std::slice::from_ref(p),
                    self.config.falsifier.clone(),
                )?;
                Some(Stage::Falsifying(Box::new(f)))
            }
        };
        Ok(())
    }

    fn root_tasks(&self) -> Frontier {
        let p = &self.properties[self.current];
        let weights: Vec<f64> = p.input_boxes.iter().map(|b| b.sampling_weight()).collect();
        let total: f64 = weights.iter().sum();
        let all: Vec<usize> = (0..p.unsafe_region.disjuncts.len()).collect();
        p.input_boxes
            .iter()
            .zip(&weights)
            .rev()
            .map(|(b, &w)| Task {
                lower: b.lower.clone(),
                upper: b.upper.clone(),
                disjuncts: all.clone(),
                depth: 0,
                share: if total > 0.0 {
                    w / total
                } else {
                    1.0 / p.input_boxes.len() as f64
                },
                enclosing: None,
                priority: f64::NEG_INFINITY,
            })
            .fold(Frontier::default(), |mut f, t| {
                f.push(t);
                f
            })
    }

    /// Whether every property has its verdict.
    pub fn is_done(&self) -> bool {
        self.current >= self.properties.len()
    }

    /// The verdicts so far, one per finished property.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// Stops now: the current and remaining properties are reported unknown (with the share
    /// proved so far for the current one).
    pub fn stop(mut self) -> Vec<Verdict> {
        while self.current < self.properties.len() {
            let fraction = self.tally.proved;
            self.finish(VerifyStatus::Unknown, fraction, None);
            self.tally = Tally::default();
            self.boxes = 0;
        }
        self.verdicts
    }

    fn finish(
        &mut self,
        status: VerifyStatus,
        proved_fraction: f64,
        counterexample: Option<VerifiedCounterexample>,
    ) {
        let mut boxes = std::mem::take(&mut self.tally.proved_boxes);
        boxes.sort_by(|a, b| volume(b).total_cmp(&volume(a)));
        boxes.truncate(MAX_PROVED_BOXES);
        self.verdicts.push(Verdict {
            property: self.properties[self.current].name.clone(),
            status,
            proved_fraction: proved_fraction.clamp(0.0, 1.0),
            counterexample,
            boxes: self.boxes,
            proved_boxes: boxes,
        });
        self.current += 1;
        self.stage = None;
    }

    fn search(&self) -> Search<'_> {
        Search {
            net: &self.net,
            bound_net: &self.bound_net,
            property: &self.properties[self.current],
            constraints: &self.constraints,
            config: &self.config,
            root_widths: &self.root_widths,
        }
    }

    /// One bounded slice of work.
    pub fn step(&mut self) -> VerifyProgress {
        if self.is_done() {
            return self.progress();
        }
        match self.stage.take() {
            Some(Stage::Falsifying(mut f)) => {
                if !f.is_done() {
                    f.step();
                }
                let found = f
                    .counterexamples()
                    .iter()
                    .find_map(|c| self.search().recheck(&c.input));
                if let Some(c) = found {
                    self.finish(VerifyStatus::Counterexample, 0.0, Some(c));
                    self.start_next();
                } else if f.is_done() {
                    self.stage = Some(Stage::Splitting(self.root_tasks()));
                } else {
                    self.stage = Some(Stage::Falsifying(f));
                }
            }
            Some(Stage::Splitting(mut tasks)) => {
                let mut tally = std::mem::take(&mut self.tally);
                let mut found = None;
                for _ in 0..self.config.boxes_per_step {
                    let Some(task) = tasks.pop() else {
                        break;
                    };
                    if self.boxes >= self.config.max_boxes {
                        tasks.push(task);
                        break;
                    }
                    self.boxes += 1;
                    found = self.search().examine(task, &mut tasks, &mut tally);
                    if found.is_some() {
                        break;
                    }
                }
                self.tally = tally;
                if let Some(c) = found {
                    self.finish(VerifyStatus::Counterexample, self.tally.proved, Some(c));
                    self.start_next();
                } else if tasks.is_empty() || self.boxes >= self.config.max_boxes {
                    let status = if tasks.is_empty() && self.tally.unknown == 0.0 {
                        VerifyStatus::Proved
                    } else {
                        VerifyStatus::Unknown
                    };
                    let fraction = if status == VerifyStatus::Proved {
                        1.0
                    } else {
                        self.tally.proved
                    };
                    self.finish(status, fraction, None);
                    self.start_next();
                } else {
                    self.stage = Some(Stage::Splitting(tasks));
                }
            }
            None => self.start_next(),
        }
        self.progress()
    }

    fn start_next(&mut self) {
        if self.start_property().is_err() {
            // Properties were checked against the network in `new`.
            unreachable!("the property fits the network");
        }
    }

    /// Progress now.
    pub fn progress(&self) -> VerifyProgress {
        let (stage, open) = match &self.stage {
            Some(Stage::Falsifying(_)) => ("falsifier", 0),
            Some(Stage::Splitting(t)) => ("splitting", t.len()),
            None => ("done", 0),
        };
        VerifyProgress {
            property: self.current.min(self.properties.len()),
            properties: self.properties.len(),
            stage: stage.into(),
            proved_fraction: self.tally.proved,
            boxes: self.boxes,
            open_boxes: open,
            done: self.is_done(),
        }
    }

    /// Runs to the end (or until `keep_going` returns false, which leaves the rest unknown).
    pub fn run(mut self, mut keep_going: impl FnMut(&VerifyProgress) -> bool) -> Vec<Verdict> {
        while !self.is_done() {
            let p = self.step();
            if !keep_going(&p) {
                return self.stop();
            }
        }
        self.verdicts
    }
}

fn volume(b: &(Vec<f64>, Vec<f64>)) -> f64 {
    b.0.iter().zip(&b.1).map(|(l, u)| u - l).product()
}

/// What is known about a property on a network: the verifier's verdict combined with the
/// PAC statement of a domain-wise repair and the held-out measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyProof {
    /// The property's name.
    pub property: String,
    /// `proved`, `pac` (no proof, but a PAC statement covers it), `violated` (a
    /// counterexample is known) or `unknown`.
    pub status: String,
    /// Share of the property's region proved safe.
    pub proved_fraction: f64,
    /// Time the verifier spent on it.
    pub seconds: f64,
    /// A counterexample, when one is known.
    pub counterexample: Option<VerifiedCounterexample>,
}

impl PropertyProof {
    /// Combines a verdict with whether a PAC statement covers the property.
    pub fn from_verdict(verdict: &Verdict, pac: bool, seconds: f64) -> Self {
        let status = match verdict.status {
            VerifyStatus::Proved => "proved",
            VerifyStatus::Counterexample => "violated",
            VerifyStatus::Unknown if pac => "pac",
            VerifyStatus::Unknown => "unknown",
        };
        PropertyProof {
            property: verdict.property.clone(),
            status: status.into(),
            proved_fraction: verdict.proved_fraction,
            seconds,
            counterexample: verdict.counterexample.clone(),
        }
    }
}

/// The overall status of several verdicts: a counterexample anywhere, else unknown
/// anywhere, else proved.
pub fn overall(verdicts: &[Verdict]) -> VerifyStatus {
    if verdicts
        .iter()
        .any(|v| v.status == VerifyStatus::Counterexample)
    {
        VerifyStatus::Counterexample
    } else if verdicts.iter().all(|v| v.status == VerifyStatus::Proved) {
        VerifyStatus::Proved
    } else {
        VerifyStatus::Unknown
    }
}
