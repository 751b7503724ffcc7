//! Retraining by behaviour imitation (method.md, section 3), with the prototype's weak
//! points fixed.
//!
//! Every negative gets as its target the output of the positive whose output is nearest
//! (Euclidean), chosen only among positives whose outputs are safe *with a margin*, so that
//! imitating them does not land on the boundary. All weights are trained on
//! `alpha * MSE(N(x-), target) + beta * MSE(N(x+), N_original(x+))` (plus hinges, below) by
//! mini-batch Adam with steps relative to each layer's weights, in rounds (SGD with one
//! learning rate, tuned on ACAS Xu, wrecked classifiers whose logits are tens apart). After
//! each round the candidate is judged on validation data by violations *and* fidelity
//! (decisions kept); a round that loses fidelity is rolled back and the learning rate
//! shrinks; the best candidate, not the last, is kept. Then the falsifier searches it, and
//! what it finds is learnt in further rounds.
//!
//! The nearest-output search is chunked (no distance matrix): memory is linear in the data.

use super::interval_hinge::IntervalHinge;
use super::{Phase, RepairData, RepairError, RepairProgress, Validation};
use crate::measures::Rate;
use crate::network::{DecisionRule, LayerGradient, Network, NetworkMeta};
use crate::property::Property;
use crate::rng::SplitMix64;
use crate::tensor::{Array2, ArrayRef2, BatchGrow, BatchRows, BatchRowsMut};
use serde::{Deserialize, Serialize};

/// Settings of retraining. Defaults are documented on each field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetrainConfig {
    /// Adam's step size (default 0.01), as a share of each trained layer's root-mean-square
    /// weight: scale-free, so one value suits ACAS Xu (outputs 1e-3 apart) and
    /// cross-entropy classifiers (logits tens apart).
    pub learning_rate: f64,
    /// Decay of Adam's first moment (default 0.9, the prototype's SGD momentum).
    pub momentum: f64,
    /// Negatives per mini-batch; as many positives join them (default 64).
    pub batch_size: usize,
    /// Passes over the negatives per round (default 4).
    pub epochs_per_round: usize,
    /// Rounds at most (default 30).
    pub max_rounds: usize,
    /// Weight of the imitation term (default 0.5).
    pub alpha: f64,
    /// Weight of the preservation term (default 0.5).
    pub beta: f64,
    /// Positives whose safety margin is below this quantile of all positives' margins are
    /// not imitated (default 0.25): targets keep a margin from the unsafe set.
    pub target_margin_quantile: f64,
    /// Counterexamples must end this far inside the safe set, as a share of the imitation
    /// targets' margin (default 0.25): a hinge term pushes them there.
    pub safety_margin: f64,
    /// Weight of that hinge term (default 1.0; 0 is the paper's pure imitation).
    pub hinge_weight: f64,
    /// Weight of the decision-keeping hinge on positives (default 1.0): each positive's
    /// original winner must stay ahead of every other output by half its original lead.
    pub decision_weight: f64,
    /// A round whose validation fidelity drops more than this below the previous
    /// candidate's is rolled back (default 0.002).
    pub max_fidelity_drop: f64,
    /// Learning-rate factor after a rollback (default 0.8, as the prototype).
    pub rollback_decay: f64,
    /// Stop after this many rounds in a row without violations and without a better
    /// candidate (default 3).
    pub patience: usize,
    /// Train only the last this many layers (default 1, the output layer; 0: every layer).
    /// When training ends with validation counterexamples left, the session retrains with
    /// one more layer, up to all of them.
    pub trainable_layers: usize,
    /// Mini-batches per `step()` call (default 8): bounds the work of one step.
    pub batches_per_step: usize,
    /// When training ends, the falsifier searches the candidate; what it finds is learnt
    /// and training goes on, at most this many times (default 3; 0: no search). Applies to
    /// the retrain method; domain-wise repair has its own certification loop.
    pub falsifier_rounds: usize,
    /// Weight of the certified-training hinge (default 0: off). Each property box is
    /// bounded by interval arithmetic, and every unsafe disjunct's bound must clear the
    /// safety margin; a box short of that counts as a violation, so training goes on until
    /// every box is certified this way (or `max_rounds`). Worth it for small boxes that
    /// must be proved (image balls); on wide boxes the bounds are too loose to help.
    pub interval_weight: f64,
    /// Guard searches at most (default 0). When the falsifier finds nothing left in the
    /// properties' regions, it searches the session's guard regions
    /// ([`super::RepairSession::set_guards`]: where the original behaves well, e.g. the
    /// balls of the training images); inputs where the candidate breaks a guard the
    /// original keeps become positives, imitating the original there, and training goes on.
    pub guard_rounds: usize,
    /// Falsifier starts per guard region in each guard search (default 8).
    pub guard_starts: usize,
}

impl Default for RetrainConfig {
    fn default() -> Self {
        RetrainConfig {
            learning_rate: 0.01,
            momentum: 0.9,
            batch_size: 64,
            epochs_per_round: 4,
            max_rounds: 30,
            alpha: 0.5,
            beta: 0.5,
            target_margin_quantile: 0.25,
            safety_margin: 0.25,
            hinge_weight: 1.0,
            decision_weight: 1.0,
            max_fidelity_drop: 0.002,
            rollback_decay: 0.8,
            patience: 3,
            batches_per_step: 8,
            trainable_layers: 1,
            falsifier_rounds: 3,
            interval_weight: 0.0,
            guard_rounds: 0,
            guard_starts: 8,
        }
    }
}

impl RetrainConfig {
    /// Checks every setting, naming the first bad one.
    pub fn check(&self) -> Result<(), RepairError> {
        let bad = |name: &str, value: String, expected: &str| {
            Err(super::setting_error("retrain", name, value, expected))
        };
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "a positive number",
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("momentum", self.momentum.to_string(), "a number in [0, 1)");
        }
        for (name, v) in [
            ("batch_size", self.batch_size),
            ("epochs_per_round", self.epochs_per_round),
            ("max_rounds", self.max_rounds),
            ("batches_per_step", self.batches_per_step),
            ("guard_starts", self.guard_starts),
        ] {
            if v == 0 {
                return bad(name, v.to_string(), "at least 1");
            }
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, v.to_string(), "a non-negative number");
            }
        }
        if !(0.0..1.0).contains(&self.target_margin_quantile) {
            return bad(
                "target_margin_quantile",
                self.target_margin_quantile.to_string(),
                "a number in [0, 1)",
            );
        }
        for (name, v) in [
            ("safety_margin", self.safety_margin),
            ("hinge_weight", self.hinge_weight),
            ("decision_weight", self.decision_weight),
            ("interval_weight", self.interval_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, v.to_string(), "a non-negative number");
            }
        }
        if !(self.rollback_decay > 0.0 && self.rollback_decay <= 1.0) {
            return bad(
                "rollback_decay",
                self.rollback_decay.to_string(),
                "a number in (0, 1]",
            );
        }
        if !(self.max_fidelity_drop.is_finite() && self.max_fidelity_drop >= 0.0) {
            return bad(
                "max_fidelity_drop",
                self.max_fidelity_drop.to_string(),
                "a non-negative number",
            );
        }
        Ok(())
    }
}

/// Safety margin of an output for every property at once (ignoring preconditions): how far
/// it is from being unsafe for any of them. Positive means safe.
pub(crate) fn output_safety_margin(properties: &[Property], y: &[f32]) -> f64 {
    properties
        .iter()
        .map(|p| p.unsafe_region.violation_margin(y).0)
        .fold(f64::INFINITY, f64::min)
}

/// For every row of `queries`, the row of `candidates` nearest to it (squared Euclidean),
/// computed in chunks so that memory stays linear.
pub(crate) fn nearest_rows(queries: &ArrayRef2<f32>, candidates: &ArrayRef2<f32>) -> Vec<usize> {
    const CHUNK: usize = 256;
    let mut best = vec![(f32::INFINITY, 0usize); queries.nrows()];
    // Plain slices in the loops: a row lookup per distance would check the layout each time,
    // and the distances are only as long as the input (5 for ACAS Xu).
    let (cols, all) = (candidates.ncols(), candidates.flat());
    for start in (0..candidates.nrows()).step_by(CHUNK) {
        let end = (start + CHUNK).min(candidates.nrows());
        for (qr, slot) in queries.row_slices().zip(best.iter_mut()) {
            for c in start..end {
                let d: f32 = qr
                    .iter()
                    .zip(&all[c * cols..(c + 1) * cols])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                if d < slot.0 {
                    *slot = (d, c);
                }
            }
        }
    }
    best.into_iter().map(|(_, c)| c).collect()
}

/// A retraining run in progress.
pub struct Retrainer {
    config: RetrainConfig,
    /// The current candidate (frozen layers and the trained tail), synchronised at the end
    /// of every round.
    net: Network,
    /// The layers being trained.
    tail: Network,
    frozen: usize,
    /// Inputs of the tail for every training negative and positive.
    neg_features: Array2<f32>,
    pos_features: Array2<f32>,
    best: Network,
    /// (validation violations, boxes the interval bounds leave uncertified, decisions
    /// lost): fewer is better, in that order.
    best_score: (usize, usize, usize),
    previous: Network,
    previous_score: (usize, usize, usize),
    /// Decisions the start loses on validation data (zero unless the start is a previous
    /// repair): what the certified-training budget is measured from.
    start_lost: usize,
    negatives: Array2<f32>,
    targets: Array2<f32>,
    positives: Array2<f32>,
    positive_outputs: Array2<f32>,
    decision: DecisionRule,
    output_scale: f32,
    properties: Vec<Property>,
    /// Required safety margin of repaired counterexamples, in output units.
    margin: f64,
    /// Adam's first and second moments of the gradient, and its step count.
    velocity: Vec<LayerGradient>,
    second_moment: Vec<LayerGradient>,
    adam_steps: usize,
    /// Root mean square of each trained layer's weights at the start: the unit of its steps.
    layer_scale: Vec<f32>,
    learning_rate: f64,
    rng: SplitMix64,
    neg_order: Vec<usize>,
    pos_order: Vec<usize>,
    neg_cursor: usize,
    pos_cursor: usize,
    batches_this_round: usize,
    round: usize,
    calm_rounds: usize,
    last_loss: f64,
    last_validation: Option<(Rate, Rate)>,
    /// The certified-training term, when `interval_weight` is positive.
    interval: Option<IntervalHinge>,
    done: bool,
}

impl Retrainer {
    /// Prepares the targets and the optimiser. `start` is the network to train from (the
    /// original, or a previous repair when the PAC loop repairs again).
    pub fn new(
        config: RetrainConfig,
        original: &Network,
        start: &Network,
        properties: &[Property],
        data: &RepairData,
        validation: &Validation,
        seed: u64,
    ) -> Result<Self, RepairError> {
        config.check()?;
        let (negatives, positives) = (&data.negatives, &data.positives);
        if negatives.nrows() == 0 {
            return Err(RepairError::NothingToRepair);
        }
        let positive_outputs = original.forward(positives)?;
        // Imitation targets: outputs of positives that are safe with a margin for the
        // properties that apply to the counterexample (those whose precondition holds at
        // it). Properties about other regions may demand other decisions; requiring an
        // output safe for all of them at once can ask the impossible.
        let negative_outputs = original.forward(negatives)?;
        let mut groups: std::collections::BTreeMap<Vec<bool>, Vec<usize>> = Default::default();
        for r in 0..negatives.nrows() {
            let mut applies: Vec<bool> = properties
                .iter()
                .map(|p| p.precondition_holds(negatives.row_slice(r)))
                .collect();
            if !applies.contains(&true) {
                applies.iter_mut().for_each(|a| *a = true);
            }
            groups.entry(applies).or_default().push(r);
        }
        let mut targets = Array2::zeros((negatives.nrows(), positive_outputs.ncols()));
        let mut threshold = f64::INFINITY;
        for (applies, rows) in &groups {
            let group: Vec<Property> = properties
                .iter()
                .zip(applies)
                .filter(|(_, &a)| a)
                .map(|(p, _)| p.clone())
                .collect();
            let margins: Vec<f64> = positive_outputs
                .row_slices()
                .map(|y| output_safety_margin(&group, y))
                .collect();
            let mut safe: Vec<f64> = margins.iter().copied().filter(|m| *m > 0.0).collect();
            if safe.is_empty() {
                return Err(RepairError::NoSafeBehaviour);
            }
            safe.sort_by(f64::total_cmp);
            let group_threshold =
                safe[((safe.len() - 1) as f64 * config.target_margin_quantile) as usize];
            threshold = threshold.min(group_threshold);
            // Imitate behaviour from the property regions when there is any: far-away inputs
            // (drawn to keep the rest of the domain) behave for other reasons.
            let in_region: Vec<bool> = (0..positives.nrows())
                .map(|r| {
                    group
                        .iter()
                        .any(|p| p.precondition_holds(positives.row_slice(r)))
                })
                .collect();
            let any_in_region =
                (0..positives.nrows()).any(|r| in_region[r] && margins[r] >= group_threshold);
            let candidates: Vec<usize> = (0..positives.nrows())
                .filter(|&r| margins[r] >= group_threshold && margins[r] > 0.0)
                .filter(|&r| in_region[r] || !any_in_region)
                .collect();
            let candidate_outputs = positive_outputs.select_rows(&candidates);
            let nearest = nearest_rows(&negative_outputs.select_rows(rows), &candidate_outputs);
            for (&r, &c) in rows.iter().zip(&nearest) {
                targets
                    .row_slice_mut(r)
                    .copy_from_slice(candidate_outputs.row_slice(c));
            }
        }

        // The loss is measured in units of the outputs' spread, so that one learning rate
        // suits networks whose outputs are tiny (ACAS Xu: about 1e-3 apart) or large.
        let m = positive_outputs.ncols().max(1);
        let mut mean = vec![0.0f64; m];
        for y in positive_outputs.row_slices() {
            for (a, v) in mean.iter_mut().zip(y) {
                *a += *v as f64;
            }
        }
        let n = positive_outputs.nrows().max(1) as f64;
        mean.iter_mut().for_each(|v| *v /= n);
        let mut var = 0.0f64;
        for y in positive_outputs.row_slices() {
            for (a, v) in mean.iter().zip(y) {
                var += (*v as f64 - a).powi(2);
            }
        }
        let spread = (var / (n * m as f64)).sqrt();
        let output_scale = if spread > 1e-12 { spread as f32 } else { 1.0 };

        // Layers before `frozen` do not change: their outputs are computed once, and
        // training runs on the remaining tail only.
        let layers = start.layers().len();
        let frozen = match config.trainable_layers {
            0 => 0,
            k => layers.saturating_sub(k),
        };
        let tail = tail_of(start, frozen)?;
        let neg_features = start.forward_trace(negatives)?.post[frozen].clone();
        let pos_features = start.forward_trace(positives)?.post[frozen].clone();
        let velocity = tail.zero_gradients();
        let second_moment = velocity.clone();
        let layer_scale = tail
            .layers()
            .iter()
            .map(|l| {
                let w = l.weights();
                let rms = (w.iter().map(|v| v * v).sum::<f32>() / w.len().max(1) as f32).sqrt();
                if rms.is_finite() && rms > 0.0 {
                    rms
                } else {
                    1.0
                }
            })
            .collect();
        let mut rng = SplitMix64::new(seed);
        let neg_order = shuffled(&mut rng, negatives.nrows());
        let pos_order = shuffled(&mut rng, positives.nrows());
        let safety_margin = config.safety_margin * threshold;
        let interval = if config.interval_weight > 0.0 {
            IntervalHinge::new(properties, &start.layers()[..frozen], &tail)
        } else {
            None
        };
        let start_fidelity = validation.fidelity(start)?;
        let start_lost = start_fidelity.total - start_fidelity.count;
        let start_score = (
            validation.violations(start)?.count,
            interval
                .as_ref()
                .map_or(0, |h| h.uncertified(&tail, safety_margin as f32)),
            start_lost,
        );
        Ok(Retrainer {
            learning_rate: config.learning_rate,
            config,
            net: start.clone(),
            tail,
            frozen,
            neg_features,
            pos_features,
            best: start.clone(),
            best_score: start_score,
            previous: start.clone(),
            previous_score: start_score,
            start_lost,
            negatives: negatives.clone(),
            targets,
            positives: positives.clone(),
            positive_outputs,
            decision: original.meta().decision,
            output_scale,
            properties: properties.to_vec(),
            margin: safety_margin,
            velocity,
            second_moment,
            adam_steps: 0,
            layer_scale,
            rng,
            neg_order,
            pos_order,
            neg_cursor: 0,
            pos_cursor: 0,
            batches_this_round: 0,
            round: 0,
            calm_rounds: 0,
            last_loss: f64::NAN,
            last_validation: None,
            interval,
            done: false,
        })
    }

    fn batches_per_round(&self) -> usize {
        let per_epoch = self.negatives.nrows().div_ceil(self.config.batch_size);
        per_epoch * self.config.epochs_per_round
    }

    fn next_indices(
        order: &mut Vec<usize>,
        cursor: &mut usize,
        count: usize,
        rng: &mut SplitMix64,
    ) -> Vec<usize> {
        let mut out = Vec::with_capacity(count);
        if order.is_empty() {
            return out;
        }
        while out.len() < count {
            if *cursor >= order.len() {
                *order = shuffled(rng, order.len());
                *cursor = 0;
            }
            out.push(order[*cursor]);
            *cursor += 1;
        }
        out
    }

    /// One mini-batch of Adam; returns the batch loss.
    fn train_batch(&mut self) -> f64 {
        let b = self.config.batch_size.min(self.negatives.nrows()).max(1);
        let neg_idx =
            Self::next_indices(&mut self.neg_order, &mut self.neg_cursor, b, &mut self.rng);
        let pos_count = if self.positives.nrows() == 0 { 0 } else { b };
        let pos_idx = Self::next_indices(
            &mut self.pos_order,
            &mut self.pos_cursor,
            pos_count,
            &mut self.rng,
        );
        let x = self.negatives.select_rows(&neg_idx);
        let mut features = self.neg_features.select_rows(&neg_idx);
        features
            .append_rows(&self.pos_features.select_rows(&pos_idx))
            .expect("same width");
        let mut wanted = self.targets.select_rows(&neg_idx);
        wanted
            .append_rows(&self.positive_outputs.select_rows(&pos_idx))
            .expect("same width");
        let trace = self
            .tail
            .forward_trace(&features)
            .expect("features fit the tail");
        let y = trace.output();
        let m = y.ncols() as f32;
        let s2 = self.output_scale * self.output_scale;
        let mut d_out = Array2::zeros((y.nrows(), y.ncols()));
        let mut loss = 0.0f64;
        for r in 0..y.nrows() {
            let (weight, count) = if r < neg_idx.len() {
                (self.config.alpha as f32, neg_idx.len() as f32)
            } else {
                (self.config.beta as f32, pos_idx.len() as f32)
            };
            let k = weight / (count * m * s2);
            for ((g, &a), &t) in d_out
                .row_slice_mut(r)
                .iter_mut()
                .zip(y.row_slice(r))
                .zip(wanted.row_slice(r))
            {
                let diff = a - t;
                loss += (k * diff * diff) as f64;
                *g = 2.0 * k * diff;
            }
        }
        // Decisions of positives: the original winner must stay ahead of every other output
        // by half its original lead. Matching outputs (MSE) is only a proxy for this.
        let keep =
            self.config.decision_weight as f32 / (pos_idx.len().max(1) as f32 * self.output_scale);
        if keep > 0.0 {
            let rule = self.decision;
            for (k, &p) in pos_idx.iter().enumerate() {
                let r = neg_idx.len() + k;
                let original = self.positive_outputs.row_slice(p);
                let Some(win) = rule.decide(original) else {
                    continue;
                };
                let sign = match rule {
                    DecisionRule::Argmax => 1.0f32,
                    DecisionRule::Argmin => -1.0,
                };
                for j in 0..original.len() {
                    if j == win {
                        continue;
                    }
                    // lead > 0 while the winner is ahead of output j.
                    let wanted_lead = 0.5 * sign * (original[win] - original[j]);
                    let lead = sign * (y.row_slice(r)[win] - y.row_slice(r)[j]);
                    if lead < wanted_lead {
                        loss += (keep * (wanted_lead - lead)) as f64;
                        let g = d_out.row_slice_mut(r);
                        g[win] -= keep * sign;
                        g[j] += keep * sign;
                    }
                }
            }
        }
        // Hinge: every disjunct of every unsafe region must be left by a margin, through its
        // most nearly broken constraint.
        let hinge = self.config.hinge_weight as f32 / (neg_idx.len() as f32 * self.output_scale);
        if hinge > 0.0 {
            for r in 0..neg_idx.len() {
                let (x_r, y_r) = (x.row_slice(r), y.row_slice(r));
                for p in self.properties.iter().filter(|p| p.precondition_holds(x_r)) {
                    for conj in &p.unsafe_region.disjuncts {
                        let Some((slack, c)) = conj
                            .iter()
                            .map(|c| (c.slack(y_r), c))
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                        else {
                            continue;
                        };
                        if slack < self.margin {
                            loss += (hinge as f64) * (self.margin - slack);
                            for (g, &k) in d_out.row_slice_mut(r).iter_mut().zip(&c.coefficients) {
                                *g -= hinge * k as f32;
                            }
                        }
                    }
                }
            }
        }
        let mut grads = self.tail.parameter_gradients(&trace, &d_out);
        if let Some(interval) = &self.interval {
            let weight =
                self.config.interval_weight as f32 / (interval.len() as f32 * self.output_scale);
            loss += interval.add_gradient(&self.tail, self.margin as f32, weight, &mut grads);
        }
        // Adam: every parameter moves about `learning_rate` times its layer's typical weight
        // per step, whatever the scale of the outputs or of the features feeding the layer
        // (ACAS Xu's outputs differ by 1e-3, a cross-entropy classifier's by tens).
        self.adam_steps += 1;
        let beta1 = self.config.momentum as f32;
        let beta2 = 0.999f32;
        let t = self.adam_steps.min(i32::MAX as usize) as i32;
        let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
        let mut step = Vec::with_capacity(grads.len());
        for (((m, v), g), &typical) in self
            .velocity
            .iter_mut()
            .zip(&mut self.second_moment)
            .zip(&grads)
            .zip(&self.layer_scale)
        {
            let lr = self.learning_rate as f32 * typical;
            let update = |m: &mut [f32], v: &mut [f32], g: &[f32]| -> Vec<f32> {
                m.iter_mut()
                    .zip(v.iter_mut())
                    .zip(g)
                    .map(|((mi, vi), &gi)| {
                        *mi = beta1 * *mi + (1.0 - beta1) * gi;
                        *vi = beta2 * *vi + (1.0 - beta2) * gi * gi;
                        let denom = (*vi / c2).sqrt() + f32::MIN_POSITIVE.sqrt();
                        -lr * (*mi / c1) / denom
                    })
                    .collect()
            };
            step.push(LayerGradient {
                weights: update(&mut m.weights, &mut v.weights, &g.weights),
                bias: update(&mut m.bias, &mut v.bias, &g.bias),
            });
        }
        self.tail.add_scaled(&step, 1.0);
        loss
    }

    fn end_round(&mut self, validation: &Validation) -> Result<(), RepairError> {
        self.round += 1;
        self.batches_this_round = 0;
        for (i, layer) in self.tail.layers().iter().enumerate() {
            self.net.layers_mut()[self.frozen + i] = layer.clone();
        }
        if self.net.validate().is_err() {
            // Diverged (non-finite weights): back to the previous candidate, smaller steps.
            self.net = self.previous.clone();
            self.tail = tail_of(&self.net, self.frozen)?;
            self.learning_rate *= self.config.rollback_decay;
            self.reset_velocity();
            self.calm_rounds = 0;
            self.done = self.round >= self.config.max_rounds;
            return Ok(());
        }
        let violations = validation.violations(&self.net)?;
        let fidelity = validation.fidelity(&self.net)?;
        self.last_validation = Some((violations, fidelity));
        let lost = fidelity.total - fidelity.count;
        let tolerance = (self.config.max_fidelity_drop * fidelity.total as f64).ceil() as usize;
        // Boxes the interval bounds do not certify yet are the next thing to fix, after real
        // counterexamples; but certification never pays for more than `max_fidelity_drop`
        // of the decisions in all: beyond that budget a candidate counts as certifying
        // nothing (a certified network that lost its accuracy is not a repair).
        let uncertified = self.interval.as_ref().map_or(0, |h| {
            if lost > self.start_lost + tolerance {
                h.pairs()
            } else {
                h.uncertified(&self.tail, self.margin as f32)
            }
        });
        let score = (violations.count, uncertified, lost);
        if score < self.best_score {
            self.best_score = score;
            self.best = self.net.clone();
            self.calm_rounds = 0;
        } else if self.best_score.0 == 0 {
            self.calm_rounds += 1;
        }
        // A round is kept when it fixes more counterexamples, or when it keeps fidelity
        // within the tolerance; otherwise it is rolled back with a smaller learning rate.
        // Certifying more boxes alone does not pay for lost decisions.
        if violations.count < self.previous_score.0 || lost <= self.previous_score.2 + tolerance {
            self.previous = self.net.clone();
            self.previous_score = score;
        } else {
            self.net = self.previous.clone();
            self.tail = tail_of(&self.net, self.frozen)?;
            self.learning_rate *= self.config.rollback_decay;
            self.reset_velocity();
        }
        self.done =
            self.round >= self.config.max_rounds || self.calm_rounds >= self.config.patience;
        Ok(())
    }

    fn reset_velocity(&mut self) {
        self.adam_steps = 0;
        for v in self.velocity.iter_mut().chain(&mut self.second_moment) {
            v.weights.iter_mut().for_each(|x| *x = 0.0);
            v.bias.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// A bounded slice of training: `batches_per_step` mini-batches, and the round's
    /// evaluation when the round ends.
    pub fn step(&mut self, validation: &Validation) -> Result<RepairProgress, RepairError> {
        if !self.done {
            let mut loss = 0.0;
            let mut batches = 0;
            while batches < self.config.batches_per_step
                && self.batches_this_round < self.batches_per_round()
            {
                loss += self.train_batch();
                batches += 1;
                self.batches_this_round += 1;
            }
            if batches > 0 {
                self.last_loss = loss / batches as f64;
            }
            if self.batches_this_round >= self.batches_per_round() {
                self.end_round(validation)?;
            }
        }
        let (violations, fidelity) = match self.last_validation {
            Some(v) => v,
            None => (
                validation.violations(&self.best)?,
                validation.fidelity(&self.best)?,
            ),
        };
        Ok(RepairProgress {
            phase: if self.done {
                Phase::Done
            } else {
                Phase::Training
            },
            iteration: self.round,
            max_iterations: self.config.max_rounds,
            cost: self.last_loss,
            violations,
            fidelity,
            elapsed_ms: 0.0,
            done: self.done,
        })
    }

    /// Whether training has stopped.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The best candidate so far (fewest validation violations, then most fidelity).
    pub fn best(&self) -> &Network {
        &self.best
    }

    /// Rounds completed.
    pub fn rounds(&self) -> usize {
        self.round
    }
}

/// Layers `from..` of a network as a network of their own.
fn tail_of(net: &Network, from: usize) -> Result<Network, RepairError> {
    let layers = net.layers()[from..].to_vec();
    let meta = NetworkMeta::generic(layers[0].inputs(), net.output_size());
    Ok(Network::new(layers, meta)?)
}

fn shuffled(rng: &mut SplitMix64, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_weight_must_be_a_non_negative_number() {
        assert!(RetrainConfig::default().check().is_ok());
        for set in [
            |c: &mut RetrainConfig| c.decision_weight = -1.0,
            |c: &mut RetrainConfig| c.hinge_weight = f64::NAN,
            |c: &mut RetrainConfig| c.beta = -0.5,
        ] {
            let mut config = RetrainConfig::default();
            set(&mut config);
            let e = config.check().unwrap_err().to_string();
            assert!(e.contains("expected a non-negative number"), "{e}");
        }
        let config = RetrainConfig {
            decision_weight: -1.0,
            ..Default::default()
        };
        assert!(config
            .check()
            .unwrap_err()
            .to_string()
            .contains("decision_weight"));
    }

    #[test]
    fn nearest_rows_matches_brute_force() {
        let mut rng = SplitMix64::new(2);
        let mut rows = |n: usize| {
            let v: Vec<Vec<f32>> = (0..n)
                .map(|_| (0..3).map(|_| rng.next_f64() as f32).collect())
                .collect();
            crate::tensor::from_rows(&v).unwrap()
        };
        let q = rows(40);
        let c = rows(700);
        let got = nearest_rows(&q, &c);
        for (i, &g) in got.iter().enumerate() {
            let d = |j: usize| -> f32 {
                q.row_slice(i)
                    .iter()
                    .zip(c.row_slice(j))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum()
            };
            assert!((0..c.nrows()).all(|j| d(g) <= d(j)));
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let c = RetrainConfig {
            momentum: 1.5,
            ..Default::default()
        };
        assert!(c.check().unwrap_err().to_string().contains("momentum"));
        assert!(RetrainConfig::default().check().is_ok());
    }
}
