//! Certified last-layer repair: the hidden layers stay frozen and the last layer is solved
//! for, by a quadratic program whose constraints make every property hold on every cell of a
//! partition of its region (see [`program`]). What the solver returns is never trusted: each
//! cell is re-checked with the verifier's sound bounds on the repaired network, and cells
//! the program could not certify, or that fail the re-check, are split and the program is
//! solved again.
//!
//! Works from any start (the original network, or what another method produced): the
//! objective fits the *original* network's outputs on kept samples, so a start whose hidden
//! layers moved is pulled back towards the original decisions.

mod cells;
pub(crate) mod program;

use crate::network::{Activation, DenseLayer, Network};
use crate::property::Property;
use crate::repair::{setting_error, RepairError};
use crate::tensor::{Array2, ArrayRef2, BatchRows};
use crate::verify::bounds::{BoundNetwork, Interval};
use crate::verify::{overall, Verifier, VerifyConfig, VerifyStatus};
use cells::{Cell, FeatureMap};
use program::{KeptDecision, Objective, Requirement, Weights};
use serde::{Deserialize, Serialize};

/// Settings of certified last-layer repair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CertifiedConfig {
    /// Cells each input box is cut into before the first solve (default 64).
    pub initial_cells: usize,
    /// Most cells in all (default 20,000): past it, the repair stops uncertified.
    pub max_cells: usize,
    /// Most programs solved (default 8).
    pub max_rounds: usize,
    /// Margin every witness constraint must be violated by, relative to the spread of the
    /// original outputs (default 1e-3): it covers the `f32` rounding of the new layer.
    pub margin: f64,
    /// Weight of the change of the last layer, `||[W b] - start||^2`, relative to the fit
    /// of the original outputs (default 1e-4).
    pub ridge: f64,
    /// How much a kept decision's shortfall costs, relative to the output fit (default 100).
    pub decision_weight: f64,
    /// Kept samples whose decisions may be protected by hinge constraints at most (default
    /// 2,000): each round adds the ones the last solution flipped.
    pub max_protected: usize,
    /// Interior-point iterations per solve at most (default 200).
    pub solver_iterations: u32,
    /// Boxes the verifier may examine per property on each candidate (default 20,000).
    pub verify_boxes: usize,
    /// Programs solved after the first proved candidate, each protecting the decisions the
    /// last one changed (default 3).
    pub fidelity_rounds: usize,
    /// Share of its original margin a protected decision must keep over the runner-up
    /// (default 0.5): protecting a sample with room around it protects its neighbours too.
    pub kept_margin_share: f64,
}

impl Default for CertifiedConfig {
    fn default() -> Self {
        CertifiedConfig {
            initial_cells: 64,
            max_cells: 20_000,
            max_rounds: 8,
            margin: 1e-3,
            ridge: 1e-4,
            decision_weight: 1000.0,
            max_protected: 10_000,
            solver_iterations: 200,
            verify_boxes: 20_000,
            fidelity_rounds: 3,
            kept_margin_share: 0.5,
        }
    }
}

impl CertifiedConfig {
    /// Checks every setting.
    pub fn check(&self) -> Result<(), RepairError> {
        let e = |name: &str, value: String, expected: &str| {
            Err(setting_error("certified", name, value, expected))
        };
        if self.initial_cells == 0 || self.initial_cells > self.max_cells {
            return e(
                "initial_cells",
                self.initial_cells.to_string(),
                "between 1 and max_cells",
            );
        }
        if self.max_cells > 200_000 {
            return e("max_cells", self.max_cells.to_string(), "at most 200000");
        }
        if self.max_rounds == 0 {
            return e("max_rounds", "0".into(), "at least 1");
        }
        for (name, v) in [
            ("margin", self.margin),
            ("ridge", self.ridge),
            ("decision_weight", self.decision_weight),
            ("kept_margin_share", self.kept_margin_share),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return e(name, v.to_string(), "a finite number >= 0");
            }
        }
        if self.margin <= 0.0 {
            return e("margin", self.margin.to_string(), "more than 0");
        }
        if self.solver_iterations == 0 {
            return e("solver_iterations", "0".into(), "at least 1");
        }
        Ok(())
    }
}

/// How a certified repair ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertifiedSummary {
    /// Every cell of the final partition passed the sound re-check.
    pub certified: bool,
    /// Programs solved.
    pub rounds: usize,
    /// Cells in the final partition.
    pub cells: usize,
    /// Cells the last program or the re-check could not certify.
    pub open_cells: usize,
    /// Kept samples protected by hinge constraints.
    pub protected: usize,
    /// Why it stopped uncertified, if it did.
    pub failure: Option<String>,
    /// Its network became the repair's result. A hand-over from another method may keep
    /// the network it started from instead (proved already and keeping more decisions, or
    /// the last layer not certified).
    #[serde(default)]
    pub kept: bool,
}

/// A certified last-layer repair in progress: [`CertifiedRepair::step`] solves one program.
pub struct CertifiedRepair {
    config: CertifiedConfig,
    properties: Vec<Property>,
    start: Network,
    map: FeatureMap,
    root_widths: Vec<Vec<f64>>,
    cells: Vec<Cell>,
    /// The cells to split before the next solve.
    open: Vec<usize>,
    /// Features and original decisions of the kept samples.
    kept_features: Array2<f32>,
    kept_decisions: Vec<usize>,
    /// The margin each kept decision must keep once protected.
    kept_margins: Vec<f64>,
    protected: Vec<usize>,
    objective: Objective,
    weights: Weights,
    layer: Vec<Vec<f64>>,
    rounds: usize,
    /// Rounds whose candidate the verifier proved.
    proved_rounds: usize,
    /// The proved candidate that keeps the most sampled decisions, with that count.
    best: Option<(usize, Network)>,
    /// The verifier's last verdicts (empty when the last round did not ask it).
    last_verdicts: Vec<crate::verify::Verdict>,
    result: Option<Network>,
    summary: Option<CertifiedSummary>,
}

/// Which witness constraint of each disjunct is easiest to make violated on the cell under
/// the last layer `layer`.
fn choose_witnesses(cell: &Cell, property: &Property, layer: &[Vec<f64>]) -> Vec<usize> {
    let features = layer[0].len() - 1;
    property
        .unsafe_region
        .disjuncts
        .iter()
        .map(|conj| {
            let mut best = (0, f64::NEG_INFINITY);
            for (c, constraint) in conj.iter().enumerate() {
                let v = cells::requirement_lower_bound(
                    cell,
                    &constraint.coefficients,
                    constraint.rhs,
                    |o, i| layer[o][i],
                    |o| layer[o][features],
                );
                if v > best.1 {
                    best = (c, v);
                }
            }
            best.0
        })
        .collect()
}

impl CertifiedRepair {
    /// Prepares a repair of `start`'s last layer so that `properties` hold, keeping the
    /// decisions `original` makes on `kept` (inputs whose behaviour must not change).
    pub fn new(
        original: &Network,
        start: &Network,
        properties: &[Property],
        kept: &ArrayRef2<f32>,
        config: CertifiedConfig,
    ) -> Result<Self, RepairError> {
        let kept = &*crate::tensor::standard(kept);
        config.check()?;
        let last = start.layers().last().expect("a network has layers");
        if last.activation() != Activation::Identity {
            return Err(RepairError::Setting(format!(
                "certified last-layer repair needs an output layer without activation; this network's last layer applies {:?}",
                last.activation()
            )));
        }
        for p in properties {
            p.check_fits(start)?;
            if p.unsafe_region.disjuncts.iter().any(Vec::is_empty) {
                return Err(RepairError::Setting(format!(
                    "property '{}' calls every output unsafe, so no repair can satisfy it",
                    p.name
                )));
            }
        }
        if kept.nrows() == 0 {
            return Err(RepairError::Setting(
                "certified last-layer repair needs samples whose decisions it keeps".into(),
            ));
        }
        let map = FeatureMap::new(start);
        let features = map.features();
        let width = features + 1;
        let outputs = start.output_size();
        let kept_features = map.of_inputs(kept);
        let targets = original.forward(kept)?;
        let kept_decisions = original.decisions_of_outputs(&targets);
        let rule = original.meta().decision;
        let kept_margins: Vec<f64> = targets
            .row_slices()
            .map(|y| config.kept_margin_share * rule.margin(y) as f64)
            .collect();
        let n = kept.nrows() as f64;
        let mut gram = vec![0.0; width * width];
        let mut cross = vec![vec![0.0; width]; outputs];
        let mut extended = vec![1.0; width];
        for (h, y) in kept_features.row_slices().zip(targets.row_slices()) {
            for (e, &v) in extended.iter_mut().zip(h) {
                *e = v as f64;
            }
            for i in 0..width {
                let hi = extended[i] / n;
                for j in i..width {
                    gram[i * width + j] += hi * extended[j];
                }
                for (o, &yo) in y.iter().enumerate() {
                    cross[o][i] += hi * yo as f64;
                }
            }
        }
        let scale = output_spread(&targets);
        let layer: Vec<Vec<f64>> = (0..outputs)
            .map(|o| {
                (0..features)
                    .map(|i| last.weight(i, o) as f64)
                    .chain(std::iter::once(last.bias()[o] as f64))
                    .collect()
            })
            .collect();
        let weights = Weights {
            margin: config.margin * scale,
            violation_penalty: 1e3 * scale.max(1e-6),
            decision_margin: 1e-4 * scale,
            decision_penalty: config.decision_weight * scale / n,
            rule: original.meta().decision,
        };
        let objective = Objective {
            gram,
            cross,
            start: layer.clone(),
            ridge: config.ridge,
        };
        let root_widths: Vec<Vec<f64>> = properties
            .iter()
            .map(|p| p.bounding_box().widths())
            .collect();
        let mut repair = CertifiedRepair {
            properties: properties.to_vec(),
            start: start.clone(),
            map,
            root_widths,
            cells: Vec::new(),
            open: Vec::new(),
            kept_features,
            kept_decisions,
            kept_margins,
            protected: Vec::new(),
            objective,
            weights,
            layer,
            rounds: 0,
            proved_rounds: 0,
            best: None,
            last_verdicts: Vec::new(),
            result: None,
            summary: None,
            config,
        };
        for (p, lower, upper) in cells::initial_partition(properties, repair.config.initial_cells) {
            let cell = repair.make_cell(p, lower, upper, 0);
            repair.cells.push(cell);
        }
        Ok(repair)
    }

    fn make_cell(&self, property: usize, lower: Vec<f64>, upper: Vec<f64>, depth: u32) -> Cell {
        let features = self.map.bounds_on(&lower, &upper);
        let mut cell = Cell {
            property,
            lower,
            upper,
            features,
            witnesses: Vec::new(),
            depth,
        };
        cell.witnesses = choose_witnesses(&cell, &self.properties[property], &self.layer);
        cell
    }

    /// Whether the repair has ended (certified or not).
    pub fn is_done(&self) -> bool {
        self.result.is_some()
    }

    /// Cells in the partition now.
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// Cells the last program or the re-check could not certify (split before the next).
    pub fn open_cells(&self) -> usize {
        self.open.len()
    }

    /// Programs solved so far.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// The repaired network (once done), or the start.
    pub fn network(&self) -> &Network {
        self.result.as_ref().unwrap_or(&self.start)
    }

    /// The verifier's verdicts on the last candidate it examined (empty before any).
    pub fn verdicts(&self) -> &[crate::verify::Verdict] {
        &self.last_verdicts
    }

    /// How it ended, once done.
    pub fn summary(&self) -> Option<&CertifiedSummary> {
        self.summary.as_ref()
    }

    /// The final partition, as one property per input property whose boxes are the cells:
    /// proving it proves the property (the cells cover its region).
    pub fn partitioned_properties(&self) -> Vec<Property> {
        self.properties
            .iter()
            .enumerate()
            .map(|(p, property)| {
                let boxes = self
                    .cells
                    .iter()
                    .filter(|c| c.property == p)
                    .filter_map(|c| {
                        crate::property::InputBox::new(c.lower.clone(), c.upper.clone()).ok()
                    })
                    .collect();
                Property {
                    input_boxes: boxes,
                    ..property.clone()
                }
            })
            .collect()
    }

    /// Splits the open cells, solves the program once and re-checks its answer.
    pub fn step(&mut self) -> Result<(), RepairError> {
        if self.is_done() {
            return Ok(());
        }
        self.split_open();
        if self.cells.len() > self.config.max_cells {
            return self.stop(format!(
                "the partition needs more than {} cells",
                self.config.max_cells
            ));
        }
        let requirements = self.requirements();
        let kept: Vec<KeptDecision> = self
            .protected
            .iter()
            .map(|&s| KeptDecision {
                features: self
                    .kept_features
                    .row_slice(s)
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
                decision: self.kept_decisions[s],
                margin: self.kept_margins[s],
            })
            .collect();
        let solution = program::solve(
            &self.cells,
            &requirements,
            &kept,
            &self.objective,
            &self.weights,
            self.config.solver_iterations,
        );
        self.rounds += 1;
        let solution = match solution {
            Ok(s) => s,
            Err(reason) => return self.stop(reason),
        };
        self.layer = solution.layer;
        let tolerance = 0.25 * self.weights.margin;
        let mut open: Vec<usize> = requirements
            .iter()
            .zip(&solution.shortfall)
            .filter(|(_, &s)| s > tolerance)
            .map(|(r, _)| r.cell)
            .collect();
        let candidate = self.candidate()?;
        let flipped = self.newly_flipped(&candidate)?;
        let kept_now = self.kept_decisions.len() - self.flipped_count(&candidate)?;
        // The verifier is the judge: the program's certificate is only a means to get there.
        // While the program itself leaves cells uncertified it rarely succeeds, so it is
        // asked only every fourth such round.
        let verdicts = if open.is_empty() || self.rounds % 4 == 1 {
            // Each cell is a root box of the verifier's search: the partition that let the
            // program certify the network is the best start of the proof.
            let mut verdicts = Verifier::new(
                &candidate,
                &self.partitioned_properties(),
                self.verify_config(),
            )?
            .run(|_| true);
            for (v, p) in verdicts.iter_mut().zip(&self.properties) {
                v.property = p.name.clone();
            }
            verdicts
        } else {
            Vec::new()
        };
        self.last_verdicts = verdicts.clone();
        let proved = !verdicts.is_empty() && overall(&verdicts) == VerifyStatus::Proved;
        if proved {
            if self.best.as_ref().is_none_or(|(k, _)| kept_now > *k) {
                self.best = Some((kept_now, candidate.clone()));
            }
            self.proved_rounds += 1;
        } else {
            for v in &verdicts {
                if let Some(cex) = &v.counterexample {
                    open.extend(self.cells_containing(&cex.input));
                }
            }
            if open.is_empty() {
                open = self.recheck(&candidate);
            }
            if open.is_empty() {
                // Every cell passes the plain re-check yet the verifier's budget ran out:
                // refine the cells where the bounds are closest to failing.
                open = self.weakest_cells(0.1);
            }
        }
        open.sort_unstable();
        open.dedup();
        let room = self
            .config
            .max_protected
            .saturating_sub(self.protected.len());
        let added = flipped.len().min(room);
        self.protected.extend(flipped.into_iter().take(added));
        let polishing_done = added == 0 || self.proved_rounds > self.config.fidelity_rounds;
        if self.best.is_some() && (polishing_done || self.rounds >= self.config.max_rounds) {
            let (_, best) = self.best.take().expect("a proved candidate");
            if best != candidate || !proved {
                self.last_verdicts =
                    Verifier::new(&best, &self.properties, self.verify_config())?.run(|_| true);
            }
            self.result = Some(best);
            self.summary = Some(self.summary_now(true, 0, None));
            return Ok(());
        }
        self.open = if proved { Vec::new() } else { open };
        if self.rounds >= self.config.max_rounds {
            let open_cells = self.open.len();
            return self.stop(format!(
                "not proved after {} programs ({open_cells} cells still open)",
                self.rounds
            ));
        }
        Ok(())
    }

    fn verify_config(&self) -> VerifyConfig {
        VerifyConfig {
            max_boxes: self.config.verify_boxes,
            ..Default::default()
        }
    }

    /// Cells (of any property) that contain the input.
    fn cells_containing(&self, x: &[f32]) -> Vec<usize> {
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.lower
                    .iter()
                    .zip(&c.upper)
                    .zip(x)
                    .all(|((l, u), &v)| *l <= v as f64 && v as f64 <= *u)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The share `fraction` of cells whose witness bounds under the current layer are the
    /// smallest.
    fn weakest_cells(&self, fraction: f64) -> Vec<usize> {
        let features = self.layer[0].len() - 1;
        let mut scored: Vec<(f64, usize)> = self
            .cells
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let property = &self.properties[cell.property];
                let worst = cell
                    .witnesses
                    .iter()
                    .enumerate()
                    .map(|(d, &w)| {
                        let k = &property.unsafe_region.disjuncts[d][w];
                        cells::requirement_lower_bound(
                            cell,
                            &k.coefficients,
                            k.rhs,
                            |o, i| self.layer[o][i],
                            |o| self.layer[o][features],
                        )
                    })
                    .fold(f64::INFINITY, f64::min);
                (worst, c)
            })
            .collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let take = ((self.cells.len() as f64 * fraction).ceil() as usize).max(1);
        scored.into_iter().take(take).map(|(_, c)| c).collect()
    }

    /// How many kept samples `net` (the start's hidden layers with any last layer) decides
    /// as the original does.
    pub fn kept_count(&self, net: &Network) -> Result<usize, RepairError> {
        Ok(self.kept_decisions.len() - self.flipped_count(net)?)
    }

    fn flipped_count(&self, net: &Network) -> Result<usize, RepairError> {
        let last = net.layers().len() - 1;
        let outputs = net.forward_from(last, &self.kept_features)?;
        Ok(net
            .decisions_of_outputs(&outputs)
            .iter()
            .zip(&self.kept_decisions)
            .filter(|(a, b)| a != b)
            .count())
    }

    /// Runs to the end.
    pub fn run(&mut self) -> Result<(), RepairError> {
        while !self.is_done() {
            self.step()?;
        }
        Ok(())
    }

    fn summary_now(
        &self,
        certified: bool,
        open: usize,
        failure: Option<String>,
    ) -> CertifiedSummary {
        CertifiedSummary {
            certified,
            rounds: self.rounds,
            cells: self.cells.len(),
            open_cells: open,
            protected: self.protected.len(),
            failure,
            kept: true,
        }
    }

    fn stop(&mut self, reason: String) -> Result<(), RepairError> {
        let candidate = if self.rounds > 0 {
            self.candidate()?
        } else {
            self.start.clone()
        };
        self.result = Some(candidate);
        self.summary = Some(self.summary_now(false, self.open.len(), Some(reason)));
        Ok(())
    }

    fn requirements(&self) -> Vec<Requirement> {
        let mut out = Vec::new();
        for (c, cell) in self.cells.iter().enumerate() {
            let property = &self.properties[cell.property];
            for (d, &w) in cell.witnesses.iter().enumerate() {
                let constraint = &property.unsafe_region.disjuncts[d][w];
                out.push(Requirement {
                    cell: c,
                    key: (cell.property, d, w),
                    r: constraint.coefficients.clone(),
                    d: constraint.rhs,
                });
            }
        }
        out
    }

    /// The start with the current last layer, in `f32`.
    fn candidate(&self) -> Result<Network, RepairError> {
        let mut net = self.start.clone();
        let layers = net.layers_mut();
        let last = layers.last_mut().expect("a network has layers");
        let outputs = last.outputs();
        let features = last.inputs();
        let mut weights = vec![0.0f32; features * outputs];
        for (o, row) in self.layer.iter().enumerate() {
            for i in 0..features {
                weights[i * outputs + o] = row[i] as f32;
            }
        }
        let bias: Vec<f32> = self.layer.iter().map(|row| row[features] as f32).collect();
        *last = DenseLayer::new(features, outputs, weights, bias, Activation::Identity)?;
        net.validate()?;
        Ok(net)
    }

    /// The cells where the sound bounds of `net` do not exclude every disjunct.
    fn recheck(&self, net: &Network) -> Vec<usize> {
        let bound_net = BoundNetwork::new(net);
        let mut open = Vec::new();
        for (c, cell) in self.cells.iter().enumerate() {
            let input = Interval::new(cell.lower.clone(), cell.upper.clone());
            if !bound_net.excludes_unsafe(&input, &self.properties[cell.property]) {
                open.push(c);
            }
        }
        open
    }

    /// Kept samples whose decision `net` changes and that are not protected yet.
    fn newly_flipped(&self, net: &Network) -> Result<Vec<usize>, RepairError> {
        let last = net.layers().len() - 1;
        let outputs = net.forward_from(last, &self.kept_features)?;
        let decisions = net.decisions_of_outputs(&outputs);
        let protected: std::collections::BTreeSet<usize> = self.protected.iter().copied().collect();
        Ok(decisions
            .iter()
            .zip(&self.kept_decisions)
            .enumerate()
            .filter(|(s, (a, b))| a != b && !protected.contains(s))
            .map(|(s, _)| s)
            .collect())
    }

    fn split_open(&mut self) {
        let open = std::mem::take(&mut self.open);
        if open.is_empty() {
            return;
        }
        let mut replaced = vec![false; self.cells.len()];
        let mut children = Vec::new();
        for &c in &open {
            let cell = &self.cells[c];
            let property = &self.properties[cell.property];
            let root = &self.root_widths[cell.property];
            // Split where the worst witness's bound depends most on the inputs.
            let mut slopes = vec![0.0f64; cell.lower.len()];
            for (d, &w) in cell.witnesses.iter().enumerate() {
                let r = &property.unsafe_region.disjuncts[d][w].coefficients;
                let g = cells::requirement_slopes(cell, r, |o, i| self.layer[o][i]);
                for (s, v) in slopes.iter_mut().zip(g) {
                    *s = s.max(v.abs());
                }
            }
            let Some(j) = cells::split_input(cell, root, |j| slopes[j]) else {
                continue;
            };
            let ((l1, u1), (l2, u2)) = cells::bisect(&cell.lower, &cell.upper, j);
            let (p, depth) = (cell.property, cell.depth + 1);
            children.push(self.make_cell(p, l1, u1, depth));
            children.push(self.make_cell(p, l2, u2, depth));
            replaced[c] = true;
        }
        let mut kept: Vec<Cell> = std::mem::take(&mut self.cells)
            .into_iter()
            .zip(replaced)
            .filter(|(_, r)| !r)
            .map(|(c, _)| c)
            .collect();
        kept.extend(children);
        self.cells = kept;
    }
}

/// Mean over outputs of the standard deviation of the original outputs (1 when flat).
pub(crate) fn output_spread(outputs: &ArrayRef2<f32>) -> f64 {
    let n = outputs.nrows().max(1) as f64;
    let cols = outputs.ncols();
    let mut total = 0.0;
    for o in 0..cols {
        let mean = outputs.row_slices().map(|y| y[o] as f64).sum::<f64>() / n;
        let var = outputs
            .row_slices()
            .map(|y| (y[o] as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        total += var.sqrt();
    }
    let spread = total / cols.max(1) as f64;
    if spread.is_finite() && spread > 0.0 {
        spread
    } else {
        1.0
    }
}
