//! VNN-LIB properties: reading and writing.
//!
//! Supported: `(declare-const X_i Real)` / `(declare-const Y_j Real)`, `(assert F)` where `F`
//! is built from `and`, `or`, `<=`, `>=`, `=` over linear terms (`+`, `-`, `*` by constants,
//! numbers, variables). All asserts together describe the *unsafe* set. They are expanded to
//! a disjunction of (input box, output conjunction) pairs, which must factor into
//! (union of boxes) x (disjunction of output conjunctions): property 6's two boxes and any
//! DNF over the outputs fit; an input region that depends on the output disjunct does not.
//! Strict `<`/`>` are refused rather than silently read as non-strict.

use super::{display_stem, ParseError};
use crate::property::{InputBox, LinearConstraint, Property, UnsafeRegion};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Deeper nesting than this is refused (the interpreter recurses over the tree).
const MAX_DEPTH: usize = 256;

/// Expanding nested `or`s can blow up; past this many disjuncts the file is refused.
const MAX_DISJUNCTS: usize = 100_000;

#[derive(Clone, Debug)]
enum Expr {
    Atom {
        text: String,
        line: usize,
        column: usize,
    },
    List {
        items: Vec<Expr>,
        line: usize,
        column: usize,
    },
}

impl Expr {
    fn position(&self) -> (usize, usize) {
        match self {
            Expr::Atom { line, column, .. } | Expr::List { line, column, .. } => (*line, *column),
        }
    }
}

struct Lexer<'a> {
    file: &'a str,
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_blank(&mut self) {
        while let Some(&c) = self.chars.peek() {
            if c == ';' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// Parses every top-level expression. Nesting depth is bounded by an explicit stack,
    /// so deeply nested input cannot overflow the call stack.
    fn parse_all(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut stack: Vec<(Vec<Expr>, usize, usize)> = vec![(Vec::new(), 0, 0)];
        loop {
            self.skip_blank();
            let (line, column) = (self.line, self.column);
            match self.chars.peek().copied() {
                None => {
                    if stack.len() > 1 {
                        let (_, l, c) = stack.pop().expect("non-empty");
                        return Err(ParseError::at(
                            self.file,
                            self.line,
                            self.column,
                            format!("file ends inside the list opened at {l}:{c}: expected ')'"),
                        ));
                    }
                    return Ok(stack.pop().expect("top level").0);
                }
                Some('(') => {
                    self.bump();
                    if stack.len() > MAX_DEPTH {
                        return Err(ParseError::at(
                            self.file,
                            line,
                            column,
                            format!("lists nested deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    stack.push((Vec::new(), line, column));
                }
                Some(')') => {
                    self.bump();
                    if stack.len() == 1 {
                        return Err(ParseError::at(self.file, line, column, "unexpected ')'"));
                    }
                    let (items, l, c) = stack.pop().expect("non-empty");
                    stack.last_mut().expect("parent").0.push(Expr::List {
                        items,
                        line: l,
                        column: c,
                    });
                }
                Some(_) => {
                    let mut text = String::new();
                    while let Some(&c) = self.chars.peek() {
                        if c.is_whitespace() || c == '(' || c == ')' || c == ';' {
                            break;
                        }
                        text.push(c);
                        self.bump();
                    }
                    stack
                        .last_mut()
                        .expect("level")
                        .0
                        .push(Expr::Atom { text, line, column });
                }
            }
        }
    }
}

/// A linear term over inputs and outputs: `sum coeff * var + constant`.
#[derive(Clone, Debug, Default)]
struct Linear {
    inputs: BTreeMap<usize, f64>,
    outputs: BTreeMap<usize, f64>,
    constant: f64,
}

impl Linear {
    fn scaled(mut self, k: f64) -> Linear {
        self.inputs.values_mut().for_each(|v| *v *= k);
        self.outputs.values_mut().for_each(|v| *v *= k);
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
        self.constant += other.constant;
        self
    }

    fn is_constant(&self) -> bool {
        self.inputs.values().all(|&v| v == 0.0) && self.outputs.values().all(|&v| v == 0.0)
    }
}

/// `lhs <= 0` for a linear term.
#[derive(Clone, Debug)]
struct Atom {
    term: Linear,
    line: usize,
    column: usize,
}

#[derive(Clone, Debug)]
enum Formula {
    Atom(Atom),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

struct Interpreter<'a> {
    file: &'a str,
    num_inputs: usize,
    num_outputs: usize,
}

impl Interpreter<'_> {
    fn err(&self, at: &Expr, message: impl Into<String>) -> ParseError {
        let (line, column) = at.position();
        ParseError::at(self.file, line, column, message)
    }

    fn variable(&self, name: &str) -> Option<(bool, usize)> {
        let (is_input, index) = if let Some(i) = name.strip_prefix("X_") {
            (true, i)
        } else {
            (false, name.strip_prefix("Y_")?)
        };
        let index: usize = index.parse().ok()?;
        Some((is_input, index))
    }

    fn term(&self, e: &Expr) -> Result<Linear, ParseError> {
        match e {
            Expr::Atom { text, .. } => {
                if let Some((is_input, index)) = self.variable(text) {
                    let (limit, kind) = if is_input {
                        (self.num_inputs, "input")
                    } else {
                        (self.num_outputs, "output")
                    };
                    if index >= limit {
                        return Err(self.err(
                            e,
                            format!("{text} is not declared ({limit} {kind} variables are)"),
                        ));
                    }
                    let mut l = Linear::default();
                    if is_input {
                        l.inputs.insert(index, 1.0);
                    } else {
                        l.outputs.insert(index, 1.0);
                    }
                    return Ok(l);
                }
                match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Linear {
                        constant: v,
                        ..Default::default()
                    }),
                    _ => Err(self.err(
                        e,
                        format!("expected a number or a declared X_i / Y_j, found '{text}'"),
                    )),
                }
            }
            Expr::List { items, .. } => {
                let (head, args) = match items.split_first() {
                    Some((Expr::Atom { text, .. }, args)) => (text.as_str(), args),
                    _ => return Err(self.err(e, "expected (+ ...), (- ...) or (* ...)")),
                };
                let terms: Vec<Linear> = args
                    .iter()
                    .map(|a| self.term(a))
                    .collect::<Result<_, _>>()?;
                match (head, terms.len()) {
                    ("+", n) if n >= 1 => {
                        Ok(terms.into_iter().reduce(Linear::add).expect("n >= 1"))
                    }
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
                                return Err(self.err(e, "a product of two variables is not linear"));
                            }
                        }
                        Ok(product)
                    }
                    _ => Err(self.err(
                        e,
                        format!(
                            "expected (+ ...), (- ...) or (* ...) with arguments, found '{head}'"
                        ),
                    )),
                }
            }
        }
    }

    fn formula(&self, e: &Expr) -> Result<Formula, ParseError> {
        let Expr::List {
            items,
            line,
            column,
        } = e
        else {
            return Err(self.err(
                e,
                "expected a formula: (and ...), (or ...), (<= a b), (>= a b)",
            ));
        };
        let (head, args) = match items.split_first() {
            Some((Expr::Atom { text, .. }, args)) => (text.as_str(), args),
            _ => {
                return Err(self.err(
                    e,
                    "expected a formula: (and ...), (or ...), (<= a b), (>= a b)",
                ))
            }
        };
        let atom = |term: Linear| {
            Formula::Atom(Atom {
                term,
                line: *line,
                column: *column,
            })
        };
        match head {
            "and" | "or" => {
                let parts = args.iter().map(|a| self.formula(a)).collect::<Result<Vec<_>, _>>()?;
                Ok(if head == "and" {
                    Formula::And(parts)
                } else {
                    Formula::Or(parts)
                })
            }
            "<=" | ">=" | "=" => {
                if args.len() < 2 {
                    return Err(self.err(e, format!("({head} ...) needs at least two terms")));
                }
                let terms: Vec<Linear> = args.iter().map(|a| self.term(a)).collect::<Result<_, _>>()?;
                // Chains like (<= a b c) mean a <= b and b <= c.
                let mut atoms = Vec::new();
                for pair in terms.windows(2) {
                    let diff = pair[0].clone().add(pair[1].clone().scaled(-1.0));
                    match head {
                        "<=" => atoms.push(atom(diff)),
                        ">=" => atoms.push(atom(diff.scaled(-1.0))),
                        _ => {
                            atoms.push(atom(diff.clone()));
                            atoms.push(atom(diff.scaled(-1.0)));
                        }
                    }
                }
                Ok(if atoms.len() == 1 {
                    atoms.pop().expect("one")
                } else {
                    Formula::And(atoms)
                })
            }
            "<" | ">" => Err(self.err(
                e,
                format!("strict comparison '{head}' is not supported; write '{head}=' (sampled outputs cannot tell them apart)"),
            )),
            other => Err(self.err(e, format!("expected and, or, <=, >= or =, found '{other}'"))),
        }
    }

    /// Disjunctive normal form; each inner vector is a conjunction of atoms.
    fn dnf(&self, f: &Formula) -> Result<Vec<Vec<Atom>>, ParseError> {
        match f {
            Formula::Atom(a) => Ok(vec![vec![a.clone()]]),
            Formula::Or(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    out.extend(self.dnf(p)?);
                    self.check_size(out.len())?;
                }
                Ok(out)
            }
            Formula::And(parts) => {
                let mut acc: Vec<Vec<Atom>> = vec![vec![]];
                for p in parts {
                    let d = self.dnf(p)?;
                    self.check_size(acc.len().saturating_mul(d.len()))?;
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

    fn check_size(&self, n: usize) -> Result<(), ParseError> {
        if n > MAX_DISJUNCTS {
            return Err(ParseError::whole(
                self.file,
                format!("the asserts expand to more than {MAX_DISJUNCTS} disjuncts"),
            ));
        }
        Ok(())
    }
}

/// Parses a VNN-LIB property.
pub fn read(file: &str, text: &str) -> Result<Property, ParseError> {
    let mut lexer = Lexer {
        file,
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
    };
    let top = lexer.parse_all()?;
    let mut interp = Interpreter {
        file,
        num_inputs: 0,
        num_outputs: 0,
    };
    let mut declared_inputs = Vec::new();
    let mut declared_outputs = Vec::new();
    let mut asserts = Vec::new();
    for e in &top {
        let Expr::List { items, .. } = e else {
            return Err(interp.err(e, "expected (declare-const ...) or (assert ...)"));
        };
        match items.first() {
            Some(Expr::Atom { text, .. }) if text == "declare-const" => {
                let (name, sort) = match items.as_slice() {
                    [_, Expr::Atom { text: n, .. }, Expr::Atom { text: s, .. }] => (n, s),
                    _ => return Err(interp.err(e, "expected (declare-const NAME Real)")),
                };
                if sort != "Real" {
                    return Err(
                        interp.err(e, format!("expected sort Real for {name}, found {sort}"))
                    );
                }
                match interp.variable(name) {
                    Some((true, i)) => declared_inputs.push((i, e.clone())),
                    Some((false, j)) => declared_outputs.push((j, e.clone())),
                    None => {
                        return Err(interp.err(
                            e,
                            format!("variables must be named X_i or Y_j, found '{name}'"),
                        ))
                    }
                }
            }
            Some(Expr::Atom { text, .. }) if text == "assert" => {
                if items.len() != 2 {
                    return Err(interp.err(e, "expected (assert FORMULA)"));
                }
                asserts.push(&items[1]);
            }
            _ => return Err(interp.err(e, "expected (declare-const ...) or (assert ...)")),
        }
    }
    for (decls, kind) in [(&mut declared_inputs, "X"), (&mut declared_outputs, "Y")] {
        decls.sort_by_key(|(i, _)| *i);
        for (expected, (i, e)) in decls.iter().enumerate() {
            if *i != expected {
                return Err(interp.err(
                    e,
                    format!("{kind}_{i} declared but {kind}_{expected} is missing or repeated"),
                ));
            }
        }
    }
    interp.num_inputs = declared_inputs.len();
    interp.num_outputs = declared_outputs.len();
    if interp.num_inputs == 0 || interp.num_outputs == 0 {
        return Err(ParseError::whole(
            file,
            "expected declarations of X_0.. and Y_0..",
        ));
    }

    let formulas = asserts
        .iter()
        .map(|a| interp.formula(a))
        .collect::<Result<Vec<_>, _>>()?;
    let disjuncts = interp.dnf(&Formula::And(formulas))?;

    // Split each disjunct into its input box and its output conjunction.
    let n = interp.num_inputs;
    let mut pairs: Vec<(InputBox, Vec<LinearConstraint>)> = Vec::new();
    for conj in disjuncts {
        let mut lower = vec![f64::NEG_INFINITY; n];
        let mut upper = vec![f64::INFINITY; n];
        let mut outputs = Vec::new();
        let mut contradictory = false;
        for atom in conj {
            let t = &atom.term;
            let input_vars: Vec<(usize, f64)> = t
                .inputs
                .iter()
                .filter(|(_, &c)| c != 0.0)
                .map(|(&i, &c)| (i, c))
                .collect();
            let has_outputs = t.outputs.values().any(|&c| c != 0.0);
            let at = |msg: String| ParseError::at(file, atom.line, atom.column, msg);
            match (input_vars.as_slice(), has_outputs) {
                ([], false) => {
                    // A constant comparison: true (drop it) or false (the disjunct is empty).
                    if t.constant > 0.0 {
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
                    let mut coefficients = vec![0.0; interp.num_outputs];
                    for (&j, &c) in &t.outputs {
                        coefficients[j] = c;
                    }
                    outputs.push(LinearConstraint {
                        coefficients,
                        rhs: -t.constant,
                    });
                }
                (_, false) => {
                    return Err(at("constraints over several inputs are not supported; the input region must be a box or a union of boxes".into()))
                }
                (_, true) => {
                    return Err(at("constraints mixing inputs and outputs are not supported".into()))
                }
            }
        }
        if contradictory || lower.iter().zip(&upper).any(|(l, u)| l > u) {
            continue;
        }
        if let Some(i) = (0..n).find(|&i| !lower[i].is_finite() || !upper[i].is_finite()) {
            return Err(ParseError::whole(
                file,
                format!("X_{i} needs both a lower and an upper bound in every disjunct (the input region must be bounded)"),
            ));
        }
        let input_box = InputBox { lower, upper };
        pairs.push((input_box, outputs));
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
            "the input region depends on which output disjunct holds; birdnn supports (union of boxes) x (disjunction of output constraints)",
        ));
    }
    if boxes.is_empty() {
        return Err(ParseError::whole(
            file,
            "the input region is empty (contradictory bounds)",
        ));
    }
    Ok(Property {
        name: display_stem(file),
        num_inputs: interp.num_inputs,
        num_outputs: interp.num_outputs,
        input_boxes: boxes,
        unsafe_region: UnsafeRegion {
            disjuncts: output_parts,
        },
    })
}

fn write_constraint(out: &mut String, c: &LinearConstraint) {
    let nonzero: Vec<(usize, f64)> = c
        .coefficients
        .iter()
        .enumerate()
        .filter(|(_, &v)| v != 0.0)
        .map(|(j, &v)| (j, v))
        .collect();
    // Keep the common shapes readable: (<= Y_a Y_b), (>= Y_a k), (<= Y_a k).
    match nonzero.as_slice() {
        [(a, 1.0), (b, -1.0)] if c.rhs == 0.0 => write!(out, "(<= Y_{a} Y_{b})"),
        [(a, -1.0), (b, 1.0)] if c.rhs == 0.0 => write!(out, "(<= Y_{b} Y_{a})"),
        [(a, 1.0)] => write!(out, "(<= Y_{a} {})", c.rhs),
        [(a, -1.0)] => write!(out, "(>= Y_{a} {})", -c.rhs),
        _ => {
            out.push_str("(<= (+");
            for (j, v) in &nonzero {
                write!(out, " (* {v} Y_{j})").expect("string");
            }
            if nonzero.is_empty() {
                out.push_str(" 0");
            }
            write!(out, ") {})", c.rhs)
        }
    }
    .expect("writing to a String");
}

fn write_box(out: &mut String, b: &InputBox, indent: &str) {
    for (i, (l, u)) in b.lower.iter().zip(&b.upper).enumerate() {
        write!(out, "{indent}(<= X_{i} {u}) (>= X_{i} {l})").expect("string");
        out.push_str(if indent.is_empty() { "\n" } else { "" });
    }
}

/// Writes a property as VNN-LIB (numbers in shortest round-tripping form, so reading the
/// text back gives the same property).
pub fn write(p: &Property) -> String {
    let mut out = format!(
        "; {}\n; written by birdnn {}\n\n",
        p.name,
        env!("CARGO_PKG_VERSION")
    );
    for i in 0..p.num_inputs {
        writeln!(out, "(declare-const X_{i} Real)").expect("string");
    }
    out.push('\n');
    for j in 0..p.num_outputs {
        writeln!(out, "(declare-const Y_{j} Real)").expect("string");
    }
    out.push_str("\n; input region\n");
    match p.input_boxes.as_slice() {
        [single] => {
            for (i, (l, u)) in single.lower.iter().zip(&single.upper).enumerate() {
                writeln!(out, "(assert (<= X_{i} {u}))\n(assert (>= X_{i} {l}))").expect("string");
            }
        }
        boxes => {
            out.push_str("(assert (or\n");
            for b in boxes {
                out.push_str("    (and");
                write_box(&mut out, b, " ");
                out.push_str(")\n");
            }
            out.push_str("))\n");
        }
    }
    out.push_str("\n; unsafe outputs\n");
    match p.unsafe_region.disjuncts.as_slice() {
        [single] => {
            for c in single {
                out.push_str("(assert ");
                write_constraint(&mut out, c);
                out.push_str(")\n");
            }
        }
        disjuncts => {
            out.push_str("(assert (or\n");
            for conj in disjuncts {
                out.push_str("    (and");
                for c in conj {
                    out.push(' ');
                    write_constraint(&mut out, c);
                }
                out.push_str(")\n");
            }
            out.push_str("))\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "; test\n(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n(declare-const Y_2 Real)\n(assert (<= X_0 0.5))\n(assert (>= X_0 -0.5))\n(assert (and (<= X_1 1) (>= X_1 0)))\n(assert (or (and (<= Y_0 Y_1) (<= Y_0 Y_2)) (and (>= (+ Y_1 (* 2 Y_2)) 3.5))))\n";

    #[test]
    fn reads_boxes_and_dnf() {
        let p = read("s.vnnlib", SAMPLE).unwrap();
        assert_eq!((p.num_inputs, p.num_outputs), (2, 3));
        assert_eq!(
            p.input_boxes,
            vec![InputBox {
                lower: vec![-0.5, 0.0],
                upper: vec![0.5, 1.0]
            }]
        );
        assert_eq!(p.unsafe_region.disjuncts.len(), 2);
        assert!(p.unsafe_region.contains(&[0.0, 1.0, 2.0]));
        assert!(!p.unsafe_region.contains(&[5.0, 1.0, 1.0]));
        assert!(p.unsafe_region.contains(&[5.0, 1.5, 1.0]));
        assert_eq!(
            read("w.vnnlib", &write(&p)).unwrap().unsafe_region,
            p.unsafe_region
        );
        assert_eq!(
            read("w.vnnlib", &write(&p)).unwrap().input_boxes,
            p.input_boxes
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = read("s.vnnlib", &SAMPLE.replace("(<= X_0 0.5)", "(< X_0 0.5)")).unwrap_err();
        assert_eq!(
            e.location,
            super::super::Location::Line { line: 7, column: 9 }
        );
        assert!(e.message.contains("strict"), "{e}");
        let e = read("s.vnnlib", &SAMPLE.replace("Y_2))", "Y_7))")).unwrap_err();
        assert!(e.to_string().contains("Y_7 is not declared"), "{e}");
        let e = read("s.vnnlib", &SAMPLE[..SAMPLE.len() - 5]).unwrap_err();
        assert!(e.to_string().contains("expected ')'"), "{e}");
        let e = read("s.vnnlib", &SAMPLE.replace("(assert (<= X_0 0.5))\n", "")).unwrap_err();
        assert!(e.to_string().contains("X_0 needs both"), "{e}");
        let coupled = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (or (and (<= X_0 1) (>= X_0 0) (<= Y_0 0)) (and (<= X_0 3) (>= X_0 2) (>= Y_0 1))))";
        assert!(read("c.vnnlib", coupled)
            .unwrap_err()
            .to_string()
            .contains("depends"));
        let deep = "(".repeat(100_000);
        assert!(read("d.vnnlib", &deep).is_err());
    }
}
