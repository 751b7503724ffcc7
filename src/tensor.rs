//! Batches of row vectors as [`ndarray`] arrays, and the kernels that compute on them.
//!
//! A batch is an [`Array2<f32>`]: one input (or output, or gradient) per row, features in
//! columns. Every array birdnn makes is in standard (row-major) layout, so a row is a plain
//! slice; arrays handed in by a caller may have any layout and are copied into standard
//! layout where needed ([`standard`]), never read in the wrong order.
//!
//! Networks here are small (5-800 inputs, 5-100 neurons wide), so the cost lies in batching,
//! not in clever kernels. The kernels below work on the arrays' contiguous slices in a fixed
//! order: the same inputs give bit-identical results natively and on wasm32. ndarray's own
//! `dot` is not used anywhere: it may reorder sums or call a platform kernel, and results
//! would then differ between the CLI and the browser.

/// The ndarray version birdnn's API uses, for callers that do not depend on it themselves.
pub use ndarray;
pub use ndarray::{Array2, ArrayRef2, ArrayView2, CowArray, Ix2};

/// Numbers that do not make a batch of the shape asked for. The message names both shapes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}: expected {expected_rows}x{expected_cols} ({} numbers), got {got}", expected_rows * expected_cols)]
pub struct ShapeError {
    /// What was being built or appended.
    pub what: &'static str,
    /// Rows asked for.
    pub expected_rows: usize,
    /// Columns asked for.
    pub expected_cols: usize,
    /// What was given: a shape (`3x4`) or a count of numbers.
    pub got: String,
}

/// A `rows x cols` batch from a row-major buffer; fails when its length is not `rows * cols`.
pub fn from_vec<A>(rows: usize, cols: usize, data: Vec<A>) -> Result<Array2<A>, ShapeError> {
    let len = data.len();
    Array2::from_shape_vec((rows, cols), data).map_err(|_| ShapeError {
        what: "a batch from a buffer",
        expected_rows: rows,
        expected_cols: cols,
        got: format!("{len} numbers"),
    })
}

/// A batch from equally long rows; fails on ragged rows, naming the first that differs.
pub fn from_rows<R: AsRef<[f32]>>(rows: &[R]) -> Result<Array2<f32>, ShapeError> {
    let cols = rows.first().map_or(0, |r| r.as_ref().len());
    let mut data = Vec::with_capacity(rows.len() * cols);
    for (index, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != cols {
            return Err(ShapeError {
                what: "a batch from rows",
                expected_rows: rows.len(),
                expected_cols: cols,
                got: format!("row {index} of {} numbers", row.len()),
            });
        }
        data.extend_from_slice(row);
    }
    from_vec(rows.len(), cols, data)
}

/// A batch with no rows and `cols` columns, to append rows to.
pub fn empty(cols: usize) -> Array2<f32> {
    Array2::zeros((0, cols))
}

/// The batch in standard layout: borrowed when it already is (every array birdnn makes),
/// copied otherwise (a transposed view, a column-major array of the caller's).
pub fn standard<A: Clone>(batch: &ArrayRef2<A>) -> CowArray<'_, A, Ix2> {
    batch.as_standard_layout()
}

/// An owned copy of the batch in standard layout (`to_owned` would keep a column-major
/// layout).
pub fn to_standard<A: Clone>(batch: &ArrayRef2<A>) -> Array2<A> {
    batch.as_standard_layout().into_owned()
}

const NOT_STANDARD: &str =
    "birdnn's batches are in standard layout (pass a caller's array through tensor::standard)";

/// Row access to a batch (or the verifier's `f64` matrices) in standard layout, as plain
/// slices: the kernels need them.
pub trait BatchRows<A> {
    /// Row `r`.
    fn row_slice(&self, r: usize) -> &[A];
    /// Every number, row after row.
    fn flat(&self) -> &[A];
    /// The rows in order.
    fn row_slices<'a>(&'a self) -> impl ExactSizeIterator<Item = &'a [A]> + DoubleEndedIterator
    where
        A: 'a;
    /// A new batch holding the given rows, in that order (ndarray's `select` builds the
    /// result a row view at a time; this copies slices).
    fn select_rows(&self, indices: &[usize]) -> Array2<A>;
}

/// Mutable row access to a batch in standard layout.
pub trait BatchRowsMut<A> {
    /// Row `r`, mutable.
    fn row_slice_mut(&mut self, r: usize) -> &mut [A];
    /// Every number, row after row, mutable.
    fn flat_mut(&mut self) -> &mut [A];
}

/// Growing an owned batch row by row.
pub trait BatchGrow {
    /// Appends one row; fails when its length is not the batch's width.
    fn push_slice(&mut self, row: &[f32]) -> Result<(), ShapeError>;
    /// Appends the rows of `other`; fails when its width differs.
    fn append_rows(&mut self, other: &ArrayRef2<f32>) -> Result<(), ShapeError>;
    /// The numbers, row after row, as a vector (no copy for birdnn's own arrays).
    fn into_flat_vec(self) -> Vec<f32>;
}

impl<A: Clone> BatchRows<A> for ArrayRef2<A> {
    fn row_slice(&self, r: usize) -> &[A] {
        let cols = self.ncols();
        &self.flat()[r * cols..(r + 1) * cols]
    }

    fn flat(&self) -> &[A] {
        self.as_slice().expect(NOT_STANDARD)
    }

    fn row_slices<'a>(&'a self) -> impl ExactSizeIterator<Item = &'a [A]> + DoubleEndedIterator
    where
        A: 'a,
    {
        // By index, not `chunks_exact`: a zero-width batch still has its (empty) rows.
        let (flat, cols) = (self.flat(), self.ncols());
        (0..self.nrows()).map(move |r| &flat[r * cols..(r + 1) * cols])
    }

    fn select_rows(&self, indices: &[usize]) -> Array2<A> {
        let mut data = Vec::with_capacity(indices.len() * self.ncols());
        for &i in indices {
            data.extend_from_slice(self.row_slice(i));
        }
        from_vec(indices.len(), self.ncols(), data).expect("whole rows were copied")
    }
}

impl<A> BatchRowsMut<A> for ArrayRef2<A> {
    fn row_slice_mut(&mut self, r: usize) -> &mut [A] {
        let cols = self.ncols();
        &mut self.flat_mut()[r * cols..(r + 1) * cols]
    }

    fn flat_mut(&mut self) -> &mut [A] {
        self.as_slice_mut().expect(NOT_STANDARD)
    }
}

impl BatchGrow for Array2<f32> {
    fn push_slice(&mut self, row: &[f32]) -> Result<(), ShapeError> {
        if row.len() != self.ncols() {
            return Err(ShapeError {
                what: "a row appended to a batch",
                expected_rows: 1,
                expected_cols: self.ncols(),
                got: format!("1x{}", row.len()),
            });
        }
        self.push_row(ndarray::ArrayView1::from(row))
            .expect("the width was checked");
        Ok(())
    }

    fn append_rows(&mut self, other: &ArrayRef2<f32>) -> Result<(), ShapeError> {
        if other.ncols() != self.ncols() && other.nrows() > 0 {
            return Err(ShapeError {
                what: "rows appended to a batch",
                expected_rows: other.nrows(),
                expected_cols: self.ncols(),
                got: format!("{}x{}", other.nrows(), other.ncols()),
            });
        }
        if other.nrows() > 0 {
            self.append(ndarray::Axis(0), other.view())
                .expect("the width was checked");
        }
        Ok(())
    }

    fn into_flat_vec(self) -> Vec<f32> {
        if !self.is_standard_layout() {
            return self.iter().copied().collect();
        }
        // Standard layout: the numbers are contiguous from the first element's offset (not
        // always 0: a caller's array may have been sliced in place).
        let len = self.len();
        let (mut data, offset) = self.into_raw_vec_and_offset();
        let start = offset.unwrap_or(0);
        data.truncate(start + len);
        data.drain(..start);
        data
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
    fn batches_grown_row_by_row_stay_in_standard_layout() {
        for cols in [0, 1, 3] {
            let mut batch = empty(cols);
            for r in 0..5 {
                let row: Vec<f32> = (0..cols).map(|c| (r * 10 + c) as f32).collect();
                batch.push_slice(&row).unwrap();
                batch
                    .append_rows(&from_rows(std::slice::from_ref(&row)).unwrap())
                    .unwrap();
            }
            assert!(batch.is_standard_layout(), "{cols} columns");
            assert_eq!(batch.dim(), (10, cols));
            assert_eq!(
                batch.row_slices().len(),
                10,
                "zero-width rows are still rows"
            );
            let picked = batch.select_rows(&[9, 0, 9]);
            assert!(picked.is_standard_layout());
            assert_eq!(picked.row_slice(0), batch.row_slice(9));
            assert_eq!(picked.row_slice(1), batch.row_slice(0));
        }
    }

    #[test]
    fn shape_errors_name_both_shapes() {
        let mut batch = from_rows(&[[1.0f32, 2.0, 3.0]]).unwrap();
        let err = batch.push_slice(&[1.0, 2.0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a row appended to a batch: expected 1x3 (3 numbers), got 1x2"
        );
        let err = batch.append_rows(&Array2::zeros((2, 4))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rows appended to a batch: expected 2x3 (6 numbers), got 2x4"
        );
        assert_eq!(batch.dim(), (1, 3), "nothing was appended");
        let err = from_rows(&[vec![1.0f32, 2.0], vec![3.0]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a batch from rows: expected 2x2 (4 numbers), got row 1 of 1 numbers"
        );
        let err = from_vec(2, 3, vec![0.0; 5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a batch from a buffer: expected 2x3 (6 numbers), got 5 numbers"
        );
    }

    #[test]
    fn any_layout_is_read_row_by_row() {
        use ndarray::{s, ShapeBuilder};
        let batch = from_vec(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let mut columns = Array2::zeros((3, 2).f());
        columns.assign(&batch);
        assert!(!columns.is_standard_layout());
        assert_eq!(standard(&columns).flat(), batch.flat());
        assert_eq!(to_standard(&columns).flat(), batch.flat());
        assert_eq!(columns.clone().into_flat_vec(), batch.flat());
        let transposed = batch.t();
        assert_eq!(
            standard(&transposed).flat(),
            &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
        );
        // Standard layout but not at the buffer's start: sliced in place.
        let mut tail = batch.clone();
        tail.slice_collapse(s![1.., ..]);
        assert!(tail.is_standard_layout());
        assert_eq!(tail.into_flat_vec(), vec![3.0, 4.0, 5.0, 6.0]);
        assert!(standard(&batch).is_view(), "a standard batch is not copied");
        assert!(standard(&columns).is_owned());
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
