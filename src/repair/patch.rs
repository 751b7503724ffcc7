//! Region patch: a repair that changes nothing outside the property regions and, inside
//! them, only the decisions the properties forbid; proved by construction and confirmed by
//! the verifier.
//!
//! For every input box of every property, a constant offset `delta` is added to the
//! outputs where the input lies in the box. A small "indicator" computes where that is, in
//! two layers beside the network's own neurons (REASSURE's support networks, simplified to
//! one box): the first hidden layer compares each input with the box's edges widened by
//! `s` (half the band, which also keeps the comparisons provably off inside the box despite
//! rounding), the second ANDs them, and is exactly constant inside the box and exactly 0
//! once the input is a band's width outside it; later hidden layers carry it on, and the
//! output layer adds `delta` times it. With ReLU that is `relu(l_i - s - x_i)`,
//! `relu(x_i - u_i - s)` and `relu(1 - K * sum)`; tanh, sigmoid and ELU use their exact
//! floors in `f32`, leaky ReLU pairs of neurons (the `indicator` module says how). A box that covers
//! the network's whole input domain needs no indicator: its offset goes into the output
//! bias.
//!
//! The offsets come from a linear program per box. For each disjunct of the unsafe region,
//! one of its constraints `r . y <= d` (the witness) must be violated by a margin everywhere
//! in the box: with `L` a sound lower bound of `r . y - d` over the box (the verifier's
//! symbolic bounds on sub-boxes, `f32` rounding included), `r . delta >= margin - L`
//! suffices. Sampled decisions inside the box are kept by hinge constraints (their
//! shortfall is penalised), and `|delta|` is minimised; every choice of witnesses is tried
//! and the offsets that change the fewest sampled decisions win. For a rule such as "never
//! advise a strong turn here", this raises the forbidden outputs' costs in the box: the
//! decisions that change are exactly the forbidden ones.
//!
//! Needs an output layer without activation and, for a box smaller than the domain, two
//! hidden layers with an activation first (ReLU, leaky ReLU, ELU, tanh or sigmoid).

use crate::network::{Activation, Network};
use crate::property::{InputBox, Property};
use crate::repair::certified::output_spread;
use crate::repair::certified::program::{Rows, Triplets};
use crate::repair::{setting_error, RepairError};
use crate::rng::SplitMix64;
use crate::sampling::sample_box;
use crate::tensor::{Array2, ArrayRef2, BatchGrow, BatchRows};
use crate::verify::bounds::{BoundMethod, BoundNetwork, Interval};
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use indicator::{build, Gate};
use serde::{Deserialize, Serialize};

/// The least band of a patch whose indicator is built from leaky ReLU pairs.
const LEAKY_BAND: f64 = 1e-3;

/// The least margin (a share of the outputs' spread) of such a patch.
const LEAKY_MARGIN: f64 = 1e-2;

/// Settings of the region patch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatchConfig {
    /// Width of the band outside each box where the patch fades out, relative to the
    /// widest input range (default 1e-4).
    pub band: f64,
    /// Margin by which every witness constraint must be violated, relative to the spread
    /// of the outputs (default 1e-3); it covers the `f32` rounding of the patched network.
    pub margin: f64,
    /// Times the bound of each witness over a box is refined by halving the sub-box where
    /// it is lowest (default 64; 0: the bound over the whole box).
    pub bound_splits: usize,
    /// Fresh uniform samples of each box whose decisions are kept (default 4,096).
    pub box_samples: usize,
    /// Kept samples per box in the linear program at most (default 4,000; all of them are
    /// counted when the offsets are compared).
    pub max_program_samples: usize,
    /// Witness choices tried per box at most (default 64); past it, only the constraint
    /// with the best bound of each disjunct.
    pub max_witness_choices: usize,
}

impl Default for PatchConfig {
    fn default() -> Self {
        PatchConfig {
            band: 1e-4,
            margin: 1e-3,
            bound_splits: 64,
            box_samples: 4096,
            max_program_samples: 4000,
            max_witness_choices: 64,
        }
    }
}

impl PatchConfig {
    /// Checks every setting.
    pub fn check(&self) -> Result<(), RepairError> {
        for (name, v) in [("band", self.band), ("margin", self.margin)] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(setting_error(
                    "patch",
                    name,
                    v,
                    "between 0 and 1 (exclusive)",
                ));
            }
        }
        if self.bound_splits > 1 << 16 {
            return Err(setting_error(
                "patch",
                "bound_splits",
                self.bound_splits,
                "at most 65536",
            ));
        }
        for (name, v, max) in [
            ("box_samples", self.box_samples, 1 << 20),
            ("max_program_samples", self.max_program_samples, 1 << 20),
            ("max_witness_choices", self.max_witness_choices, 1 << 12),
        ] {
            if v == 0 || v > max {
                return Err(setting_error(
                    "patch",
                    name,
                    v,
                    &format!("between 1 and {max}"),
                ));
            }
        }
        Ok(())
    }
}

/// What a region patch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchSummary {
    /// Boxes patched.
    pub boxes: usize,
    /// Of those, boxes covering the whole input domain (an offset of the output bias).
    pub whole_domain: usize,
    /// Neurons added to the hidden layers.
    pub neurons_added: usize,
    /// Kept sampled decisions inside the boxes, and how many of them the offsets change.
    pub kept: usize,
    /// Sampled decisions the offsets change (compared with the network patched).
    pub changed: usize,
    /// The offsets, per box (property order, then box order).
    pub offsets: Vec<Vec<f64>>,
    /// The patched network became the repair's result (a hand-over keeps the network it
    /// started from when the verifier does not prove the patched one).
    #[serde(default)]
    pub used: bool,
}

/// Why a network cannot take a region patch for these properties, if it cannot.
pub fn unsupported(net: &Network, properties: &[Property]) -> Option<String> {
    let layers = net.layers();
    let last = layers.last()?;
    if last.activation() != Activation::Identity {
        return Some(format!(
            "the region patch needs an output layer without activation; this network's applies {:?}",
            last.activation()
        ));
    }
    let domain = crate::measures::input_domain(net);
    let local = properties
        .iter()
        .flat_map(|p| &p.input_boxes)
        .any(|b| !covers(b, &domain));
    if !local {
        return None;
    }
    let hidden = &layers[..layers.len() - 1];
    if hidden.len() < 2 {
        return Some(format!(
            "the region patch needs two hidden layers to tell a box from the rest of the input domain; this network has {}",
            hidden.len()
        ));
    }
    for (i, layer) in hidden.iter().enumerate() {
        let fits = Gate::of(layer.activation()).is_some_and(|g| i >= 2 || g.compares());
        if !fits {
            return Some(format!(
                "the region patch needs ReLU, leaky ReLU, ELU, tanh or sigmoid in the first two hidden layers (any of those or none after them); hidden layer {} applies {:?}",
                i + 1,
                layer.activation()
            ));
        }
    }
    None
}

/// Whether the automatic method starts with the region patch: the network takes one and the
/// neurons it adds are at most half as many as the network's hidden neurons. A patch grows
/// with every box and changes nothing beyond them, so many boxes (a robustness repair of
/// fifty images) are better served by retraining, which also repairs inputs near them.
pub fn suits_auto(net: &Network, properties: &[Property]) -> bool {
    if unsupported(net, properties).is_some() {
        return false;
    }
    let layers = net.layers();
    let hidden = &layers[..layers.len() - 1];
    let hidden_neurons: usize = hidden.iter().map(|l| l.outputs()).sum();
    let domain = crate::measures::input_domain(net);
    let local_boxes = properties
        .iter()
        .flat_map(|p| &p.input_boxes)
        .filter(|b| !covers(b, &domain))
        .count();
    if local_boxes == 0 {
        // Offsets of the output bias only.
        return true;
    }
    // Leaky ReLU makes each comparison and the AND from a pair of neurons.
    let width = |l: usize| match Gate::of(hidden[l].activation()) {
        Some(Gate::Pair { .. }) => 2,
        _ => 1,
    };
    let per_box = 2 * net.input_size() * width(0) + width(1) + hidden.len().saturating_sub(2);
    2 * local_boxes * per_box <= hidden_neurons
}

fn covers(b: &InputBox, domain: &InputBox) -> bool {
    (0..domain.dims()).all(|i| {
        let slack = 1e-6 * (domain.upper[i] - domain.lower[i]);
        b.lower[i] <= domain.lower[i] + slack && b.upper[i] >= domain.upper[i] - slack
    })
}

/// One box and its offsets.
struct PatchedBox {
    input_box: InputBox,
    offsets: Vec<f64>,
    whole_domain: bool,
}

/// Patches `start` so that `properties` hold in their regions, keeping the decisions
/// `start` makes on `kept` (and on fresh samples of each box) where the properties allow.
/// The result is not verified here: the caller runs the verifier on it.
pub fn region_patch(
    start: &Network,
    properties: &[Property],
    kept: &ArrayRef2<f32>,
    config: &PatchConfig,
    seed: u64,
) -> Result<(Network, PatchSummary), RepairError> {
    let kept = &*crate::tensor::standard(kept);
    config.check()?;
    for p in properties {
        p.check_fits(start)?;
        if p.unsafe_region.disjuncts.iter().any(Vec::is_empty) {
            return Err(RepairError::Setting(format!(
                "property '{}' calls every output unsafe, so no repair can satisfy it",
                p.name
            )));
        }
    }
    if let Some(why) = unsupported(start, properties) {
        return Err(RepairError::Setting(why));
    }
    let domain = crate::measures::input_domain(start);
    let rule = start.meta().decision;
    let bounds_net = BoundNetwork::new(start);
    let kept_outputs = start.forward(kept)?;
    let spread = output_spread(&kept_outputs);
    // Leaky ReLU pairs: their rounding, as the verifier bounds it, also takes a share of
    // the offsets; a margin of 1e-3 of the spread left 3e-8 of a test box unproved, 1e-2
    // none.
    let leaky = matches!(
        Gate::of(start.layers()[0].activation()),
        Some(Gate::Pair { .. })
    );
    let margin = if leaky {
        config.margin.max(LEAKY_MARGIN)
    } else {
        config.margin
    } * spread;
    let mut rng = SplitMix64::new(seed ^ 0x7061_7463_6800);
    let mut patched = Vec::new();
    let mut summary = PatchSummary {
        boxes: 0,
        whole_domain: 0,
        neurons_added: 0,
        kept: 0,
        changed: 0,
        offsets: Vec::new(),
        used: false,
    };
    for property in properties {
        for input_box in &property.input_boxes {
            // Samples of the box whose decisions stay: the kept inputs inside it and fresh
            // ones, less those the start gets wrong (their decisions must change).
            let mut inside = Array2::zeros((0, start.input_size()));
            for x in kept.row_slices().filter(|x| input_box.contains(x)) {
                inside.push_slice(x).expect("input width");
            }
            inside
                .append_rows(&sample_box(&mut rng, input_box, config.box_samples))
                .expect("input width");
            let outputs = start.forward(&inside)?;
            let wrong = crate::property::negatives_of(properties, &inside, &outputs);
            let samples: Vec<(Vec<f64>, usize)> = outputs
                .row_slices()
                .zip(&wrong)
                .filter(|(_, &w)| !w)
                .filter_map(|(y, _)| {
                    let decision = rule.decide(y)?;
                    Some((y.iter().map(|&v| v as f64).collect(), decision))
                })
                .collect();
            let lowest = witness_bounds(&bounds_net, input_box, property, config.bound_splits);
            let (offsets, changed) =
                best_offsets(property, &lowest, &samples, margin, rule, config)?;
            summary.kept += samples.len();
            summary.changed += changed;
            summary.offsets.push(offsets.clone());
            let whole_domain = covers(input_box, &domain);
            summary.whole_domain += usize::from(whole_domain);
            patched.push(PatchedBox {
                input_box: input_box.clone(),
                offsets,
                whole_domain,
            });
        }
    }
    summary.boxes = patched.len();
    let widest = domain
        .widths()
        .into_iter()
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    // Leaky ReLU's neuron pairs cancel exactly in f32, but the verifier bounds their
    // rounding by their size, which grows with the ratio of box to band: a band of 1e-4
    // left 0.006 % of a small test box unproved, one of 1e-3 none.
    let band = if leaky {
        config.band.max(LEAKY_BAND)
    } else {
        config.band
    };
    let reach = band * widest;
    // The indicator's first layer compares inputs with the box widened by `slack`, more
    // than the f32 rounding of `l - x` (as the verifier bounds it), so that inside the box
    // those neurons are provably off and the indicator provably 1; it then fades to 0
    // over half the band.
    let largest = domain
        .lower
        .iter()
        .chain(&domain.upper)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let rounding_of_comparison =
        8.0 * (start.input_size() + 1) as f64 * f64::from(f32::EPSILON) * largest;
    // A saturating first layer scales the comparisons by (deep + 1) / slack, and their
    // rounding with them: it must stay under the unit of margin below the floor.
    let scaled = Gate::of(start.layers()[0].activation()).map_or(0.0, |g| g.deep_margin());
    let rounding_of_scaled = 8.0 * f64::from(f32::EPSILON) * scaled * largest;
    let slack = (0.5 * reach)
        .max(rounding_of_comparison)
        .max(rounding_of_scaled);
    let (net, added) = build(start, &patched, slack, 2.0 / reach)?;
    summary.neurons_added = added;
    Ok((net, summary))
}

/// Per disjunct and constraint of `property`, a sound lower bound of `r . y - d` over the
/// box: the least of the verifier's symbolic bounds over sub-boxes, refined `splits` times
/// per constraint where the bound is lowest (a loose bound only makes the offsets larger
/// than needed, never unsound).
fn witness_bounds(
    net: &BoundNetwork,
    input_box: &InputBox,
    property: &Property,
    splits: usize,
) -> Vec<Vec<f64>> {
    let lower_bound = |b: &InputBox, c: &crate::property::LinearConstraint| -> f64 {
        let interval = Interval::new(b.lower.clone(), b.upper.clone());
        let layers = net.layer_bounds(&interval, BoundMethod::Symbolic);
        let found = net.lower_bounds_of_outputs(
            &layers,
            &interval,
            std::slice::from_ref(&c.coefficients),
            &[c.rhs],
            BoundMethod::Symbolic,
        );
        // NaN (an unbounded output) counts as no bound at all.
        found
            .first()
            .map(|f| f.value)
            .filter(|v| !v.is_nan())
            .unwrap_or(f64::NEG_INFINITY)
    };
    property
        .unsafe_region
        .disjuncts
        .iter()
        .map(|conj| {
            conj.iter()
                .map(|c| {
                    let mut pieces = vec![(lower_bound(input_box, c), input_box.clone())];
                    for _ in 0..splits {
                        let worst = pieces
                            .iter()
                            .enumerate()
                            .fold(
                                (0, f64::INFINITY),
                                |b, (i, p)| {
                                    if p.0 < b.1 {
                                        (i, p.0)
                                    } else {
                                        b
                                    }
                                },
                            )
                            .0;
                        let (_, piece) = pieces.swap_remove(worst);
                        match halves(&piece) {
                            Some((low, high)) => {
                                pieces.push((lower_bound(&low, c), low));
                                pieces.push((lower_bound(&high, c), high));
                            }
                            None => {
                                pieces.push((lower_bound(&piece, c), piece));
                                break;
                            }
                        }
                    }
                    pieces.iter().map(|p| p.0).fold(f64::INFINITY, f64::min)
                })
                .collect()
        })
        .collect()
}

/// The box cut in two across its widest side (`None` for a point).
fn halves(b: &InputBox) -> Option<(InputBox, InputBox)> {
    let (dim, width) = b
        .widths()
        .into_iter()
        .enumerate()
        .fold((0, 0.0f64), |best, c| if c.1 > best.1 { c } else { best });
    if width <= 0.0 {
        return None;
    }
    let mid = 0.5 * (b.lower[dim] + b.upper[dim]);
    let (mut low, mut high) = (b.clone(), b.clone());
    low.upper[dim] = mid;
    high.lower[dim] = mid;
    Some((low, high))
}

/// Tries every choice of witnesses (one constraint per disjunct) and returns the offsets
/// that change the fewest sampled decisions (then the smallest), with that count.
fn best_offsets(
    property: &Property,
    lowest: &[Vec<f64>],
    samples: &[(Vec<f64>, usize)],
    margin: f64,
    rule: crate::network::DecisionRule,
    config: &PatchConfig,
) -> Result<(Vec<f64>, usize), RepairError> {
    let disjuncts = &property.unsafe_region.disjuncts;
    let choices: usize = disjuncts
        .iter()
        .map(Vec::len)
        .try_fold(1usize, |a, n| a.checked_mul(n))
        .unwrap_or(usize::MAX);
    let combos: Vec<Vec<usize>> = if choices <= config.max_witness_choices {
        (0..choices)
            .map(|mut k| {
                disjuncts
                    .iter()
                    .map(|conj| {
                        let c = k % conj.len();
                        k /= conj.len();
                        c
                    })
                    .collect()
            })
            .collect()
    } else {
        vec![lowest
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (c, &v)| if v > b.1 { (c, v) } else { b },
                    )
                    .0
            })
            .collect()]
    };
    // An evenly spread subset of the samples goes into the program; all are counted.
    let stride = samples.len().div_ceil(config.max_program_samples).max(1);
    let in_program: Vec<&(Vec<f64>, usize)> = samples.iter().step_by(stride).collect();
    let mut best: Option<(usize, f64, Vec<f64>)> = None;
    let mut reasons = Vec::new();
    for combo in combos {
        let witnesses: Vec<(&[f64], f64)> = combo
            .iter()
            .enumerate()
            .map(|(d, &c)| {
                (
                    disjuncts[d][c].coefficients.as_slice(),
                    margin - lowest[d][c],
                )
            })
            .collect();
        if witnesses.iter().any(|(_, need)| !need.is_finite()) {
            reasons.push("a witness has no finite bound over the box".to_string());
            continue;
        }
        let offsets = match solve_offsets(&witnesses, &in_program, rule, margin) {
            Ok(o) => o,
            Err(e) => {
                reasons.push(e);
                continue;
            }
        };
        // The program's answer is checked, not trusted: every witness must hold with
        // the offsets as they will be stored (f32). Offsets much smaller than the largest
        // are the interior-point solver's ties (raising one output or lowering another
        // costs the same): they are dropped where the witnesses hold without them and no
        // more sampled decisions change, since a lowered output may take decisions the
        // samples did not show.
        let holds = |offsets: &[f64]| {
            witnesses.iter().all(|(r, need)| {
                r.iter().zip(offsets).map(|(a, b)| a * b).sum::<f64>() >= *need - 0.5 * margin
            })
        };
        let mut stored: Vec<f64> = offsets.iter().map(|&v| v as f32 as f64).collect();
        if !holds(&stored) {
            reasons.push("the solver's offsets miss a witness".into());
            continue;
        }
        let changed_by = |offsets: &[f64]| {
            samples
                .iter()
                .filter(|(y, decision)| {
                    let shifted: Vec<f32> =
                        y.iter().zip(offsets).map(|(v, o)| (v + o) as f32).collect();
                    rule.decide(&shifted) != Some(*decision)
                })
                .count()
        };
        let mut changed = changed_by(&stored);
        let largest = stored.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for o in 0..stored.len() {
            let value = stored[o];
            if value != 0.0 && value.abs() < 1e-2 * largest {
                stored[o] = 0.0;
                let now = changed_by(&stored);
                if holds(&stored) && now <= changed {
                    changed = now;
                } else {
                    stored[o] = value;
                }
            }
        }
        let size: f64 = stored.iter().map(|v| v.abs()).sum();
        if best
            .as_ref()
            .is_none_or(|(c, s, _)| (changed, size) < (*c, *s))
        {
            best = Some((changed, size, stored));
        }
    }
    match best {
        Some((changed, _, offsets)) => Ok((offsets, changed)),
        None => Err(RepairError::Setting(format!(
            "no offsets make property '{}' hold in its box: {}",
            property.name,
            reasons.first().map_or("no witness to try", String::as_str)
        ))),
    }
}

/// The linear program of one box and one choice of witnesses: `r . delta >= need` for each
/// witness; for each sample, its decision ahead of every other output by a small margin
/// after the offsets, short by `s >= 0`; minimise `penalty * sum s + sum |delta|`.
fn solve_offsets(
    witnesses: &[(&[f64], f64)],
    samples: &[&(Vec<f64>, usize)],
    rule: crate::network::DecisionRule,
    margin: f64,
) -> Result<Vec<f64>, String> {
    let outputs = witnesses.first().map_or(0, |(r, _)| r.len());
    // Variables: delta (outputs), t >= |delta| (outputs), one shortfall per sample.
    let (delta, t, first_s) = (0, outputs, 2 * outputs);
    let n = first_s + samples.len();
    let mut rows = Rows::default();
    for (r, need) in witnesses {
        let row: Vec<(usize, f64)> = r
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0.0)
            .map(|(o, &c)| (delta + o, -c))
            .collect();
        rows.less.push((row, -need));
    }
    for o in 0..outputs {
        rows.less.push((vec![(delta + o, 1.0), (t + o, -1.0)], 0.0));
        rows.less
            .push((vec![(delta + o, -1.0), (t + o, -1.0)], 0.0));
    }
    // Argmin: y_c + delta_c <= y_o + delta_o - m; argmax mirrored.
    let sign = match rule {
        crate::network::DecisionRule::Argmin => 1.0,
        crate::network::DecisionRule::Argmax => -1.0,
    };
    let keep_margin = 1e-3 * margin;
    for (k, (y, c)) in samples.iter().enumerate() {
        let s = first_s + k;
        rows.less.push((vec![(s, -1.0)], 0.0));
        for o in (0..outputs).filter(|o| o != c) {
            rows.less.push((
                vec![(delta + *c, sign), (delta + o, -sign), (s, -1.0)],
                sign * (y[o] - y[*c]) - keep_margin,
            ));
        }
    }
    let mut q = vec![0.0; n];
    for v in &mut q[t..t + outputs] {
        *v = 1.0;
    }
    for v in &mut q[first_s..] {
        *v = 100.0;
    }
    let m = rows.less.len();
    let mut a = Triplets::default();
    let mut b = Vec::with_capacity(m);
    for (r, (row, rhs)) in rows.less.iter().enumerate() {
        for &(v, c) in row {
            a.add(r, v, c);
        }
        b.push(*rhs);
    }
    let a = a.into_csc(m, n);
    let p = Triplets::default().into_csc(n, n);
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(200)
        .presolve_enable(false)
        .build()
        .map_err(|e| format!("solver settings: {e}"))?;
    let cones = [SupportedConeT::NonnegativeConeT(m)];
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
        .map_err(|e| format!("the offsets' program is malformed: {e}"))?;
    solver.solve();
    let status = solver.solution.status;
    if !matches!(status, SolverStatus::Solved | SolverStatus::AlmostSolved) {
        return Err(format!("the solver stopped without offsets ({status:?})"));
    }
    Ok(solver.solution.x[delta..delta + outputs].to_vec())
}

mod indicator;

#[cfg(test)]
mod tests;
