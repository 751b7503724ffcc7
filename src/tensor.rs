//! A batch of row vectors stored row-major in one flat `Vec<f32>`.
//!
//! Networks here are small (5-50 neurons wide), so the cost lies in batching, not in clever
//! kernels. Every loop runs in a fixed order: the same inputs give bit-identical results
//! natively and on wasm32 (no platform-specific BLAS, no reordering of sums).

use serde::{Deserialize, Serialize};

/// `rows x cols` numbers, row-major: row `r` is `data[r * cols..(r + 1) * cols]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

/// A matrix whose buffer length does not match its shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("a {rows}x{cols} matrix needs {} numbers, got {len}", rows * cols)]
pub struct ShapeError {
    /// Requested rows.
    pub rows: usize,
    /// Requested columns.
    pub cols: usize,
    /// Length of the buffer given.
    pub len: usize,
}

impl Matrix {
    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Wraps a row-major buffer; fails when its length is not `rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, ShapeError> {
        if data.len() != rows * cols {
            return Err(ShapeError {
                rows,
                cols,
                len: data.len(),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    /// Builds a matrix from equally long rows; fails on ragged rows.
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R]) -> Result<Self, ShapeError> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for row in rows {
            let row = row.as_ref();
            if row.len() != cols {
                return Err(ShapeError {
                    rows: rows.len(),
                    cols,
                    len: data.len() + row.len(),
                });
            }
            data.extend_from_slice(row);
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            data,
        })
    }

    /// Number of rows (batch size).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r`.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Row `r`, mutable.
    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Iterates over the rows.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f32]> {
        (0..self.rows).map(move |r| self.row(r))
    }

    /// The flat row-major buffer.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The flat row-major buffer, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Gives the buffer back.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// A new matrix holding the given rows, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: indices.len(),
            cols: self.cols,
            data,
        }
    }

    /// Appends the rows of `other` (same column count).
    pub fn append_rows(&mut self, other: &Matrix) -> Result<(), ShapeError> {
        if other.cols != self.cols && other.rows > 0 {
            return Err(ShapeError {
                rows: other.rows,
                cols: self.cols,
                len: other.data.len(),
            });
        }
        self.data.extend_from_slice(&other.data);
        self.rows += other.rows;
        Ok(())
    }

    /// Appends one row.
    pub fn push_row(&mut self, row: &[f32]) -> Result<(), ShapeError> {
        if row.len() != self.cols {
            return Err(ShapeError {
                rows: 1,
                cols: self.cols,
                len: row.len(),
            });
        }
        self.data.extend_from_slice(row);
        self.rows += 1;
        Ok(())
    }
}

/// `out = x * w + bias` for a batch: `x` is `batch x n_in`, `w` is `n_in x n_out` row-major,
/// `out` is `batch x n_out`.
///
/// Rows go in pairs, so each weight row is loaded once per two inputs (part of what makes
/// 256 x 256 decision maps of ACAS Xu fast enough for the browser). Every output still sums
/// its terms in input order with one rounding each, so pairing changes no result, and
/// results are the same on every platform. A term whose input is zero in both rows is
/// skipped: ReLU layers are about half zeros, and skipping them is worth more than larger
/// blocks (measured: blocks of four rows or register tiles were slower).
pub(crate) fn affine_batch(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    n_in: usize,
    n_out: usize,
    out: &mut [f32],
) {
    let batch = x
        .len()
        .checked_div(n_in)
        .unwrap_or(out.len() / n_out.max(1));
    let mut b = 0;
    while b + 2 <= batch {
        let (o0, o1) = out[b * n_out..(b + 2) * n_out].split_at_mut(n_out);
        o0.copy_from_slice(bias);
        o1.copy_from_slice(bias);
        let (r0, r1) = x[b * n_in..(b + 2) * n_in].split_at(n_in);
        for (i, (&x0, &x1)) in r0.iter().zip(r1).enumerate() {
            let w_row = &w[i * n_out..(i + 1) * n_out];
            match (x0 == 0.0, x1 == 0.0) {
                (true, true) => {}
                (false, true) => axpy(x0, w_row, o0),
                (true, false) => axpy(x1, w_row, o1),
                (false, false) => {
                    for ((a, c), &wio) in o0.iter_mut().zip(o1.iter_mut()).zip(w_row) {
                        *a += x0 * wio;
                        *c += x1 * wio;
                    }
                }
            }
        }
        b += 2;
    }
    for b in b..batch {
        let out_row = &mut out[b * n_out..(b + 1) * n_out];
        out_row.copy_from_slice(bias);
        for (i, &xi) in x[b * n_in..(b + 1) * n_in].iter().enumerate() {
            if xi != 0.0 {
                axpy(xi, &w[i * n_out..(i + 1) * n_out], out_row);
            }
        }
    }
}

/// `a . b` over the shorter length, in eight interleaved partial sums added in a fixed
/// order: a single running sum is one long chain of dependent additions that the compiler
/// may not reorder, and it made the falsifier's backward pass through a 784-input layer
/// about ten times slower than the forward pass. The order is fixed, so every platform
/// gets the same bits.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for k in 0..LANES {
            lanes[k] += ca[k] * cb[k];
        }
    }
    let pairs = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

/// `out += a * w`.
fn axpy(a: f32, w: &[f32], out: &mut [f32]) {
    for (o, &wv) in out.iter_mut().zip(w) {
        *o += a * wv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// The plain definition: every output sums its terms in input order.
    fn reference(x: &[f32], w: &[f32], bias: &[f32], n_in: usize, n_out: usize) -> Vec<f32> {
        let batch = x.len() / n_in;
        let mut out = Vec::with_capacity(batch * n_out);
        for b in 0..batch {
            for o in 0..n_out {
                let mut v = bias[o];
                for i in 0..n_in {
                    if x[b * n_in + i] != 0.0 {
                        v += x[b * n_in + i] * w[i * n_out + o];
                    }
                }
                out.push(v);
            }
        }
        out
    }

    #[test]
    fn dot_agrees_with_the_plain_sum_at_every_length() {
        let mut rng = SplitMix64::new(5);
        for n in 0..40 {
            let a: Vec<f32> = (0..n)
                .map(|_| (2.0 * rng.next_f64() - 1.0) as f32)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|_| (2.0 * rng.next_f64() - 1.0) as f32)
                .collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let fast = dot(&a, &b) as f64;
            assert!(
                (fast - plain).abs() <= 1e-5 * (1.0 + n as f64),
                "n {n}: {fast} vs {plain}"
            );
        }
        assert_eq!(
            dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]),
            14.0,
            "the shorter length"
        );
    }

    #[test]
    fn the_paired_kernel_is_bit_identical_to_the_definition() {
        let mut rng = SplitMix64::new(9);
        let mut value = |zero_share: f64| {
            if rng.next_f64() < zero_share {
                0.0
            } else {
                (rng.next_f64() * 2.0 - 1.0) as f32
            }
        };
        for (batch, n_in, n_out) in [(0, 3, 2), (1, 5, 50), (7, 50, 50), (8, 13, 5), (9, 1, 1)] {
            let x: Vec<f32> = (0..batch * n_in).map(|_| value(0.5)).collect();
            let w: Vec<f32> = (0..n_in * n_out).map(|_| value(0.0)).collect();
            let bias: Vec<f32> = (0..n_out).map(|_| value(0.0)).collect();
            let mut out = vec![f32::NAN; batch * n_out];
            affine_batch(&x, &w, &bias, n_in, n_out, &mut out);
            let want = reference(&x, &w, &bias, n_in, n_out);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&want), "batch {batch}, {n_in} -> {n_out}");
        }
    }
}
