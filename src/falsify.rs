//! Finding counterexamples where uniform sampling does not: projected gradient descent on a
//! violation margin inside the property's input region, from many seeded random starts.
//!
//! The margin of an output `y` is [`UnsafeRegion::violation_margin`]: the smallest over the
//! disjuncts of the largest constraint slack, `<= 0` exactly when `y` is unsafe. Each step
//! moves every start against the sign of the margin's input gradient, scaled by the box's
//! widths (an L-infinity step), and projects back into the box. A start that reaches an
//! unsafe output is recorded (after an exact check) and restarted elsewhere, so one run
//! returns many distinct counterexamples. Works for every activation: it only needs the
//! network's input gradient.
//!
//! The falsifier is a resumable session ([`Falsifier::step`]) so that the browser worker
//! can report progress and cancel between steps.
//!
//! [`UnsafeRegion::violation_margin`]: crate::property::UnsafeRegion::violation_margin

use crate::network::Network;
use crate::property::{LinearConstraint, Property, PropertyError, UnsafeRegion};
use crate::rng::SplitMix64;
use crate::sampling::sample_box;
use crate::tensor::{to_standard, Array2, ArrayRef2, BatchGrow, BatchRows, BatchRowsMut};
use serde::{Deserialize, Serialize};

/// Writes into `grad` the gradient (with respect to the outputs) of the objective the search
/// descends: for the disjunct closest to holding, the sum of its constraints' positive
/// slacks. Unlike the max-slack margin, this pushes on every unmet constraint at once
/// instead of zig-zagging between them.
pub(crate) fn descent_objective_gradient(region: &UnsafeRegion, y: &[f32], grad: &mut [f32]) {
    let mut best: Option<(f64, &Vec<LinearConstraint>)> = None;
    for conj in &region.disjuncts {
        let total: f64 = conj.iter().map(|c| c.slack(y).max(0.0)).sum();
        if best.is_none_or(|(b, _)| total < b) {
            best = Some((total, conj));
        }
    }
    let Some((_, conj)) = best else { return };
    for c in conj {
        if c.slack(y) > 0.0 {
            for (g, &k) in grad.iter_mut().zip(&c.coefficients) {
                *g += k as f32;
            }
        }
    }
}

/// Settings of a falsification run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FalsifierConfig {
    /// Random starting points in total (default 4096).
    pub starts: usize,
    /// Starts descended together in one batch (default 256).
    pub batch: usize,
    /// Gradient steps per start before it is abandoned (default 50).
    pub steps: usize,
    /// First step length as a fraction of each box width; it decays linearly to a tenth of
    /// that over the steps (default 0.05).
    pub step_size: f64,
    /// Stop once this many counterexamples are found (default 100).
    pub max_counterexamples: usize,
    /// Seed of the starting points (default 0).
    pub seed: u64,
    /// Share of the signal that switched-off ReLUs pass back during the search (default
    /// 0.5; 0 follows the exact gradient). Without it, starts where a whole layer is off
    /// have no direction at all, which is most of the ACAS Xu input space.
    pub relu_leak: f32,
}

impl Default for FalsifierConfig {
    fn default() -> Self {
        FalsifierConfig {
            starts: 4096,
            batch: 256,
            steps: 50,
            step_size: 0.05,
            max_counterexamples: 100,
            seed: 0,
            relu_leak: 0.5,
        }
    }
}

impl FalsifierConfig {
    /// Checks the settings, naming the first bad one.
    pub fn check(&self) -> Result<(), String> {
        if self.batch == 0 || self.steps == 0 {
            return Err("falsifier batch and steps must be at least 1".into());
        }
        if !(self.step_size.is_finite() && self.step_size > 0.0 && self.step_size <= 1.0) {
            return Err(format!(
                "falsifier step size must be in (0, 1], got {}",
                self.step_size
            ));
        }
        if !(self.relu_leak.is_finite() && (0.0..=1.0).contains(&self.relu_leak)) {
            return Err(format!(
                "falsifier ReLU leak must be in [0, 1], got {}",
                self.relu_leak
            ));
        }
        Ok(())
    }
}

/// An input that violates a property, with the network's output there (network units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The input.
    pub input: Vec<f32>,
    /// The network's output on it.
    pub output: Vec<f32>,
    /// Index of the violated property in the list given to the falsifier.
    pub property: usize,
    /// The violation margin (`<= 0`; more negative is a deeper violation).
    pub margin: f64,
}

/// The inputs of `found` as rows of `width` numbers (the network's input width).
pub fn counterexample_inputs(found: &[Counterexample], width: usize) -> Array2<f32> {
    let mut rows = Array2::zeros((0, width));
    for c in found {
        rows.push_slice(&c.input)
            .expect("a counterexample has the input width");
    }
    rows
}

/// How far a falsification run has got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FalsifierProgress {
    /// Starts begun so far.
    pub starts_used: usize,
    /// Total starts allowed.
    pub starts_total: usize,
    /// Counterexamples found so far.
    pub found: usize,
    /// Network evaluations so far.
    pub evaluations: usize,
    /// True once the run has finished.
    pub done: bool,
}

struct Slot {
    property: usize,
    input_box: usize,
    step: usize,
    active: bool,
    exact: bool,
}

/// A resumable falsification run.
pub struct Falsifier {
    net: Network,
    properties: Vec<Property>,
    config: FalsifierConfig,
    rng: SplitMix64,
    points: Array2<f32>,
    slots: Vec<Slot>,
    starts_used: usize,
    evaluations: usize,
    found: Vec<Counterexample>,
    /// Bit patterns of the inputs in `found`: a long search (a guard search over hundreds
    /// of balls) finds thousands, and comparing each new one with all of them dominated it.
    seen: std::collections::HashSet<Vec<u32>>,
    hints: Array2<f32>,
}

impl Falsifier {
    /// Prepares a run over the union of the properties' input regions.
    pub fn new(
        net: &Network,
        properties: &[Property],
        config: FalsifierConfig,
    ) -> Result<Self, PropertyError> {
        for p in properties {
            p.check_fits(net)?;
        }
        let rng = SplitMix64::new(config.seed);
        let mut f = Falsifier {
            net: net.clone(),
            properties: properties.to_vec(),
            rng,
            points: Array2::zeros((0, net.input_size())),
            slots: Vec::new(),
            starts_used: 0,
            evaluations: 0,
            found: Vec::new(),
            seen: Default::default(),
            hints: Array2::zeros((0, net.input_size())),
            config,
        };
        let width = f.config.batch.min(f.config.starts);
        for _ in 0..width {
            let slot = f.new_slot();
            f.points.push_slice(&slot.1).expect("input width");
            f.slots.push(slot.0);
        }
        Ok(f)
    }

    /// Like [`Falsifier::new`], but half of the starts begin near one of the `hints` (known
    /// counterexamples of an earlier version of the network, say), within 5 % of the box
    /// width in every dimension. Unsafe pockets left by a repair usually sit near the
    /// counterexamples it was taught, and are far too small to be hit from random starts.
    pub fn with_hints(
        net: &Network,
        properties: &[Property],
        config: FalsifierConfig,
        hints: &ArrayRef2<f32>,
    ) -> Result<Self, PropertyError> {
        let hints = &*crate::tensor::standard(hints);
        let mut f = Falsifier::new(net, properties, config)?;
        if hints.ncols() == net.input_size() {
            f.hints = to_standard(hints);
            // Re-draw the first batch so that it uses the hints too.
            f.starts_used = 0;
            for s in 0..f.slots.len() {
                let (slot, point) = f.new_slot();
                f.points.row_slice_mut(s).copy_from_slice(&point);
                f.slots[s] = slot;
            }
        }
        Ok(f)
    }

    /// Picks the property (round robin) and box (by volume) of the next start, and a point.
    fn new_slot(&mut self) -> (Slot, Vec<f32>) {
        let n = self.net.input_size();
        if self.properties.is_empty() || self.starts_used >= self.config.starts {
            return (
                Slot {
                    property: 0,
                    input_box: 0,
                    step: 0,
                    active: false,
                    exact: false,
                },
                vec![0.0; n],
            );
        }
        let property = self.starts_used % self.properties.len();
        let exact = (self.starts_used / self.properties.len()) % 2 == 1;
        self.starts_used += 1;
        let boxes = &self.properties[property].input_boxes;
        let total: f64 = boxes.iter().map(|b| b.sampling_weight()).sum();
        let mut pick = self.rng.next_f64() * total;
        let mut input_box = boxes.len() - 1;
        for (i, b) in boxes.iter().enumerate() {
            let w = b.sampling_weight();
            if pick < w {
                input_box = i;
                break;
            }
            pick -= w;
        }
        let use_hint = self.hints.nrows() > 0 && (self.starts_used / 2).is_multiple_of(2);
        let point = if use_hint {
            let hint = self.hints.row_slice(self.rng.below(self.hints.nrows()));
            let b = &boxes[input_box];
            let mut point: Vec<f32> = hint
                .iter()
                .zip(b.lower.iter().zip(&b.upper))
                .map(|(&h, (&l, &u))| {
                    let jitter = (self.rng.next_f64() * 2.0 - 1.0) * 0.01 * (u - l);
                    (h as f64 + jitter) as f32
                })
                .collect();
            b.project(&mut point);
            point
        } else {
            sample_box(&mut self.rng, &boxes[input_box], 1).into_flat_vec()
        };
        (
            Slot {
                property,
                input_box,
                step: 0,
                active: true,
                exact,
            },
            point,
        )
    }

    /// Whether the run has finished (starts exhausted or enough counterexamples).
    pub fn is_done(&self) -> bool {
        self.found.len() >= self.config.max_counterexamples || self.slots.iter().all(|s| !s.active)
    }

    /// Progress so far.
    pub fn progress(&self) -> FalsifierProgress {
        FalsifierProgress {
            starts_used: self.starts_used,
            starts_total: self.config.starts,
            found: self.found.len(),
            evaluations: self.evaluations,
            done: self.is_done(),
        }
    }

    /// Counterexamples found so far.
    pub fn counterexamples(&self) -> &[Counterexample] {
        &self.found
    }

    /// One gradient step for every active start (a batch of forward and backward passes).
    pub fn step(&mut self) -> FalsifierProgress {
        if self.is_done() {
            return self.progress();
        }
        let trace = self
            .net
            .forward_trace(&self.points)
            .expect("points have the network's width");
        let outputs = trace.output();
        let m = self.net.output_size();
        let mut d_out = Array2::zeros((self.slots.len(), m));
        let mut restart = Vec::new();
        for (s, slot) in self.slots.iter_mut().enumerate() {
            if !slot.active {
                continue;
            }
            self.evaluations += 1;
            let property = &self.properties[slot.property];
            let x = self.points.row_slice(s);
            let y = outputs.row_slice(s);
            let (margin, _) = property.unsafe_region.violation_margin(y);
            if margin <= 0.0 && property.is_negative(x, y) {
                if self.seen.insert(x.iter().map(|v| v.to_bits()).collect()) {
                    self.found.push(Counterexample {
                        input: x.to_vec(),
                        output: y.to_vec(),
                        property: slot.property,
                        margin,
                    });
                }
                restart.push(s);
                continue;
            }
            slot.step += 1;
            if slot.step >= self.config.steps {
                restart.push(s);
                continue;
            }
            descent_objective_gradient(&property.unsafe_region, y, d_out.row_slice_mut(s));
        }
        // Half the starts follow the surrogate (it crosses regions where whole layers are
        // off), half the exact gradient (the surrogate can step over small pockets that the
        // exact gradient descends into).
        // Each start needs only its own kind: the other kind's rows are zeroed, and the
        // backward pass skips zero rows, so the two passes cost about one.
        let mut d_exact = d_out.clone();
        for (s, slot) in self.slots.iter().enumerate() {
            let unused = if slot.exact { &mut d_out } else { &mut d_exact };
            unused.row_slice_mut(s).iter_mut().for_each(|v| *v = 0.0);
        }
        let surrogate = self
            .net
            .surrogate_input_gradient(&trace, &d_out, self.config.relu_leak);
        let exact = self.net.input_gradient(&trace, &d_exact);
        for (s, slot) in self.slots.iter().enumerate() {
            if !slot.active || restart.contains(&s) {
                continue;
            }
            let grad = if slot.exact { &exact } else { &surrogate };
            if grad.row_slice(s).iter().all(|&g| g == 0.0) {
                // A flat spot (typically a whole ReLU layer switched off): no direction to
                // follow, so spend the budget elsewhere.
                restart.push(s);
                continue;
            }
            let input_box = &self.properties[slot.property].input_boxes[slot.input_box];
            let progress = slot.step as f64 / self.config.steps as f64;
            let eta = self.config.step_size * (0.01f64).powf(progress);
            let g = grad.row_slice(s).to_vec();
            let x = self.points.row_slice_mut(s);
            for (i, (xi, gi)) in x.iter_mut().zip(&g).enumerate() {
                let width = input_box.upper[i] - input_box.lower[i];
                let direction = if *gi > 0.0 {
                    -1.0
                } else if *gi < 0.0 {
                    1.0
                } else {
                    0.0
                };
                *xi = (*xi as f64 + direction * eta * width) as f32;
            }
            input_box.project(x);
        }
        for s in restart {
            let (slot, point) = self.new_slot();
            self.points.row_slice_mut(s).copy_from_slice(&point);
            self.slots[s] = slot;
        }
        self.progress()
    }

    /// Runs to the end and returns the counterexamples.
    pub fn run(mut self) -> Vec<Counterexample> {
        while !self.is_done() {
            self.step();
        }
        self.found
    }

    /// Stops early and returns what was found.
    pub fn into_counterexamples(self) -> Vec<Counterexample> {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Activation, DenseLayer, NetworkMeta};
    use crate::property::{InputBox, LinearConstraint, UnsafeRegion};

    /// y0 = x0 + x1 with a tiny unsafe corner: unsafe when y0 >= 1.98 on [0,1]^2 (about 0.02 %
    /// of the square), through a hidden layer of the given activation.
    fn corner_problem(act: Activation) -> (Network, Property) {
        let hidden = DenseLayer::new(2, 2, vec![1.0, 0.0, 0.0, 1.0], vec![0.0, 0.0], act).unwrap();
        let out = DenseLayer::new(2, 1, vec![1.0, 1.0], vec![0.0], Activation::Identity).unwrap();
        let net = Network::new(vec![hidden, out], NetworkMeta::generic(2, 1)).unwrap();
        let y_max = net.forward_one(&[1.0, 1.0]).unwrap()[0] as f64;
        let y_min = net.forward_one(&[0.0, 0.0]).unwrap()[0] as f64;
        let threshold = y_max - 0.01 * (y_max - y_min);
        let property = Property {
            name: "corner".into(),
            num_inputs: 2,
            num_outputs: 1,
            input_boxes: vec![InputBox::new(vec![0.0, 0.0], vec![1.0, 1.0]).unwrap()],
            unsafe_region: UnsafeRegion {
                disjuncts: vec![vec![LinearConstraint {
                    coefficients: vec![-1.0],
                    rhs: -threshold,
                }]],
            },
        };
        (net, property)
    }

    #[test]
    fn finds_a_tiny_unsafe_corner_for_every_monotone_activation() {
        for act in Activation::ALL {
            let (net, property) = corner_problem(act);
            let props = [property];
            let config = FalsifierConfig {
                starts: 64,
                batch: 16,
                steps: 40,
                max_counterexamples: 5,
                ..Default::default()
            };
            let found = Falsifier::new(&net, &props, config).unwrap().run();
            assert!(!found.is_empty(), "{act}: nothing found");
            for c in &found {
                assert!(props[0].is_negative(&c.input, &c.output), "{act}: {c:?}");
                assert_eq!(net.forward_one(&c.input).unwrap(), c.output);
            }
        }
    }

    #[test]
    fn same_seed_same_counterexamples() {
        let (net, property) = corner_problem(Activation::Tanh);
        let props = [property];
        let run = |seed| {
            let config = FalsifierConfig {
                seed,
                starts: 64,
                batch: 16,
                ..Default::default()
            };
            Falsifier::new(&net, &props, config).unwrap().run()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
