//! Reading and writing networks (ONNX, `.nnet`, birdnn JSON), properties (VNN-LIB) and
//! sample sets (CSV).
//!
//! Every reader takes bytes plus a display name and returns a [`ParseError`] naming the
//! file, the place (line and column, or byte offset) and what was expected. No input makes a
//! reader panic (property tests feed them mutated and truncated real files). Readers work on
//! bytes, not paths, so the browser app uses them unchanged; the path helpers here are thin.

pub mod csv;
pub mod json;
pub mod nnet;
pub mod onnx;
pub mod vnnlib;

use crate::network::{Network, NetworkError};
use crate::property::Property;
use std::fmt;
use std::path::Path;

/// Files larger than this are refused before parsing: the networks birdnn repairs are a few
/// MB at most, and the browser must not be asked to hold gigabytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// Where in a file a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// 1-based line and column of a text file.
    Line {
        /// Line number, from 1.
        line: usize,
        /// Column number, from 1.
        column: usize,
    },
    /// Byte offset in a binary file.
    Byte(usize),
    /// The problem concerns the file as a whole (or a named element, see the message).
    Whole,
}

/// A file that could not be read, with the place and what was expected there.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ParseError {
    /// The file's name as the user knows it.
    pub file: String,
    /// Where the problem is.
    pub location: Location,
    /// What went wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::Line { line, column } => {
                write!(f, "{}:{}:{}: {}", self.file, line, column, self.message)
            }
            Location::Byte(offset) => {
                write!(f, "{} (byte {}): {}", self.file, offset, self.message)
            }
            Location::Whole => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl ParseError {
    /// An error about the file as a whole.
    pub fn whole(file: &str, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            location: Location::Whole,
            message: message.into(),
        }
    }

    /// An error at a line and column.
    pub fn at(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            location: Location::Line { line, column },
            message: message.into(),
        }
    }

    /// A network that parsed but is not valid (shapes, NaN...).
    pub fn invalid_network(file: &str, error: NetworkError) -> Self {
        ParseError::whole(file, format!("invalid network: {error}"))
    }
}

/// Any failure to load or save a file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The content is wrong.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The file system said no.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The extension names no format birdnn knows.
    #[error("{0}: unknown file type (expected .onnx, .nnet or .json for networks, .vnnlib for properties)")]
    UnknownFormat(String),
}

/// The network file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkFormat {
    /// ONNX protobuf.
    Onnx,
    /// The ACAS Xu `.nnet` text format.
    Nnet,
    /// birdnn's own JSON.
    Json,
}

impl NetworkFormat {
    /// The format named by a file name's extension (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "onnx" => Some(NetworkFormat::Onnx),
            "nnet" => Some(NetworkFormat::Nnet),
            "json" => Some(NetworkFormat::Json),
            _ => None,
        }
    }
}

/// The stem of a file name, used as a display name.
pub fn display_stem(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name)
        .to_string()
}

fn check_size(name: &str, len: usize) -> Result<(), ParseError> {
    if len > MAX_FILE_BYTES {
        return Err(ParseError::whole(
            name,
            format!(
                "file is {len} bytes, more than the {} MiB limit for networks and properties",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(())
}

/// Reads a network from bytes; the format comes from `name`'s extension.
pub fn read_network(name: &str, bytes: &[u8]) -> Result<Network, FormatError> {
    check_size(name, bytes.len())?;
    let format =
        NetworkFormat::from_name(name).ok_or_else(|| FormatError::UnknownFormat(name.into()))?;
    let mut net = match format {
        NetworkFormat::Onnx => onnx::read(name, bytes)?,
        NetworkFormat::Nnet => nnet::read(name, text(name, bytes)?)?,
        NetworkFormat::Json => json::read(name, text(name, bytes)?)?,
    };
    if net.meta().name.is_empty() {
        let mut meta = net.meta().clone();
        meta.name = display_stem(name);
        net.set_meta(meta).expect("only the name changed");
    }
    Ok(net)
}

/// Writes a network to bytes; the format comes from `name`'s extension.
pub fn write_network(name: &str, net: &Network) -> Result<Vec<u8>, FormatError> {
    let format =
        NetworkFormat::from_name(name).ok_or_else(|| FormatError::UnknownFormat(name.into()))?;
    Ok(match format {
        NetworkFormat::Onnx => onnx::write(net),
        NetworkFormat::Nnet => nnet::write(net).into_bytes(),
        NetworkFormat::Json => json::write(net).into_bytes(),
    })
}

/// Reads a VNN-LIB property from bytes.
pub fn read_property(name: &str, bytes: &[u8]) -> Result<Property, FormatError> {
    check_size(name, bytes.len())?;
    Ok(vnnlib::read(name, text(name, bytes)?)?)
}

/// Decodes UTF-8, pointing at the first bad byte.
pub fn text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| ParseError {
        file: name.to_string(),
        location: Location::Byte(e.valid_up_to()),
        message: "not UTF-8 text (is this a binary file?)".into(),
    })
}

/// Loads a network from a file.
pub fn load_network(path: &Path) -> Result<Network, FormatError> {
    let bytes = read_file(path)?;
    read_network(&path.display().to_string(), &bytes)
}

/// Saves a network to a file; the format comes from the extension.
pub fn save_network(path: &Path, net: &Network) -> Result<(), FormatError> {
    let bytes = write_network(&path.display().to_string(), net)?;
    std::fs::write(path, bytes).map_err(|source| FormatError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Loads a VNN-LIB property from a file.
pub fn load_property(path: &Path) -> Result<Property, FormatError> {
    let bytes = read_file(path)?;
    read_property(&path.display().to_string(), &bytes)
}

/// A file's bytes, refused by name before reading when it is larger than any network or
/// property file birdnn reads.
pub fn read_file(path: &Path) -> Result<Vec<u8>, FormatError> {
    let io = |source| FormatError::Io {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    check_size(
        &path.display().to_string(),
        usize::try_from(len).unwrap_or(usize::MAX),
    )?;
    std::fs::read(path).map_err(io)
}
