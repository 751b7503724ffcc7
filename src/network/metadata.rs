//! What a network's numbers mean: input names, units, bounds and normalisation, output
//! names and scaling, and the rule that turns outputs into a decision.
//!
//! The core always computes in *network units* (normalised inputs and outputs, as the ONNX
//! files and VNN-LIB properties use them); physical units exist only for people.

use serde::{Deserialize, Serialize};

/// How a vector of output scores becomes a decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRule {
    /// The output with the largest score wins (most classifiers).
    #[default]
    Argmax,
    /// The output with the smallest score wins (ACAS Xu: scores are costs).
    Argmin,
}

impl DecisionRule {
    /// Index of the winning output; ties go to the lowest index. `None` for an empty vector.
    pub fn decide(self, outputs: &[f32]) -> Option<usize> {
        let mut best: Option<(usize, f32)> = None;
        for (i, &v) in outputs.iter().enumerate() {
            let better = match best {
                None => true,
                Some((_, b)) => match self {
                    DecisionRule::Argmax => v > b,
                    DecisionRule::Argmin => v < b,
                },
            };
            if better {
                best = Some((i, v));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Margin between the winning output and the runner-up (>= 0): how sure the decision is.
    pub fn margin(self, outputs: &[f32]) -> f32 {
        let Some(win) = self.decide(outputs) else {
            return 0.0;
        };
        let w = outputs[win];
        outputs
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != win)
            .map(|(_, &v)| (w - v).abs())
            .fold(f32::INFINITY, f32::min)
            .min(f32::MAX)
    }
}

impl std::fmt::Display for DecisionRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecisionRule::Argmax => "argmax",
            DecisionRule::Argmin => "argmin",
        })
    }
}

impl std::str::FromStr for DecisionRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "argmax" => Ok(DecisionRule::Argmax),
            "argmin" => Ok(DecisionRule::Argmin),
            other => Err(format!(
                "unknown decision rule '{other}' (expected argmax or argmin)"
            )),
        }
    }
}

/// One input of the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Human name, e.g. "rho".
    pub name: String,
    /// Physical unit, e.g. "ft" (empty when unknown).
    #[serde(default)]
    pub unit: String,
    /// Smallest meaningful physical value (`.nnet` clamps to it).
    pub min: f64,
    /// Largest meaningful physical value.
    pub max: f64,
    /// `network = (physical - mean) / range`.
    pub mean: f64,
    /// Divisor of the normalisation; never 0.
    pub range: f64,
}

impl InputSpec {
    /// An input without physical scaling, meaningful over `[min, max]` in network units.
    pub fn plain(name: impl Into<String>, min: f64, max: f64) -> Self {
        InputSpec {
            name: name.into(),
            unit: String::new(),
            min,
            max,
            mean: 0.0,
            range: 1.0,
        }
    }

    /// Network units from physical units.
    pub fn normalise(&self, physical: f64) -> f64 {
        (physical - self.mean) / self.range
    }

    /// Physical units from network units.
    pub fn denormalise(&self, network: f64) -> f64 {
        network * self.range + self.mean
    }

    /// `[min, max]` in network units.
    pub fn network_bounds(&self) -> (f64, f64) {
        let (a, b) = (self.normalise(self.min), self.normalise(self.max));
        (a.min(b), a.max(b))
    }

    /// Whether the normalisation is the identity.
    pub fn is_identity_scaling(&self) -> bool {
        self.mean == 0.0 && self.range == 1.0
    }
}

/// Affine map from output network units to physical units (`physical = y * range + mean`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputScaling {
    /// Added after scaling.
    pub mean: f64,
    /// Multiplier; never 0.
    pub range: f64,
}

impl Default for OutputScaling {
    fn default() -> Self {
        OutputScaling {
            mean: 0.0,
            range: 1.0,
        }
    }
}

/// Everything about a network except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkMeta {
    /// Short name for display (file stem by default).
    #[serde(default)]
    pub name: String,
    /// One entry per input.
    pub inputs: Vec<InputSpec>,
    /// One name per output.
    pub outputs: Vec<String>,
    /// How outputs map to physical units (shared by all outputs, as in `.nnet`).
    #[serde(default)]
    pub output_scaling: OutputScaling,
    /// How outputs become a decision.
    #[serde(default)]
    pub decision: DecisionRule,
}

impl NetworkMeta {
    /// Generic metadata: inputs `x0..` over `[-1, 1]` without scaling, outputs `y0..`, argmax.
    pub fn generic(n_inputs: usize, n_outputs: usize) -> Self {
        NetworkMeta {
            name: String::new(),
            inputs: (0..n_inputs)
                .map(|i| InputSpec::plain(format!("x{i}"), -1.0, 1.0))
                .collect(),
            outputs: (0..n_outputs).map(|j| format!("y{j}")).collect(),
            output_scaling: OutputScaling::default(),
            decision: DecisionRule::Argmax,
        }
    }

    /// Metadata of the ACAS Xu networks: the five inputs with their physical units and
    /// normalisation, the five advisories, argmin. Used when an ACAS Xu ONNX file (which
    /// carries no metadata) is recognised by its shape and names. The numbers are the
    /// benchmark's own decimals (from its `.nnet` headers), not mathematical constants.
    #[allow(clippy::approx_constant)]
    pub fn acas_xu() -> Self {
        let pi = 3.141593;
        let spec = |name: &str, unit: &str, min: f64, max: f64, mean: f64, range: f64| InputSpec {
            name: name.into(),
            unit: unit.into(),
            min,
            max,
            mean,
            range,
        };
        NetworkMeta {
            name: String::new(),
            inputs: vec![
                spec("rho", "ft", 0.0, 60760.0, 19791.091, 60261.0),
                spec("theta", "rad", -pi, pi, 0.0, 6.28318530718),
                spec("psi", "rad", -pi, pi, 0.0, 6.28318530718),
                spec("v_own", "ft/s", 100.0, 1200.0, 650.0, 1100.0),
                spec("v_int", "ft/s", 0.0, 1200.0, 600.0, 1200.0),
            ],
            outputs: [
                "COC",
                "weak left",
                "weak right",
                "strong left",
                "strong right",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            output_scaling: OutputScaling {
                mean: 7.5188840201005975,
                range: 373.94992,
            },
            decision: DecisionRule::Argmin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_rules_pick_opposite_ends() {
        let y = [0.3, -1.0, 2.0, 2.0];
        assert_eq!(DecisionRule::Argmax.decide(&y), Some(2));
        assert_eq!(DecisionRule::Argmin.decide(&y), Some(1));
        assert_eq!(DecisionRule::Argmax.margin(&y), 0.0);
        assert!((DecisionRule::Argmin.margin(&y) - 1.3).abs() < 1e-6);
        assert_eq!(DecisionRule::Argmin.decide(&[]), None);
    }

    #[test]
    fn acas_normalisation_matches_the_benchmark_box() {
        let meta = NetworkMeta::acas_xu();
        let (lo, hi) = meta.inputs[0].network_bounds();
        assert!((lo - -0.32842287715105956).abs() < 1e-15);
        assert!((hi - 0.6798577687061284).abs() < 1e-15);
    }
}
