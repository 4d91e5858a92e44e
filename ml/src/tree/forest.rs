//! Random forests and extra-trees: many trees on the same binned features,
//! grown in parallel, each on a bootstrap sample (forests; the draw counts
//! are the rows' weights, as in scikit-learn) or on every row with random
//! thresholds (extra-trees). Predictions average the trees' leaf values:
//! class shares for classifiers (so `probability` is the forest's vote
//! share), means for regressors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::bins::Binned;
use super::grow::{Target, Tree, TreeParams, grow};
use crate::matrix::Matrix;
use crate::par;

/// Rows per block when predicting.
const BLOCK: usize = 16_384;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Forest {
    trees: Vec<Tree>,
    outputs: usize,
}

/// Grows `n_trees` trees; tree `t` draws from its own seeded generator, so
/// the forest does not depend on the number of threads.
pub(crate) fn fit(
    bins: &Binned,
    target: &Target,
    n_trees: usize,
    bootstrap: bool,
    params: &TreeParams,
    seed: u64,
    threads: usize,
) -> Forest {
    let n = bins.rows;
    let trees = par::map(n_trees, threads, |t| {
        crate::interrupt::point();
        let tree_seed = mix(seed, t as u64);
        let (samples, weights) = if bootstrap {
            let mut rng = ChaCha8Rng::seed_from_u64(tree_seed ^ 0xb007_5eed);
            let mut counts = vec![0u32; n];
            for _ in 0..n {
                counts[rng.random_range(0..n)] += 1;
            }
            let samples: Vec<u32> = (0..n as u32).filter(|i| counts[*i as usize] > 0).collect();
            let weights = samples.iter().map(|i| counts[*i as usize] as f64).collect();
            (samples, weights)
        } else {
            ((0..n as u32).collect::<Vec<u32>>(), vec![1.0; n])
        };
        grow(bins, target, &samples, &weights, params, tree_seed)
    });
    let outputs = match target {
        Target::Classes { classes, .. } => *classes,
        Target::Numbers(_) => 1,
    };
    Forest { trees, outputs }
}

impl Forest {
    /// The trees' mean leaf values per row (`outputs` per row, row-major).
    pub(crate) fn predict(&self, x: &Matrix, threads: usize) -> Vec<f64> {
        let blocks = par::blocks(x.rows(), BLOCK);
        let k = self.outputs;
        let p = x.cols();
        let parts = par::map(blocks.len(), threads, |b| {
            let rows = blocks[b].clone();
            let block = x.rows_major(rows.clone());
            let mut out = vec![0.0; rows.len() * k];
            for tree in &self.trees {
                for (r, row) in block.chunks_exact(p).enumerate() {
                    for (o, v) in out[r * k..(r + 1) * k].iter_mut().zip(tree.leaf_row(row)) {
                        *o += v;
                    }
                }
            }
            let scale = 1.0 / self.trees.len().max(1) as f64;
            out.iter_mut().for_each(|v| *v *= scale);
            out
        });
        parts.concat()
    }

    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }
}

/// A seed for item `t` derived from `seed` (SplitMix64).
pub(crate) fn mix(seed: u64, t: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(t.wrapping_add(1)));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
