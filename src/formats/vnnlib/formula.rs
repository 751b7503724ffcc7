//! What both VNN-LIB versions share once their variables are resolved: linear terms over
//! the network's (flattened) inputs and outputs, formulas of comparisons with `and`/`or`,
//! their disjunctive normal form, and the property that form describes.

use super::lexer::Expr;
use super::ParseError;
use crate::property::{InputBox, LinearConstraint, Property, UnsafeRegion};
use std::collections::BTreeMap;

/// Expanding nested `or`s can blow up; past this many disjuncts the file is refused.
const MAX_DISJUNCTS: usize = 100_000;

/// A variable of the query: an element of the network's input or output, or of its
/// `h`-th declared hidden tensor (flat indices, row-major).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Var {
    Input(usize),
    Output(usize),
    Hidden(usize, usize),
}

/// A linear term over inputs, outputs and hidden values: `sum coeff * var + constant`.
#[derive(Clone, Debug, Default)]
pub(super) struct Linear {
    inputs: BTreeMap<usize, f64>,
    outputs: BTreeMap<usize, f64>,
    hidden: BTreeMap<(usize, usize), f64>,
    constant: f64,
}

/// The values a formula is evaluated at: the network's input, its declared hidden tensors
/// (in declaration order, each flat) and its output.
#[derive(Clone, Copy, Debug)]
pub struct Values<'a> {
    /// The input.
    pub x: &'a [f32],
    /// The hidden tensors, as the query declares them.
    pub hidden: &'a [Vec<f32>],
    /// The output.
    pub y: &'a [f32],
}

impl Linear {
    fn of(var: Var) -> Linear {
        let mut l = Linear::default();
        match var {
            Var::Input(i) => l.inputs.insert(i, 1.0),
            Var::Output(j) => l.outputs.insert(j, 1.0),
            Var::Hidden(h, i) => l.hidden.insert((h, i), 1.0),
        };
        l
    }

    fn scaled(mut self, k: f64) -> Linear {
        self.inputs.values_mut().for_each(|v| *v *= k);
        self.outputs.values_mut().for_each(|v| *v *= k);
        self.hidden.values_mut().for_each(|v| *v *= k);
        self.constant *= k;
        self
    }

    fn add(mut self, other: Linear) -> Linear {
        for (k, v) in other.inputs {
            *self.inputs.entry(k).or_default() += v;
        }
        for (k, v) in other.outputs {
            *self.outputs.entry(k).or_default() += v;
        }
        for (k, v) in other.hidden {
            *self.hidden.entry(k).or_default() += v;
        }
        self.constant += other.constant;
        self
    }

    fn is_constant(&self) -> bool {
        self.inputs.values().all(|&v| v == 0.0)
            && self.outputs.values().all(|&v| v == 0.0)
            && !self.has_hidden()
    }

    fn has_hidden(&self) -> bool {
        self.hidden.values().any(|&v| v != 0.0)
    }

    fn value(&self, at: Values) -> f64 {
        let sum = |m: &BTreeMap<usize, f64>, v: &[f32]| -> f64 {
            m.iter().map(|(&i, &c)| c * v[i] as f64).sum()
        };
        let hidden: f64 = self
            .hidden
            .iter()
            .map(|(&(h, i), &c)| c * at.hidden[h][i] as f64)
            .sum();
        self.constant + sum(&self.inputs, at.x) + sum(&self.outputs, at.y) + hidden
    }

    /// A lower bound of the hidden part plus the constant, for hidden values within
    /// `bounds[h][i] = (low, high)`, when no input or output appears. It is lowered by a
    /// relative margin for the rounding of this sum in `f64`.
    fn hidden_lower_bound(&self, bounds: &[Vec<(f64, f64)>]) -> Option<f64> {
        if self.inputs.values().any(|&v| v != 0.0) || self.outputs.values().any(|&v| v != 0.0) {
            return None;
        }
        let (mut low, mut size) = (self.constant, self.constant.abs());
        for (&(h, i), &c) in &self.hidden {
            let (l, u) = *bounds.get(h)?.get(i)?;
            let term = if c >= 0.0 { c * l } else { c * u };
            low += term;
            size += term.abs();
        }
        Some(low - 1e-9 * (size + 1.0))
    }
}

/// `term <= 0`, or `term < 0` when strict.
#[derive(Clone, Debug)]
pub(super) struct Atom {
    term: Linear,
    strict: bool,
    line: usize,
    column: usize,
}

/// A formula of comparisons.
#[derive(Clone, Debug)]
pub(super) enum Formula {
    Atom(Atom),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

impl Formula {
    /// Whether the formula holds exactly (strict comparisons strictly) at `at`: the test a
    /// counterexample must pass.
    pub(super) fn holds(&self, at: Values) -> bool {
        match self {
            Formula::Atom(a) => {
                let v = a.term.value(at);
                if a.strict {
                    v < 0.0
                } else {
                    v <= 0.0
                }
            }
            Formula::And(parts) => parts.iter().all(|p| p.holds(at)),
            Formula::Or(parts) => parts.iter().any(|p| p.holds(at)),
        }
    }
}

/// The comparisons a version of the language allows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// 1.0: `<=`, `>=`, `=`; strict comparisons refused.
    V1,
    /// 2.0: `<=`, `>=`, `<`, `>`, `==`, `!=`.
    V2,
}

/// Reads terms and formulas, with `resolve` naming the variables.
pub(super) struct Reader<'a> {
    pub file: &'a str,
    pub dialect: Dialect,
    /// `Ok(Some(var))` for a variable, `Ok(None)` for text that is not a variable name
    /// (then it must be a number), `Err` for a name that cannot be used (the message).
    #[allow(clippy::type_complexity)]
    pub resolve: &'a dyn Fn(&str) -> Result<Option<Var>, String>,
}

impl Reader<'_> {
    pub(super) fn err(&self, at: &Expr, message: impl Into<String>) -> ParseError {
        let (line, column) = at.position();
        ParseError::at(self.file, line, column, message)
    }

    fn term(&self, e: &Expr) -> Result<Linear, ParseError> {
        if let Some(text) = e.atom() {
            if let Some(var) = (self.resolve)(text).map_err(|m| self.err(e, m))? {
                return Ok(Linear::of(var));
            }
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Linear {
                    constant: v,
                    ..Default::default()
                }),
                _ => Err(self.err(
                    e,
                    match self.dialect {
                        Dialect::V1 => {
                            format!("expected a number or a declared X_i / Y_j, found '{text}'")
                        }
                        Dialect::V2 => format!(
                            "expected a number or a declared variable (X[i,j] or a scalar), found '{text}'"
                        ),
                    },
                )),
            };
        }
        let Some((head, args)) = e.head() else {
            return Err(self.err(e, "expected (+ ...), (- ...) or (* ...)"));
        };
        let terms: Vec<Linear> = args
            .iter()
            .map(|a| self.term(a))
            .collect::<Result<_, _>>()?;
        match (head, terms.len()) {
            ("+", n) if n >= 1 => Ok(terms.into_iter().reduce(Linear::add).expect("n >= 1")),
            ("-", 1) => Ok(terms.into_iter().next().expect("one").scaled(-1.0)),
            ("-", n) if n >= 2 => {
                let mut it = terms.into_iter();
                let first = it.next().expect("first");
                Ok(it.fold(first, |acc, t| acc.add(t.scaled(-1.0))))
            }
            ("*", n) if n >= 1 => {
                let mut product = Linear {
                    constant: 1.0,
                    ..Default::default()
                };
                let mut has_variable = false;
                for t in terms {
                    if t.is_constant() {
                        product = product.scaled(t.constant);
                    } else if product.is_constant() && !has_variable {
                        product = t.scaled(product.constant);
                        has_variable = true;
                    } else {
                        return Err(
                            self.err(e, "not supported: a product of two variables is not linear")
                        );
                    }
                }
                Ok(product)
            }
            _ => Err(self.err(
                e,
                format!("expected (+ ...), (- ...) or (* ...) with arguments, found '{head}'"),
            )),
        }
    }

    fn expected_formula(&self) -> &'static str {
        match self.dialect {
            Dialect::V1 => "expected a formula: (and ...), (or ...), (<= a b), (>= a b)",
            Dialect::V2 => {
                "expected a formula: (and ...), (or ...), (<= a b), (>= a b), (< a b), (> a b), (== a b), (!= a b)"
            }
        }
    }

    pub(super) fn formula(&self, e: &Expr) -> Result<Formula, ParseError> {
        let Some((head, args)) = e.head() else {
            return Err(self.err(e, self.expected_formula()));
        };
        let (line, column) = e.position();
        let atom = |term: Linear, strict: bool| {
            Formula::Atom(Atom {
                term,
                strict,
                line,
                column,
            })
        };
        let v2 = self.dialect == Dialect::V2;
        match head {
            "and" | "or" => {
                let parts = args
                    .iter()
                    .map(|a| self.formula(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if head == "and" {
                    Formula::And(parts)
                } else {
                    Formula::Or(parts)
                })
            }
            "<=" | ">=" | "=" | "<" | ">" | "==" | "!=" => {
                match head {
                    "=" if v2 => {
                        return Err(self.err(e, "VNN-LIB 2.0 writes equality as '=='"))
                    }
                    "==" | "!=" if !v2 => {
                        return Err(self.err(
                            e,
                            format!("expected and, or, <=, >= or =, found '{head}'"),
                        ))
                    }
                    "<" | ">" if !v2 => return Err(self.err(
                        e,
                        format!("strict comparison '{head}' is not supported; write '{head}=' (sampled outputs cannot tell them apart)"),
                    )),
                    _ => {}
                }
                if args.len() < 2 || (v2 && args.len() != 2) {
                    return Err(self.err(
                        e,
                        if v2 {
                            format!("({head} a b) compares exactly two terms")
                        } else {
                            format!("({head} ...) needs at least two terms")
                        },
                    ));
                }
                let terms: Vec<Linear> = args
                    .iter()
                    .map(|a| self.term(a))
                    .collect::<Result<_, _>>()?;
                if v2 && terms.iter().all(Linear::is_constant) {
                    return Err(self.err(e, "a comparison of constants only has no type in VNN-LIB 2.0: it must involve a variable"));
                }
                // Chains like (<= a b c) mean a <= b and b <= c.
                let mut atoms = Vec::new();
                for pair in terms.windows(2) {
                    let diff = pair[0].clone().add(pair[1].clone().scaled(-1.0));
                    match head {
                        "<=" => atoms.push(atom(diff, false)),
                        ">=" => atoms.push(atom(diff.scaled(-1.0), false)),
                        "<" => atoms.push(atom(diff, true)),
                        ">" => atoms.push(atom(diff.scaled(-1.0), true)),
                        "!=" => atoms.push(Formula::Or(vec![
                            atom(diff.clone(), true),
                            atom(diff.scaled(-1.0), true),
                        ])),
                        _ => {
                            atoms.push(atom(diff.clone(), false));
                            atoms.push(atom(diff.scaled(-1.0), false));
                        }
                    }
                }
                Ok(if atoms.len() == 1 {
                    atoms.pop().expect("one")
                } else {
                    Formula::And(atoms)
                })
            }
            other => Err(self.err(
                e,
                match self.dialect {
                    Dialect::V1 => format!("expected and, or, <=, >= or =, found '{other}'"),
                    Dialect::V2 => {
                        format!("expected and, or, <=, >=, <, >, == or !=, found '{other}'")
                    }
                },
            )),
        }
    }
}

/// Disjunctive normal form; each inner vector is a conjunction of atoms.
fn dnf(file: &str, f: &Formula) -> Result<Vec<Vec<Atom>>, ParseError> {
    let check_size = |n: usize| {
        if n > MAX_DISJUNCTS {
            Err(ParseError::whole(
                file,
                format!("the asserts expand to more than {MAX_DISJUNCTS} disjuncts"),
            ))
        } else {
            Ok(())
        }
    };
    match f {
        Formula::Atom(a) => Ok(vec![vec![a.clone()]]),
        Formula::Or(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(dnf(file, p)?);
                check_size(out.len())?;
            }
            Ok(out)
        }
        Formula::And(parts) => {
            let mut acc: Vec<Vec<Atom>> = vec![vec![]];
            for p in parts {
                let d = dnf(file, p)?;
                check_size(acc.len().saturating_mul(d.len()))?;
                let mut next = Vec::with_capacity(acc.len() * d.len());
                for a in &acc {
                    for b in &d {
                        let mut c = a.clone();
                        c.extend(b.iter().cloned());
                        next.push(c);
                    }
                }
                acc = next;
            }
            Ok(acc)
        }
    }
}

/// Bounds of every declared hidden tensor's elements over an input box
/// (`bounds[h][i] = (low, high)`), or `None` where they are not known.
pub type HiddenBounds<'a> = &'a dyn Fn(&InputBox) -> Option<Vec<Vec<(f64, f64)>>>;

/// The property the conjunction of `formula` describes, with no bounds of hidden values
/// known (see [`property_within`]).
pub(super) fn property(
    file: &str,
    formula: &Formula,
    num_inputs: usize,
    num_outputs: usize,
    input_name: &dyn Fn(usize) -> String,
) -> Result<Property, ParseError> {
    property_within(file, formula, num_inputs, num_outputs, input_name, &|_| {
        None
    })?
    .ok_or_else(|| ParseError::whole(file, "the input region is empty (contradictory bounds)"))
}

/// The property the conjunction of `formula` describes (its unsafe set), over
/// `num_inputs` inputs named by `input_name` in messages. Strict comparisons are read as
/// their closures: the property's unsafe set then contains the query's, so a proof of the
/// property proves the query, and a counterexample is re-checked with
/// [`Formula::holds`]. Comparisons over hidden values are left out, which only enlarges
/// the unsafe set, except that a disjunct whose hidden comparison cannot hold within
/// `hidden_bounds` of its box is dropped (it is empty). `None`: every disjunct was
/// dropped that way, so the unsafe set is empty.
pub(super) fn property_within(
    file: &str,
    formula: &Formula,
    num_inputs: usize,
    num_outputs: usize,
    input_name: &dyn Fn(usize) -> String,
    hidden_bounds: HiddenBounds,
) -> Result<Option<Property>, ParseError> {
    let disjuncts = dnf(file, formula)?;
    let mut dropped_by_hidden = 0;
    let n = num_inputs;
    let mut pairs: Vec<(InputBox, Vec<LinearConstraint>)> = Vec::new();
    for conj in disjuncts {
        let mut lower = vec![f64::NEG_INFINITY; n];
        let mut upper = vec![f64::INFINITY; n];
        let mut outputs = Vec::new();
        let mut contradictory = false;
        let mut on_hidden = Vec::new();
        for atom in conj {
            let t = &atom.term;
            if t.has_hidden() {
                on_hidden.push(atom);
                continue;
            }
            let input_vars: Vec<(usize, f64)> = t
                .inputs
                .iter()
                .filter(|(_, &c)| c != 0.0)
                .map(|(&i, &c)| (i, c))
                .collect();
            let has_outputs = t.outputs.values().any(|&c| c != 0.0);
            let at = |msg: &str| ParseError::at(file, atom.line, atom.column, msg);
            match (input_vars.as_slice(), has_outputs) {
                ([], false) => {
                    // A constant comparison: true (drop it) or false (the disjunct is empty).
                    if t.constant > 0.0 || (atom.strict && t.constant >= 0.0) {
                        contradictory = true;
                    }
                }
                ([(i, c)], false) => {
                    // c * x_i + k <= 0
                    let bound = -t.constant / c;
                    if *c > 0.0 {
                        upper[*i] = upper[*i].min(bound);
                    } else {
                        lower[*i] = lower[*i].max(bound);
                    }
                }
                ([], true) => {
                    let mut coefficients = vec![0.0; num_outputs];
                    for (&j, &c) in &t.outputs {
                        coefficients[j] = c;
                    }
                    let constraint = LinearConstraint {
                        coefficients,
                        rhs: -t.constant,
                    };
                    if !outputs.contains(&constraint) {
                        outputs.push(constraint);
                    }
                }
                (_, false) => {
                    return Err(at("not supported: constraints over several inputs; the input region must be a box or a union of boxes"))
                }
                (_, true) => {
                    return Err(at("not supported: constraints mixing inputs and outputs"))
                }
            }
        }
        if contradictory || lower.iter().zip(&upper).any(|(l, u)| l > u) {
            continue;
        }
        if let Some(i) = (0..n).find(|&i| !lower[i].is_finite() || !upper[i].is_finite()) {
            return Err(ParseError::whole(
                file,
                format!(
                    "not supported: {} without both a lower and an upper bound in every disjunct (birdnn verifies bounded input regions)",
                    input_name(i)
                ),
            ));
        }
        let region = InputBox { lower, upper };
        if !on_hidden.is_empty() {
            if let Some(bounds) = hidden_bounds(&region) {
                let impossible = on_hidden.iter().any(|atom| {
                    atom.term
                        .hidden_lower_bound(&bounds)
                        .is_some_and(|low| low > 0.0 || (atom.strict && low >= 0.0))
                });
                if impossible {
                    dropped_by_hidden += 1;
                    continue;
                }
            }
        }
        pairs.push((region, outputs));
    }

    let mut boxes: Vec<InputBox> = Vec::new();
    let mut output_parts: Vec<Vec<LinearConstraint>> = Vec::new();
    for (b, o) in &pairs {
        if !boxes.contains(b) {
            boxes.push(b.clone());
        }
        if !output_parts.contains(o) {
            output_parts.push(o.clone());
        }
    }
    let factorises = boxes.iter().all(|b| {
        output_parts
            .iter()
            .all(|o| pairs.iter().any(|(pb, po)| pb == b && po == o))
    });
    if !factorises {
        return Err(ParseError::whole(
            file,
            "not supported: the input region depends on which output disjunct holds; birdnn supports (union of boxes) x (disjunction of output constraints)",
        ));
    }
    if boxes.is_empty() && dropped_by_hidden > 0 {
        return Ok(None);
    }
    if boxes.is_empty() {
        return Err(ParseError::whole(
            file,
            "the input region is empty (contradictory bounds)",
        ));
    }
    Ok(Some(Property {
        name: super::display_stem(file),
        num_inputs,
        num_outputs,
        input_boxes: boxes,
        unsafe_region: UnsafeRegion {
            disjuncts: output_parts,
        },
    }))
}
