//! The feature matrix estimators fit on: `f64`, column-major (one feature's
//! values after another), allocated without aborting when memory runs out.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

/// `rows × cols` values, column `j` at `data[j * rows .. (j + 1) * rows]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A matrix from column-major values.
    pub(crate) fn from_columns(rows: usize, cols: usize, data: Vec<f64>) -> Matrix {
        assert_eq!(data.len(), rows * cols, "matrix shape");
        Matrix { rows, cols, data }
    }

    /// A matrix of `rows` rows from row-major values.
    #[cfg(test)]
    pub(crate) fn from_rows(rows: &[Vec<f64>]) -> Matrix {
        let n = rows.len();
        let p = rows.first().map_or(0, Vec::len);
        let mut data = vec![0.0; n * p];
        for (i, r) in rows.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                data[j * n + i] = *v;
            }
        }
        Matrix::from_columns(n, p, data)
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    pub(crate) fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub(crate) fn get(&self, i: usize, j: usize) -> f64 {
        self.data[j * self.rows + i]
    }

    /// Row `i` into `out` (one value per column).
    pub(crate) fn row_into(&self, i: usize, out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate().take(self.cols) {
            *o = self.data[j * self.rows + i];
        }
    }

    /// The rows `range` row-major (`out[r * cols + j]`), for code that
    /// walks one row at a time (tree traversal).
    pub(crate) fn rows_major(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        let m = range.len();
        let mut out = vec![0.0; m * self.cols];
        for j in 0..self.cols {
            for (r, v) in self.col(j)[range.clone()].iter().enumerate() {
                out[r * self.cols + j] = *v;
            }
        }
        out
    }

    /// The rows `which` (in that order) as a new matrix.
    pub(crate) fn select_rows(&self, which: &[usize]) -> Result<Matrix> {
        let mut data = alloc(which.len() * self.cols)?;
        for j in 0..self.cols {
            let col = self.col(j);
            data.extend(which.iter().map(|&i| col[i]));
        }
        Ok(Matrix::from_columns(which.len(), self.cols, data))
    }

    /// `self · w + b` for each row.
    pub(crate) fn dot(&self, w: &[f64], b: f64) -> Vec<f64> {
        let mut out = vec![b; self.rows];
        for (j, wj) in w.iter().enumerate().take(self.cols) {
            if *wj == 0.0 {
                continue;
            }
            for (o, x) in out.iter_mut().zip(self.col(j)) {
                *o += wj * x;
            }
        }
        out
    }
}

/// What a Gram matrix's columns are centred on.
pub(crate) enum Centre<'a> {
    /// One value per column.
    Columns(&'a [f64]),
    /// The mean of the row's class: `means[class][column]`, `class[row]`.
    Classes(&'a [Vec<f64>], &'a [u32]),
}

/// `Σᵢ (x_ia - c(i, a)) (x_ib - c(i, b))` for every pair of columns, over
/// the rows `rows` (all when None): a centred Gram matrix, summed over
/// blocks of rows (each copied centred into a small buffer and multiplied
/// on the machine's SIMD) spread over `threads`.
pub(crate) fn centred_gram(
    x: &Matrix,
    rows: Option<&[usize]>,
    centre: &Centre,
    threads: usize,
) -> Vec<Vec<f64>> {
    const BLOCK: usize = 4096;
    let p = x.cols;
    let n = rows.map_or(x.rows, <[usize]>::len);
    let blocks = crate::par::blocks(n, BLOCK);
    let partial = crate::par::map(blocks.len(), threads, |b| {
        let range = blocks[b].clone();
        let m = range.len();
        let mut buf = vec![0.0; m * p];
        for j in 0..p {
            let col = x.col(j);
            let out = &mut buf[j * m..(j + 1) * m];
            match (rows, centre) {
                (None, Centre::Columns(c)) => {
                    for (o, v) in out.iter_mut().zip(&col[range.clone()]) {
                        *o = v - c[j];
                    }
                }
                (Some(rs), Centre::Columns(c)) => {
                    for (o, &i) in out.iter_mut().zip(&rs[range.clone()]) {
                        *o = col[i] - c[j];
                    }
                }
                (None, Centre::Classes(means, class)) => {
                    for (o, i) in out.iter_mut().zip(range.clone()) {
                        *o = col[i] - means[class[i] as usize][j];
                    }
                }
                (Some(rs), Centre::Classes(means, class)) => {
                    for (o, &i) in out.iter_mut().zip(&rs[range.clone()]) {
                        *o = col[i] - means[class[i] as usize][j];
                    }
                }
            }
        }
        self_product(&buf, m, p)
    });
    let mut out = vec![vec![0.0; p]; p];
    for g in partial {
        for a in 0..p {
            for c in a..p {
                out[a][c] += g[a * p + c];
            }
        }
    }
    // Mirror the upper triangle.
    let upper = out.clone();
    for (a, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate().take(a) {
            *v = upper[c][a];
        }
    }
    out
}

/// Cross products of the columns `u = [x_j − shift_j ..., y_t − shift_t ...,
/// 1]` summed over all rows in one pass: `(p + t + 1)²` values, row-major.
/// The last row holds the columns' sums and the row count, from which
/// callers centre exactly (`Σ(u−ū)(v−v̄) = Σuv − ΣuΣv/n`); the shift (a
/// value near each column's mean) keeps that subtraction from cancelling.
/// Blocks of rows are copied shifted into a small buffer and multiplied on
/// the machine's SIMD, spread over `threads`, and summed in block order.
pub(crate) fn shifted_moments(
    x: &Matrix,
    ys: &[&[f64]],
    shift_x: &[f64],
    shift_y: &[f64],
    threads: usize,
) -> Vec<f64> {
    const BLOCK: usize = 4096;
    let p = x.cols;
    let q = p + ys.len() + 1;
    let blocks = crate::par::blocks(x.rows, BLOCK);
    let partial = crate::par::map(blocks.len(), threads, |b| {
        let range = blocks[b].clone();
        let m = range.len();
        let mut buf = vec![1.0; m * q];
        let sources = (0..p)
            .map(|j| (&x.col(j)[range.clone()], shift_x[j]))
            .chain(ys.iter().zip(shift_y).map(|(y, s)| (&y[range.clone()], *s)));
        for (j, (col, shift)) in sources.enumerate() {
            for (o, v) in buf[j * m..(j + 1) * m].iter_mut().zip(col) {
                *o = v - shift;
            }
        }
        self_product(&buf, m, q)
    });
    let mut out = vec![0.0; q * q];
    for g in partial {
        for (o, v) in out.iter_mut().zip(g) {
            *o += v;
        }
    }
    out
}

/// `bufᵀ · buf` (p × p, row-major) of an m × p column-major block, a
/// matrix product on the machine's SIMD.
fn self_product(buf: &[f64], m: usize, p: usize) -> Vec<f64> {
    assert_eq!(buf.len(), m * p, "block shape");
    let mut g = vec![0.0; p * p];
    // SAFETY: buf is m × p column-major (element (i, c) at c·m + i), as
    // asserted; bufᵀ reads it with strides (m, 1), buf with (1, m); g is p × p.
    unsafe {
        matrixmultiply::dgemm(
            p,
            m,
            p,
            1.0,
            buf.as_ptr(),
            m as isize,
            1,
            buf.as_ptr(),
            1,
            m as isize,
            0.0,
            g.as_mut_ptr(),
            p as isize,
            1,
        );
    }
    g
}

/// An empty vector with room for `n` values, or a clear error when the
/// memory is not there (instead of the process aborting). A large one asks
/// Linux for huge pages, as numpy does for its arrays: 512 times fewer page
/// faults when the matrix is first written.
pub(crate) fn alloc<T>(n: usize) -> Result<Vec<T>> {
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        MlError::Invalid(format!(
            "not enough memory for the training data ({} MiB more were needed)",
            (n as u128 * std::mem::size_of::<T>() as u128) >> 20
        ))
    })?;
    huge_pages(
        v.as_mut_ptr().cast(),
        v.capacity() * std::mem::size_of::<T>(),
    );
    Ok(v)
}

#[cfg(target_os = "linux")]
fn huge_pages(start: *mut u8, bytes: usize) {
    const PAGE: usize = 4096;
    if bytes < 1 << 22 {
        return;
    }
    let skip = (PAGE - start as usize % PAGE) % PAGE;
    // SAFETY: the range lies inside the allocation just made; madvise only
    // hints how to back it and fails harmlessly where it cannot.
    unsafe {
        libc::madvise(start.add(skip).cast(), bytes - skip, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn huge_pages(_start: *mut u8, _bytes: usize) {}
