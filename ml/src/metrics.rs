//! Metrics with scikit-learn's definitions (and PyCaret's, where its
//! leaderboard defines its own): accuracy, precision / recall / F1 (of one
//! class or support-weighted), ROC AUC (binary, and one-vs-rest weighted by
//! support), Cohen's kappa, Matthews' correlation; R², MAE, MSE, RMSE,
//! RMSLE and MAPE as PyCaret computes them; k-means inertia.

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

/// Precision, recall and F1 of class `positive` alone (scikit-learn's
/// `average='binary'`, 0 where undefined).
pub fn binary_prf(truth: &[u32], pred: &[u32], positive: u32) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
    for (t, p) in truth.iter().zip(pred) {
        match (*t == positive, *p == positive) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fneg += 1.0,
            (false, false) => {}
        }
    }
    let p = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let r = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f)
}

/// The confusion matrix `m[truth][pred]` over `classes` classes.
fn confusion(truth: &[u32], pred: &[u32], classes: usize) -> Vec<Vec<f64>> {
    let mut m = vec![vec![0.0; classes]; classes];
    for (t, p) in truth.iter().zip(pred) {
        m[*t as usize][*p as usize] += 1.0;
    }
    m
}

fn class_count(truth: &[u32], pred: &[u32]) -> usize {
    truth
        .iter()
        .chain(pred)
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1)
}

/// Cohen's kappa (scikit-learn's `cohen_kappa_score`, unweighted).
pub fn kappa(truth: &[u32], pred: &[u32]) -> f64 {
    let k = class_count(truth, pred);
    let m = confusion(truth, pred, k);
    let n: f64 = truth.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let rows: Vec<f64> = m.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..k).map(|j| m.iter().map(|r| r[j]).sum()).collect();
    let observed: f64 = (0..k).map(|i| m[i][i]).sum::<f64>() / n;
    let expected: f64 = (0..k).map(|i| rows[i] * cols[i]).sum::<f64>() / (n * n);
    if expected == 1.0 {
        // scikit-learn returns NaN (0/0); PyCaret shows 0.
        return 0.0;
    }
    (observed - expected) / (1.0 - expected)
}

/// Matthews' correlation coefficient, multiclass (scikit-learn's
/// `matthews_corrcoef`; 0 when undefined).
pub fn mcc(truth: &[u32], pred: &[u32]) -> f64 {
    let k = class_count(truth, pred);
    let m = confusion(truth, pred, k);
    let s = truth.len() as f64;
    let c: f64 = (0..k).map(|i| m[i][i]).sum();
    let t: Vec<f64> = m.iter().map(|r| r.iter().sum()).collect();
    let p: Vec<f64> = (0..k).map(|j| m.iter().map(|r| r[j]).sum()).collect();
    let tp: f64 = t.iter().zip(&p).map(|(a, b)| a * b).sum();
    let pp: f64 = p.iter().map(|x| x * x).sum();
    let tt: f64 = t.iter().map(|x| x * x).sum();
    let denominator = ((s * s - pp) * (s * s - tt)).sqrt();
    if denominator == 0.0 {
        return 0.0;
    }
    (c * s - tp) / denominator
}

/// Area under the ROC curve of `scores` for the rows where `positive` is
/// true: the Mann-Whitney statistic with ties counted half, which equals
/// scikit-learn's trapezoidal `roc_auc_score`. None when only one kind of
/// row is present (scikit-learn raises).
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n = positive.len();
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Average ranks (1-based) over runs of equal scores.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && scores[idx[j]] == scores[idx[i]] {
            j += 1;
        }
        let average = (i + 1 + j) as f64 / 2.0;
        rank_sum += average * idx[i..j].iter().filter(|k| positive[**k]).count() as f64;
        i = j;
    }
    let (p, q) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

/// ROC AUC of class probabilities `proba[row][class]`: binary (two
/// classes: the second class's probability) or one-vs-rest averaged with
/// each class's support as weight (scikit-learn's
/// `roc_auc_score(multi_class='ovr', average='weighted')`). Classes absent
/// from `truth` get no weight; None when fewer than two are present.
pub fn auc(truth: &[u32], proba: &[Vec<f64>], classes: usize) -> Option<f64> {
    if classes == 2 {
        let positive: Vec<bool> = truth.iter().map(|t| *t == 1).collect();
        let scores: Vec<f64> = proba.iter().map(|p| p[1]).collect();
        return roc_auc(&positive, &scores);
    }
    let n = truth.len() as f64;
    let mut total = 0.0;
    let mut present = 0;
    for k in 0..classes {
        let positive: Vec<bool> = truth.iter().map(|t| *t as usize == k).collect();
        let support = positive.iter().filter(|p| **p).count() as f64;
        if support == 0.0 {
            continue;
        }
        present += 1;
        let scores: Vec<f64> = proba.iter().map(|p| p[k]).collect();
        total += roc_auc(&positive, &scores)? * support / n;
    }
    (present >= 2).then_some(total)
}

/// PyCaret's RMSLE: the root of the mean squared difference of
/// `ln(1 + |y|)` (absolute values, so negative targets have one).
pub fn rmsle(truth: &[f64], pred: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    (truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t.abs().ln_1p() - p.abs().ln_1p()).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// PyCaret's MAPE: the mean of `|y - ŷ| / |y|` over the rows whose truth is
/// not 0, as a fraction (0 when every truth is 0).
pub fn mape(truth: &[f64], pred: &[f64]) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for (t, p) in truth.iter().zip(pred) {
        if *t != 0.0 {
            sum += ((t - p) / t).abs();
            count += 1;
        }
    }
    if count == 0 { 0.0 } else { sum / count as f64 }
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
