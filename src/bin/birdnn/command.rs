//! What the commands share: their result, reading a network or a CSV of inputs, and the
//! progress line on stderr.

use birdnn::formats::{self, csv};
use birdnn::network::Network;
use birdnn::tensor::Array2;
use std::io::IsTerminal;
use std::path::Path;

/// What a command returns: nothing, or the error to print.
pub(crate) type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Reads a network file in any of the core's formats.
pub(crate) fn load_network(path: &Path) -> Result<Network, formats::FormatError> {
    formats::load_network(path)
}

/// Reads a CSV of inputs whose rows must have `width` columns.
pub(crate) fn read_samples(
    path: &Path,
    width: usize,
) -> Result<Array2<f32>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(csv::read_with_width(
        &path.display().to_string(),
        &text,
        width,
    )?)
}

/// Prints progress on stderr: an updating line on a terminal, a line per quarter otherwise.
pub(crate) struct Progress {
    terminal: bool,
    last_quarter: usize,
}

impl Progress {
    /// An updating line if stderr is a terminal, else a line per quarter.
    pub(crate) fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last_quarter: 0,
        }
    }

    /// Shows `done` of `total`, with `detail`.
    pub(crate) fn report(&mut self, label: &str, done: usize, total: usize, detail: &str) {
        let total = total.max(1);
        if self.terminal {
            eprint!("\r{label}: {done}/{total} {detail}        ");
        } else {
            let quarter = done * 4 / total;
            if quarter > self.last_quarter {
                self.last_quarter = quarter;
                eprintln!("{label}: {done}/{total} {detail}");
            }
        }
    }

    /// Ends the line, and starts the next count from zero.
    pub(crate) fn finish(&mut self) {
        if self.terminal {
            eprintln!();
        }
        self.last_quarter = 0;
    }
}
