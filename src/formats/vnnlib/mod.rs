//! VNN-LIB properties: reading and writing, versions 1.0 and 2.0.
//!
//! A file starting with `(vnnlib-version <2.x>)` is read as 2.0 (typed, shaped network
//! declarations and indexed variables, see [`v2`]); any other as 1.0 (`(declare-const X_i
//! Real)` / `(declare-const Y_j Real)`). Asserts are built from `and`, `or` and comparisons of
//! linear terms (`+`, `-`, `*` by constants); all of them together describe the *unsafe*
//! set. They are expanded to a disjunction of (input box, output conjunction) pairs, which
//! must factor into (union of boxes) x (disjunction of output conjunctions): property 6's
//! two boxes and any DNF over the outputs fit; an input region that depends on the output
//! disjunct does not. 1.0 refuses strict `<`/`>`; 2.0's strict comparisons and `!=` are
//! read soundly: the property's unsafe set is their closure, so proving it proves the
//! query, and a counterexample must pass [`Query::is_satisfied_by`], which is exact.

mod formula;
mod lexer;
mod v1;
mod v2;

use super::{display_stem, ParseError};
use crate::property::{LinearConstraint, Property};
use std::fmt::Write;

/// A declared tensor of a 2.0 query.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Its name in the query.
    pub name: String,
    /// `float32` or `real` (the only element types birdnn serves).
    pub element_type: String,
    /// Its dimensions (empty for a scalar).
    pub shape: Vec<usize>,
}

impl Tensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it has no elements (never, for a tensor read from a query).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape as the standard writes it, e.g. `[1,5]`.
    pub fn shape_text(&self) -> String {
        v2::shape_text(&self.shape)
    }

    /// The name of element `flat` (row-major), e.g. `X[0,3]`.
    pub fn element_name(&self, flat: usize) -> String {
        v2::element_name(self, flat)
    }
}

/// A declared hidden node of a 2.0 query: a tensor of the ONNX graph, named there.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenNode {
    /// Its variable in the query.
    pub tensor: Tensor,
    /// The name of the ONNX node output it stands for.
    pub onnx_name: String,
}

/// A query: the property it describes, plus what a 2.0 solver needs to answer it (the
/// declared network, tensors and the exact formula).
#[derive(Clone, Debug)]
pub struct Query {
    /// The file it was read from (for messages).
    file: String,
    /// `2.0` (the version line), or `1.0` for a file without one.
    pub version: String,
    /// The declared network's name (2.0 only).
    pub network: Option<String>,
    /// The network's input.
    pub input: Tensor,
    /// The declared hidden nodes, in order (2.0 only).
    pub hidden: Vec<HiddenNode>,
    /// The network's output.
    pub output: Tensor,
    /// The property: its unsafe set contains the query's (equal unless the query has
    /// strict comparisons, `!=` or comparisons of hidden values, which it leaves out).
    pub property: Property,
    /// The asserts as written (2.0); a 1.0 file's asserts are exactly its property.
    formula: Option<formula::Formula>,
}

pub use formula::{HiddenBounds, Values};

impl Query {
    /// Whether the values (input, declared hidden tensors, output) satisfy every assert
    /// exactly (strict comparisons strictly): what a satisfying assignment must pass.
    pub fn is_satisfied_by(&self, at: Values) -> bool {
        if at.x.len() != self.input.len()
            || at.y.len() != self.output.len()
            || at.hidden.len() != self.hidden.len()
            || at
                .hidden
                .iter()
                .zip(&self.hidden)
                .any(|(v, h)| v.len() != h.tensor.len())
        {
            return false;
        }
        match &self.formula {
            Some(f) => f.holds(at),
            None => self.property.is_negative(at.x, at.y),
        }
    }

    /// The property again, knowing bounds of the hidden values over input boxes
    /// (`bounds(box)[h][i]`, for the `h`-th declared hidden node): disjuncts whose hidden
    /// comparisons cannot hold there are dropped. `None`: none is left, the query is
    /// unsatisfiable. Where the dropped disjuncts leave a region birdnn cannot represent,
    /// the property without them is returned (a larger unsafe set, still sound).
    pub fn property_within(&self, bounds: HiddenBounds) -> Option<Property> {
        let Some(f) = &self.formula else {
            return Some(self.property.clone());
        };
        let element = |i: usize| self.input.element_name(i);
        match formula::property_within(
            &self.file,
            f,
            self.input.len(),
            self.output.len(),
            &element,
            bounds,
        ) {
            Ok(found) => found,
            Err(_) => Some(self.property.clone()),
        }
    }

    /// Whether the query asks for real-valued semantics (every declaration `real`).
    pub fn is_real(&self) -> bool {
        self.input.element_type == "real"
    }
}

/// Parses a VNN-LIB property (1.0 or 2.0). A query with hidden nodes is refused: its
/// property leaves their comparisons out, so a counterexample to it need not be one to
/// the query (only the solver interface, which checks each exactly, serves them).
pub fn read(file: &str, text: &str) -> Result<Property, ParseError> {
    let query = read_query(file, text)?;
    if let Some(h) = query.hidden.first() {
        return Err(ParseError::whole(
            file,
            format!(
                "not supported here: hidden node {} (a property to check or repair constrains the input and output; `birdnn verify QUERY --network NAME=MODEL.onnx` answers queries with hidden nodes)",
                h.tensor.name
            ),
        ));
    }
    Ok(query.property)
}

/// Parses a VNN-LIB query (1.0 or 2.0), keeping its declarations.
pub fn read_query(file: &str, text: &str) -> Result<Query, ParseError> {
    let top = lexer::parse(file, text)?;
    if v2::has_version_line(&top) {
        return v2::read(file, &top);
    }
    let property = v1::read(file, &top)?;
    let tensor = |name: &str, n: usize| Tensor {
        name: name.into(),
        element_type: "real".into(),
        shape: vec![n],
    };
    Ok(Query {
        file: file.to_string(),
        version: "1.0".into(),
        network: None,
        input: tensor("X", property.num_inputs),
        hidden: Vec::new(),
        output: tensor("Y", property.num_outputs),
        formula: None,
        property,
    })
}

/// How a writer names the variables: `X_3` / `Y_0` in 1.0, `X[0,3]` / `Y[0,0]` in 2.0.
struct Names {
    input: fn(usize) -> String,
    output: fn(usize) -> String,
    /// Write `(and c c)` for a one-constraint conjunction: 2.0's prose asks for two
    /// operands, and repeating one changes nothing (the reader drops the copy).
    pair_singletons: bool,
}

const V1_NAMES: Names = Names {
    input: |i| format!("X_{i}"),
    output: |j| format!("Y_{j}"),
    pair_singletons: false,
};

const V2_NAMES: Names = Names {
    input: |i| format!("X[0,{i}]"),
    output: |j| format!("Y[0,{j}]"),
    pair_singletons: true,
};

/// A number as both versions accept it: Rust prints `f64` in shortest round-tripping
/// decimal form without an exponent (2.0's grammar has none); a whole number gets `.0`,
/// since 2.0's type checker reads `1` as an integer, which a `float32` term refuses.
pub(crate) fn number(v: f64) -> String {
    let text = if v == 0.0 { "0".into() } else { v.to_string() };
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn write_constraint(out: &mut String, c: &LinearConstraint, names: &Names) {
    let nonzero: Vec<(String, f64)> = c
        .coefficients
        .iter()
        .enumerate()
        .filter(|(_, &v)| v != 0.0)
        .map(|(j, &v)| ((names.output)(j), v))
        .collect();
    let rhs = number(c.rhs);
    // Keep the common shapes readable: (<= Y_a Y_b), (>= Y_a k), (<= Y_a k).
    match nonzero.as_slice() {
        [(a, 1.0), (b, -1.0)] if c.rhs == 0.0 => write!(out, "(<= {a} {b})"),
        [(a, -1.0), (b, 1.0)] if c.rhs == 0.0 => write!(out, "(<= {b} {a})"),
        [(a, 1.0)] => write!(out, "(<= {a} {rhs})"),
        [(a, -1.0)] => write!(out, "(>= {a} {})", number(-c.rhs)),
        [(a, v)] => write!(out, "(<= (* {} {a}) {rhs})", number(*v)),
        _ => {
            out.push_str("(<= (+");
            for (name, v) in &nonzero {
                write!(out, " (* {} {name})", number(*v)).expect("string");
            }
            if nonzero.is_empty() {
                // 2.0 refuses comparisons without a variable: 0 * Y is one.
                write!(out, " (* 0.0 {})", (names.output)(0)).expect("string");
            }
            write!(out, ") {rhs})")
        }
    }
    .expect("writing to a String");
}

/// The region's and the unsafe outputs' asserts.
fn write_asserts(out: &mut String, p: &Property, names: &Names) {
    out.push_str("\n; input region\n");
    match p.input_boxes.as_slice() {
        [single] => {
            for (i, (l, u)) in single.lower.iter().zip(&single.upper).enumerate() {
                let x = (names.input)(i);
                writeln!(
                    out,
                    "(assert (<= {x} {}))\n(assert (>= {x} {}))",
                    number(*u),
                    number(*l)
                )
                .expect("string");
            }
        }
        boxes => {
            out.push_str("(assert (or\n");
            for b in boxes {
                out.push_str("    (and");
                for (i, (l, u)) in b.lower.iter().zip(&b.upper).enumerate() {
                    let x = (names.input)(i);
                    write!(out, " (<= {x} {}) (>= {x} {})", number(*u), number(*l))
                        .expect("string");
                }
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
                write_constraint(out, c, names);
                out.push_str(")\n");
            }
        }
        disjuncts => {
            out.push_str("(assert (or\n");
            for conj in disjuncts {
                out.push_str("    (and");
                for c in conj {
                    out.push(' ');
                    write_constraint(out, c, names);
                }
                if conj.len() == 1 && names.pair_singletons {
                    out.push(' ');
                    write_constraint(out, &conj[0], names);
                }
                out.push_str(")\n");
            }
            out.push_str("))\n");
        }
    }
}

/// Writes a property as VNN-LIB 1.0 (numbers in shortest round-tripping form, so reading
/// the text back gives the same property).
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
    write_asserts(&mut out, p, &V1_NAMES);
    out
}

/// Writes a property as a VNN-LIB 2.0 query over a network `network` with input `X` and
/// output `Y`, both `float32` of shape `[1,n]` (birdnn's ONNX export, batch 1); reading it
/// back gives the same property.
pub fn write_v2(p: &Property) -> String {
    let mut out = format!(
        "; {}\n; written by birdnn {}\n(vnnlib-version <2.0>)\n\n",
        p.name,
        env!("CARGO_PKG_VERSION")
    );
    writeln!(
        out,
        "(declare-network network\n    (declare-input X float32 [1,{}])\n    (declare-output Y float32 [1,{}])\n)",
        p.num_inputs, p.num_outputs
    )
    .expect("string");
    write_asserts(&mut out, p, &V2_NAMES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::InputBox;

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
        assert!(e.to_string().contains("X_0 without both"), "{e}");
        let coupled = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (or (and (<= X_0 1) (>= X_0 0) (<= Y_0 0)) (and (<= X_0 3) (>= X_0 2) (>= Y_0 1))))";
        assert!(read("c.vnnlib", coupled)
            .unwrap_err()
            .to_string()
            .contains("depends"));
        let deep = "(".repeat(100_000);
        assert!(read("d.vnnlib", &deep).is_err());
    }

    const V2: &str = "; a 2.0 query\n(vnnlib-version <2.0>)\n(declare-network acas\n  (declare-input X float32 [1, 3])\n  (declare-output Y float32 [1,2]))\n(assert (and (>= X[0,0] -1) (<= X[0,0] 1) (>= X[0,1] 0) (<= X[0,1] 0.5)))\n(assert (== X[0,2] 0.25))\n(assert (or (< Y[0,0] Y[0,1]) (!= Y[0,1] 3)))\n";

    /// Values of a query without hidden nodes.
    fn io<'a>(x: &'a [f32], y: &'a [f32]) -> Values<'a> {
        Values { x, hidden: &[], y }
    }

    #[test]
    fn reads_a_2_0_query_with_strict_comparisons_soundly() {
        let q = read_query("q.vnnlib", V2).unwrap();
        assert_eq!(q.version, "2.0");
        assert_eq!(q.network.as_deref(), Some("acas"));
        assert_eq!((q.input.shape.clone(), q.output.len()), (vec![1, 3], 2));
        let p = &q.property;
        assert_eq!(
            p.input_boxes,
            vec![InputBox {
                lower: vec![-1.0, 0.0, 0.25],
                upper: vec![1.0, 0.5, 0.25]
            }]
        );
        // Y0 < Y1, or Y1 < 3, or Y1 > 3: three closed disjuncts.
        assert_eq!(p.unsafe_region.disjuncts.len(), 3);
        let x = [0.0, 0.25, 0.25];
        // On the boundary of every strict disjunct: in the closure, not in the query.
        assert!(p.is_negative(&x, &[3.0, 3.0]));
        assert!(!q.is_satisfied_by(io(&x, &[3.0, 3.0])));
        assert!(q.is_satisfied_by(io(&x, &[2.0, 3.0])));
        assert!(q.is_satisfied_by(io(&x, &[5.0, 3.5])));
        assert!(!q.is_satisfied_by(io(&[2.0, 0.25, 0.25], &[2.0, 3.0])));
        assert_eq!(read("q.vnnlib", V2).unwrap().input_boxes, p.input_boxes);
    }

    #[test]
    fn writes_2_0_that_reads_back_to_the_same_property() {
        for p in [
            read("s.vnnlib", SAMPLE).unwrap(),
            read("q.vnnlib", V2).unwrap(),
        ] {
            let text = write_v2(&p);
            assert!(text.contains("(vnnlib-version <2.0>)"), "{text}");
            let back = read("w.vnnlib", &text).unwrap();
            assert_eq!(back.input_boxes, p.input_boxes, "{text}");
            assert_eq!(back.unsafe_region, p.unsafe_region, "{text}");
            let v1 = read("w1.vnnlib", &write(&p)).unwrap();
            assert_eq!(v1.unsafe_region, p.unsafe_region);
        }
        let mut tiny = read("s.vnnlib", SAMPLE).unwrap();
        tiny.input_boxes[0].lower[0] = -1e-9;
        let text = write_v2(&tiny);
        assert!(
            text.contains("-0.000000001"),
            "no exponent in 2.0 numbers: {text}"
        );
        assert_eq!(
            read("t.vnnlib", &text).unwrap().input_boxes,
            tiny.input_boxes
        );
    }

    #[test]
    fn what_2_0_allows_but_birdnn_cannot_serve_is_named() {
        let cases = [
            (
                "(declare-output Y float32 [1,2]))",
                "(declare-hidden H float32 [1,4] relu_1)\n  (declare-output Y float32 [1,2]))",
                "the ONNX tensor's name in quotes",
            ),
            (
                "(declare-output Y float32 [1,2]))",
                "(declare-output Y float32 [1,2]) (declare-hidden H float32 [1,4] \"r\"))",
                "hidden nodes are declared before outputs",
            ),
            (
                "float32 [1, 3]",
                "float64 [1, 3]",
                "not supported: element type 'float64'",
            ),
            ("float32 [1,2]", "real [1,2]", "'real' or none"),
            ("X[0,2] 0.25", "X[0,3] 0.25", "outside X's shape [1,3]"),
            (
                "X[0,2] 0.25",
                "X[2] 0.25",
                "1 indices but X has shape [1,3]",
            ),
            (
                "(== X[0,2] 0.25)",
                "(= X[0,2] 0.25)",
                "writes equality as '=='",
            ),
            ("<2.0>", "<3.0>", "not supported: VNN-LIB version 3.0"),
            ("(< Y[0,0] Y[0,1])", "(< (* Y[0,0] Y[0,1]) 1)", "not linear"),
            ("(< Y[0,0] Y[0,1])", "(< 1 2)", "must involve a variable"),
            ("(< Y[0,0] Y[0,1])", "(< Z[0] 2)", "Z is not declared"),
            (
                "(< Y[0,0] Y[0,1])",
                "(< Y[0,0] Y[0,1] 3)",
                "exactly two terms",
            ),
        ];
        for (from, to, message) in cases {
            assert!(V2.contains(from), "{from}");
            let e = read("q.vnnlib", &V2.replace(from, to)).unwrap_err();
            assert!(e.to_string().contains(message), "{to}: {e}");
            assert!(matches!(
                e.location,
                super::super::Location::Line { .. } | super::super::Location::Whole
            ));
        }
        let two = V2.replace("(assert (and", "(declare-network other (declare-input A float32 [1]) (declare-output B float32 [1]))\n(assert (and");
        let e = read("q.vnnlib", &two).unwrap_err();
        assert!(
            e.to_string().contains("not supported: a second network"),
            "{e}"
        );
        let e = read(
            "q.vnnlib",
            "(vnnlib-version <2.0>)\n(declare-network n (declare-input X float32 [\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("expected ']'"), "{e}");
    }

    #[test]
    fn every_construct_of_the_standard_is_read_or_named_as_not_supported() {
        let network = |body: &str| format!("(vnnlib-version <2.0>)\n{body}\n");
        let served = [
            // A shaped input and output, a version with a minor number.
            "(declare-network f (declare-input X float32 [1,4]) (declare-output Y float32 [1,2]))\n(assert (and (>= X[0,0] 0.0) (<= X[0,0] 1.0) (>= X[0,1] 0.0) (<= X[0,1] 1.0) (>= X[0,2] 0.0) (<= X[0,2] 1.0) (>= X[0,3] 0.0) (<= X[0,3] 1.0)))\n(assert (<= Y[0,1] 0.5))",
            // Real-valued semantics.
            "(declare-network f (declare-input X real [2]) (declare-output Y real [1]))\n(assert (>= X[0] -1.0)) (assert (<= X[0] 1.0)) (assert (>= X[1] 0.0)) (assert (<= X[1] 2.0))\n(assert (> Y[0] (+ 0.5 (* 0.25 Y[0]))))",
            // A scalar output, referenced without an index; unary minus and n-ary minus.
            "(declare-network f (declare-input X float32 [1,2]) (declare-output Y float32 []))\n(assert (and (>= X[0,0] 0.0) (<= X[0,0] 1.0) (>= X[0,1] (- 1.0)) (<= X[0,1] (- 3.0 1.0 1.0))))\n(assert (<= Y 0.5))",
            // A rank-3 input.
            "(declare-network f (declare-input X float32 [1,2,2]) (declare-output Y float32 [1,3]))\n(assert (and (>= X[0,0,0] 0.0) (<= X[0,0,0] 1.0) (>= X[0,0,1] 0.0) (<= X[0,0,1] 1.0) (>= X[0,1,0] 0.0) (<= X[0,1,0] 1.0) (>= X[0,1,1] 0.0) (<= X[0,1,1] 1.0)))\n(assert (or (>= Y[0,1] Y[0,0]) (>= Y[0,2] Y[0,0])))",
            // Hidden nodes bound to ONNX tensors, compared with constants and outputs.
            "(declare-network f (declare-input X float32 [1,2]) (declare-hidden H float32 [1,8] \"dense_1\") (declare-hidden G float32 [8] \"relu \\\"1\\\"\") (declare-output Y float32 [1,2]))\n(assert (and (>= X[0,0] 0.0) (<= X[0,0] 1.0) (>= X[0,1] 0.0) (<= X[0,1] 1.0)))\n(assert (>= H[0,3] 0.5)) (assert (<= G[7] Y[0,1]))",
        ];
        for body in served {
            let q =
                read_query("s.vnnlib", &network(body)).unwrap_or_else(|e| panic!("{e}\n{body}"));
            assert_eq!(q.property.input_boxes.len(), 1, "{body}");
        }
        let q = read_query("s.vnnlib", &network(served[3])).unwrap();
        assert_eq!(q.input.element_name(3), "X[0,1,1]");
        assert_eq!(q.property.num_inputs, 4);
        let q = read_query("s.vnnlib", &network(served[4])).unwrap();
        let names: Vec<(&str, &str, usize)> = q
            .hidden
            .iter()
            .map(|h| (h.tensor.name.as_str(), h.onnx_name.as_str(), h.tensor.len()))
            .collect();
        assert_eq!(names, [("H", "dense_1", 8), ("G", "relu \"1\"", 8)]);
        let refused = [
            ("(declare-network f (declare-input X float32 [1,2]) (declare-output Y float32 [1,2]))\n(declare-network g (isomorphic-to f) (declare-input A float32 [1,2]) (declare-output B float32 [1,2]))", "a second network"),
            ("(declare-network g (equal-to f) (declare-input A float32 [1,2]) (declare-output B float32 [1,2]))", "'equal-to'"),
            ("(declare-network f (declare-input X float32 [1,2]) (declare-input Z float32 [1]) (declare-output Y float32 [1,2]))", "2 inputs and 1 outputs"),
            ("(declare-network f (declare-input X float32 [1,2] initialized) (declare-output Y float32 [1,2]))", "'initialized'"),
            ("(declare-network f (declare-input X int8 [1,2]) (declare-output Y float32 [1,2]))", "element type 'int8'"),
            ("(declare-network f (declare-input X float32 [1,2]) (declare-output Y float32 [1,2]))\n(assert (<= (+ X[0,0] X[0,1]) 1.0))", "several inputs"),
            ("(declare-network f (declare-input X float32 [1,2]) (declare-output Y float32 [1,2]))\n(assert (<= X[0,0] Y[0,1]))", "mixing inputs and outputs"),
            // Legal, and the standard's own first examples are of this kind, but the
            // verifier needs a box.
            ("(declare-network f (declare-input X float32 [1,2]) (declare-output Y float32 [1,2]))\n(assert (>= X[0,1] 0.0)) (assert (<= X[0,1] 1.0)) (assert (<= Y[0,1] 0.5))", "X[0,0] without both a lower and an upper bound"),
        ];
        for (body, what) in refused {
            let mut text = network(body);
            if !text.contains("(assert") {
                text.push_str("(assert (<= X[0,0] 1.0))\n");
            }
            let e = read_query("r.vnnlib", &text).unwrap_err().to_string();
            assert!(
                e.contains("not supported") && e.contains(what),
                "{body}: {e}"
            );
        }
    }

    const HIDDEN: &str = "(vnnlib-version <2.0>)\n(declare-network f (declare-input X float32 [1,2]) (declare-hidden H float32 [1,2] \"h\") (declare-output Y float32 [1,1]))\n(assert (and (>= X[0,0] 0.0) (<= X[0,0] 1.0) (>= X[0,1] 0.0) (<= X[0,1] 1.0)))\n(assert (or (and (> H[0,0] 2.0) (<= Y[0,0] 0.0)) (and (>= (- H[0,1] H[0,0]) 0.5) (>= Y[0,0] 1.0))))\n";

    #[test]
    fn hidden_comparisons_are_left_out_of_the_property_and_checked_exactly() {
        let q = read_query("h.vnnlib", HIDDEN).unwrap();
        // As a property (to check or repair), the query is refused: its counterexamples
        // would not be the query's.
        let e = read("h.vnnlib", HIDDEN).unwrap_err().to_string();
        assert!(e.contains("not supported here: hidden node H"), "{e}");
        // Without bounds on H both disjuncts stay, without their hidden comparisons.
        let p = &q.property;
        assert_eq!(p.unsafe_region.disjuncts.len(), 2);
        assert!(p.is_negative(&[0.5, 0.5], &[0.0]));
        let at = |h: [f32; 2], y: f32| {
            q.is_satisfied_by(Values {
                x: &[0.5, 0.5],
                hidden: &[h.to_vec()],
                y: &[y],
            })
        };
        assert!(at([2.5, 0.0], 0.0));
        assert!(!at([2.0, 0.0], 0.0), "H[0,0] > 2 is strict");
        assert!(at([0.0, 0.5], 1.0));
        assert!(!at([0.0, 0.4], 1.0));
        assert!(!at([2.5, 0.0], 1.0), "neither disjunct holds");
        // The wrong number of hidden tensors or values satisfies nothing.
        assert!(!q.is_satisfied_by(Values {
            x: &[0.5, 0.5],
            hidden: &[],
            y: &[0.0]
        }));
        // Bounds where H[0,0] < 2 drop the first disjunct; where also H[0,1] - H[0,0]
        // < 0.5, nothing is left: the query is unsatisfiable.
        let first_gone = q
            .property_within(&|_| Some(vec![vec![(0.0, 1.9), (0.0, 5.0)]]))
            .unwrap();
        assert_eq!(first_gone.unsafe_region.disjuncts.len(), 1);
        assert!(!first_gone.unsafe_region.contains(&[0.0]));
        assert!(first_gone.unsafe_region.contains(&[1.0]));
        assert!(q
            .property_within(&|_| Some(vec![vec![(1.0, 1.9), (0.0, 1.4)]]))
            .is_none());
        // A bound exactly at a comparison's threshold proves nothing: the margin for the
        // rounding of the bound keeps the disjunct.
        assert_eq!(
            q.property_within(&|_| Some(vec![vec![(0.0, 2.0), (0.0, 5.0)]]))
                .unwrap()
                .unsafe_region
                .disjuncts
                .len(),
            2
        );
        // Unknown bounds drop nothing.
        assert_eq!(
            q.property_within(&|_| None).unwrap().unsafe_region,
            p.unsafe_region
        );
    }
}
