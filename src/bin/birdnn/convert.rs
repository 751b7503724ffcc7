//! `birdnn convert`: a network from one file format to another.

use crate::command::{load_network, CliResult};
use birdnn::formats::{self, nnet, NetworkFormat};
use birdnn::network::DecisionRule;
use std::path::Path;

/// `birdnn convert`: writes the network of `input` to `output`, formats from the names.
pub(crate) fn convert(input: &Path, output: &Path, decision: Option<DecisionRule>) -> CliResult {
    let mut net = load_network(input)?;
    if let Some(rule) = decision {
        net.set_decision(rule);
    }
    if NetworkFormat::from_name(&output.display().to_string()) == Some(NetworkFormat::Nnet)
        && !nnet::is_standard(&net)
    {
        eprintln!(
            "birdnn: warning: {} has non-ReLU hidden layers; birdnn records them in a comment, but other .nnet readers will evaluate the file as a ReLU network",
            input.display()
        );
    }
    formats::save_network(output, &net)?;
    eprintln!("wrote {}", output.display());
    Ok(())
}
