//! Safety properties: where inputs come from, and which outputs are unsafe there.
//!
//! A [`Property`] pairs a precondition (one [`InputBox`] or a union of them) with an
//! [`UnsafeRegion`]: a disjunction of conjunctions of linear inequalities over the outputs,
//! the VNN-LIB convention in which the asserts describe a *violation*. An input is
//! **negative** (a counterexample) when it lies in the precondition and its output lies in
//! the unsafe region; otherwise it is **positive**. Everything here is in network units and
//! compares in `f64` on the network's `f32` outputs, as the reference data does.

use crate::network::{DecisionRule, Network, NetworkError};
use crate::tensor::{ArrayRef2, BatchRows};
use serde::{Deserialize, Serialize};

/// An axis-aligned box `lower[i] <= x[i] <= upper[i]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputBox {
    /// Lower bounds, one per input.
    pub lower: Vec<f64>,
    /// Upper bounds, one per input.
    pub upper: Vec<f64>,
}

impl InputBox {
    /// A box from bounds; fails when lengths differ, a bound is not finite, or a lower bound
    /// exceeds its upper bound.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self, String> {
        if lower.len() != upper.len() {
            return Err(format!(
                "{} lower bounds but {} upper bounds",
                lower.len(),
                upper.len()
            ));
        }
        for (i, (&l, &u)) in lower.iter().zip(&upper).enumerate() {
            if !l.is_finite() || !u.is_finite() {
                return Err(format!("input {i} has a non-finite bound [{l}, {u}]"));
            }
            if l > u {
                return Err(format!(
                    "input {i} has lower bound {l} above upper bound {u}"
                ));
            }
        }
        Ok(InputBox { lower, upper })
    }

    /// Number of dimensions.
    pub fn dims(&self) -> usize {
        self.lower.len()
    }

    /// `upper - lower` per dimension.
    pub fn widths(&self) -> Vec<f64> {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| u - l)
            .collect()
    }

    /// Whether `x` lies in the box (bounds included), comparing in `f64`.
    pub fn contains(&self, x: &[f32]) -> bool {
        x.len() == self.dims()
            && x.iter()
                .zip(self.lower.iter().zip(&self.upper))
                .all(|(&v, (&l, &u))| (v as f64) >= l && (v as f64) <= u)
    }

    /// The nearest point of the box to `x`, rounded inward so that the `f32` result is
    /// inside the `f64` bounds.
    pub fn project(&self, x: &mut [f32]) {
        for ((v, &l), &u) in x.iter_mut().zip(&self.lower).zip(&self.upper) {
            *v = clamp_f32_into(*v as f64, l, u);
        }
    }

    /// Volume measure used to weight boxes of a union: the product of the non-zero widths
    /// (a zero-width dimension, such as property 4's fixed heading, does not make a box
    /// unsampleable).
    pub fn sampling_weight(&self) -> f64 {
        self.widths()
            .into_iter()
            .filter(|&w| w > 0.0)
            .product::<f64>()
    }
}

/// Rounds `v` (already in `[l, u]` or not) to an `f32` that lies inside `[l, u]`, when one
/// exists; otherwise the nearest `f32`.
pub(crate) fn clamp_f32_into(v: f64, l: f64, u: f64) -> f32 {
    let c = v.clamp(l, u);
    let mut f = c as f32;
    if (f as f64) < l {
        f = next_up(f);
    } else if (f as f64) > u {
        f = next_down(f);
    }
    if (f as f64) < l || (f as f64) > u {
        // The interval holds no f32 at all (narrower than one ulp): take the closest.
        return c as f32;
    }
    f
}

fn next_up(f: f32) -> f32 {
    if f.is_nan() || f == f32::INFINITY {
        return f;
    }
    if f == 0.0 {
        return f32::from_bits(1);
    }
    let bits = f.to_bits();
    f32::from_bits(if f > 0.0 { bits + 1 } else { bits - 1 })
}

fn next_down(f: f32) -> f32 {
    -next_up(-f)
}

/// `coefficients . y <= rhs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearConstraint {
    /// One coefficient per output.
    pub coefficients: Vec<f64>,
    /// Right-hand side.
    pub rhs: f64,
}

impl LinearConstraint {
    /// `coefficients . y - rhs`: `<= 0` exactly when the constraint holds.
    pub fn slack(&self, y: &[f32]) -> f64 {
        self.coefficients
            .iter()
            .zip(y)
            .map(|(&c, &v)| c * v as f64)
            .sum::<f64>()
            - self.rhs
    }

    /// Whether `y` satisfies the constraint.
    pub fn holds(&self, y: &[f32]) -> bool {
        self.slack(y) <= 0.0
    }
}

/// Unsafe outputs: any conjunction (`Vec<LinearConstraint>`) of the disjunction whose
/// constraints all hold. An empty conjunction is always true; an empty disjunction never.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnsafeRegion {
    /// The disjuncts.
    pub disjuncts: Vec<Vec<LinearConstraint>>,
}

impl UnsafeRegion {
    /// Whether the output `y` is unsafe.
    pub fn contains(&self, y: &[f32]) -> bool {
        self.disjuncts
            .iter()
            .any(|conj| conj.iter().all(|c| c.holds(y)))
    }

    /// Signed distance-like score: `<= 0` exactly when `y` is unsafe. It is the smallest over
    /// disjuncts of the largest slack in the disjunct; the falsifier descends on it.
    /// Also returns which constraint is active (disjunct, constraint), for gradients.
    pub fn violation_margin(&self, y: &[f32]) -> (f64, Option<(usize, usize)>) {
        let mut best = (f64::INFINITY, None);
        for (d, conj) in self.disjuncts.iter().enumerate() {
            let mut worst = (f64::NEG_INFINITY, None);
            for (c, constraint) in conj.iter().enumerate() {
                let s = constraint.slack(y);
                if s > worst.0 {
                    worst = (s, Some((d, c)));
                }
            }
            if conj.is_empty() {
                worst = (f64::NEG_INFINITY, None);
            }
            if worst.0 < best.0 {
                best = worst;
            }
        }
        best
    }
}

/// A safety property: inputs in `input_boxes` (a union) must not produce outputs in
/// `unsafe_region`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Property {
    /// Display name (file stem by default).
    pub name: String,
    /// Number of network inputs the property speaks about.
    pub num_inputs: usize,
    /// Number of network outputs the property speaks about.
    pub num_outputs: usize,
    /// The precondition: a union of boxes (usually one).
    pub input_boxes: Vec<InputBox>,
    /// The outputs that violate the property.
    pub unsafe_region: UnsafeRegion,
}

/// A property that does not fit a network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PropertyError {
    /// Input or output counts differ.
    #[error("property '{property}' speaks of {prop_inputs} inputs and {prop_outputs} outputs, the network has {net_inputs} and {net_outputs}")]
    Shape {
        /// Property name.
        property: String,
        /// Inputs in the property.
        prop_inputs: usize,
        /// Outputs in the property.
        prop_outputs: usize,
        /// Inputs of the network.
        net_inputs: usize,
        /// Outputs of the network.
        net_outputs: usize,
    },
    /// Running the network failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl Property {
    /// Checks that the property speaks about as many inputs and outputs as the network has.
    pub fn check_fits(&self, net: &Network) -> Result<(), PropertyError> {
        if self.num_inputs != net.input_size() || self.num_outputs != net.output_size() {
            return Err(PropertyError::Shape {
                property: self.name.clone(),
                prop_inputs: self.num_inputs,
                prop_outputs: self.num_outputs,
                net_inputs: net.input_size(),
                net_outputs: net.output_size(),
            });
        }
        Ok(())
    }

    /// Whether `x` lies in the precondition.
    pub fn precondition_holds(&self, x: &[f32]) -> bool {
        self.input_boxes.iter().any(|b| b.contains(x))
    }

    /// Whether the input `x` with output `y` is a counterexample.
    pub fn is_negative(&self, x: &[f32], y: &[f32]) -> bool {
        self.precondition_holds(x) && self.unsafe_region.contains(y)
    }

    /// The smallest box containing every box of the precondition.
    pub fn bounding_box(&self) -> InputBox {
        let n = self.num_inputs;
        let mut lower = vec![f64::INFINITY; n];
        let mut upper = vec![f64::NEG_INFINITY; n];
        for b in &self.input_boxes {
            for i in 0..n {
                lower[i] = lower[i].min(b.lower[i]);
                upper[i] = upper[i].max(b.upper[i]);
            }
        }
        InputBox { lower, upper }
    }
}

/// `y[a] - y[b] <= 0` for argmax (`a` does not beat `b`), the mirror for argmin: the
/// constraint "output `a` is not ahead of output `b`".
fn not_ahead(outputs: usize, a: usize, b: usize, rule: DecisionRule) -> LinearConstraint {
    let mut coefficients = vec![0.0; outputs];
    let sign = match rule {
        DecisionRule::Argmax => 1.0,
        DecisionRule::Argmin => -1.0,
    };
    coefficients[a] = sign;
    coefficients[b] = -sign;
    LinearConstraint {
        coefficients,
        rhs: 0.0,
    }
}

/// "Inside `input_box`, the decision must be `class`": unsafe when some other output is at
/// least as good as `class`'s (ties count as violations).
pub fn decision_must_be(
    name: &str,
    input_box: InputBox,
    outputs: usize,
    class: usize,
    rule: DecisionRule,
) -> Property {
    let disjuncts = (0..outputs)
        .filter(|&j| j != class)
        .map(|j| vec![not_ahead(outputs, class, j, rule)])
        .collect();
    on_one_box(name, input_box, outputs, disjuncts)
}

/// A property over one input box with the given unsafe disjuncts.
fn on_one_box(
    name: &str,
    input_box: InputBox,
    outputs: usize,
    disjuncts: Vec<Vec<LinearConstraint>>,
) -> Property {
    Property {
        name: name.into(),
        num_inputs: input_box.dims(),
        num_outputs: outputs,
        input_boxes: vec![input_box],
        unsafe_region: UnsafeRegion { disjuncts },
    }
}

/// "Inside `input_box`, the decision must not be `class`": unsafe when `class` is at least
/// as good as every other output.
pub fn decision_must_not_be(
    name: &str,
    input_box: InputBox,
    outputs: usize,
    class: usize,
    rule: DecisionRule,
) -> Property {
    let conjunction = (0..outputs)
        .filter(|&j| j != class)
        .map(|j| not_ahead(outputs, j, class, rule))
        .collect();
    on_one_box(name, input_box, outputs, vec![conjunction])
}

/// "Inside `input_box`, the outputs must satisfy `requirement`": linear comparisons of the
/// outputs joined by `and`, such as `y0 >= y1 + 0.5 and 2*y2 <= 3` (outputs are `y0`, `y1`,
/// ... or `Y_0`, ...; `<` and `>` read as `<=` and `>=`). The unsafe region is the
/// disjunction of the comparisons' negations, boundary included (VNN-LIB has no strict
/// inequality), so a proof of the property is a proof of the strict requirement too.
pub fn outputs_must_satisfy(
    name: &str,
    input_box: InputBox,
    outputs: usize,
    requirement: &str,
) -> Result<Property, String> {
    let mut disjuncts = Vec::new();
    for clause in requirement.split(" and ") {
        let clause = clause.trim();
        let (lhs, op, rhs) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|op| clause.split_once(op).map(|(l, r)| (l, *op, r)))
            .ok_or_else(|| format!("\"{clause}\" compares nothing: use <= or >="))?;
        let (left, left_constant) = linear_expression(lhs, outputs)?;
        let (right, right_constant) = linear_expression(rhs, outputs)?;
        // lhs - rhs = c . y + k.
        let c: Vec<f64> = left.iter().zip(&right).map(|(a, b)| a - b).collect();
        let k = left_constant - right_constant;
        if c.iter().all(|v| *v == 0.0) {
            return Err(format!("\"{clause}\" does not mention an output"));
        }
        // Safe: c.y + k <= 0 (for <=); unsafe: c.y + k >= 0, i.e. -c.y <= k.
        let constraint = if op.starts_with('<') {
            LinearConstraint {
                coefficients: c.iter().map(|v| -v).collect(),
                rhs: k,
            }
        } else {
            LinearConstraint {
                coefficients: c,
                rhs: -k,
            }
        };
        disjuncts.push(vec![constraint]);
    }
    Ok(on_one_box(name, input_box, outputs, disjuncts))
}

/// A sum of terms `[number][*]y<k>` or numbers: coefficients per output and the constant.
fn linear_expression(text: &str, outputs: usize) -> Result<(Vec<f64>, f64), String> {
    // Split into signed terms at + and -, but not inside a number's exponent (1e-3).
    let mut terms: Vec<(f64, String)> = Vec::new();
    let mut current = String::new();
    let mut sign = 1.0;
    let mut previous = ' ';
    for ch in text.chars() {
        let in_exponent = matches!(previous, 'e' | 'E')
            && current.len() > 1
            && current[..current.len() - 1]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_digit() || c == '.');
        if (ch == '+' || ch == '-') && !in_exponent {
            if !current.trim().is_empty() {
                terms.push((sign, current.trim().to_string()));
            }
            current.clear();
            sign = if ch == '-' { -1.0 } else { 1.0 };
        } else if !ch.is_whitespace() {
            current.push(ch);
        }
        if !ch.is_whitespace() {
            previous = ch;
        }
    }
    if !current.trim().is_empty() {
        terms.push((sign, current.trim().to_string()));
    }
    if terms.is_empty() {
        return Err(format!("\"{}\" is empty", text.trim()));
    }
    let mut coefficients = vec![0.0; outputs];
    let mut constant = 0.0;
    for (sign, token) in terms {
        let (factor, variable) = match token.rsplit_once('*') {
            Some((f, v)) => (Some(f.to_string()), v.to_string()),
            None => match token.find(['y', 'Y']) {
                Some(0) => (None, token.clone()),
                Some(i) => (Some(token[..i].to_string()), token[i..].to_string()),
                None => (Some(token.clone()), String::new()),
            },
        };
        let factor: f64 = match factor {
            Some(f) => f
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    if variable.is_empty() {
                        format!("\"{f}\" is neither a number nor an output (y0, y1, ...)")
                    } else {
                        format!("\"{f}\" is not a number (in \"{}\")", text.trim())
                    }
                })?,
            None => 1.0,
        };
        if variable.is_empty() {
            constant += sign * factor;
            continue;
        }
        let index: usize = variable
            .trim_start_matches(['y', 'Y'])
            .trim_start_matches('_')
            .parse()
            .map_err(|_| format!("\"{variable}\" is not an output: write y0, y1, ..."))?;
        if index >= outputs {
            return Err(format!(
                "there is no output {variable}: the network has {outputs} (y0..y{})",
                outputs.saturating_sub(1)
            ));
        }
        coefficients[index] += sign * factor;
    }
    Ok((coefficients, constant))
}

/// Which inputs of a batch violate at least one of the properties (`true` = negative),
/// given the outputs already computed.
pub fn negatives_of(
    properties: &[Property],
    inputs: &ArrayRef2<f32>,
    outputs: &ArrayRef2<f32>,
) -> Vec<bool> {
    let inputs = &*crate::tensor::standard(inputs);
    let outputs = &*crate::tensor::standard(outputs);
    inputs
        .row_slices()
        .zip(outputs.row_slices())
        .map(|(x, y)| properties.iter().any(|p| p.is_negative(x, y)))
        .collect()
}

/// Runs the network on a batch and marks the inputs that violate at least one property.
pub fn classify(
    net: &Network,
    properties: &[Property],
    inputs: &ArrayRef2<f32>,
) -> Result<Vec<bool>, PropertyError> {
    let inputs = &*crate::tensor::standard(inputs);
    for p in properties {
        p.check_fits(net)?;
    }
    let outputs = net.forward(inputs)?;
    Ok(negatives_of(properties, inputs, &outputs))
}

#[cfg(test)]
mod custom_requirement_tests {
    use super::*;

    fn unit_box() -> InputBox {
        InputBox::new(vec![0.0], vec![1.0]).unwrap()
    }

    #[test]
    fn a_custom_requirement_marks_exactly_its_violations_unsafe() {
        let p =
            outputs_must_satisfy("c", unit_box(), 3, "y0 >= y1 + 0.5 and 2*y2 <= 1e-1").unwrap();
        assert_eq!(p.unsafe_region.disjuncts.len(), 2);
        let x = [0.5f32];
        assert!(!p.is_negative(&x, &[1.0, 0.4, 0.0]), "both hold");
        assert!(p.is_negative(&x, &[1.0, 0.6, 0.0]), "y0 < y1 + 0.5");
        assert!(p.is_negative(&x, &[1.0, 0.0, 0.06]), "2 y2 > 0.1");
        assert!(
            p.is_negative(&x, &[1.0, 0.5, 0.0]),
            "the boundary counts as unsafe"
        );
        assert!(!p.is_negative(&[2.0], &[0.0, 9.0, 9.0]), "outside the box");
        let q = outputs_must_satisfy("d", unit_box(), 2, "Y_1 - 3 < -Y_0").unwrap();
        assert!(!q.is_negative(&x, &[1.0, 1.0]));
        assert!(q.is_negative(&x, &[2.0, 1.5]));
    }

    #[test]
    fn bad_custom_requirements_say_what_is_wrong() {
        for (text, expected) in [
            ("y0", "compares nothing"),
            ("y3 <= 1", "no output y3"),
            ("y0 <= x", "neither a number nor an output"),
            ("y0 <= yy", "not an output"),
            ("1 <= 2", "does not mention an output"),
            ("y0 <= ", "empty"),
            ("abc*y0 <= 1", "not a number"),
        ] {
            let e = outputs_must_satisfy("e", unit_box(), 2, text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_requirements_follow_the_rule_and_count_ties_as_violations() {
        let unit = || InputBox::new(vec![0.0], vec![1.0]).unwrap();
        let x = [0.5f32];
        let must = decision_must_be("m", unit(), 3, 1, DecisionRule::Argmax);
        assert!(!must.is_negative(&x, &[0.0, 2.0, 1.0]));
        assert!(must.is_negative(&x, &[3.0, 2.0, 1.0]));
        assert!(must.is_negative(&x, &[2.0, 2.0, 1.0]), "a tie");
        assert!(
            !must.is_negative(&[1.5], &[3.0, 2.0, 1.0]),
            "outside the box"
        );
        let must_min = decision_must_be("m", unit(), 3, 1, DecisionRule::Argmin);
        assert!(!must_min.is_negative(&x, &[3.0, 0.5, 1.0]));
        assert!(must_min.is_negative(&x, &[0.0, 2.0, 1.0]));
        let not = decision_must_not_be("n", unit(), 3, 0, DecisionRule::Argmax);
        assert!(not.is_negative(&x, &[3.0, 2.0, 1.0]));
        assert!(!not.is_negative(&x, &[1.0, 2.0, 1.0]));
        let not_min = decision_must_not_be("n", unit(), 3, 0, DecisionRule::Argmin);
        assert!(not_min.is_negative(&x, &[0.0, 2.0, 1.0]));
        assert!(!not_min.is_negative(&x, &[3.0, 2.0, 1.0]));
    }

    fn le(coefficients: Vec<f64>, rhs: f64) -> LinearConstraint {
        LinearConstraint { coefficients, rhs }
    }

    #[test]
    fn margin_is_non_positive_exactly_on_the_unsafe_set() {
        // Unsafe: (y0 <= y1 and y0 <= y2) or (y2 >= 1).
        let region = UnsafeRegion {
            disjuncts: vec![
                vec![le(vec![1.0, -1.0, 0.0], 0.0), le(vec![1.0, 0.0, -1.0], 0.0)],
                vec![le(vec![0.0, 0.0, -1.0], -1.0)],
            ],
        };
        for y in [
            [0.0f32, 1.0, 2.0],
            [0.5, 0.2, 0.9],
            [3.0, 0.0, 1.0],
            [3.0, 0.0, 0.99],
            [0.1, 0.1, 0.1],
        ] {
            let (m, _) = region.violation_margin(&y);
            assert_eq!(m <= 0.0, region.contains(&y), "{y:?} margin {m}");
        }
        assert!(!UnsafeRegion { disjuncts: vec![] }.contains(&[1.0]));
        assert!(UnsafeRegion {
            disjuncts: vec![vec![]]
        }
        .contains(&[1.0]));
    }

    #[test]
    fn projection_lands_inside_f64_bounds() {
        let b = InputBox::new(
            vec![-0.328_422_877_151_059_56, 0.25],
            vec![0.679_857_768_706_128_4, 0.25],
        )
        .unwrap();
        let mut x = [-5.0f32, 3.0];
        b.project(&mut x);
        assert!(b.contains(&x), "{x:?}");
        let mut y = [5.0f32, -3.0];
        b.project(&mut y);
        assert!(b.contains(&y), "{y:?}");
        assert!(InputBox::new(vec![1.0], vec![0.0]).is_err());
        assert!(InputBox::new(vec![f64::NAN], vec![0.0]).is_err());
    }
}
