//! VNN-LIB 1.0: `(declare-const X_i Real)` / `(declare-const Y_j Real)` and asserts over
//! them.

use super::formula::{self, Dialect, Reader, Var};
use super::lexer::Expr;
use super::ParseError;
use crate::property::Property;

/// `X_3` is input 3, `Y_0` output 0.
fn variable(name: &str) -> Option<Var> {
    if let Some(i) = name.strip_prefix("X_") {
        return i.parse().ok().map(Var::Input);
    }
    name.strip_prefix("Y_")?.parse().ok().map(Var::Output)
}

/// Reads a 1.0 property from its parsed top-level expressions.
pub(super) fn read(file: &str, top: &[Expr]) -> Result<Property, ParseError> {
    let plain = Reader {
        file,
        dialect: Dialect::V1,
        resolve: &|_| Ok(None),
    };
    let mut declared_inputs = Vec::new();
    let mut declared_outputs = Vec::new();
    let mut asserts = Vec::new();
    for e in top {
        match e.head() {
            Some(("declare-const", args)) => {
                let (name, sort) = match args {
                    [Expr::Atom { text: n, .. }, Expr::Atom { text: s, .. }] => (n, s),
                    _ => return Err(plain.err(e, "expected (declare-const NAME Real)")),
                };
                if sort != "Real" {
                    return Err(
                        plain.err(e, format!("expected sort Real for {name}, found {sort}"))
                    );
                }
                match variable(name) {
                    Some(Var::Input(i)) => declared_inputs.push((i, e)),
                    Some(Var::Output(j)) => declared_outputs.push((j, e)),
                    Some(Var::Hidden(..)) | None => {
                        return Err(plain.err(
                            e,
                            format!("variables must be named X_i or Y_j, found '{name}'"),
                        ))
                    }
                }
            }
            Some(("assert", args)) => {
                if args.len() != 1 {
                    return Err(plain.err(e, "expected (assert FORMULA)"));
                }
                asserts.push(&args[0]);
            }
            _ => return Err(plain.err(e, "expected (declare-const ...) or (assert ...)")),
        }
    }
    for (decls, kind) in [(&mut declared_inputs, "X"), (&mut declared_outputs, "Y")] {
        decls.sort_by_key(|(i, _)| *i);
        for (expected, (i, e)) in decls.iter().enumerate() {
            if *i != expected {
                return Err(plain.err(
                    e,
                    format!("{kind}_{i} declared but {kind}_{expected} is missing or repeated"),
                ));
            }
        }
    }
    let (num_inputs, num_outputs) = (declared_inputs.len(), declared_outputs.len());
    if num_inputs == 0 || num_outputs == 0 {
        return Err(ParseError::whole(
            file,
            "expected declarations of X_0.. and Y_0..",
        ));
    }
    let resolve = |text: &str| -> Result<Option<Var>, String> {
        let Some(var) = variable(text) else {
            return Ok(None);
        };
        let (index, limit, kind) = match var {
            Var::Input(i) => (i, num_inputs, "input"),
            Var::Output(j) => (j, num_outputs, "output"),
            // 1.0 has no hidden variables: `variable` never names one.
            Var::Hidden(..) => return Ok(None),
        };
        if index >= limit {
            return Err(format!(
                "{text} is not declared ({limit} {kind} variables are)"
            ));
        }
        Ok(Some(var))
    };
    let reader = Reader {
        file,
        dialect: Dialect::V1,
        resolve: &resolve,
    };
    let formulas = asserts
        .iter()
        .map(|a| reader.formula(a))
        .collect::<Result<Vec<_>, _>>()?;
    formula::property(
        file,
        &formula::Formula::And(formulas),
        num_inputs,
        num_outputs,
        &|i| format!("X_{i}"),
    )
}
