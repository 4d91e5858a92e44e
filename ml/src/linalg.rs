//! The dense linear algebra the estimators need, on small symmetric
//! matrices (features × features): Cholesky solves and the symmetric
//! eigen-decomposition (cyclic Jacobi), which also gives SVDs through
//! `XᵀX`. Matrices here are row-major `Vec<Vec<f64>>`.

// Index loops read as the formulas they implement.
#![allow(clippy::needless_range_loop)]

/// Solves `a x = b` for a symmetric positive definite `a`; None when `a`
/// is not positive definite.
pub(crate) fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i][j] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    Some(x)
}

/// Eigenvalues (descending) and unit eigenvectors (`vectors[k]` belongs to
/// `values[k]`) of a symmetric matrix.
pub(crate) fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut m: Vec<Vec<f64>> = a.to_vec();
    let mut v = vec![vec![0.0; n]; n];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        let scale: f64 = (0..n).map(|i| m[i][i] * m[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q] == 0.0 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k][p], m[k][q]);
                    m[k][p] = c * mkp - s * mkq;
                    m[k][q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p][k], m[q][k]);
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| m[b][b].total_cmp(&m[a][a]));
    let values = order.iter().map(|&k| m[k][k]).collect();
    let vectors = order
        .iter()
        .map(|&k| (0..n).map(|i| v[i][k]).collect())
        .collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_decomposes() {
        let a = vec![
            vec![4.0, 1.0, 0.5],
            vec![1.0, 3.0, 0.2],
            vec![0.5, 0.2, 2.0],
        ];
        let x = cholesky_solve(&a, &[1.0, 2.0, 3.0]).unwrap();
        for i in 0..3 {
            let got: f64 = (0..3).map(|j| a[i][j] * x[j]).sum();
            assert!((got - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        let (values, vectors) = symmetric_eigen(&a);
        for (l, v) in values.iter().zip(&vectors) {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-10);
            }
        }
        assert!(values[0] >= values[1] && values[1] >= values[2]);
        assert!(cholesky_solve(&[vec![0.0]], &[1.0]).is_none());
    }
}
