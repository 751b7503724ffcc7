//! The affine map the ONNX reader folds Gemm, MatMul, Add, Mul and friends into, until the
//! next activation closes a dense layer. Shared by the reader and by the hidden-node sites,
//! which describe a tensor by the map folded so far.

use crate::network::{Activation, DenseLayer};

/// The affine map `x -> x W + b` accumulated since the last activation.
#[derive(Clone)]
pub(super) struct PendingAffine {
    pub(super) inputs: usize,
    /// `None` is the identity (then `outputs == inputs`).
    pub(super) weights: Option<Vec<f64>>,
    pub(super) bias: Vec<f64>,
}

impl PendingAffine {
    pub(super) fn identity(width: usize) -> Self {
        PendingAffine {
            inputs: width,
            weights: None,
            bias: vec![0.0; width],
        }
    }

    pub(super) fn outputs(&self) -> usize {
        self.bias.len()
    }

    pub(super) fn is_identity(&self) -> bool {
        self.weights.is_none() && self.bias.iter().all(|&b| b == 0.0)
    }

    /// The weights as a full `inputs x outputs` matrix, the identity written out.
    pub(super) fn materialised(&self) -> Vec<f64> {
        match &self.weights {
            Some(w) => w.clone(),
            None => {
                let n = self.inputs;
                let mut w = vec![0.0; n * n];
                for i in 0..n {
                    w[i * n + i] = 1.0;
                }
                w
            }
        }
    }

    /// `x W + b` followed by `. M` where `M` is `outputs x m`.
    pub(super) fn matmul(&mut self, m: &[f64], cols: usize) {
        let rows = self.outputs();
        let new_bias: Vec<f64> = (0..cols)
            .map(|c| (0..rows).map(|r| self.bias[r] * m[r * cols + c]).sum())
            .collect();
        let weights = match &self.weights {
            None => m.to_vec(),
            Some(w) => {
                let mut out = vec![0.0; self.inputs * cols];
                for i in 0..self.inputs {
                    for r in 0..rows {
                        let wir = w[i * rows + r];
                        if wir == 0.0 {
                            continue;
                        }
                        for c in 0..cols {
                            out[i * cols + c] += wir * m[r * cols + c];
                        }
                    }
                }
                out
            }
        };
        self.weights = Some(weights);
        self.bias = new_bias;
    }

    /// Multiplies output `j` by `scale[j]`.
    pub(super) fn scale_outputs(&mut self, scale: &[f64]) {
        let n = self.outputs();
        let mut w = self.materialised();
        for i in 0..self.inputs {
            for j in 0..n {
                w[i * n + j] *= scale[j];
            }
        }
        for (b, s) in self.bias.iter_mut().zip(scale) {
            *b *= s;
        }
        self.weights = Some(w);
    }

    pub(super) fn into_layer(
        self,
        activation: Activation,
    ) -> Result<DenseLayer, crate::network::NetworkError> {
        let outputs = self.outputs();
        let weights = self.materialised().into_iter().map(|v| v as f32).collect();
        let bias = self.bias.into_iter().map(|v| v as f32).collect();
        DenseLayer::new(self.inputs, outputs, weights, bias, activation)
    }
}
