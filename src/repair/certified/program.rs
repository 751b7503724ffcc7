//! The quadratic program of certified last-layer repair, solved by Clarabel.
//!
//! Unknowns: the new last layer `W` (`outputs x features`) and bias `b`. For every cell and
//! every disjunct of its property, the chosen witness constraint `r . y <= d` must be
//! violated by at least the margin everywhere on the cell:
//!
//! `min over x in cell of r . (W h(x) + b) - d >= margin - sigma`.
//!
//! With `a = W^T r` split as `a = p - q` (`p, q >= 0`), `a . h(x) >= p . L(x) - q . U(x)` for
//! the cell's linear feature bounds `L <= h <= U`; the minimum over the box of that linear
//! function of `x` is `g . centre - |g| . radius`, and `|g| <= s` makes it linear in the
//! unknowns. Features whose two bounds have the same slopes need no split. `sigma >= 0`
//! (penalised heavily) says which cells the current partition cannot certify: those are
//! split. The objective keeps the outputs on sampled inputs close to the original network's
//! (a least-squares fit through the Gram matrix of their features), plus a small ridge on
//! the change, plus hinge penalties for sampled decisions that must not flip.

use super::cells::Cell;
use crate::network::DecisionRule;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use std::collections::BTreeMap;

/// One requirement: on `cell`, `r . y - d >= margin` (the witness of one disjunct).
pub(crate) struct Requirement {
    pub cell: usize,
    /// Which global constraint `r` is (property, disjunct, constraint): requirements with the
    /// same `r` share the variables `W^T r`.
    pub key: (usize, usize, usize),
    pub r: Vec<f64>,
    pub d: f64,
}

/// A sampled decision to keep: `features` (of the frozen layers) and the original decision.
pub(crate) struct KeptDecision {
    pub features: Vec<f64>,
    pub decision: usize,
    /// How far ahead of every other output the decision must stay.
    pub margin: f64,
}

/// The data of the objective.
pub(crate) struct Objective {
    /// `(features + 1) x (features + 1)` mean of `[h; 1][h; 1]^T` over the kept samples.
    pub gram: Vec<f64>,
    /// Per output, the mean of `[h; 1] * y_original[o]`.
    pub cross: Vec<Vec<f64>>,
    /// The last layer the repair starts from, `start[o][i]` (`i == features`: the bias).
    pub start: Vec<Vec<f64>>,
    /// Weight of `||[W b] - start||^2`.
    pub ridge: f64,
}

/// Penalties and margins.
pub(crate) struct Weights {
    /// Required margin of every witness.
    pub margin: f64,
    /// Cost per unit of unmet requirement.
    pub violation_penalty: f64,
    /// Required margin of a kept decision over every other output.
    pub decision_margin: f64,
    /// Cost per unit of a kept decision's shortfall.
    pub decision_penalty: f64,
    /// How outputs become decisions.
    pub rule: DecisionRule,
}

/// The program's answer.
pub(crate) struct Solution {
    /// `weights[o][i]` (`i == features`: the bias).
    pub layer: Vec<Vec<f64>>,
    /// Shortfall of every requirement (0 where it is met).
    pub shortfall: Vec<f64>,
}

/// Triplets of a sparse matrix, turned into compressed columns (duplicates summed).
#[derive(Default)]
pub(crate) struct Triplets {
    entries: Vec<(usize, usize, f64)>,
}

impl Triplets {
    pub(crate) fn add(&mut self, row: usize, col: usize, value: f64) {
        if value != 0.0 {
            self.entries.push((row, col, value));
        }
    }

    pub(crate) fn into_csc(mut self, rows: usize, cols: usize) -> CscMatrix<f64> {
        self.entries.sort_by_key(|&(r, c, _)| (c, r));
        let mut colptr = vec![0usize; cols + 1];
        let mut rowval = Vec::with_capacity(self.entries.len());
        let mut nzval: Vec<f64> = Vec::with_capacity(self.entries.len());
        let mut last: Option<(usize, usize)> = None;
        for (r, c, v) in self.entries {
            if last == Some((r, c)) {
                *nzval.last_mut().expect("an entry") += v;
                continue;
            }
            rowval.push(r);
            nzval.push(v);
            colptr[c + 1] += 1;
            last = Some((r, c));
        }
        for c in 0..cols {
            colptr[c + 1] += colptr[c];
        }
        CscMatrix::new(rows, cols, colptr, rowval, nzval)
    }
}

/// Rows of `A x + s = b`: equalities first (zero cone), then `A x <= b` (nonnegative cone).
#[derive(Default)]
pub(crate) struct Rows {
    pub equal: Vec<(Vec<(usize, f64)>, f64)>,
    pub less: Vec<(Vec<(usize, f64)>, f64)>,
}

/// Builds and solves the program.
pub(crate) fn solve(
    cells: &[Cell],
    requirements: &[Requirement],
    kept: &[KeptDecision],
    objective: &Objective,
    weights: &Weights,
    max_iterations: u32,
) -> Result<Solution, String> {
    let outputs = objective.start.len();
    let width = objective.start[0].len();
    let features = width - 1;
    let w = |o: usize, i: usize| o * width + i;
    let mut n = outputs * width;

    // Shared per distinct witness constraint: `a = W^T r`, `beta = r . b`, and `t >= |a|`.
    let mut shared: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
    let mut rows = Rows::default();
    for req in requirements {
        if shared.contains_key(&req.key) {
            continue;
        }
        shared.insert(req.key, n);
        for i in 0..=features {
            let mut row = vec![(n + i, 1.0)];
            for (o, &ro) in req.r.iter().enumerate() {
                if ro != 0.0 {
                    row.push((w(o, i), -ro));
                }
            }
            rows.equal.push((row, 0.0));
        }
        let t = n + width;
        for i in 0..features {
            rows.less.push((vec![(n + i, 1.0), (t + i, -1.0)], 0.0));
            rows.less.push((vec![(n + i, -1.0), (t + i, -1.0)], 0.0));
        }
        n += width + features;
    }

    let mut shortfall_index = Vec::with_capacity(requirements.len());
    for req in requirements {
        let cell = &cells[req.cell];
        let a0 = shared[&req.key];
        let t0 = a0 + width;
        let inputs = cell.lower.len();
        let centre = cell.centre();
        let radius = cell.radius();
        // The slopes g_j of the exact features' part, and the bound's value at the centre.
        let mut g: Vec<Vec<(usize, f64)>> = vec![Vec::new(); inputs];
        let mut main: Vec<(usize, f64)> = vec![(a0 + features, 1.0)];
        let rhs = req.d + weights.margin;
        for f in &cell.features {
            let ai = a0 + f.feature;
            if f.is_exact() {
                let constant = 0.5 * (f.lower.constant + f.upper.constant);
                main.push((ai, f.lower.at(&centre) - f.lower.constant + constant));
                // The gap between the two constants (rounding terms) costs at most
                // |a_i| * gap / 2.
                let gap = 0.5 * (f.upper.constant - f.lower.constant).abs();
                main.push((t0 + f.feature, -gap));
                for (j, &c) in f.lower.coefficients.iter().enumerate() {
                    if c != 0.0 && radius[j] > 0.0 {
                        g[j].push((ai, c));
                    }
                }
            } else {
                // a_i h_i >= a_i * mid - |a_i| * half-width over the feature's interval.
                let mid = 0.5 * (f.low + f.high);
                let half = 0.5 * (f.high - f.low).max(0.0);
                main.push((ai, mid));
                main.push((t0 + f.feature, -half));
            }
        }
        for (j, gj) in g.into_iter().enumerate() {
            if radius[j] <= 0.0 || gj.is_empty() {
                continue;
            }
            let s = n;
            n += 1;
            main.push((s, -radius[j]));
            let mut up = gj.clone();
            up.push((s, -1.0));
            rows.less.push((up, 0.0));
            let mut down: Vec<(usize, f64)> = gj.into_iter().map(|(v, c)| (v, -c)).collect();
            down.push((s, -1.0));
            rows.less.push((down, 0.0));
        }
        let sigma = n;
        n += 1;
        main.push((sigma, 1.0));
        rows.less.push((vec![(sigma, -1.0)], 0.0));
        // main >= rhs  <=>  -main <= -rhs.
        rows.less
            .push((main.into_iter().map(|(v, c)| (v, -c)).collect(), -rhs));
        shortfall_index.push(sigma);
    }

    // Kept decisions: y_other - y_kept + margin <= xi (argmax), mirrored for argmin.
    let sign = match weights.rule {
        DecisionRule::Argmax => 1.0,
        DecisionRule::Argmin => -1.0,
    };
    let first_xi = n;
    for k in kept {
        let xi = n;
        n += 1;
        rows.less.push((vec![(xi, -1.0)], 0.0));
        for other in 0..outputs {
            if other == k.decision {
                continue;
            }
            let mut row = Vec::with_capacity(2 * width + 1);
            for (i, &h) in k.features.iter().enumerate() {
                row.push((w(other, i), sign * h));
                row.push((w(k.decision, i), -sign * h));
            }
            row.push((w(other, features), sign));
            row.push((w(k.decision, features), -sign));
            row.push((xi, -1.0));
            rows.less
                .push((row, -k.margin.max(weights.decision_margin)));
        }
    }

    // Objective: sum_o [w_o^T G w_o - 2 c_o . w_o] + ridge ||w - start||^2.
    let mut p = Triplets::default();
    let mut q = vec![0.0; n];
    for o in 0..outputs {
        for i in 0..width {
            for j in i..width {
                let mut v = 2.0 * objective.gram[i * width + j];
                if i == j {
                    v += 2.0 * objective.ridge;
                }
                p.add(w(o, i), w(o, j), v);
            }
            q[w(o, i)] =
                -2.0 * objective.cross[o][i] - 2.0 * objective.ridge * objective.start[o][i];
        }
    }
    for &s in &shortfall_index {
        q[s] = weights.violation_penalty;
    }
    for qk in &mut q[first_xi..first_xi + kept.len()] {
        *qk = weights.decision_penalty;
    }

    let m_eq = rows.equal.len();
    let m = m_eq + rows.less.len();
    let mut a = Triplets::default();
    let mut b = Vec::with_capacity(m);
    for (r, (row, rhs)) in rows.equal.iter().chain(&rows.less).enumerate() {
        for &(v, c) in row {
            a.add(r, v, c);
        }
        b.push(*rhs);
    }
    let a = a.into_csc(m, n);
    let p = p.into_csc(n, n);
    let cones = [
        SupportedConeT::ZeroConeT(m_eq),
        SupportedConeT::NonnegativeConeT(m - m_eq),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(max_iterations)
        .presolve_enable(false)
        .build()
        .map_err(|e| format!("solver settings: {e}"))?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
        .map_err(|e| format!("the program is malformed: {e}"))?;
    solver.solve();
    let status = solver.solution.status;
    if !matches!(status, SolverStatus::Solved | SolverStatus::AlmostSolved) {
        return Err(format!(
            "the solver stopped without a solution ({status:?})"
        ));
    }
    let x = &solver.solution.x;
    Ok(Solution {
        layer: (0..outputs)
            .map(|o| (0..width).map(|i| x[w(o, i)]).collect())
            .collect(),
        shortfall: shortfall_index.iter().map(|&s| x[s].max(0.0)).collect(),
    })
}
