//! Linear relaxations of every activation over a neuron's range, widened by the rounding
//! error of birdnn's `f32` activation there (see the soundness argument in `bounds.rs`).

use super::{Relaxation, F32_UNIT};
use crate::network::Activation;

/// Value of an activation in `f64` (monotone activations only need it at the ends).
fn act64(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * x
            }
        }
        Activation::Tanh => libm::tanh(x),
        Activation::Sigmoid => {
            if x >= 0.0 {
                1.0 / (1.0 + libm::exp(-x))
            } else {
                let e = libm::exp(x);
                e / (1.0 + e)
            }
        }
        Activation::Elu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * libm::expm1(x)
            }
        }
    }
}

/// Derivative (a subgradient at kinks: the right-hand one).
fn deriv64(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Identity => 1.0,
        Activation::Relu => {
            if x >= 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyRelu { alpha } => {
            if x >= 0.0 {
                1.0
            } else {
                alpha as f64
            }
        }
        Activation::Tanh => {
            let t = libm::tanh(x);
            1.0 - t * t
        }
        Activation::Sigmoid => {
            let s = act64(Activation::Sigmoid, x);
            s * (1.0 - s)
        }
        Activation::Elu { alpha } => {
            if x >= 0.0 {
                1.0
            } else {
                alpha as f64 * libm::exp(x)
            }
        }
    }
}

/// Bound on the error of birdnn's `f32` activation where it takes values between `fl` and
/// `fu` (every activation is monotone): relative to the value, not to the input. Leaky
/// ReLU rounds `alpha * x` once; libm's tanhf, expf and expm1f are within an ulp or two of
/// the exact function at the same `f32` input, and the sigmoid's division and ELU's product
/// add a rounding each. (Relative to the input, a tanh saturated at -80,000 would be
/// uncertain by 0.04 where it is exactly -1.)
fn rounding_on(act: Activation, fl: f64, fu: f64) -> f64 {
    act_error(act, fl.abs().max(fu.abs()))
}

/// Bound on the error of birdnn's `f32` activation at values of magnitude up to `magnitude`.
fn act_error(act: Activation, magnitude: f64) -> f64 {
    match act {
        Activation::Identity | Activation::Relu => 0.0,
        Activation::LeakyRelu { .. } => F32_UNIT * magnitude,
        Activation::Tanh | Activation::Sigmoid | Activation::Elu { .. } => {
            8.0 * F32_UNIT * magnitude + f64::from(f32::MIN_POSITIVE)
        }
    }
}

enum Shape {
    Linear,
    Convex,
    Concave,
    /// Increasing, convex below 0 and concave above (tanh, sigmoid).
    SShaped,
    /// Only increasing (ELU with alpha > 1, leaky ReLU with a negative slope... ).
    Monotone,
}

fn shape(act: Activation) -> Shape {
    match act {
        Activation::Identity => Shape::Linear,
        Activation::Relu => Shape::Convex,
        Activation::LeakyRelu { alpha } if alpha <= 1.0 => Shape::Convex,
        Activation::LeakyRelu { .. } => Shape::Concave,
        Activation::Elu { alpha } if (0.0..=1.0).contains(&alpha) => Shape::Convex,
        Activation::Elu { .. } => Shape::Monotone,
        Activation::Tanh | Activation::Sigmoid => Shape::SShaped,
    }
}

/// Linear relaxation of `act` on `[l, u]`, widened by the activation's rounding error.
pub(super) fn relax(act: Activation, l: f64, u: f64) -> Relaxation {
    let (fl, fu) = (act64(act, l), act64(act, u));
    let err = rounding_on(act, fl, fu);
    let constant = |lo: f64, hi: f64| Relaxation {
        lower_slope: 0.0,
        lower_offset: lo - err,
        upper_slope: 0.0,
        upper_offset: hi + err,
    };
    let line = |slope: f64, x: f64, y: f64| (slope, y - slope * x);
    let width = u - l;
    if width.is_nan() || width <= 1e-12 {
        // A (near) point: the values are within the activation's range there.
        return match shape(act) {
            Shape::Linear => Relaxation {
                lower_slope: 1.0,
                lower_offset: 0.0,
                upper_slope: 1.0,
                upper_offset: 0.0,
            },
            _ => constant(fl.min(fu), fl.max(fu)),
        };
    }
    let chord = (fu - fl) / width;
    let mid = 0.5 * (l + u);
    let (lower, upper) = match shape(act) {
        Shape::Linear => ((1.0, 0.0), (1.0, 0.0)),
        Shape::Convex => {
            // Any tangent lies below a convex function; the chord above it.
            let tangent = line(deriv64(act, mid), mid, act64(act, mid));
            (tangent, line(chord, l, fl))
        }
        Shape::Concave => {
            let tangent = line(deriv64(act, mid), mid, act64(act, mid));
            (line(chord, l, fl), tangent)
        }
        Shape::SShaped => {
            // DeepPoly's relaxation: the derivative is unimodal with its peak at 0, so on
            // [l, u] it is at least min(f'(l), f'(u)).
            let flat = deriv64(act, l).min(deriv64(act, u));
            if l >= 0.0 {
                (line(chord, l, fl), line(flat, u, fu))
            } else if u <= 0.0 {
                (line(flat, l, fl), line(chord, u, fu))
            } else {
                (line(flat, l, fl), line(flat, u, fu))
            }
        }
        Shape::Monotone => ((0.0, fl), (0.0, fu)),
    };
    Relaxation {
        lower_slope: lower.0,
        lower_offset: lower.1 - err,
        upper_slope: upper.0,
        upper_offset: upper.1 + err,
    }
}

/// Range of `act` on `[l, u]`, widened by its rounding error.
pub(super) fn act_range(act: Activation, l: f64, u: f64) -> (f64, f64) {
    let (fl, fu) = (act64(act, l), act64(act, u));
    let (mut lo, mut hi) = (fl.min(fu), fl.max(fu));
    if let Shape::Convex = shape(act) {
        // A convex activation with a negative slope somewhere has its minimum inside.
        if l < 0.0 && u > 0.0 {
            lo = lo.min(act64(act, 0.0));
        }
    }
    if let Shape::Concave = shape(act) {
        if l < 0.0 && u > 0.0 {
            hi = hi.max(act64(act, 0.0));
        }
    }
    let err = rounding_on(act, lo, hi);
    (lo - err, hi + err)
}
