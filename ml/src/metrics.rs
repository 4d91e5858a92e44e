//! Metrics with scikit-learn's definitions: accuracy, support-weighted
//! precision / recall / F1, R², MAE, MSE, RMSE, and k-means inertia.

/// Share of rows where the prediction equals the truth.
pub fn accuracy<T: PartialEq>(truth: &[T], pred: &[T]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let hits = truth.iter().zip(pred).filter(|(t, p)| t == p).count();
    hits as f64 / truth.len() as f64
}

/// Precision, recall and F1 per class averaged with the class's support as
/// weight (scikit-learn's `average='weighted'`; 0 where undefined).
pub fn weighted_prf(truth: &[u32], pred: &[u32]) -> (f64, f64, f64) {
    let classes = truth
        .iter()
        .chain(pred)
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    let (mut tp, mut fp, mut fneg) = (vec![0.0; classes], vec![0.0; classes], vec![0.0; classes]);
    for (t, p) in truth.iter().zip(pred) {
        if t == p {
            tp[*t as usize] += 1.0;
        } else {
            fp[*p as usize] += 1.0;
            fneg[*t as usize] += 1.0;
        }
    }
    let n = truth.len() as f64;
    let (mut pr, mut re, mut f1) = (0.0, 0.0, 0.0);
    for k in 0..classes {
        let support = tp[k] + fneg[k];
        if support == 0.0 {
            continue;
        }
        let p = if tp[k] + fp[k] > 0.0 {
            tp[k] / (tp[k] + fp[k])
        } else {
            0.0
        };
        let r = tp[k] / support;
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        pr += p * support / n;
        re += r * support / n;
        f1 += f * support / n;
    }
    (pr, re, f1)
}

/// Coefficient of determination (1 for a perfect fit, 0 for the mean).
pub fn r2(truth: &[f64], pred: &[f64]) -> f64 {
    let n = truth.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mean = truth.iter().sum::<f64>() / n;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = truth.iter().zip(pred).map(|(t, p)| (t - p).powi(2)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

pub fn mae(truth: &[f64], pred: &[f64]) -> f64 {
    truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / truth.len().max(1) as f64
}

pub fn mse(truth: &[f64], pred: &[f64]) -> f64 {
    truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p).powi(2))
        .sum::<f64>()
        / truth.len().max(1) as f64
}

pub fn rmse(truth: &[f64], pred: &[f64]) -> f64 {
    mse(truth, pred).sqrt()
}

/// Sum of squared distances of each row to the centre of its cluster.
pub fn inertia(rows: &[Vec<f64>], cluster: &[u32]) -> f64 {
    let k = cluster.iter().copied().max().map_or(0, |m| m as usize + 1);
    let width = rows.first().map_or(0, Vec::len);
    let mut sums = vec![vec![0.0; width]; k];
    let mut counts = vec![0.0; k];
    for (r, c) in rows.iter().zip(cluster) {
        counts[*c as usize] += 1.0;
        for (s, v) in sums[*c as usize].iter_mut().zip(r) {
            *s += v;
        }
    }
    rows.iter()
        .zip(cluster)
        .map(|(r, c)| {
            let c = *c as usize;
            r.iter()
                .zip(&sums[c])
                .map(|(v, s)| (v - s / counts[c]).powi(2))
                .sum::<f64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_scikit_learn_values() {
        // sklearn: accuracy_score([0,1,2,2],[0,2,2,2]) = 0.75,
        // f1_score(..., average="weighted") = 0.65, r2_score([1,2,3],[1,2,4]) = 0.5
        assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 2, 2, 2]), 0.75);
        let (p, r, f) = weighted_prf(&[0, 1, 2, 2], &[0, 2, 2, 2]);
        assert!((p - 0.5833333333).abs() < 1e-9, "{p}");
        assert!((r - 0.75).abs() < 1e-12);
        assert!((f - 0.65).abs() < 1e-9, "{f}");
        assert!((r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]) - 0.5).abs() < 1e-12);
        assert!((rmse(&[0.0, 0.0], &[3.0, 4.0]) - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(
            inertia(&[vec![0.0], vec![2.0], vec![10.0]], &[0, 0, 1]),
            2.0
        );
    }
}
