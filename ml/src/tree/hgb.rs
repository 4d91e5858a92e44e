//! Histogram gradient boosting, as scikit-learn's HistGradientBoosting
//! (and LightGBM) do it: features binned once (255 bins), then per
//! iteration and output one tree grown leaf by leaf on the gradients and
//! hessians of the loss (half squared error; binomial or multinomial log
//! loss), always splitting the leaf with the largest gain
//! `G_L²/(H_L+λ) + G_R²/(H_R+λ) - G²/(H+λ)` until `max_leaf_nodes`; a
//! child's histogram is summed from its rows when it is the smaller one and
//! is the parent's minus its sibling's otherwise. Leaves hold
//! `-lr·G/(H+λ)`. Early stopping (`'auto'`: above 10,000 rows) holds out a
//! (stratified) tenth of the rows and stops when the last 10 iterations did
//! not lower their loss by more than `tol`, as scikit-learn's `scoring='loss'`.

use std::collections::BinaryHeap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::bins::Binned;
use crate::error::Result;
use crate::matrix::Matrix;
use crate::par;

/// The loss being boosted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Loss {
    SquaredError,
    /// Two classes: one output, the log-odds of class 1.
    Binomial,
    /// More classes: one output per class (softmax).
    Multinomial(usize),
}

impl Loss {
    fn outputs(self) -> usize {
        match self {
            Loss::Multinomial(k) => k,
            _ => 1,
        }
    }
}

/// scikit-learn's hyper-parameters.
pub(crate) struct Settings {
    pub learning_rate: f64,
    pub max_iter: usize,
    pub max_leaf_nodes: Option<usize>,
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub l2_regularization: f64,
    pub max_bins: usize,
    /// None: 'auto' (on above 10,000 rows).
    pub early_stopping: Option<bool>,
    pub validation_fraction: f64,
    pub n_iter_no_change: usize,
    pub tol: f64,
    pub seed: u64,
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct HNode {
    feature: u32,
    bin: u8,
    threshold: f64,
    left: u32,
    right: u32,
    value: f64,
}

const LEAF: u32 = u32::MAX;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HTree {
    nodes: Vec<HNode>,
}

impl HTree {
    /// The value of a row (its features, in order).
    fn value(&self, row: &[f64]) -> f64 {
        let mut n = &self.nodes[0];
        while n.left != LEAF {
            n = if row[n.feature as usize] <= n.threshold {
                &self.nodes[n.left as usize]
            } else {
                &self.nodes[n.right as usize]
            };
        }
        n.value
    }

    fn value_binned(&self, row: &[u8]) -> f64 {
        let mut n = &self.nodes[0];
        while n.left != LEAF {
            n = if row[n.feature as usize] <= n.bin {
                &self.nodes[n.left as usize]
            } else {
                &self.nodes[n.right as usize]
            };
        }
        n.value
    }
}

/// A fitted booster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Hgb {
    loss: Loss,
    baseline: Vec<f64>,
    /// trees[iteration][output]
    trees: Vec<Vec<HTree>>,
}

/// Class indices (classification) or numbers.
pub(crate) enum Y<'a> {
    Classes(&'a [u32]),
    Numbers(&'a [f64]),
}

impl Y<'_> {
    fn class(&self, i: usize) -> usize {
        match self {
            Y::Classes(y) => y[i] as usize,
            Y::Numbers(_) => 0,
        }
    }

    fn number(&self, i: usize) -> f64 {
        match self {
            Y::Classes(y) => y[i] as f64,
            Y::Numbers(y) => y[i],
        }
    }
}

pub(crate) fn fit(x: &Matrix, y: Y, loss: Loss, s: &Settings) -> Result<Hgb> {
    let n = x.rows();
    let early = s.early_stopping.unwrap_or(n > 10_000);
    let (train, valid) = if early && s.validation_fraction > 0.0 {
        split(n, &y, s.validation_fraction, s.seed)
    } else {
        ((0..n).collect(), Vec::new())
    };
    let bins = Binned::new(
        x,
        (train.len() < n).then_some(train.as_slice()),
        s.max_bins.min(255),
        s.threads,
    )?;
    let valid_codes: Vec<u8> = {
        let mut c = Vec::with_capacity(valid.len() * x.cols());
        for &i in &valid {
            for (j, f) in bins.features.iter().enumerate() {
                c.push(f.code(x.get(i, j)));
            }
        }
        c
    };
    let yt: Vec<(usize, f64)> = train.iter().map(|&i| (y.class(i), y.number(i))).collect();
    let yv: Vec<(usize, f64)> = valid.iter().map(|&i| (y.class(i), y.number(i))).collect();
    let k = loss.outputs();
    let baseline = baseline(loss, &yt);
    let nt = train.len();
    // raw[o * n + i]
    let mut raw: Vec<f64> = (0..k).flat_map(|o| vec![baseline[o]; nt]).collect();
    let mut raw_valid: Vec<f64> = (0..k).flat_map(|o| vec![baseline[o]; yv.len()]).collect();
    let mut grad = vec![0.0f64; nt * k];
    let mut hess = vec![0.0f64; nt * k];
    let mut trees: Vec<Vec<HTree>> = Vec::new();
    let mut scores: Vec<f64> = Vec::new();
    if early {
        scores.push(-mean_loss(loss, &raw_valid, &yv));
    }
    // One grower per output; with several outputs (classes) their trees
    // grow side by side, one per core, else one tree uses every core.
    let inner = s.threads;
    let mut growers: Vec<Grower> = (0..k).map(|_| Grower::new(&bins, s, inner)).collect();
    let constant_hessian = loss == Loss::SquaredError;
    for _ in 0..s.max_iter {
        crate::interrupt::point();
        gradients(loss, &raw, &yt, &mut grad, &mut hess, s.threads);
        let grown: Vec<(HTree, Grower)> = {
            let taken: Vec<std::sync::Mutex<Option<Grower>>> = growers
                .drain(..)
                .map(|g| std::sync::Mutex::new(Some(g)))
                .collect();
            par::map(k, if k > 1 { s.threads } else { 1 }, |o| {
                let mut grower = taken[o]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("each grower is taken once");
                let g = &grad[o * nt..(o + 1) * nt];
                let h = &hess[o * nt..(o + 1) * nt];
                let tree = grower.grow(g, h, constant_hessian);
                (tree, grower)
            })
        };
        let mut iteration = Vec::with_capacity(k);
        for (o, (tree, grower)) in grown.into_iter().enumerate() {
            // Training rows: add each leaf's value to its rows.
            for (leaf_value, range) in &grower.leaves {
                for &i in &grower.idx[range.clone()] {
                    raw[o * nt + i as usize] += leaf_value;
                }
            }
            for v in 0..yv.len() {
                let row = &valid_codes[v * bins.cols..(v + 1) * bins.cols];
                raw_valid[o * yv.len() + v] += tree.value_binned(row);
            }
            iteration.push(tree);
            growers.push(grower);
        }
        trees.push(iteration);
        if early {
            scores.push(-mean_loss(loss, &raw_valid, &yv));
            if should_stop(&scores, s.n_iter_no_change, s.tol) {
                break;
            }
        }
    }
    Ok(Hgb {
        loss,
        baseline,
        trees,
    })
}

impl Hgb {
    /// Raw scores per output and row (`raw[o][i]`): per block of rows, one
    /// tree at a time over the block (the tree stays in cache).
    pub(crate) fn raw(&self, x: &Matrix, threads: usize) -> Vec<Vec<f64>> {
        let k = self.loss.outputs();
        let blocks = par::blocks(x.rows(), 4096);
        let p = x.cols();
        let parts = par::map(blocks.len(), threads, |b| {
            let rows = blocks[b].clone();
            let block = x.rows_major(rows.clone());
            (0..k)
                .map(|o| {
                    let mut acc = vec![self.baseline[o]; rows.len()];
                    for t in &self.trees {
                        let tree = &t[o];
                        for (a, row) in acc.iter_mut().zip(block.chunks_exact(p)) {
                            *a += tree.value(row);
                        }
                    }
                    acc
                })
                .collect::<Vec<_>>()
        });
        (0..k)
            .map(|o| parts.iter().flat_map(|p| p[o].iter().copied()).collect())
            .collect()
    }

    pub(crate) fn predict_numbers(&self, x: &Matrix, threads: usize) -> Vec<f64> {
        self.raw(x, threads).swap_remove(0)
    }

    pub(crate) fn probabilities(&self, x: &Matrix, threads: usize) -> Vec<Vec<f64>> {
        let raw = self.raw(x, threads);
        (0..x.rows())
            .map(|i| {
                if raw.len() == 1 {
                    let p1 = crate::linear::logistic::sigmoid(raw[0][i]);
                    vec![1.0 - p1, p1]
                } else {
                    crate::linear::softmax(&raw.iter().map(|r| r[i]).collect::<Vec<_>>())
                }
            })
            .collect()
    }

    pub(crate) fn iterations(&self) -> usize {
        self.trees.len()
    }
}

/// Train and validation rows: a shuffled split, stratified by class.
fn split(n: usize, y: &Y, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a11_da7e);
    let groups: Vec<Vec<usize>> = match y {
        Y::Classes(c) => {
            let k = c.iter().copied().max().map_or(0, |m| m as usize + 1);
            let mut g = vec![Vec::new(); k];
            for (i, v) in c.iter().enumerate() {
                g[*v as usize].push(i);
            }
            g
        }
        Y::Numbers(_) => vec![(0..n).collect()],
    };
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for mut g in groups {
        g.shuffle(&mut rng);
        let take = ((g.len() as f64) * fraction).round() as usize;
        valid.extend_from_slice(&g[..take]);
        train.extend_from_slice(&g[take..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

fn baseline(loss: Loss, y: &[(usize, f64)]) -> Vec<f64> {
    let n = y.len().max(1) as f64;
    let eps = f64::EPSILON;
    match loss {
        Loss::SquaredError => vec![y.iter().map(|(_, v)| v).sum::<f64>() / n],
        Loss::Binomial => {
            let p = (y.iter().filter(|(c, _)| *c == 1).count() as f64 / n).clamp(eps, 1.0 - eps);
            vec![(p / (1.0 - p)).ln()]
        }
        Loss::Multinomial(k) => {
            let logs: Vec<f64> = (0..k)
                .map(|c| {
                    (y.iter().filter(|(v, _)| *v == c).count() as f64 / n)
                        .clamp(eps, 1.0 - eps)
                        .ln()
                })
                .collect();
            let mean = logs.iter().sum::<f64>() / k as f64;
            logs.iter().map(|l| l - mean).collect()
        }
    }
}

/// Gradients and hessians of the loss at `raw` (`[output * n + row]`),
/// over blocks of rows on the cores.
fn gradients(
    loss: Loss,
    raw: &[f64],
    y: &[(usize, f64)],
    grad: &mut [f64],
    hess: &mut [f64],
    threads: usize,
) {
    let n = y.len();
    let k = loss.outputs();
    let blocks = par::blocks(n, 8192);
    let parts = par::map(blocks.len(), threads, |b| {
        let rows = blocks[b].clone();
        let m = rows.len();
        let mut g = vec![0.0f64; m * k];
        let mut h = vec![0.0f64; m * k];
        match loss {
            Loss::SquaredError => {
                for (r, i) in rows.enumerate() {
                    g[r] = raw[i] - y[i].1;
                    h[r] = 1.0;
                }
            }
            Loss::Binomial => {
                for (r, i) in rows.enumerate() {
                    let p = crate::linear::logistic::sigmoid(raw[i]);
                    g[r] = p - f64::from(u8::from(y[i].0 == 1));
                    h[r] = p * (1.0 - p);
                }
            }
            Loss::Multinomial(k) => {
                let mut s = vec![0.0; k];
                for (r, i) in rows.enumerate() {
                    for (o, v) in s.iter_mut().enumerate() {
                        *v = raw[o * n + i];
                    }
                    let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let mut sum = 0.0;
                    for v in s.iter_mut() {
                        *v = (*v - max).exp();
                        sum += *v;
                    }
                    for o in 0..k {
                        let p = s[o] / sum;
                        g[o * m + r] = p - f64::from(u8::from(y[i].0 == o));
                        h[o * m + r] = p * (1.0 - p);
                    }
                }
            }
        }
        (g, h)
    });
    for ((g, h), rows) in parts.into_iter().zip(blocks) {
        let m = rows.len();
        for o in 0..k {
            grad[o * n + rows.start..o * n + rows.end].copy_from_slice(&g[o * m..(o + 1) * m]);
            hess[o * n + rows.start..o * n + rows.end].copy_from_slice(&h[o * m..(o + 1) * m]);
        }
    }
}

/// The mean loss (half squared error, binomial or multinomial log loss).
fn mean_loss(loss: Loss, raw: &[f64], y: &[(usize, f64)]) -> f64 {
    let n = y.len();
    if n == 0 {
        return 0.0;
    }
    let total: f64 = match loss {
        Loss::SquaredError => (0..n).map(|i| 0.5 * (raw[i] - y[i].1).powi(2)).sum(),
        Loss::Binomial => (0..n)
            .map(|i| {
                let v = raw[i];
                let lse = if v > 0.0 {
                    v + (-v).exp().ln_1p()
                } else {
                    v.exp().ln_1p()
                };
                lse - if y[i].0 == 1 { v } else { 0.0 }
            })
            .sum(),
        Loss::Multinomial(k) => (0..n)
            .map(|i| {
                let s: Vec<f64> = (0..k).map(|o| raw[o * n + i]).collect();
                let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = max + s.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                lse - s[y[i].0]
            })
            .sum(),
    };
    total / n as f64
}

/// scikit-learn's rule: stop when none of the last `n` scores beats the one
/// before them by more than `tol`.
fn should_stop(scores: &[f64], n: usize, tol: f64) -> bool {
    let reference = n + 1;
    if scores.len() < reference {
        return false;
    }
    let reference_score = scores[scores.len() - reference] + tol;
    !scores[scores.len() - reference + 1..]
        .iter()
        .any(|s| *s > reference_score)
}

/// Sums per bin: gradient, hessian, rows.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// A histogram: `features × 256` bins.
type Hist = Vec<Bin>;

struct Candidate {
    gain: f64,
    node: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, o: &Self) -> bool {
        self.gain == o.gain && self.node == o.node
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Larger gain first; on ties the earlier node.
        self.gain
            .total_cmp(&o.gain)
            .then_with(|| o.node.cmp(&self.node))
    }
}

/// A leaf being grown: its rows and sums, and its best split.
struct Open {
    range: std::ops::Range<usize>,
    g: f64,
    h: f64,
    depth: usize,
    hist: Option<Hist>,
    split: Option<BestSplit>,
}

#[derive(Clone, Copy)]
struct BestSplit {
    gain: f64,
    feature: usize,
    bin: usize,
    left_g: f64,
    left_h: f64,
    left_n: u32,
}

struct Grower<'a> {
    bins: &'a Binned,
    lr: f64,
    l2: f64,
    min_leaf: u32,
    max_leaves: usize,
    max_depth: Option<usize>,
    threads: usize,
    idx: Vec<u32>,
    left: Vec<u32>,
    right: Vec<u32>,
    /// Histograms to reuse (their memory, not their sums).
    pool: std::sync::Mutex<Vec<Hist>>,
    /// (value, rows) of each leaf of the last tree.
    leaves: Vec<(f64, std::ops::Range<usize>)>,
}

/// Row-feature pairs above which a histogram is summed on several threads.
const PARALLEL_WORK: usize = 40_000;

impl<'a> Grower<'a> {
    fn new(bins: &'a Binned, s: &Settings, threads: usize) -> Self {
        Grower {
            bins,
            lr: s.learning_rate,
            l2: s.l2_regularization,
            min_leaf: s.min_samples_leaf.max(1) as u32,
            max_leaves: s.max_leaf_nodes.unwrap_or(usize::MAX).max(2),
            max_depth: s.max_depth,
            threads,
            idx: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            pool: std::sync::Mutex::new(Vec::new()),
            leaves: Vec::new(),
        }
    }

    /// The histogram of the rows `range` of `idx`: per feature, the sums of
    /// each bin, built one feature at a time (features spread over the
    /// cores) from the node's gradients gathered in row order.
    fn histogram(
        &self,
        range: std::ops::Range<usize>,
        g: &[f64],
        h: &[f64],
        constant_hessian: bool,
    ) -> Hist {
        let p = self.bins.cols;
        let rows = &self.idx[range];
        let m = rows.len();
        // The root's rows are all rows in order: no gathering.
        let identity = m == self.bins.rows;
        let (og, oh): (Vec<f64>, Vec<f64>) = if identity {
            (Vec::new(), Vec::new())
        } else {
            (
                rows.iter().map(|&i| g[i as usize]).collect(),
                if constant_hessian {
                    Vec::new()
                } else {
                    rows.iter().map(|&i| h[i as usize]).collect()
                },
            )
        };
        let (gs, hs) = if identity { (g, h) } else { (&og[..], &oh[..]) };
        let mut hist = self
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        hist.clear();
        hist.resize(p * 256, Bin::default());
        // Features in pairs, each pair summed in one pass over the rows (the
        // gradients are read once per pair), pairs on the cores.
        let fill = |q: usize, out: &mut [Bin]| {
            let first = q * 2;
            let row = |s: usize| -> usize { if identity { s } else { rows[s] as usize } };
            if out.len() == 512 {
                let (c0, c1) = (self.bins.col(first), self.bins.col(first + 1));
                let (h0, h1) = out.split_at_mut(256);
                if constant_hessian {
                    for (s, gi) in gs.iter().enumerate().take(m) {
                        let i = row(s);
                        let a = &mut h0[c0[i] as usize];
                        a.g += gi;
                        a.n += 1;
                        let b = &mut h1[c1[i] as usize];
                        b.g += gi;
                        b.n += 1;
                    }
                } else {
                    for (s, (gi, hi)) in gs.iter().zip(hs).enumerate().take(m) {
                        let i = row(s);
                        let a = &mut h0[c0[i] as usize];
                        a.g += gi;
                        a.h += hi;
                        a.n += 1;
                        let b = &mut h1[c1[i] as usize];
                        b.g += gi;
                        b.h += hi;
                        b.n += 1;
                    }
                }
            } else {
                let c = self.bins.col(first);
                for s in 0..m {
                    let b = &mut out[c[row(s)] as usize];
                    b.g += gs[s];
                    if !constant_hessian {
                        b.h += hs[s];
                    }
                    b.n += 1;
                }
            }
            if constant_hessian {
                // Hessians are 1: their sum is the count.
                for b in out.iter_mut() {
                    b.h = b.n as f64;
                }
            }
        };
        let threads = if m * p >= PARALLEL_WORK {
            self.threads
        } else {
            1
        };
        par::chunks_mut(&mut hist, 512, threads, fill);
        hist
    }

    /// A histogram no longer needed, kept for the next node.
    fn recycle(&self, hist: Hist) {
        self.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(hist);
    }

    fn best_split(&self, hist: &Hist, g: f64, h: f64, n: u32) -> Option<BestSplit> {
        let l2 = self.l2;
        let parent = g * g / (h + l2);
        let mut best: Option<BestSplit> = None;
        for (j, f) in self.bins.features.iter().enumerate() {
            let bins = f.bins();
            let (mut lg, mut lh, mut ln) = (0.0, 0.0, 0u32);
            for b in 0..bins.saturating_sub(1) {
                let bin = hist[j * 256 + b];
                lg += bin.g;
                lh += bin.h;
                ln += bin.n;
                if ln < self.min_leaf {
                    continue;
                }
                let rn = n - ln;
                if rn < self.min_leaf {
                    break;
                }
                let (rg, rh) = (g - lg, h - lh);
                if lh < 1e-3 || rh < 1e-3 {
                    continue;
                }
                let gain = lg * lg / (lh + l2) + rg * rg / (rh + l2) - parent;
                if gain > 0.0 && best.is_none_or(|s| gain > s.gain) {
                    best = Some(BestSplit {
                        gain,
                        feature: j,
                        bin: b,
                        left_g: lg,
                        left_h: lh,
                        left_n: ln,
                    });
                }
            }
        }
        best
    }

    fn grow(&mut self, g: &[f64], h: &[f64], constant_hessian: bool) -> HTree {
        let n = g.len();
        self.idx = (0..n as u32).collect();
        self.leaves.clear();
        let (mut sg, mut sh) = (0.0, 0.0);
        for i in 0..n {
            sg += g[i];
            sh += h[i];
        }
        if constant_hessian {
            sh = n as f64;
        }
        let mut nodes: Vec<HNode> = vec![leaf_node(0.0)];
        let mut open: Vec<Open> = Vec::new();
        let mut heap = BinaryHeap::new();
        let root_hist = self.histogram(0..n, g, h, constant_hessian);
        let split = self
            .splittable(0, n as u32)
            .then(|| self.best_split(&root_hist, sg, sh, n as u32))
            .flatten();
        open.push(Open {
            range: 0..n,
            g: sg,
            h: sh,
            depth: 0,
            hist: Some(root_hist),
            split,
        });
        if let Some(s) = split {
            heap.push(Candidate {
                gain: s.gain,
                node: 0,
            });
        }
        let mut leaves = 1;
        while let Some(Candidate { node, .. }) = heap.pop() {
            if leaves >= self.max_leaves {
                break;
            }
            let s = open[node].split.expect("a candidate has a split");
            let range = open[node].range.clone();
            let parent_hist = open[node]
                .hist
                .take()
                .expect("an open node keeps its histogram");
            // Partition the rows (branch-free: each row is written to both
            // sides' buffer and only the matching side advances).
            let f = s.feature;
            let codes = self.bins.col(f);
            let len = range.len();
            self.left.resize(len, 0);
            self.right.resize(len, 0);
            let (mut nl, mut nr) = (0, 0);
            for &r in &self.idx[range.clone()] {
                let go_left = usize::from(codes[r as usize] as usize <= s.bin);
                self.left[nl] = r;
                self.right[nr] = r;
                nl += go_left;
                nr += 1 - go_left;
            }
            self.idx[range.start..range.start + nl].copy_from_slice(&self.left[..nl]);
            self.idx[range.start + nl..range.end].copy_from_slice(&self.right[..nr]);
            let i = range.start + nl;
            let left_range = range.start..i;
            let right_range = i..range.end;
            let (lg, lh) = (
                s.left_g,
                if constant_hessian {
                    s.left_n as f64
                } else {
                    s.left_h
                },
            );
            let (rg, rh) = (open[node].g - s.left_g, open[node].h - lh);
            // The smaller child's histogram from its rows, the other by subtraction.
            let left_small = left_range.len() <= right_range.len();
            let small = if left_small {
                left_range.clone()
            } else {
                right_range.clone()
            };
            let small_hist = self.histogram(small, g, h, constant_hessian);
            let mut large_hist = parent_hist;
            for (a, b) in large_hist.iter_mut().zip(&small_hist) {
                a.g -= b.g;
                a.h -= b.h;
                a.n -= b.n;
            }
            let (left_hist, right_hist) = if left_small {
                (small_hist, large_hist)
            } else {
                (large_hist, small_hist)
            };
            let depth = open[node].depth + 1;
            let left_id = nodes.len();
            nodes.push(leaf_node(0.0));
            nodes.push(leaf_node(0.0));
            nodes[node_index(&open, node)] = HNode {
                feature: f as u32,
                bin: s.bin as u8,
                threshold: self.bins.features[f].split_threshold(s.bin, s.bin + 1),
                left: left_id as u32,
                right: left_id as u32 + 1,
                value: 0.0,
            };
            leaves += 1;
            for (k, (range, cg, ch, hist)) in [
                (left_range, lg, lh, left_hist),
                (right_range, rg, rh, right_hist),
            ]
            .into_iter()
            .enumerate()
            {
                let rows = range.len() as u32;
                let can = self.max_depth.is_none_or(|d| depth < d) && self.splittable(depth, rows);
                let split = if can {
                    self.best_split(&hist, cg, ch, rows)
                } else {
                    None
                };
                let id = open.len();
                debug_assert_eq!(left_id + k, id);
                let hist = match split {
                    Some(_) => Some(hist),
                    None => {
                        self.recycle(hist);
                        None
                    }
                };
                open.push(Open {
                    range,
                    g: cg,
                    h: ch,
                    depth,
                    hist,
                    split,
                });
                if let Some(sp) = split {
                    heap.push(Candidate {
                        gain: sp.gain,
                        node: id,
                    });
                }
            }
        }
        // Every node still without children is a leaf.
        for o in open.iter_mut() {
            if let Some(h) = o.hist.take() {
                self.recycle(h);
            }
        }
        for (id, o) in open.iter().enumerate() {
            if nodes[id].left == LEAF {
                let value = -self.lr * o.g / (o.h + self.l2 + f64::EPSILON);
                nodes[id].value = value;
                self.leaves.push((value, o.range.clone()));
            }
        }
        HTree { nodes }
    }

    fn splittable(&self, _depth: usize, rows: u32) -> bool {
        rows >= 2 * self.min_leaf
    }
}

/// Open nodes and tree nodes share their numbering.
fn node_index(_open: &[Open], node: usize) -> usize {
    node
}

fn leaf_node(value: f64) -> HNode {
    HNode {
        feature: 0,
        bin: 0,
        threshold: 0.0,
        left: LEAF,
        right: LEAF,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            early_stopping: Some(false),
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            seed: 0,
            threads: 2,
        }
    }

    #[test]
    fn learns_a_nonlinear_function() {
        let rows: Vec<Vec<f64>> = (0..3000)
            .map(|i| vec![(i % 100) as f64 / 10.0, ((i * 7) % 61) as f64 / 6.0])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| (r[0]).sin() * 3.0 + r[1]).collect();
        let x = Matrix::from_rows(&rows);
        let m = fit(&x, Y::Numbers(&y), Loss::SquaredError, &settings()).unwrap();
        let pred = m.predict_numbers(&x, 2);
        let mse: f64 = pred
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / 3000.0;
        assert!(mse < 0.1, "{mse}");
        let c: Vec<u32> = y
            .iter()
            .map(|v| (*v > 5.0) as u32 + (*v > 8.0) as u32)
            .collect();
        let m = fit(&x, Y::Classes(&c), Loss::Multinomial(3), &settings()).unwrap();
        let p = m.probabilities(&x, 1);
        let acc = p
            .iter()
            .zip(&c)
            .filter(|(p, c)| crate::neighbors::argmax(p) == **c)
            .count() as f64
            / 3000.0;
        assert!(acc > 0.95, "{acc}");
    }
}
