//! Why a repair cannot start or go on, and the one wording of a setting out of range.

use crate::network::NetworkError;
use crate::property::PropertyError;

/// Why a repair cannot start or go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RepairError {
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// There is no counterexample to learn from.
    #[error("nothing to repair: no counterexample in the data (the network may already satisfy the properties)")]
    NothingToRepair,
    /// No positive output is safe, so there is no behaviour to imitate.
    #[error("no positive sample has a safe output to imitate")]
    NoSafeBehaviour,
    /// A property does not fit the network.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// Running the network failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// The error for a setting out of range, worded the same for every method.
pub(crate) fn setting_error(
    method: &str,
    name: &str,
    value: impl std::fmt::Display,
    expected: &str,
) -> RepairError {
    RepairError::Setting(format!("{method} {name} = {value}: expected {expected}"))
}
