//! Branch and bound over one property's input boxes: bound a box, shrink it to the part
//! where a counterexample can still be, attack it, split it.
//!
//! A box is bounded with symbolic (CROWN) bounds, each neuron and each output constraint
//! keeping the enclosing box's bound where that is tighter. A disjunct of the unsafe region is
//! excluded on the box when the lower bound of one of its constraints' slacks is positive.
//! For the disjuncts left open, the linear lower bounds also say where in the box a
//! counterexample can be at all (the slack's linear bound must be `<= 0` there), so the box
//! is first *clipped* to that part (the rest is proved). What remains is attacked, then split
//! in two along the input with the largest "sb" score: over every constraint of every open
//! disjunct, the largest `|coefficient| x width` (alpha-beta-CROWN's input-split heuristic).

use super::attack::attack_box;
use super::bounds::{BoundMethod, BoundNetwork, Interval, LinearLowerBound};
use super::{Branching, VerifiedCounterexample, VerifyConfig};
use crate::network::Network;
use crate::property::{clamp_f32_into, Property};
use crate::rng::SplitMix64;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Bounds a box passes on to its two halves: valid there too, and often tighter than what
/// the halves would compute alone.
pub(super) struct Enclosing {
    /// Pre-activation bounds of every layer.
    pre: Vec<Interval>,
    /// The linear lower bound of each constraint (by flat index) that was computed.
    constraints: Vec<Option<LinearLowerBound>>,
}

/// One box of branch and bound.
pub(super) struct Task {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Disjuncts of the unsafe region not yet excluded on this box.
    pub disjuncts: Vec<usize>,
    pub depth: u32,
    /// Share of the property's region.
    pub share: f64,
    pub enclosing: Option<Arc<Enclosing>>,
    /// How far the enclosing box was from proved (the worst open disjunct's best lower
    /// bound): the least proved boxes are examined first.
    pub priority: f64,
}

/// The boxes waiting, the least proved first (ties: the latest first, so the search goes
/// deep where nothing tells boxes apart). For a proof every box is examined whatever
/// the order; for a counterexample, the order is what finds it quickly.
#[derive(Default)]
pub(super) struct Frontier {
    heap: BinaryHeap<Waiting>,
    pushed: u64,
}

struct Waiting {
    task: Task,
    order: u64,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: the smallest priority, then the latest pushed.
        other
            .task
            .priority
            .total_cmp(&self.task.priority)
            .then(self.order.cmp(&other.order))
    }
}

impl Frontier {
    pub fn push(&mut self, task: Task) {
        self.pushed += 1;
        self.heap.push(Waiting {
            task,
            order: self.pushed,
        });
    }

    pub fn pop(&mut self) -> Option<Task> {
        self.heap.pop().map(|w| w.task)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// The unsafe region's constraints in one flat list.
#[derive(Default)]
pub(super) struct Constraints {
    rows: Vec<Vec<f64>>,
    rhs: Vec<f64>,
    /// Flat indices of each disjunct's constraints.
    by_disjunct: Vec<Vec<usize>>,
}

impl Constraints {
    pub fn of(property: &Property) -> Self {
        let mut out = Constraints {
            rows: Vec::new(),
            rhs: Vec::new(),
            by_disjunct: Vec::new(),
        };
        for conj in &property.unsafe_region.disjuncts {
            let mut ids = Vec::new();
            for c in conj {
                ids.push(out.rows.len());
                out.rows.push(c.coefficients.clone());
                out.rhs.push(c.rhs);
            }
            out.by_disjunct.push(ids);
        }
        out
    }

    pub fn count(&self) -> usize {
        self.rows.len()
    }
}

/// What branch and bound has established so far for a property.
#[derive(Default)]
pub(super) struct Tally {
    /// Share of the region proved.
    pub proved: f64,
    /// Share of the region given up (too deep to split further).
    pub unknown: f64,
    /// Proved boxes, for pictures.
    pub proved_boxes: Vec<(Vec<f64>, Vec<f64>)>,
}

impl Tally {
    fn prove(&mut self, share: f64, lower: Vec<f64>, upper: Vec<f64>) {
        self.proved += share;
        if self.proved_boxes.len() < 4 * super::MAX_PROVED_BOXES {
            self.proved_boxes.push((lower, upper));
        }
    }
}

/// Everything one property's search reads.
pub(super) struct Search<'a> {
    pub net: &'a Network,
    pub bound_net: &'a BoundNetwork,
    pub property: &'a Property,
    pub constraints: &'a Constraints,
    pub config: &'a VerifyConfig,
    /// Widths of the property's bounding box (1 where it has none).
    pub root_widths: &'a [f64],
}

/// Volume of `inner` relative to `outer`, over the dimensions where `outer` has width.
fn volume_ratio(inner: &Interval, outer_lower: &[f64], outer_upper: &[f64]) -> f64 {
    let mut ratio = 1.0;
    for i in 0..outer_lower.len() {
        let w = outer_upper[i] - outer_lower[i];
        if w > 0.0 {
            ratio *= ((inner.upper[i] - inner.lower[i]) / w).clamp(0.0, 1.0);
        }
    }
    ratio
}

impl Search<'_> {
    /// Bounds one box: proved, a counterexample, given up, or split (the halves pushed on
    /// `tasks`, the one more likely to hold a counterexample last, so it is examined first).
    pub fn examine(
        &self,
        task: Task,
        tasks: &mut Frontier,
        tally: &mut Tally,
    ) -> Option<VerifiedCounterexample> {
        let input = Interval::new(task.lower.clone(), task.upper.clone());
        let reuse = self.config.reuse_enclosing_bounds;
        let enclosing = task.enclosing.as_deref().filter(|_| reuse);
        let layers = self.bound_net.layer_bounds_within(
            &input,
            BoundMethod::Symbolic,
            enclosing.map(|e| e.pre.as_slice()),
        );
        // Every constraint of every open disjunct, bounded below at once.
        let ids: Vec<usize> = task
            .disjuncts
            .iter()
            .flat_map(|&d| self.constraints.by_disjunct[d].iter().copied())
            .collect();
        let rows: Vec<Vec<f64>> = ids
            .iter()
            .map(|&c| self.constraints.rows[c].clone())
            .collect();
        let rhs: Vec<f64> = ids.iter().map(|&c| self.constraints.rhs[c]).collect();
        let computed = self.bound_net.lower_bounds_of_outputs(
            &layers,
            &input,
            &rows,
            &rhs,
            BoundMethod::Symbolic,
        );
        // Branching follows the box's own plain CROWN bounds: inherited and optimised bounds
        // are flatter in the inputs (their slack sits in the relaxations), so they say less
        // about which input to split (measured: on ACAS Xu p1 they lead to far more boxes).
        let mut branching_bounds: Vec<Option<LinearLowerBound>> =
            vec![None; self.constraints.count()];
        let mut bounds = branching_bounds.clone();
        for (&c, own) in ids.iter().zip(computed) {
            let mut best = own.clone();
            if let Some(outer) = enclosing.and_then(|e| e.constraints[c].as_ref()) {
                let inherited = outer.lowest_over(&input);
                if inherited > best.value {
                    best = outer.clone();
                    best.value = inherited;
                }
            }
            branching_bounds[c] = Some(own);
            bounds[c] = Some(best);
        }
        if self.config.alpha_steps > 0 {
            // Optimised slopes for the constraint closest to excluding each open disjunct.
            for &d in &task.disjuncts {
                let ids = &self.constraints.by_disjunct[d];
                let best = ids
                    .iter()
                    .copied()
                    .filter(|&c| bounds[c].is_some())
                    .max_by(|&a, &b| {
                        let value =
                            |c: usize| bounds[c].as_ref().map_or(f64::NEG_INFINITY, |b| b.value);
                        value(a).total_cmp(&value(b))
                    });
                let Some(c) = best else { continue };
                let Some(plain) = bounds[c].as_ref().filter(|b| b.value <= 0.0) else {
                    continue;
                };
                let optimised = self.bound_net.optimised_lower_bound(
                    &layers,
                    &input,
                    &self.constraints.rows[c],
                    self.constraints.rhs[c],
                    plain,
                    self.config.alpha_steps,
                );
                bounds[c] = Some(optimised);
            }
        }
        let excluded = |d: usize| {
            let ids = &self.constraints.by_disjunct[d];
            ids.iter()
                .any(|&c| bounds[c].as_ref().is_some_and(|b| b.value > 0.0))
        };
        let mut open: Vec<usize> = task
            .disjuncts
            .iter()
            .copied()
            .filter(|&d| !excluded(d))
            .collect();
        if open.is_empty() {
            tally.prove(task.share, task.lower, task.upper);
            return None;
        }

        // Where a counterexample can still be: inside every open constraint's clip, for
        // some open disjunct.
        let mut region = input.clone();
        if self.config.clip_boxes {
            let mut hull: Option<Interval> = None;
            open.retain(|&d| {
                let mut clipped = Some(input.clone());
                // Both the plain and the optimised bound of a constraint are sound: each
                // clips the box on its own.
                for &c in &self.constraints.by_disjunct[d] {
                    for b in [&branching_bounds[c], &bounds[c]].into_iter().flatten() {
                        if let Some(inside) = &clipped {
                            clipped = b.clip(inside);
                        }
                    }
                }
                match clipped {
                    None => false,
                    Some(c) => {
                        hull = Some(match hull.take() {
                            None => c,
                            Some(h) => hull_of(&h, &c),
                        });
                        true
                    }
                }
            });
            let Some(hull) = hull else {
                tally.prove(task.share, task.lower, task.upper);
                return None;
            };
            region = hull;
        }
        let kept = volume_ratio(&region, &task.lower, &task.upper);
        let share = task.share * kept;
        if kept < 1.0 {
            tally.proved += task.share - share;
            for (l, u) in slabs_between(&input, &region) {
                tally.prove(0.0, l, u);
            }
        }

        // Attack: the centre and, for each open disjunct, the corner where the bound of its
        // constraint closest to excluding it is lowest, each descended a few steps.
        let mut starts = vec![centre(&region)];
        for &d in &open {
            let closest = self.constraints.by_disjunct[d]
                .iter()
                .filter_map(|&c| bounds[c].as_ref())
                .filter(|b| !b.input_coefficients.is_empty())
                .max_by(|a, b| a.value.total_cmp(&b.value));
            if let Some(b) = closest {
                starts.push(lowest_corner(&b.input_coefficients, &region));
            }
        }
        starts.extend(random_points(&region, self.config.attack_random_starts));
        let mut best_point = None;
        if self.config.attack_steps > 0 {
            let attack = attack_box(
                self.net,
                self.property,
                &region.lower,
                &region.upper,
                &starts,
                self.config.attack_steps,
            );
            if attack.margin <= 0.0 {
                if let Some(c) = self.recheck(&attack.best) {
                    return Some(c);
                }
            }
            best_point = Some(attack.best);
        } else {
            for point in &starts {
                let x = to_f32_inside(point, &region);
                if let Some(c) = self.recheck(&x) {
                    return Some(c);
                }
            }
        }
        // The least proved box first: a box with a counterexample keeps a negative bound
        // however small it gets, while boxes along a boundary that only touches the unsafe
        // set tend to 0 and wait.
        let priority = open
            .iter()
            .map(|&d| {
                self.constraints.by_disjunct[d]
                    .iter()
                    .filter_map(|&c| bounds[c].as_ref().map(|b| b.value))
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .fold(f64::INFINITY, f64::min);

        let widths: Vec<f64> = (0..region.len())
            .map(|i| region.upper[i] - region.lower[i])
            .collect();
        if task.depth >= self.config.max_depth || widths.iter().all(|&w| w <= 0.0) {
            tally.unknown += share;
            return None;
        }
        let dim = match self.config.branching {
            Branching::Sb => self.sb_dimension(&widths, &open, &branching_bounds),
            Branching::Legacy => {
                self.legacy_dimension(task.depth, &widths, &open, &branching_bounds)
            }
        };
        let mid = 0.5 * (region.lower[dim] + region.upper[dim]);
        let enclosing = Arc::new(Enclosing {
            pre: layers.pre,
            constraints: bounds,
        });
        let mut left = region.clone();
        left.upper[dim] = mid;
        let mut right = region;
        right.lower[dim] = mid;
        let child = |b: Interval| Task {
            lower: b.lower,
            upper: b.upper,
            disjuncts: open.clone(),
            depth: task.depth + 1,
            share: 0.5 * share,
            enclosing: Some(Arc::clone(&enclosing)),
            priority,
        };
        // Depth first, into the half holding the attack's most nearly unsafe point.
        let left_first = best_point.is_some_and(|p| (p[dim] as f64) <= mid);
        if left_first {
            tasks.push(child(right));
            tasks.push(child(left));
        } else {
            tasks.push(child(left));
            tasks.push(child(right));
        }
        None
    }

    /// The network's output on `x` if `x` is a counterexample (the plain forward pass is the
    /// judge, whatever found `x`).
    pub fn recheck(&self, x: &[f32]) -> Option<VerifiedCounterexample> {
        let y = self.net.forward_one(x).ok()?;
        self.property
            .is_negative(x, &y)
            .then(|| VerifiedCounterexample {
                input: x.to_vec(),
                output: y,
            })
    }

    /// The sb score: for each input, the largest `|coefficient| x width` over every
    /// constraint of every open disjunct. Where no constraint depends on any input (interval
    /// bounds only), the widest input relative to the property's box, so splitting always
    /// makes progress.
    fn sb_dimension(
        &self,
        widths: &[f64],
        open: &[usize],
        bounds: &[Option<LinearLowerBound>],
    ) -> usize {
        let mut score = vec![f64::NEG_INFINITY; widths.len()];
        let mut best_has_coefficients = false;
        for &d in open {
            for &c in &self.constraints.by_disjunct[d] {
                let Some(b) = &bounds[c] else { continue };
                best_has_coefficients |= b.input_coefficients.iter().any(|&a| a != 0.0);
                for (i, a) in b.input_coefficients.iter().enumerate() {
                    score[i] = score[i].max(a.abs() * widths[i]);
                }
            }
        }
        let best = (0..widths.len())
            .filter(|&i| widths[i] > 0.0)
            .max_by(|&a, &b| score[a].total_cmp(&score[b]))
            .expect("some width is positive");
        let relative = |i: usize| widths[i] / self.root_widths[i];
        let widest = self.widest_relative(widths);
        // The fallback that guarantees progress: an input already split far finer than the
        // least split one is not split again (the score alone can starve an input whose
        // looseness only shows in the relaxations, and never finish).
        let balanced = relative(best) * self.config.split_balance >= relative(widest);
        if best_has_coefficients && balanced {
            best
        } else {
            self.widest_relative(widths)
        }
    }

    /// birdnn's first rule, kept for the ablation benchmark: the best constraint's
    /// coefficients per open disjunct, summed, and every third level the widest input.
    fn legacy_dimension(
        &self,
        depth: u32,
        widths: &[f64],
        open: &[usize],
        bounds: &[Option<LinearLowerBound>],
    ) -> usize {
        if depth % 3 == 2 {
            return self.widest_relative(widths);
        }
        let mut score = vec![0.0f64; widths.len()];
        for &d in open {
            let best = self.constraints.by_disjunct[d]
                .iter()
                .filter_map(|&c| bounds[c].as_ref())
                .max_by(|a, b| a.value.total_cmp(&b.value));
            if let Some(b) = best {
                for (i, a) in b.input_coefficients.iter().enumerate() {
                    score[i] += a.abs() * widths[i];
                }
            }
        }
        (0..widths.len())
            .filter(|&i| widths[i] > 0.0)
            .max_by(|&a, &b| {
                score[a]
                    .total_cmp(&score[b])
                    .then(widths[a].total_cmp(&widths[b]))
            })
            .expect("some width is positive")
    }

    fn widest_relative(&self, widths: &[f64]) -> usize {
        let relative = |i: usize| widths[i] / self.root_widths[i];
        (0..widths.len())
            .filter(|&i| widths[i] > 0.0)
            .max_by(|&a, &b| relative(a).total_cmp(&relative(b)))
            .expect("some width is positive")
    }
}

/// `count` points drawn uniformly from the box, seeded by the box itself (the same box
/// always gets the same points, whatever order boxes are examined in).
fn random_points(b: &Interval, count: usize) -> Vec<Vec<f64>> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for v in b.lower.iter().chain(&b.upper) {
        seed = (seed ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            (0..b.len())
                .map(|i| b.lower[i] + rng.next_f64() * (b.upper[i] - b.lower[i]))
                .collect()
        })
        .collect()
}

fn centre(b: &Interval) -> Vec<f64> {
    b.lower
        .iter()
        .zip(&b.upper)
        .map(|(l, u)| 0.5 * (l + u))
        .collect()
}

/// The corner of the box where `a . x` is lowest.
fn lowest_corner(a: &[f64], b: &Interval) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(i, &ai)| if ai >= 0.0 { b.lower[i] } else { b.upper[i] })
        .collect()
}

/// A point given in `f64` as `f32` values inside the box (rounding to `f32` can step
/// outside a box given in `f64`: nudge it back in).
fn to_f32_inside(point: &[f64], b: &Interval) -> Vec<f32> {
    point
        .iter()
        .enumerate()
        .map(|(i, &v)| clamp_f32_into(v, b.lower[i], b.upper[i]))
        .collect()
}

fn hull_of(a: &Interval, b: &Interval) -> Interval {
    Interval::new(
        a.lower
            .iter()
            .zip(&b.lower)
            .map(|(x, y)| x.min(*y))
            .collect(),
        a.upper
            .iter()
            .zip(&b.upper)
            .map(|(x, y)| x.max(*y))
            .collect(),
    )
}

/// `outer` minus `inner` (a box inside it) as at most two boxes per dimension.
fn slabs_between(outer: &Interval, inner: &Interval) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut out = Vec::new();
    let mut rest = outer.clone();
    for i in 0..outer.len() {
        if inner.lower[i] > rest.lower[i] {
            let mut upper = rest.upper.clone();
            upper[i] = inner.lower[i];
            out.push((rest.lower.clone(), upper));
            rest.lower[i] = inner.lower[i];
        }
        if inner.upper[i] < rest.upper[i] {
            let mut lower = rest.lower.clone();
            lower[i] = inner.upper[i];
            out.push((lower, rest.upper.clone()));
            rest.upper[i] = inner.upper[i];
        }
    }
    out
}
