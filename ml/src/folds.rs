//! Cross-validation splits over a dataset's rows (positions in its
//! canonical order, so the same seed gives the same folds on every engine):
//! PyCaret's hold-out split of the training share, then k folds of it,
//! stratified by class for classifiers (scikit-learn's `StratifiedKFold`
//! allocation), shuffled with the seed.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, invalid};

/// The rows cross-validation uses and how they are cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Folds {
    /// Every fold's test rows (dataset positions, ascending).
    pub test: Vec<Vec<usize>>,
    /// The rows the folds are cut from (the training share), ascending.
    pub rows: Vec<usize>,
}

impl Folds {
    /// Cuts `n` rows: first the training share `train_size` (the rest is
    /// held out, as PyCaret's `setup` does), then `k` folds of it. With
    /// `classes` (a classifier's class index per row) both are stratified.
    pub fn new(
        n: usize,
        classes: Option<&[u32]>,
        train_size: f64,
        k: usize,
        seed: u64,
    ) -> Result<Folds> {
        if k < 2 {
            return Err(invalid(format!("folds must be at least 2, not {k}")));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = if train_size >= 1.0 {
            (0..n).collect()
        } else {
            training_share(n, classes, train_size, &mut rng)
        };
        if rows.len() < k {
            return Err(invalid(format!(
                "{k} folds need at least {k} training rows; there are {}",
                rows.len()
            )));
        }
        let fold_of = match classes {
            Some(c) => stratified(&rows, c, k, &mut rng)?,
            None => plain(rows.len(), k, &mut rng),
        };
        let mut test = vec![Vec::new(); k];
        for (r, f) in rows.iter().zip(&fold_of) {
            test[*f].push(*r);
        }
        Ok(Folds { test, rows })
    }

    pub fn count(&self) -> usize {
        self.test.len()
    }

    /// Fold `f`'s training rows: the training share without its test rows.
    pub fn train(&self, f: usize) -> Vec<usize> {
        let test = &self.test[f];
        let mut t = 0;
        self.rows
            .iter()
            .copied()
            .filter(|r| {
                while t < test.len() && test[t] < *r {
                    t += 1;
                }
                !(t < test.len() && test[t] == *r)
            })
            .collect()
    }
}

/// The rows kept for training: `share` of each class (of all rows without
/// classes), chosen at random, ascending.
fn training_share(
    n: usize,
    classes: Option<&[u32]>,
    share: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let groups: Vec<Vec<usize>> = match classes {
        Some(c) => {
            let k = c.iter().copied().max().map_or(0, |m| m as usize + 1);
            let mut g = vec![Vec::new(); k];
            for (i, class) in c.iter().enumerate() {
                g[*class as usize].push(i);
            }
            g
        }
        None => vec![(0..n).collect()],
    };
    let mut kept = Vec::with_capacity((n as f64 * share) as usize + groups.len());
    for mut g in groups {
        g.shuffle(rng);
        let take = ((g.len() as f64 * share).round() as usize).clamp(1.min(g.len()), g.len());
        kept.extend_from_slice(&g[..take]);
    }
    kept.sort_unstable();
    kept
}

/// Fold number of each of `n` rows: a shuffled cut into `k` parts whose
/// sizes differ by at most one (the first `n % k` one larger, as KFold).
fn plain(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(rng);
    let mut fold = vec![0; n];
    let mut at = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        for &i in &perm[at..at + size] {
            fold[i] = f;
        }
        at += size;
    }
    fold
}

/// Fold number of each row of `rows`, stratified: scikit-learn's
/// `StratifiedKFold` allocation (the rows sorted by class are dealt to the
/// folds in turn, which fixes how many of each class a fold gets), each
/// class's rows shuffled before they are handed out.
fn stratified(
    rows: &[usize],
    classes: &[u32],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<usize>> {
    let count = classes.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (pos, r) in rows.iter().enumerate() {
        by_class[classes[*r] as usize].push(pos);
    }
    for (c, members) in by_class.iter().enumerate() {
        if !members.is_empty() && members.len() < k {
            return Err(invalid(format!(
                "{k} folds need at least {k} rows of every class; class #{c} has {}",
                members.len()
            )));
        }
    }
    // allocation[f][c]: rows of class c in fold f.
    let mut sorted: Vec<usize> = Vec::with_capacity(rows.len());
    for (c, members) in by_class.iter().enumerate() {
        sorted.extend(std::iter::repeat_n(c, members.len()));
    }
    let mut allocation = vec![vec![0usize; count]; k];
    for (i, c) in sorted.iter().enumerate() {
        allocation[i % k][*c] += 1;
    }
    let mut fold = vec![0; rows.len()];
    for (c, members) in by_class.iter_mut().enumerate() {
        members.shuffle(rng);
        let mut it = members.iter();
        for (f, a) in allocation.iter().enumerate() {
            for pos in it.by_ref().take(a[c]) {
                fold[*pos] = f;
            }
        }
    }
    Ok(fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cover_the_training_share_once() {
        let classes: Vec<u32> = (0..103).map(|i| (i % 3 == 0) as u32).collect();
        let f = Folds::new(103, Some(&classes), 0.7, 5, 42).unwrap();
        // round(0.7 · 68) + round(0.7 · 35) rows.
        assert_eq!(f.rows.len(), 48 + 25);
        let mut all: Vec<usize> = f.test.concat();
        all.sort_unstable();
        assert_eq!(all, f.rows);
        for k in 0..5 {
            // Stratified: each fold has 5 of the 25 rows of class 1.
            let ones = f.test[k].iter().filter(|r| classes[**r] == 1).count();
            assert_eq!(ones, 5);
            assert_eq!(f.train(k).len() + f.test[k].len(), f.rows.len());
        }
        // The same seed, the same folds; another seed, others.
        assert_eq!(f, Folds::new(103, Some(&classes), 0.7, 5, 42).unwrap());
        assert_ne!(f, Folds::new(103, Some(&classes), 0.7, 5, 7).unwrap());
        let plain = Folds::new(10, None, 1.0, 3, 1).unwrap();
        let sizes: Vec<usize> = plain.test.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 3, 3]);
    }

    #[test]
    fn too_few_rows_are_refused() {
        let classes = [0, 0, 0, 1, 1, 0, 0, 0];
        let e = Folds::new(8, Some(&classes), 1.0, 3, 0).unwrap_err();
        assert!(e.to_string().contains("class #1 has 2"), "{e}");
        assert!(Folds::new(8, None, 1.0, 1, 0).is_err());
        assert!(Folds::new(3, None, 1.0, 5, 0).is_err());
    }
}
