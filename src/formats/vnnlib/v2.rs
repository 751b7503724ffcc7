//! VNN-LIB 2.0: a version line, typed and shaped network declarations, and asserts over
//! indexed variables (`X[0,3]`). birdnn serves queries over one network with one input and
//! one output tensor and any number of hidden nodes, in `float32` or `real`; everything
//! else the standard allows is read and refused with a "not supported: ..." message naming
//! it.

use super::formula::{self, Dialect, Formula, Reader, Var};
use super::lexer::Expr;
use super::{HiddenNode, ParseError, Query, Tensor};

/// Most dimensions of a declared tensor.
const MAX_RANK: usize = 8;

/// Most elements of a declared tensor (far beyond any network birdnn repairs).
const MAX_ELEMENTS: usize = 16 * 1024 * 1024;

/// Whether the parsed file starts with a `(vnnlib-version ...)` line.
pub(super) fn has_version_line(top: &[Expr]) -> bool {
    matches!(
        top.first().and_then(Expr::head),
        Some(("vnnlib-version", _))
    )
}

/// `<2.0>` to (2, 0).
fn version(text: &str) -> Option<(u32, u32)> {
    let inner = text.strip_prefix('<')?.strip_suffix('>')?;
    let (major, minor) = inner.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A name of the standard's `VariableName` form: a letter, then letters, digits or `_`.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[1,5]` to `[1, 5]`; `[]` to a scalar.
fn shape(text: &str) -> Result<Vec<usize>, String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("expected a shape such as [1,5], found '{text}'"))?;
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    let dims: Vec<usize> = inner
        .split(',')
        .map(|d| {
            d.parse::<usize>()
                .map_err(|_| format!("shape {text}: '{d}' is not a whole number"))
        })
        .collect::<Result<_, _>>()?;
    if dims.len() > MAX_RANK {
        return Err(format!("shape {text} has more than {MAX_RANK} dimensions"));
    }
    let mut elements: usize = 1;
    for &d in &dims {
        elements = elements.saturating_mul(d);
    }
    if elements == 0 || elements > MAX_ELEMENTS {
        return Err(format!(
            "shape {text} has {elements} elements (between 1 and {MAX_ELEMENTS} are allowed)"
        ));
    }
    Ok(dims)
}

/// Row-major position of `index` in `shape`, or why it does not fit.
fn flat_index(name: &str, index: &str, shape: &[usize]) -> Result<usize, String> {
    let dims_text = shape_text(shape);
    if index.is_empty() {
        return Err(format!(
            "{name} has shape {dims_text}: index every dimension, e.g. {name}[{}]",
            vec!["0"; shape.len()].join(",")
        ));
    }
    let parts: Vec<&str> = index.split(',').collect();
    if parts.len() != shape.len() {
        return Err(format!(
            "{name}[{index}] has {} indices but {name} has shape {dims_text} ({} dimensions)",
            parts.len(),
            shape.len()
        ));
    }
    let mut flat = 0;
    for (part, &dim) in parts.iter().zip(shape) {
        let i: usize = part
            .parse()
            .map_err(|_| format!("{name}[{index}]: '{part}' is not a whole number"))?;
        if i >= dim {
            return Err(format!(
                "{name}[{index}] is outside {name}'s shape {dims_text}"
            ));
        }
        flat = flat * dim + i;
    }
    Ok(flat)
}

/// A shape as the standard writes it.
pub(super) fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(","))
}

/// The element at row-major position `flat` of `tensor`, as the standard writes it.
pub(super) fn element_name(tensor: &Tensor, flat: usize) -> String {
    if tensor.shape.is_empty() {
        return tensor.name.clone();
    }
    let mut index = vec![0; tensor.shape.len()];
    let mut rest = flat;
    for (k, &d) in tensor.shape.iter().enumerate().rev() {
        index[k] = rest % d;
        rest /= d;
    }
    let parts: Vec<String> = index.iter().map(usize::to_string).collect();
    format!("{}[{}]", tensor.name, parts.join(","))
}

/// One `(declare-input|output NAME TYPE SHAPE)`.
fn tensor(reader: &Reader, e: &Expr, args: &[Expr], what: &str) -> Result<Tensor, ParseError> {
    let atoms: Option<Vec<&str>> = args.iter().map(Expr::atom).collect();
    let Some(atoms) = atoms else {
        return Err(reader.err(e, format!("expected (declare-{what} NAME TYPE [SHAPE])")));
    };
    let (name, element_type, dims, options) = match atoms.as_slice() {
        [name, ty, dims, options @ ..] => (*name, *ty, *dims, options),
        _ => return Err(reader.err(e, format!("expected (declare-{what} NAME TYPE [SHAPE])"))),
    };
    if !is_name(name) {
        return Err(reader.err(
            e,
            format!("'{name}' is not a variable name (a letter, then letters, digits or _)"),
        ));
    }
    match options {
        [] => {}
        ["initialized"] if what == "input" => {
            return Err(reader.err(
                e,
                format!(
                    "not supported: input {name} 'initialized' from the ONNX model's initializer"
                ),
            ))
        }
        _ => {
            return Err(reader.err(
                e,
                format!("unexpected '{}' after {name}'s shape", options.join(" ")),
            ))
        }
    }
    let element_type = match element_type {
        "float32" => "float32",
        "real" | "Real" => "real",
        other => {
            return Err(reader.err(
                e,
                format!(
                    "not supported: element type '{other}' for {name} (birdnn computes in float32 and its analysis is sound for float32; a query may also declare every variable 'real')"
                ),
            ))
        }
    };
    let shape = shape(dims).map_err(|m| reader.err(e, m))?;
    Ok(Tensor {
        name: name.to_string(),
        element_type: element_type.to_string(),
        shape,
    })
}

/// Reads a 2.0 query from its parsed top-level expressions.
pub(super) fn read(file: &str, top: &[Expr]) -> Result<Query, ParseError> {
    let plain = Reader {
        file,
        dialect: Dialect::V2,
        resolve: &|_| Ok(None),
    };
    let (first, rest) = top.split_first().expect("a version line");
    let version_text = match first.head() {
        Some((_, [Expr::Atom { text, .. }])) => text.as_str(),
        _ => return Err(plain.err(first, "expected (vnnlib-version <2.0>)")),
    };
    let (major, minor) = version(version_text).ok_or_else(|| {
        plain.err(
            first,
            format!("expected a version such as <2.0>, found '{version_text}'"),
        )
    })?;
    if major != 2 {
        return Err(plain.err(
            first,
            format!("not supported: VNN-LIB version {major}.{minor} (birdnn reads 1.0 and 2.x)"),
        ));
    }
    let mut network: Option<DeclaredNetwork> = None;
    let mut asserts = Vec::new();
    for e in rest {
        match e.head() {
            Some(("declare-network", args)) => {
                if !asserts.is_empty() {
                    return Err(plain.err(e, "networks are declared before the first assert"));
                }
                if let Some(DeclaredNetwork {
                    name: first_name, ..
                }) = &network
                {
                    return Err(plain.err(
                        e,
                        format!("not supported: a second network (after {first_name}); birdnn verifies queries over one network"),
                    ));
                }
                network = Some(declare_network(&plain, e, args)?);
            }
            Some(("assert", args)) => {
                if args.len() != 1 {
                    return Err(plain.err(e, "expected (assert FORMULA)"));
                }
                asserts.push(&args[0]);
            }
            Some(("vnnlib-version", _)) => {
                return Err(plain.err(e, "a second version line"));
            }
            _ => return Err(plain.err(e, "expected (declare-network ...) or (assert ...)")),
        }
    }
    let Some(DeclaredNetwork {
        name: network,
        input,
        hidden,
        output,
    }) = network
    else {
        return Err(ParseError::whole(
            file,
            "no (declare-network ...) in the query",
        ));
    };
    let resolve = |text: &str| -> Result<Option<Var>, String> {
        let (name, index) = match text.split_once('[') {
            Some((name, rest)) => (name, Some(rest.strip_suffix(']').unwrap_or(rest))),
            None => (text, None),
        };
        if !is_name(name) {
            return Ok(None);
        }
        let (tensor, var): (&Tensor, Box<dyn Fn(usize) -> Var>) = if name == input.name {
            (&input, Box::new(Var::Input))
        } else if name == output.name {
            (&output, Box::new(Var::Output))
        } else if let Some(h) = hidden.iter().position(|h| h.tensor.name == name) {
            (&hidden[h].tensor, Box::new(move |i| Var::Hidden(h, i)))
        } else {
            return Err(format!(
                "{name} is not declared (the network's input is {}, its output {}{})",
                input.name,
                output.name,
                hidden
                    .iter()
                    .map(|h| format!(", hidden node {}", h.tensor.name))
                    .collect::<String>()
            ));
        };
        match index {
            None if tensor.shape.is_empty() => Ok(Some(var(0))),
            None => flat_index(name, "", &tensor.shape).map(|i| Some(var(i))),
            Some(_) if tensor.shape.is_empty() => Err(format!(
                "{name} is a scalar (shape []): write {name} without an index"
            )),
            Some(index) => flat_index(name, index, &tensor.shape).map(|i| Some(var(i))),
        }
    };
    let reader = Reader {
        file,
        dialect: Dialect::V2,
        resolve: &resolve,
    };
    let formulas = asserts
        .iter()
        .map(|a| reader.formula(a))
        .collect::<Result<Vec<_>, _>>()?;
    let formula = Formula::And(formulas);
    let property = formula::property(file, &formula, input.len(), output.len(), &|i| {
        element_name(&input, i)
    })?;
    Ok(Query {
        file: file.to_string(),
        version: format!("{major}.{minor}"),
        network: Some(network),
        input,
        hidden,
        output,
        property,
        formula: Some(formula),
    })
}

/// What a `(declare-network ...)` declares.
struct DeclaredNetwork {
    name: String,
    input: Tensor,
    hidden: Vec<HiddenNode>,
    output: Tensor,
}

/// `(declare-network NAME (declare-input ...) (declare-hidden ...)* (declare-output ...))`.
fn declare_network(
    reader: &Reader,
    e: &Expr,
    args: &[Expr],
) -> Result<DeclaredNetwork, ParseError> {
    let Some((name, items)) = args.split_first() else {
        return Err(reader.err(e, "expected (declare-network NAME ...)"));
    };
    let name = match name.atom() {
        Some(n) if is_name(n) => n.to_string(),
        _ => return Err(reader.err(name, "expected the network's name")),
    };
    let mut inputs = Vec::new();
    let mut hidden = Vec::new();
    let mut outputs = Vec::new();
    for item in items {
        match item.head() {
            Some(("declare-input", a)) => {
                if !outputs.is_empty() || !hidden.is_empty() {
                    return Err(
                        reader.err(item, "inputs are declared before hidden nodes and outputs")
                    );
                }
                inputs.push(tensor(reader, item, a, "input")?);
            }
            Some(("declare-output", a)) => outputs.push(tensor(reader, item, a, "output")?),
            Some(("declare-hidden", a)) => {
                if !outputs.is_empty() {
                    return Err(reader.err(item, "hidden nodes are declared before outputs"));
                }
                hidden.push(hidden_node(reader, item, a)?);
            }
            Some((relation @ ("equal-to" | "isomorphic-to"), _)) => {
                return Err(reader.err(
                    item,
                    format!(
                        "not supported: '{relation}' (birdnn verifies queries over one network)"
                    ),
                ))
            }
            _ => {
                return Err(reader.err(
                    item,
                    "expected (declare-input ...), (declare-hidden ...) or (declare-output ...)",
                ))
            }
        }
    }
    let (input, output) = match (inputs.len(), outputs.len()) {
        (1, 1) => (inputs.remove(0), outputs.remove(0)),
        (0, _) | (_, 0) => {
            return Err(reader.err(
                e,
                format!("network {name} needs a (declare-input ...) and a (declare-output ...)"),
            ))
        }
        (i, o) => {
            return Err(reader.err(
                e,
                format!("not supported: network {name} declares {i} inputs and {o} outputs (birdnn's networks have one of each)"),
            ))
        }
    };
    let mut names: Vec<&str> = vec![&name, &input.name, &output.name];
    names.extend(hidden.iter().map(|h| h.tensor.name.as_str()));
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != names.len() {
        return Err(reader.err(
            e,
            "the network, its input, hidden nodes and output need different names",
        ));
    }
    let real = input.element_type == "real";
    if std::iter::once(&output)
        .chain(hidden.iter().map(|h| &h.tensor))
        .any(|t| (t.element_type == "real") != real)
    {
        return Err(reader.err(
            e,
            "a query declares every variable 'real' or none: real-valued semantics is all or nothing",
        ));
    }
    Ok(DeclaredNetwork {
        name,
        input,
        hidden,
        output,
    })
}

/// One `(declare-hidden NAME TYPE SHAPE "onnx-name")`.
fn hidden_node(reader: &Reader, e: &Expr, args: &[Expr]) -> Result<HiddenNode, ParseError> {
    let Some((last, declaration)) = args.split_last() else {
        return Err(reader.err(
            e,
            "expected (declare-hidden NAME TYPE [SHAPE] \"onnx-name\")",
        ));
    };
    let onnx_name = last
        .atom()
        .and_then(|t| t.strip_prefix('"'))
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            reader.err(
                last,
                "expected the ONNX tensor's name in quotes after the hidden node's shape",
            )
        })?;
    Ok(HiddenNode {
        tensor: tensor(reader, e, declaration, "hidden")?,
        onnx_name: onnx_name.replace("\\\"", "\"").replace("\\\\", "\\"),
    })
}
