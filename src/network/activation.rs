//! Element-wise activation functions and their derivatives.
//!
//! Transcendental functions come from the `libm` crate, not from the platform's maths
//! library, so that a network gives bit-identical outputs natively and in the browser.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The activation applied after a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    /// `x`.
    Identity,
    /// `max(0, x)`.
    Relu,
    /// `x` for `x > 0`, `alpha * x` otherwise.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic function `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
}

impl Activation {
    /// Every kind, with the parameters ONNX uses by default; handy for tests and pickers.
    pub const ALL: [Activation; 6] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Elu { alpha: 1.0 },
    ];

    /// Applies the activation to one number.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Tanh => libm::tanhf(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * libm::expm1f(x)
                }
            }
        }
    }

    /// Applies the activation in place.
    pub fn apply_slice(self, values: &mut [f32]) {
        if self == Activation::Identity {
            return;
        }
        for v in values {
            *v = self.apply(*v);
        }
    }

    /// Derivative at pre-activation `pre`, given the activation's output `post` (cheaper for
    /// tanh and sigmoid). ReLU-like kinks take the derivative of the left piece at 0, as
    /// PyTorch does.
    #[inline]
    pub fn derivative(self, pre: f32, post: f32) -> f32 {
        match self {
            Activation::Identity => 1.0,
            Activation::Relu => {
                if pre > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu { alpha } => {
                if pre > 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            Activation::Tanh => 1.0 - post * post,
            Activation::Sigmoid => post * (1.0 - post),
            Activation::Elu { alpha } => {
                if pre > 0.0 {
                    1.0
                } else {
                    post + alpha
                }
            }
        }
    }

    /// True when the parameter (if any) is a finite number.
    pub fn is_valid(self) -> bool {
        match self {
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => alpha.is_finite(),
            _ => true,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    // Written both ways so that exp never overflows.
    if x >= 0.0 {
        1.0 / (1.0 + libm::expf(-x))
    } else {
        let e = libm::expf(x);
        e / (1.0 + e)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Identity => write!(f, "identity"),
            Activation::Relu => write!(f, "relu"),
            Activation::LeakyRelu { alpha } => write!(f, "leaky_relu({alpha})"),
            Activation::Tanh => write!(f, "tanh"),
            Activation::Sigmoid => write!(f, "sigmoid"),
            Activation::Elu { alpha } => write!(f, "elu({alpha})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences_away_from_kinks() {
        for act in Activation::ALL {
            for &x in &[-2.5f32, -0.7, -0.1, 0.2, 0.9, 3.0] {
                let h = 1e-3f32;
                let numeric = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let analytic = act.derivative(x, act.apply(x));
                assert!(
                    (numeric - analytic).abs() < 1e-3,
                    "{act} at {x}: numeric {numeric}, analytic {analytic}"
                );
            }
        }
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(Activation::Sigmoid.apply(-200.0), 0.0);
        assert_eq!(Activation::Sigmoid.apply(200.0), 1.0);
        assert!((Activation::Sigmoid.apply(0.0) - 0.5).abs() < 1e-7);
    }
}
