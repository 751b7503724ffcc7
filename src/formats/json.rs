//! birdnn's own JSON network format, for the app's built-in networks and lossless exchange.
//!
//! ```json
//! { "format": "birdnn-network", "version": 1,
//!   "meta": { "name": "...", "inputs": [...], "outputs": [...], "decision": "argmax", ... },
//!   "layers": [ { "inputs": 2, "outputs": 8, "weights": [...], "bias": [...],
//!                 "activation": { "kind": "relu" } }, ... ] }
//! ```
//! `weights` are `inputs x outputs`, row-major. Everything is validated on reading.

use super::{Location, ParseError};
use crate::network::{DenseLayer, Network, NetworkMeta};
use serde::{Deserialize, Serialize};

const FORMAT_TAG: &str = "birdnn-network";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    format: String,
    version: u32,
    meta: NetworkMeta,
    layers: Vec<DenseLayer>,
}

/// Parses a birdnn JSON network.
pub fn read(name: &str, text: &str) -> Result<Network, ParseError> {
    let file: NetworkFile = serde_json::from_str(text).map_err(|e| ParseError {
        file: name.to_string(),
        location: if e.line() > 0 {
            Location::Line {
                line: e.line(),
                column: e.column(),
            }
        } else {
            Location::Whole
        },
        message: format!("not a birdnn network: {e}"),
    })?;
    if file.format != FORMAT_TAG {
        return Err(ParseError::whole(
            name,
            format!(
                "expected \"format\": \"{FORMAT_TAG}\", found \"{}\"",
                file.format
            ),
        ));
    }
    if file.version != VERSION {
        return Err(ParseError::whole(
            name,
            format!(
                "format version {} is not supported (this birdnn reads version {VERSION})",
                file.version
            ),
        ));
    }
    Network::new(file.layers, file.meta).map_err(|e| ParseError::invalid_network(name, e))
}

/// Serialises a network as pretty JSON (numbers in shortest round-tripping form, so reading
/// gives back the identical network).
pub fn write(net: &Network) -> String {
    let file = NetworkFile {
        format: FORMAT_TAG.to_string(),
        version: VERSION,
        meta: net.meta().clone(),
        layers: net.layers().to_vec(),
    };
    serde_json::to_string_pretty(&file).expect("a network always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;

    #[test]
    fn round_trips_exactly_and_rejects_broken_files() {
        let net = Network::random(&[3, 4, 2], Activation::Elu { alpha: 0.7 }, 1).unwrap();
        let text = write(&net);
        assert_eq!(read("n.json", &text).unwrap(), net);
        let e = read("n.json", &text[..text.len() / 2]).unwrap_err();
        assert!(matches!(e.location, Location::Line { .. }), "{e}");
        let wrong = text.replacen("\"bias\": [", "\"bias\": [1.0, ", 1);
        let e = read("n.json", &wrong).unwrap_err();
        assert!(e.message.contains("bias"), "{e}");
    }
}
