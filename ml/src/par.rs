//! Work spread over the cores with scoped threads: independent items
//! (trees of a forest, blocks of rows) handed out one at a time, results in
//! item order, so the outcome never depends on the number of threads.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads an estimator uses: `n_jobs` as scikit-learn reads it (NULL or
/// -1: every core; `k`: at most `k`).
pub(crate) fn threads(n_jobs: Option<i64>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match n_jobs {
        Some(k) if k > 0 => (k as usize).min(cores),
        _ => cores,
    }
}

/// `f(0) .. f(items - 1)` on up to `threads` threads, in item order.
pub(crate) fn map<T: Send>(items: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, items.max(1));
    if threads == 1 {
        return (0..items).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items {
                            break;
                        }
                        done.push((i, f(i)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut all: Vec<(usize, T)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// Row ranges of at most `block` rows covering `0..rows`.
pub(crate) fn blocks(rows: usize, block: usize) -> Vec<std::ops::Range<usize>> {
    (0..rows.div_ceil(block.max(1)))
        .map(|b| b * block..((b + 1) * block).min(rows))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order() {
        let got = map(100, 4, |i| i * i);
        assert_eq!(got, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(blocks(10, 4), vec![0..4, 4..8, 8..10]);
    }
}
