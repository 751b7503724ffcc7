//! Proof where proof is cheap (method.md, section 7): sound bounds with input splitting.
//!
//! For every property, the verifier first runs the falsifier (most violated properties fall
//! to it in a moment), then branch and bound over the property's input boxes: a box is
//! *proved* when, for every disjunct of the unsafe region, the symbolic lower bound of some
//! constraint's slack is positive, so no output in the box can satisfy that disjunct. Boxes
//! that are not proved are attacked (the corners the bounds point to and the centre are run
//! through the network) and otherwise split in two along the input whose width times
//! influence on the bound is largest. Every counterexample is re-checked by a plain forward
//! pass before it is reported. The work is cut into steps, so the browser worker can run it
//! with progress and cancel.

pub mod bounds;

use crate::falsify::{Falsifier, FalsifierConfig};
use crate::network::Network;
use crate::property::{clamp_f32_into, Property, PropertyError};
use bounds::{BoundMethod, BoundNetwork, Interval, LinearLowerBound};
use serde::{Deserialize, Serialize};

/// Settings of a verification run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyConfig {
    /// Boxes examined per property at most before it is reported unknown (default 1,000,000).
    pub max_boxes: usize,
    /// Boxes examined per `step()` (default 16): bounds the work of one step.
    pub boxes_per_step: usize,
    /// Splits along one path at most (default 40): deeper boxes are left unknown.
    pub max_depth: u32,
    /// The falsifier run before splitting (default: 256 starts, stops at the first find).
    pub falsifier: FalsifierConfig,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            max_boxes: 1_000_000,
            boxes_per_step: 16,
            max_depth: 40,
            falsifier: FalsifierConfig {
                starts: 256,
                max_counterexamples: 1,
                ..Default::default()
            },
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

/// One box of branch and bound.
struct Task {
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Disjuncts of the unsafe region not yet excluded on this box.
    disjuncts: Vec<usize>,
    depth: u32,
    /// Share of the property's region.
    share: f64,
}

enum Stage {
    Falsifying(Box<Falsifier>),
    Splitting(Vec<Task>),
}

/// A verification run over several properties, one after the other.
pub struct Verifier {
    net: Network,
    bound_net: BoundNetwork,
    properties: Vec<Property>,
    config: VerifyConfig,
    current: usize,
    stage: Option<Stage>,
    proved: f64,
    unknown: f64,
    boxes: usize,
    proved_boxes: Vec<(Vec<f64>, Vec<f64>)>,
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
            proved: 0.0,
            unknown: 0.0,
            boxes: 0,
            proved_boxes: Vec::new(),
            root_widths: Vec::new(),
            verdicts: Vec::new(),
        };
        v.start_property()?;
        Ok(v)
    }

    fn start_property(&mut self) -> Result<(), PropertyError> {
        self.proved = 0.0;
        self.unknown = 0.0;
        self.boxes = 0;
        self.proved_boxes.clear();
        self.stage = match self.properties.get(self.current) {
            None => None,
            Some(p) => {
                self.root_widths = p
                    .bounding_box()
                    .widths()
                    .into_iter()
                    .map(|w| if w > 0.0 { w } else { 1.0 })
                    .collect();
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

    fn root_tasks(&self) -> Vec<Task> {
        let p = &self.properties[self.current];
        let weights: Vec<f64> = p.input_boxes.iter().map(|b| b.sampling_weight()).collect();
        let total: f64 = weights.iter().sum();
        let all: Vec<usize> = (0..p.unsafe_region.disjuncts.len()).collect();
        p.input_boxes
            .iter()
            .zip(&weights)
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
            })
            .collect()
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
            let fraction = self.proved;
            self.finish(VerifyStatus::Unknown, fraction, None);
            self.proved = 0.0;
            self.boxes = 0;
            self.proved_boxes.clear();
        }
        self.verdicts
    }

    fn finish(
        &mut self,
        status: VerifyStatus,
        proved_fraction: f64,
        counterexample: Option<VerifiedCounterexample>,
    ) {
        let mut boxes = std::mem::take(&mut self.proved_boxes);
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

    /// The network's output on `x` if `x` is a counterexample of the current property.
    fn recheck(&self, x: &[f32]) -> Option<VerifiedCounterexample> {
        let p = &self.properties[self.current];
        let y = self.net.forward_one(x).ok()?;
        p.is_negative(x, &y).then(|| VerifiedCounterexample {
            input: x.to_vec(),
            output: y,
        })
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
                    .find_map(|c| self.recheck(&c.input));
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
                for _ in 0..self.config.boxes_per_step {
                    let Some(task) = tasks.pop() else {
                        break;
                    };
                    if self.boxes >= self.config.max_boxes {
                        tasks.push(task);
                        break;
                    }
                    self.boxes += 1;
                    if let Some(c) = self.examine(task, &mut tasks) {
                        self.finish(VerifyStatus::Counterexample, self.proved, Some(c));
                        self.start_next();
                        return self.progress();
                    }
                }
                if tasks.is_empty() || self.boxes >= self.config.max_boxes {
                    let status = if tasks.is_empty() && self.unknown == 0.0 {
                        VerifyStatus::Proved
                    } else {
                        VerifyStatus::Unknown
                    };
                    let fraction = if status == VerifyStatus::Proved {
                        1.0
                    } else {
                        self.proved
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

    /// Bounds of a box: for each disjunct not yet excluded, the lower bound of its
    /// constraint closest to excluding it (`None` for an empty conjunction, which nothing
    /// excludes).
    fn bound_box(
        &self,
        lower: &[f64],
        upper: &[f64],
        disjuncts: &[usize],
    ) -> Vec<(usize, Option<LinearLowerBound>)> {
        let p = &self.properties[self.current];
        let input = Interval::new(lower.to_vec(), upper.to_vec());
        // Every constraint of every open disjunct, bounded below at once.
        let mut coefficients = Vec::new();
        let mut rhs = Vec::new();
        let mut owner = Vec::new();
        for &d in disjuncts {
            for c in &p.unsafe_region.disjuncts[d] {
                coefficients.push(c.coefficients.clone());
                rhs.push(c.rhs);
                owner.push(d);
            }
        }
        let layer_bounds = self.bound_net.layer_bounds(&input, BoundMethod::Symbolic);
        let mut bounds = self.bound_net.lower_bounds_of_outputs(
            &layer_bounds,
            &input,
            &coefficients,
            &rhs,
            BoundMethod::Symbolic,
        );
        let mut open = Vec::new();
        for &d in disjuncts {
            let best = (0..bounds.len())
                .filter(|&r| owner[r] == d)
                .max_by(|&a, &b| bounds[a].value.total_cmp(&bounds[b].value));
            match best {
                Some(r) if bounds[r].value > 0.0 => {}
                Some(r) => open.push((d, Some(std::mem::take(&mut bounds[r])))),
                None => open.push((d, None)),
            }
        }
        open
    }

    /// Bounds one box: proved, a counterexample, or split (children pushed on `tasks`).
    fn examine(&mut self, task: Task, tasks: &mut Vec<Task>) -> Option<VerifiedCounterexample> {
        let open = self.bound_box(&task.lower, &task.upper, &task.disjuncts);
        if open.is_empty() {
            self.proved += task.share;
            if self.proved_boxes.len() < 4 * MAX_PROVED_BOXES {
                self.proved_boxes.push((task.lower, task.upper));
            }
            return None;
        }
        // Attack: the centre, and the corners where the open constraints' bounds are lowest.
        let mut candidates = vec![task
            .lower
            .iter()
            .zip(&task.upper)
            .map(|(l, u)| 0.5 * (l + u))
            .collect::<Vec<f64>>()];
        for (_, bound) in &open {
            if let Some(b) = bound {
                candidates.push(
                    b.input_coefficients
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| {
                            if a >= 0.0 {
                                task.lower[i]
                            } else {
                                task.upper[i]
                            }
                        })
                        .collect(),
                );
            }
        }
        for point in candidates {
            // Rounding to f32 can step outside a box given in f64: nudge it back in.
            let x: Vec<f32> = point
                .iter()
                .zip(task.lower.iter().zip(&task.upper))
                .map(|(&v, (&l, &u))| clamp_f32_into(v, l, u))
                .collect();
            if let Some(c) = self.recheck(&x) {
                return Some(c);
            }
        }
        let widths: Vec<f64> = task
            .lower
            .iter()
            .zip(&task.upper)
            .map(|(l, u)| u - l)
            .collect();
        if task.depth >= self.config.max_depth || widths.iter().all(|&w| w <= 0.0) {
            self.unknown += task.share;
            return None;
        }
        let disjuncts: Vec<usize> = open.iter().map(|(d, _)| *d).collect();
        let dim = self.split_dimension(&task, &widths, &open);
        let mid = 0.5 * (task.lower[dim] + task.upper[dim]);
        let mut left_upper = task.upper.clone();
        left_upper[dim] = mid;
        let mut right_lower = task.lower.clone();
        right_lower[dim] = mid;
        tasks.push(Task {
            lower: right_lower,
            upper: task.upper,
            disjuncts: disjuncts.clone(),
            depth: task.depth + 1,
            share: 0.5 * task.share,
        });
        tasks.push(Task {
            lower: task.lower,
            upper: left_upper,
            disjuncts,
            depth: task.depth + 1,
            share: 0.5 * task.share,
        });
        None
    }

    /// The input to split a box along: the one whose width times influence on the open
    /// bounds is largest; every third level, the widest relative to the property's box, so
    /// that no input is left unsplit (influence alone can keep halving the same input while
    /// the looseness comes from another, and never finish).
    fn split_dimension(
        &self,
        task: &Task,
        widths: &[f64],
        open: &[(usize, Option<LinearLowerBound>)],
    ) -> usize {
        let splittable = (0..widths.len()).filter(|&i| widths[i] > 0.0);
        if task.depth % 3 == 2 {
            let root = &self.root_widths;
            let relative = |i: usize| widths[i] / root[i];
            return splittable
                .max_by(|&a, &b| relative(a).total_cmp(&relative(b)))
                .expect("some width is positive");
        }
        let mut score = vec![0.0f64; widths.len()];
        for (_, bound) in open {
            if let Some(b) = bound {
                for (i, a) in b.input_coefficients.iter().enumerate() {
                    score[i] += a.abs() * widths[i];
                }
            }
        }
        splittable
            .max_by(|&a, &b| {
                score[a]
                    .total_cmp(&score[b])
                    .then(widths[a].total_cmp(&widths[b]))
            })
            .expect("some width is positive")
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
            proved_fraction: self.proved,
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
