//! Growing one CART tree on binned features, as scikit-learn grows its
//! trees: depth first, each node split where the criterion (gini, entropy
//! or squared error) improves most over `max_features` features drawn at
//! random (constant features not counted, as in scikit-learn), leaves at
//! `max_depth`, below `min_samples_split`, at purity or where no split
//! leaves `min_samples_leaf` rows on both sides. Extra-trees draw one random
//! threshold per feature instead. Rows carry weights (bootstrap counts,
//! boosting weights). A node's bins are summed in a histogram when it is
//! large and sorted when it is small.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::bins::Binned;
use crate::matrix::Matrix;
use extra::Lookup;

mod extra;

/// Nodes with at most this many rows are split by sorting their codes.
const SORT_LIMIT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Criterion {
    Gini,
    Entropy,
    SquaredError,
}

/// How a tree grows.
#[derive(Debug, Clone)]
pub(crate) struct TreeParams {
    pub criterion: Criterion,
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    /// Features tried per node (at least 1).
    pub max_features: usize,
    /// Extra-trees: one random threshold per feature.
    pub random_splits: bool,
}

/// What a tree predicts.
pub(crate) enum Target<'a> {
    Classes { y: &'a [u32], classes: usize },
    Numbers(&'a [f64]),
}

impl Target<'_> {
    fn dims(&self) -> usize {
        match self {
            Target::Classes { classes, .. } => *classes,
            Target::Numbers(_) => 3,
        }
    }

    fn outputs(&self) -> usize {
        match self {
            Target::Classes { classes, .. } => *classes,
            Target::Numbers(_) => 1,
        }
    }

    #[inline]
    fn add(&self, stats: &mut [f64], sample: u32, w: f64) {
        match self {
            Target::Classes { y, .. } => stats[y[sample as usize] as usize] += w,
            Target::Numbers(y) => {
                let v = y[sample as usize];
                stats[0] += w;
                stats[1] += w * v;
                stats[2] += w * v * v;
            }
        }
    }
}

/// A fitted tree. Leaves hold class shares (classification) or the mean.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tree {
    /// Depth-first: a node's left child is the next node.
    nodes: Vec<Compact>,
    /// The bin of each node's split (for binned rows).
    bins: Vec<u8>,
    values: Vec<f64>,
    outputs: usize,
}

/// A node while growing.
#[derive(Debug, Clone, Copy)]
struct Node {
    feature: u32,
    bin: u8,
    threshold: f64,
    /// `LEAF` for a leaf, whose values start at `right * outputs`.
    left: u32,
    right: u32,
}

const LEAF: u32 = u32::MAX;

/// A node of a fitted tree, 16 bytes: a leaf has `feature == LEAF` and its
/// values at `right * outputs`; an inner node's left child follows it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Compact {
    threshold: f64,
    feature: u32,
    right: u32,
}

impl Tree {
    /// Lays the grown nodes out depth first.
    fn compact(grown: &[Node], values: Vec<f64>, outputs: usize) -> Tree {
        let mut nodes = Vec::with_capacity(grown.len());
        let mut bins = Vec::with_capacity(grown.len());
        // (grown node, index of the parent whose `right` it is)
        let mut stack: Vec<(u32, Option<usize>)> = vec![(0, None)];
        while let Some((g, parent)) = stack.pop() {
            let at = nodes.len();
            if let Some(p) = parent {
                let node: &mut Compact = &mut nodes[p];
                node.right = at as u32;
            }
            let n = grown[g as usize];
            if n.left == LEAF {
                nodes.push(Compact {
                    threshold: 0.0,
                    feature: LEAF,
                    right: n.right,
                });
                bins.push(0);
            } else {
                nodes.push(Compact {
                    threshold: n.threshold,
                    feature: n.feature,
                    right: 0,
                });
                bins.push(n.bin);
                stack.push((n.right, Some(at)));
                stack.push((n.left, None));
            }
        }
        Tree {
            nodes,
            bins,
            values,
            outputs,
        }
    }

    fn values_at(&self, node: &Compact) -> &[f64] {
        let at = node.right as usize * self.outputs;
        &self.values[at..at + self.outputs]
    }

    /// The leaf values of row `i` of `x`.
    #[inline]
    pub(crate) fn leaf(&self, x: &Matrix, i: usize) -> &[f64] {
        let mut at = 0;
        loop {
            let n = &self.nodes[at];
            if n.feature == LEAF {
                return self.values_at(n);
            }
            at = if x.get(i, n.feature as usize) <= n.threshold {
                at + 1
            } else {
                n.right as usize
            };
        }
    }

    /// The leaf values of a row given as its features in order.
    #[inline]
    pub(crate) fn leaf_row(&self, row: &[f64]) -> &[f64] {
        let mut at = 0;
        loop {
            let n = &self.nodes[at];
            if n.feature == LEAF {
                return self.values_at(n);
            }
            at = if row[n.feature as usize] <= n.threshold {
                at + 1
            } else {
                n.right as usize
            };
        }
    }

    /// The leaf values of row `i` of the binned training data.
    #[inline]
    pub(crate) fn leaf_binned(&self, b: &Binned, i: usize) -> &[f64] {
        let mut at = 0;
        loop {
            let n = &self.nodes[at];
            if n.feature == LEAF {
                return self.values_at(n);
            }
            at = if b.code(i, n.feature as usize) <= self.bins[at] {
                at + 1
            } else {
                n.right as usize
            };
        }
    }

    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// Grows a tree on `samples` (rows of `bins`) with their `weights`.
pub(crate) fn grow(
    bins: &Binned,
    target: &Target,
    samples: &[u32],
    weights: &[f64],
    params: &TreeParams,
    seed: u64,
) -> Tree {
    let mut g = Grower {
        bins,
        target,
        params,
        rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        idx: samples.to_vec(),
        w: weights.to_vec(),
        dims: target.dims(),
        hist: Vec::new(),
        hist_n: Vec::new(),
        node_codes: Vec::new(),
        node_y: Vec::new(),
        sorted: Vec::new(),
        runs: Vec::new(),
        run_stats: Vec::new(),
        left: Vec::new(),
        right: Vec::new(),
        features: (0..bins.cols as u32).collect(),
        lookups: if params.random_splits {
            bins.features.iter().map(Lookup::new).collect()
        } else {
            Vec::new()
        },
        nodes: Vec::new(),
        values: Vec::new(),
    };
    g.hist = vec![0.0; 256 * g.dims];
    g.hist_n = vec![0; 256];
    g.run();
    Tree::compact(&g.nodes, g.values, target.outputs())
}

struct Grower<'a> {
    bins: &'a Binned,
    target: &'a Target<'a>,
    params: &'a TreeParams,
    /// Xoshiro256++: draws per node and feature are a fair share of an
    /// extra-trees fit, and ChaCha8 cost a tenth more.
    rng: Xoshiro256PlusPlus,
    idx: Vec<u32>,
    w: Vec<f64>,
    dims: usize,
    hist: Vec<f64>,
    hist_n: Vec<u32>,
    /// Extra-trees, a small node: one feature's codes of its rows, gathered
    /// once for the range and the left side's sums.
    node_codes: Vec<u8>,
    /// Extra-trees regression: the node's targets, gathered once per node
    /// by `run` for its sums and every feature's split.
    node_y: Vec<f64>,
    sorted: Vec<(u8, u32)>,
    runs: Vec<(usize, u32)>,
    run_stats: Vec<f64>,
    left: Vec<f64>,
    right: Vec<f64>,
    features: Vec<u32>,
    /// Extra-trees: each feature's threshold lookup.
    lookups: Vec<Lookup>,
    nodes: Vec<Node>,
    values: Vec<f64>,
}

/// The best split found so far for a node.
struct Split {
    feature: usize,
    bin: usize,
    threshold: f64,
    proxy: f64,
}

impl Grower<'_> {
    fn run(&mut self) {
        // (start, end, depth, node)
        let mut stack = vec![(0usize, self.idx.len(), 0usize, 0u32)];
        self.nodes.push(leaf_node());
        let mut stats = vec![0.0; self.dims];
        while let Some((start, end, depth, id)) = stack.pop() {
            stats.fill(0.0);
            match self.target {
                // Extra-trees regression: the node's targets gathered once,
                // for its sums here and every feature's split.
                Target::Numbers(y) if self.params.random_splits => {
                    self.node_y.clear();
                    self.node_y
                        .extend(self.idx[start..end].iter().map(|&i| y[i as usize]));
                    for (&v, &w) in self.node_y.iter().zip(&self.w[start..end]) {
                        stats[0] += w;
                        stats[1] += w * v;
                        stats[2] += w * v * v;
                    }
                }
                _ => {
                    for s in start..end {
                        self.target.add(&mut stats, self.idx[s], self.w[s]);
                    }
                }
            }
            let n = end - start;
            let p = self.params;
            let can_split = p.max_depth.is_none_or(|d| depth < d)
                && n >= p.min_samples_split
                && n >= 2 * p.min_samples_leaf
                && impurity(p.criterion, &stats) > f64::EPSILON;
            let split = if can_split {
                self.best_split(start, end, &stats)
            } else {
                None
            };
            let Some(split) = split else {
                self.make_leaf(id, &stats);
                continue;
            };
            // Partition rows: bin <= split.bin to the left.
            let f = split.feature;
            let codes = self.bins.col(f);
            let mut i = start;
            let mut j = end;
            while i < j {
                if codes[self.idx[i] as usize] as usize <= split.bin {
                    i += 1;
                } else {
                    j -= 1;
                    self.idx.swap(i, j);
                    self.w.swap(i, j);
                }
            }
            let left = self.nodes.len() as u32;
            self.nodes.push(leaf_node());
            self.nodes.push(leaf_node());
            self.nodes[id as usize] = Node {
                feature: f as u32,
                bin: split.bin as u8,
                threshold: split.threshold,
                left,
                right: left + 1,
            };
            stack.push((i, end, depth + 1, left + 1));
            stack.push((start, i, depth + 1, left));
        }
    }

    fn make_leaf(&mut self, id: u32, stats: &[f64]) {
        let leaf = (self.values.len() / self.target.outputs()) as u32;
        match self.target {
            Target::Classes { .. } => {
                let total: f64 = stats.iter().sum();
                self.values.extend(
                    stats
                        .iter()
                        .map(|s| if total > 0.0 { s / total } else { 0.0 }),
                );
            }
            Target::Numbers(_) => self.values.push(if stats[0] > 0.0 {
                stats[1] / stats[0]
            } else {
                0.0
            }),
        }
        self.nodes[id as usize] = Node {
            feature: 0,
            bin: 0,
            threshold: 0.0,
            left: LEAF,
            right: leaf,
        };
    }

    fn best_split(&mut self, start: usize, end: usize, total: &[f64]) -> Option<Split> {
        let p = self.bins.cols;
        let mut best: Option<Split> = None;
        let mut visited = 0;
        // Features in random order until max_features non-constant ones are seen.
        let mut order = std::mem::take(&mut self.features);
        // Extra-trees trying every feature visit them all whatever the
        // order, which only breaks exact ties: instead of a shuffle (20
        // draws per node on 20 features), one draw of where to start.
        let every = self.params.random_splits && self.params.max_features >= p;
        let first = if every {
            self.rng.random_range(0..p)
        } else {
            order.shuffle(&mut self.rng);
            0
        };
        // Extra-trees on two rows: every split that parts them leaves two
        // pure leaves, so the first one found is as good as any.
        let two_rows = self.params.random_splits && end - start == 2;
        for k in 0..p {
            if visited >= self.params.max_features || (two_rows && best.is_some()) {
                break;
            }
            let f = order[(first + k) % p] as usize;
            if let Some(found) = self.split_on(f, start, end, total, &mut visited)
                && best.as_ref().is_none_or(|b| found.proxy > b.proxy)
            {
                best = Some(found);
            }
        }
        self.features = order;
        debug_assert!(self.features.len() == p);
        best
    }

    /// The best (or, for extra-trees, a random) split of the node on
    /// feature `f`; counts the feature as visited unless it is constant.
    fn split_on(
        &mut self,
        f: usize,
        start: usize,
        end: usize,
        total: &[f64],
        visited: &mut usize,
    ) -> Option<Split> {
        if self.params.random_splits {
            return self.random_split_on(f, start, end, total, visited);
        }
        let dims = self.dims;
        let n = end - start;
        let codes = self.bins.col(f);
        // Per non-empty bin: (bin, rows), and its sums in `run_stats`.
        let mut runs = std::mem::take(&mut self.runs);
        let mut run_stats = std::mem::take(&mut self.run_stats);
        runs.clear();
        run_stats.clear();
        let found = self.scan_runs(
            f,
            start,
            end,
            total,
            visited,
            &mut runs,
            &mut run_stats,
            codes,
            n,
            dims,
        );
        self.runs = runs;
        self.run_stats = run_stats;
        found
    }

    /// Fills the node's non-empty bins of feature `f` and finds the best
    /// split between them.
    #[allow(clippy::too_many_arguments)]
    fn scan_runs(
        &mut self,
        f: usize,
        start: usize,
        end: usize,
        total: &[f64],
        visited: &mut usize,
        runs: &mut Vec<(usize, u32)>,
        run_stats: &mut Vec<f64>,
        codes: &[u8],
        n: usize,
        dims: usize,
    ) -> Option<Split> {
        if n > SORT_LIMIT {
            let nb = self.bins.features[f].bins();
            self.hist[..nb * dims].iter_mut().for_each(|v| *v = 0.0);
            self.hist_n[..nb].iter_mut().for_each(|v| *v = 0);
            for s in start..end {
                let c = codes[self.idx[s] as usize] as usize;
                self.hist_n[c] += 1;
                self.target.add(
                    &mut self.hist[c * dims..(c + 1) * dims],
                    self.idx[s],
                    self.w[s],
                );
            }
            for b in 0..nb {
                if self.hist_n[b] > 0 {
                    runs.push((b, self.hist_n[b]));
                    run_stats.extend_from_slice(&self.hist[b * dims..(b + 1) * dims]);
                }
            }
        } else {
            self.sorted.clear();
            for s in start..end {
                let c = codes[self.idx[s] as usize];
                self.sorted.push((c, s as u32));
            }
            self.sorted.sort_unstable_by_key(|(c, _)| *c);
            let mut k = 0;
            while k < self.sorted.len() {
                let c = self.sorted[k].0;
                let at = run_stats.len();
                run_stats.resize(at + dims, 0.0);
                let mut count = 0;
                while k < self.sorted.len() && self.sorted[k].0 == c {
                    let s = self.sorted[k].1 as usize;
                    self.target
                        .add(&mut run_stats[at..at + dims], self.idx[s], self.w[s]);
                    count += 1;
                    k += 1;
                }
                runs.push((c as usize, count));
            }
        }
        if runs.len() < 2 {
            return None;
        }
        *visited += 1;
        let min_leaf = self.params.min_samples_leaf as u32;
        let fb = &self.bins.features[f];
        let criterion = self.params.criterion;
        let left = &mut self.left;
        let right = &mut self.right;
        left.clear();
        left.resize(dims, 0.0);
        right.clear();
        right.resize(dims, 0.0);
        let mut best: Option<(f64, usize)> = None;
        let mut n_left = 0u32;
        for r in 0..runs.len() - 1 {
            n_left += runs[r].1;
            add_stats(left, &run_stats[r * dims..(r + 1) * dims]);
            let n_right = n as u32 - n_left;
            if n_left < min_leaf {
                continue;
            }
            if n_right < min_leaf {
                break;
            }
            for (d, (t, l)) in right.iter_mut().zip(total.iter().zip(left.iter())) {
                *d = t - l;
            }
            let score = proxy(criterion, left) + proxy(criterion, right);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, r));
            }
        }
        let (score, r) = best?;
        Some(Split {
            feature: f,
            bin: runs[r].0,
            threshold: fb.split_threshold(runs[r].0, runs[r + 1].0),
            proxy: score,
        })
    }
}

fn leaf_node() -> Node {
    Node {
        feature: 0,
        bin: 0,
        threshold: 0.0,
        left: LEAF,
        right: 0,
    }
}

fn add_stats(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// A child's share of the split quality; the split maximises the sum.
#[inline]
fn proxy(c: Criterion, s: &[f64]) -> f64 {
    match c {
        Criterion::Gini => {
            let w: f64 = s.iter().sum();
            if w > 0.0 {
                s.iter().map(|v| v * v).sum::<f64>() / w
            } else {
                0.0
            }
        }
        Criterion::Entropy => {
            let w: f64 = s.iter().sum();
            s.iter()
                .filter(|v| **v > 0.0)
                .map(|v| v * (v / w).ln())
                .sum()
        }
        Criterion::SquaredError => {
            if s[0] > 0.0 {
                s[1] * s[1] / s[0]
            } else {
                0.0
            }
        }
    }
}

fn impurity(c: Criterion, s: &[f64]) -> f64 {
    match c {
        Criterion::Gini => {
            let w: f64 = s.iter().sum();
            if w <= 0.0 {
                return 0.0;
            }
            1.0 - s.iter().map(|v| (v / w) * (v / w)).sum::<f64>()
        }
        Criterion::Entropy => {
            let w: f64 = s.iter().sum();
            s.iter()
                .filter(|v| **v > 0.0)
                .map(|v| -(v / w) * (v / w).ln())
                .sum()
        }
        Criterion::SquaredError => {
            if s[0] <= 0.0 {
                return 0.0;
            }
            let mean = s[1] / s[0];
            (s[2] / s[0] - mean * mean).max(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpruned_tree_fits_its_training_rows() {
        let rows: Vec<Vec<f64>> = (0..2000)
            .map(|i| vec![(i % 37) as f64, ((i * 13) % 101) as f64, (i % 5) as f64])
            .collect();
        let y: Vec<u32> = rows
            .iter()
            .map(|r| u32::from(r[0] * 2.0 + r[1] > 80.0) + u32::from(r[2] > 2.0))
            .collect();
        let x = Matrix::from_rows(&rows);
        let bins = Binned::new(&x, None, 256, 1).unwrap();
        let samples: Vec<u32> = (0..2000).collect();
        let params = TreeParams {
            criterion: Criterion::Gini,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: 3,
            random_splits: false,
        };
        let target = Target::Classes { y: &y, classes: 3 };
        let tree = grow(&bins, &target, &samples, &vec![1.0; 2000], &params, 1);
        for i in 0..2000 {
            let v = tree.leaf(&x, i);
            assert_eq!(v[y[i] as usize], 1.0, "row {i}");
            assert_eq!(tree.leaf_binned(&bins, i), v);
        }
        // Regression: a step function is learned exactly.
        let ys: Vec<f64> = rows
            .iter()
            .map(|r| if r[1] > 50.0 { 3.0 } else { -1.0 })
            .collect();
        let params = TreeParams {
            criterion: Criterion::SquaredError,
            max_depth: Some(1),
            ..params
        };
        let tree = grow(
            &bins,
            &Target::Numbers(&ys),
            &samples,
            &vec![1.0; 2000],
            &params,
            1,
        );
        assert_eq!(tree.node_count(), 3);
        assert_eq!(
            tree.leaf(&x, 0)[0],
            if rows[0][1] > 50.0 { 3.0 } else { -1.0 }
        );
    }
}
