//! Inputs in a message are finite numbers, checked where the message is decoded.
//!
//! A number too large for an `f32` (`1e39` in JSON, or any JavaScript number beyond
//! `f32::MAX`) would otherwise become infinity on the way in. The network would then answer
//! with NaN, a re-check would call such an input safe, and the message could no longer be
//! written as JSON (infinity has no JSON form). Rejecting it at the boundary names the
//! problem once, for every path into the worker.

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// One input vector, every entry finite.
pub fn vector<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
    let values = Vec::<f32>::deserialize(deserializer)?;
    check(&values, None).map_err(D::Error::custom)?;
    Ok(values)
}

/// Many input vectors, every entry finite.
pub fn vectors<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<f32>>, D::Error> {
    let rows = Vec::<Vec<f32>>::deserialize(deserializer)?;
    for (i, row) in rows.iter().enumerate() {
        check(row, Some(i)).map_err(D::Error::custom)?;
    }
    Ok(rows)
}

fn check(values: &[f32], row: Option<usize>) -> Result<(), String> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(j) => Err(match row {
            Some(i) => format!(
                "input {i}, entry {j}, is not a finite number (an f32 holds magnitudes up to {:e})",
                f32::MAX
            ),
            None => format!(
                "input entry {j} is not a finite number (an f32 holds magnitudes up to {:e})",
                f32::MAX
            ),
        }),
    }
}
