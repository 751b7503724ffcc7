//! Fine-tuning by behaviour difference and particle swarm search (method.md, section 4).
//!
//! Fault localisation: every neuron's mean activation over the positives and over the
//! negatives; its responsibility is the absolute difference. The `k` most responsible
//! neurons (over all layers, or one layer) get a patch: hidden neuron `j` of layer `l` has
//! its output multiplied by `1 + w_j` (folded into layer `l + 1`'s weights from it); an output
//! neuron has its pre-activation multiplied (folded into its own weights and bias). So every
//! candidate, and the result, is an ordinary network.
//!
//! A seeded particle swarm searches `w` in `[-1, 1]^k` and minimises
//! `(1 - alpha) * (share of negatives still unsafe) + alpha * (share of positives whose
//! decision changed) + lambda * mean(w^2)`: unlike the prototype, fidelity is part of the
//! objective, so the search keeps improving past the first zero-violation point.
//! Candidates are evaluated from cached activations of the first patched layer.

use super::{Phase, RepairData, RepairError, RepairProgress, Validation};
use crate::measures::Rate;
use crate::network::Network;
use crate::property::{negatives_of, Property};
use crate::rng::SplitMix64;
use crate::tensor::{to_standard, Array2, ArrayRef2, BatchRows};
use serde::{Deserialize, Serialize};

/// Settings of fine-tuning. Defaults are documented on each field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FinetuneConfig {
    /// Neurons to patch (default 10; the prototype uses 5, 10 or 20).
    pub neurons: usize,
    /// Where the neurons are chosen (default: the output layer, whose patch rescales
    /// the output scores; on ACAS Xu it repairs with the least change, see the README).
    pub layer: LayerChoice,
    /// Swarm size (default 20).
    pub particles: usize,
    /// Swarm iterations at most (default 100).
    pub iterations: usize,
    /// Inertia weight (default 0.8).
    pub inertia: f64,
    /// Pull towards a particle's own best (default 0.41).
    pub cognitive: f64,
    /// Pull towards the swarm's best (default 0.41).
    pub social: f64,
    /// Weight of the fidelity term against the violation term (default 0.3).
    pub alpha: f64,
    /// Weight of the patch-size penalty `mean(w^2)` (default 0.001): among equally good
    /// patches, the smallest changes the network least elsewhere.
    pub size_penalty: f64,
    /// Stop when the best cost improved by less than this ... (default 1e-4)
    pub tolerance: f64,
    /// ... over this many iterations (default 10).
    pub patience: usize,
    /// Particles evaluated per `step()` (default 5): bounds the work of one step.
    pub particles_per_step: usize,
    /// Most negatives and most positives used by the objective (default 4000 each).
    pub eval_samples: usize,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            neurons: 10,
            layer: LayerChoice::Output,
            particles: 20,
            iterations: 100,
            inertia: 0.8,
            cognitive: 0.41,
            social: 0.41,
            alpha: 0.3,
            size_penalty: 0.001,
            tolerance: 1e-4,
            patience: 10,
            eval_samples: 4000,
            particles_per_step: 5,
        }
    }
}

impl FinetuneConfig {
    /// Checks every setting, naming the first bad one.
    pub fn check(&self) -> Result<(), RepairError> {
        let bad = |name: &str, value: String, expected: &str| {
            Err(super::setting_error("finetune", name, value, expected))
        };
        for (name, v) in [
            ("neurons", self.neurons),
            ("particles", self.particles),
            ("iterations", self.iterations),
            ("patience", self.patience),
            ("eval_samples", self.eval_samples),
            ("particles_per_step", self.particles_per_step),
        ] {
            if v == 0 {
                return bad(name, v.to_string(), "at least 1");
            }
        }
        for (name, v) in [
            ("inertia", self.inertia),
            ("cognitive", self.cognitive),
            ("social", self.social),
            ("size_penalty", self.size_penalty),
            ("tolerance", self.tolerance),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, v.to_string(), "a non-negative number");
            }
        }
        if !(0.0..1.0).contains(&self.alpha) {
            return bad("alpha", self.alpha.to_string(), "a number in [0, 1)");
        }
        Ok(())
    }
}

/// The layers fault localisation chooses neurons from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerChoice {
    /// Every hidden layer and the output layer (the paper's main variant).
    All,
    /// Only the output layer.
    #[default]
    Output,
    /// Only the layer with this index (0 = first hidden layer).
    Index(usize),
}

impl std::str::FromStr for LayerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(LayerChoice::All),
            "output" | "last" => Ok(LayerChoice::Output),
            n => n.parse().map(LayerChoice::Index).map_err(|_| {
                format!("'{n}' is not a layer choice (expected all, output, or a layer index)")
            }),
        }
    }
}

impl LayerChoice {
    /// The one layer chosen from, if any, for a network of `layers` layers.
    fn index(self, layers: usize) -> Option<usize> {
        match self {
            LayerChoice::All => None,
            LayerChoice::Output => Some(layers - 1),
            LayerChoice::Index(l) => Some(l),
        }
    }
}

/// One neuron: layer index and position in the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronId {
    /// Layer index (0 = first hidden layer; the last is the output layer).
    pub layer: usize,
    /// Neuron index within the layer.
    pub neuron: usize,
}

/// Mean activation differences between positives and negatives, per layer and neuron.
pub fn responsibilities(
    net: &Network,
    positives: &ArrayRef2<f32>,
    negatives: &ArrayRef2<f32>,
) -> Result<Vec<Vec<f64>>, RepairError> {
    let positives = &*crate::tensor::standard(positives);
    let negatives = &*crate::tensor::standard(negatives);
    let mean_activations = |x: &ArrayRef2<f32>| -> Result<Vec<Vec<f64>>, RepairError> {
        let trace = net.forward_trace(x)?;
        Ok(trace.post[1..]
            .iter()
            .map(|layer| {
                let mut sums = vec![0.0f64; layer.ncols()];
                for row in layer.row_slices() {
                    for (s, v) in sums.iter_mut().zip(row) {
                        *s += *v as f64;
                    }
                }
                let n = layer.nrows().max(1) as f64;
                sums.into_iter().map(|s| s / n).collect()
            })
            .collect())
    };
    let pos = mean_activations(positives)?;
    let neg = mean_activations(negatives)?;
    Ok(pos
        .iter()
        .zip(&neg)
        .map(|(p, n)| p.iter().zip(n).map(|(a, b)| (a - b).abs()).collect())
        .collect())
}

/// The `k` most responsible neurons (ties to the earlier neuron), optionally in one layer.
pub fn most_responsible(resp: &[Vec<f64>], k: usize, layer: Option<usize>) -> Vec<NeuronId> {
    let mut all: Vec<(f64, NeuronId)> = resp
        .iter()
        .enumerate()
        .filter(|(l, _)| layer.is_none_or(|only| only == *l))
        .flat_map(|(l, r)| {
            r.iter().enumerate().map(move |(j, &v)| {
                (
                    v,
                    NeuronId {
                        layer: l,
                        neuron: j,
                    },
                )
            })
        })
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    all.into_iter().take(k).map(|(_, id)| id).collect()
}

/// Applies the patch `(1 + w_i)` to the chosen neurons, folded into the weights.
pub fn apply_patch(net: &Network, neurons: &[NeuronId], w: &[f64]) -> Network {
    let mut out = net.clone();
    let last = out.layers().len() - 1;
    for (id, &wi) in neurons.iter().zip(w) {
        let factor = (1.0 + wi) as f32;
        if id.layer < last {
            let next = &mut out.layers_mut()[id.layer + 1];
            let cols = next.outputs();
            for v in &mut next.weights_mut()[id.neuron * cols..(id.neuron + 1) * cols] {
                *v *= factor;
            }
        } else {
            let layer = &mut out.layers_mut()[last];
            let cols = layer.outputs();
            let rows = layer.inputs();
            for i in 0..rows {
                layer.weights_mut()[i * cols + id.neuron] *= factor;
            }
            layer.bias_mut()[id.neuron] *= factor;
        }
    }
    out
}

/// The first layer whose weights a patch of these neurons changes.
fn first_changed_layer(neurons: &[NeuronId], layers: usize) -> usize {
    neurons
        .iter()
        .map(|id| (id.layer + 1).min(layers - 1))
        .min()
        .unwrap_or(0)
}

struct Particle {
    position: Vec<f64>,
    velocity: Vec<f64>,
    best_position: Vec<f64>,
    best_cost: f64,
}

/// A fine-tuning run in progress.
pub struct FineTuner {
    config: FinetuneConfig,
    base: Network,
    properties: Vec<Property>,
    neurons: Vec<NeuronId>,
    responsibilities: Vec<Vec<f64>>,
    first_layer: usize,
    neg_inputs: Array2<f32>,
    neg_cache: Array2<f32>,
    pos_cache: Array2<f32>,
    pos_decisions: Vec<usize>,
    particles: Vec<Particle>,
    best_position: Vec<f64>,
    best_cost: f64,
    history: Vec<f64>,
    iteration: usize,
    next_particle: usize,
    reported: Option<(Vec<f64>, Rate, Rate)>,
    rng: SplitMix64,
    done: bool,
}

fn subsample(x: &ArrayRef2<f32>, max: usize) -> Array2<f32> {
    if x.nrows() <= max {
        return to_standard(x);
    }
    let picks: Vec<usize> = (0..max).map(|i| i * x.nrows() / max).collect();
    x.select_rows(&picks)
}

impl FineTuner {
    /// Localises the faults and starts the swarm. `original` defines fidelity; `start` is
    /// the network to patch.
    pub fn new(
        config: FinetuneConfig,
        original: &Network,
        start: &Network,
        properties: &[Property],
        data: &RepairData,
        seed: u64,
    ) -> Result<Self, RepairError> {
        config.check()?;
        let (negatives, positives) = (&data.negatives, &data.positives);
        if negatives.nrows() == 0 {
            return Err(RepairError::NothingToRepair);
        }
        let only_layer = config.layer.index(start.layers().len());
        if let Some(l) = only_layer {
            if l >= start.layers().len() {
                return Err(RepairError::Setting(format!(
                    "finetune layer = {l}: the network has layers 0..{}",
                    start.layers().len() - 1
                )));
            }
        }
        let responsibilities = responsibilities(start, positives, negatives)?;
        let neurons = most_responsible(&responsibilities, config.neurons, only_layer);
        let first_layer = first_changed_layer(&neurons, start.layers().len());
        let neg_inputs = subsample(negatives, config.eval_samples);
        let pos_inputs = subsample(positives, config.eval_samples);
        let neg_cache = start.forward_trace(&neg_inputs)?.post[first_layer].clone();
        let pos_cache = start.forward_trace(&pos_inputs)?.post[first_layer].clone();
        let pos_decisions = original.decisions(&pos_inputs)?;
        let mut rng = SplitMix64::new(seed);
        let k = neurons.len();
        let particles = (0..config.particles)
            .map(|p| {
                // One particle starts at "no patch"; the others spread over the cube.
                let position: Vec<f64> = if p == 0 {
                    vec![0.0; k]
                } else {
                    (0..k).map(|_| rng.next_f64() * 2.0 - 1.0).collect()
                };
                Particle {
                    velocity: vec![0.0; k],
                    best_position: position.clone(),
                    best_cost: f64::INFINITY,
                    position,
                }
            })
            .collect();
        let mut tuner = FineTuner {
            config,
            base: start.clone(),
            properties: properties.to_vec(),
            neurons,
            responsibilities,
            first_layer,
            neg_inputs,
            neg_cache,
            pos_cache,
            pos_decisions,
            particles,
            best_position: vec![0.0; k],
            best_cost: f64::INFINITY,
            history: Vec::new(),
            iteration: 0,
            next_particle: 0,
            reported: None,
            rng,
            done: false,
        };
        tuner.evaluate_swarm();
        Ok(tuner)
    }

    /// The objective at `w`.
    fn cost(&self, w: &[f64]) -> f64 {
        let patched = apply_patch(&self.base, &self.neurons, w);
        let y_neg = patched
            .forward_from(self.first_layer, &self.neg_cache)
            .expect("cached widths fit");
        let unsafe_count = negatives_of(&self.properties, &self.neg_inputs, &y_neg)
            .iter()
            .filter(|&&n| n)
            .count();
        let y_pos = patched
            .forward_from(self.first_layer, &self.pos_cache)
            .expect("cached widths fit");
        let changed = patched
            .decisions_of_outputs(&y_pos)
            .iter()
            .zip(&self.pos_decisions)
            .filter(|(a, b)| a != b)
            .count();
        let a = self.config.alpha;
        let violation = unsafe_count as f64 / self.neg_inputs.nrows().max(1) as f64;
        let infidelity = changed as f64 / self.pos_decisions.len().max(1) as f64;
        let size = w.iter().map(|v| v * v).sum::<f64>() / w.len().max(1) as f64;
        (1.0 - a) * violation + a * infidelity + self.config.size_penalty * size
    }

    fn evaluate_swarm(&mut self) {
        self.evaluate_particles(0..self.particles.len());
        self.history.push(self.best_cost);
    }

    /// Evaluates particles in order, updating their bests and the swarm's best as it goes
    /// (so splitting an iteration over several steps changes nothing).
    fn evaluate_particles(&mut self, range: std::ops::Range<usize>) {
        for p in range {
            let c = self.cost(&self.particles[p].position);
            let particle = &mut self.particles[p];
            if c < particle.best_cost {
                particle.best_cost = c;
                particle.best_position = particle.position.clone();
            }
            if c < self.best_cost {
                self.best_cost = c;
                self.best_position = particle.position.clone();
            }
        }
    }

    /// Part of a swarm iteration: `particles_per_step` particles are moved (at the start of
    /// an iteration all are) and evaluated.
    pub fn step(&mut self, validation: &Validation) -> Result<RepairProgress, RepairError> {
        if !self.done && self.next_particle == 0 {
            let cfg = &self.config;
            for p in &mut self.particles {
                for d in 0..p.position.len() {
                    let r1 = self.rng.next_f64();
                    let r2 = self.rng.next_f64();
                    p.velocity[d] = cfg.inertia * p.velocity[d]
                        + cfg.cognitive * r1 * (p.best_position[d] - p.position[d])
                        + cfg.social * r2 * (self.best_position[d] - p.position[d]);
                    p.position[d] = (p.position[d] + p.velocity[d]).clamp(-1.0, 1.0);
                }
            }
        }
        if !self.done {
            let end =
                (self.next_particle + self.config.particles_per_step).min(self.particles.len());
            self.evaluate_particles(self.next_particle..end);
            self.next_particle = end % self.particles.len();
            if self.next_particle == 0 {
                self.history.push(self.best_cost);
                self.iteration += 1;
                let h = &self.history;
                let stalled = h.len() > self.config.patience
                    && h[h.len() - 1 - self.config.patience] - h[h.len() - 1]
                        < self.config.tolerance;
                self.done = self.iteration >= self.config.iterations || stalled;
            }
        }
        // Validation figures change only with the swarm's best.
        if self
            .reported
            .as_ref()
            .is_none_or(|(w, _, _)| *w != self.best_position)
        {
            let best = self.best();
            self.reported = Some((
                self.best_position.clone(),
                validation.violations(&best)?,
                validation.fidelity(&best)?,
            ));
        }
        let (_, violations, fidelity) = self.reported.clone().expect("just computed");
        Ok(RepairProgress {
            phase: if self.done {
                Phase::Done
            } else {
                Phase::Searching
            },
            iteration: self.iteration,
            max_iterations: self.config.iterations,
            cost: self.best_cost,
            violations,
            fidelity,
            elapsed_ms: 0.0,
            done: self.done,
        })
    }

    /// Whether the search has stopped.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The network with the best patch so far folded in.
    pub fn best(&self) -> Network {
        apply_patch(&self.base, &self.neurons, &self.best_position)
    }

    /// The chosen neurons and their scaling factors `w`.
    pub fn patch(&self) -> (&[NeuronId], &[f64]) {
        (&self.neurons, &self.best_position)
    }

    /// Every neuron's responsibility (per layer).
    pub fn responsibilities(&self) -> &[Vec<f64>] {
        &self.responsibilities
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;
    use crate::tensor::BatchRowsMut;

    #[test]
    fn folded_patch_equals_scaling_neurons_in_the_forward_pass() {
        for act in Activation::ALL {
            let net = Network::random(&[3, 6, 5, 2], act, 8).unwrap();
            let neurons = [
                NeuronId {
                    layer: 0,
                    neuron: 2,
                },
                NeuronId {
                    layer: 1,
                    neuron: 4,
                },
                NeuronId {
                    layer: 2,
                    neuron: 1,
                },
            ];
            let w = [0.5, -0.25, 0.75];
            let patched = apply_patch(&net, &neurons, &w);
            let x = crate::tensor::from_rows(&[[0.3f32, -0.7, 0.2]]).unwrap();
            // By hand: scale hidden outputs after their activation, the output pre-activation.
            let trace = net.forward_trace(&x).unwrap();
            let mut h0 = trace.post[1].clone();
            h0.row_slice_mut(0)[2] *= 1.5;
            let l1 = Network::new(
                vec![net.layers()[1].clone()],
                crate::network::NetworkMeta::generic(6, 5),
            )
            .unwrap();
            let mut a1 = l1.forward(&h0).unwrap();
            a1.row_slice_mut(0)[4] *= 0.75;
            let mut last = net.layers()[2].clone();
            last.set_activation(Activation::Identity);
            let l2 = Network::new(vec![last], crate::network::NetworkMeta::generic(5, 2)).unwrap();
            let mut z = l2.forward(&a1).unwrap();
            z.row_slice_mut(0)[1] *= 1.75;
            let expected: Vec<f32> = z
                .row_slice(0)
                .iter()
                .map(|&v| net.layers()[2].activation().apply(v))
                .collect();
            let got = patched.forward(&x).unwrap();
            for (a, b) in got.row_slice(0).iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "{act}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn most_responsible_respects_the_layer_restriction() {
        let resp = vec![vec![0.1, 0.9], vec![0.5, 0.2, 0.7]];
        let all = most_responsible(&resp, 2, None);
        assert_eq!(
            all,
            vec![
                NeuronId {
                    layer: 0,
                    neuron: 1
                },
                NeuronId {
                    layer: 1,
                    neuron: 2
                }
            ]
        );
        let one = most_responsible(&resp, 5, Some(1));
        assert_eq!(one.len(), 3);
        assert!(one.iter().all(|n| n.layer == 1));
    }
}
