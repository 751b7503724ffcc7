//! The validation data that steers a repair, and the original network's decisions on it.

use super::{RepairData, RepairError};
use crate::measures::{self, Rate};
use crate::network::{Network, NetworkError};
use crate::property::Property;
use crate::tensor::{Array2, ArrayRef2, BatchGrow};

/// The validation data and the original decisions on it.
pub struct Validation {
    properties: Vec<Property>,
    negatives: Array2<f32>,
    positives: Array2<f32>,
    decisions: Vec<usize>,
}

impl Validation {
    /// The validation sets of `data`, with the original's decisions on its positives.
    pub(super) fn new(
        original: &Network,
        properties: &[Property],
        data: &RepairData,
    ) -> Result<Self, RepairError> {
        Ok(Validation {
            properties: properties.to_vec(),
            negatives: data.validation_negatives.clone(),
            positives: data.validation_positives.clone(),
            decisions: original.decisions(&data.validation_positives)?,
        })
    }

    /// Validation counterexamples still unsafe on `net`.
    pub fn violations(&self, net: &Network) -> Result<Rate, NetworkError> {
        measures::violations(net, &self.properties, &self.negatives)
    }

    /// Validation positives whose decision `net` keeps.
    pub fn fidelity(&self, net: &Network) -> Result<Rate, NetworkError> {
        let after = net.decisions(&self.positives)?;
        Ok(Rate {
            count: after
                .iter()
                .zip(&self.decisions)
                .filter(|(a, b)| a == b)
                .count(),
            total: self.decisions.len(),
        })
    }

    /// Ordering key of candidates: fewer violations, then fewer changed decisions.
    pub fn score(&self, net: &Network) -> Result<(usize, usize), NetworkError> {
        let v = self.violations(net)?;
        let f = self.fidelity(net)?;
        Ok((v.count, f.total - f.count))
    }

    /// Adds counterexamples found during the repair.
    pub(super) fn add_negatives(&mut self, found: &ArrayRef2<f32>) {
        self.negatives.append_rows(found).expect("same width");
    }

    /// Adds inputs whose decision by `original` the repair must keep.
    pub(super) fn add_positives(
        &mut self,
        original: &Network,
        found: &ArrayRef2<f32>,
    ) -> Result<(), NetworkError> {
        self.decisions.extend(original.decisions(found)?);
        self.positives.append_rows(found).expect("same width");
        Ok(())
    }
}
