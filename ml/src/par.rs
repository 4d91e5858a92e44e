//! Work spread over the cores: independent items (trees of a forest,
//! blocks of rows, features of a histogram) on a rayon pool of the asked
//! size, results in item order, so the outcome never depends on the number
//! of threads. Nested calls share the pool (work stealing), so a forest's
//! trees and the rows inside them never oversubscribe the cores. An
//! interrupt check (`interrupt`) travels with the work.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

thread_local! {
    /// At most this many threads for work started on this thread.
    static BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Runs `f` with at most `threads` threads for the estimators it fits and
/// applies (a model comparison runs one fit per core side by side; each
/// takes its share, whatever its `n_jobs`).
pub fn with_threads<T>(threads: usize, f: impl FnOnce() -> T) -> T {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|b| b.replace(threads.max(1))));
    f()
}

/// Threads an estimator uses: `n_jobs` as scikit-learn reads it (NULL or
/// -1: every core; `k`: at most `k`), within this thread's budget
/// ([`with_threads`]).
pub(crate) fn threads(n_jobs: Option<i64>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = match n_jobs {
        Some(k) if k > 0 => (k as usize).min(cores),
        _ => cores,
    };
    wanted.min(BUDGET.with(|b| b.get()))
}

/// Pools by their number of threads.
type Pools = Mutex<Vec<(usize, Arc<ThreadPool>)>>;

/// The pool of `threads` threads (made once per size).
fn pool(threads: usize) -> Arc<ThreadPool> {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = pools.iter().find(|(n, _)| *n == threads) {
        return Arc::clone(p);
    }
    let p = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("fsql-ml-{i}"))
            .build()
            .expect("a thread pool starts"),
    );
    pools.push((threads, Arc::clone(&p)));
    p
}

/// `f(0) .. f(items - 1)` on up to `threads` threads, in item order.
pub(crate) fn map<T: Send>(
    items: usize,
    threads: usize,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    if threads <= 1 || items <= 1 {
        return (0..items).map(f).collect();
    }
    // The caller's interrupt check goes with the work to the pool's threads.
    let check = crate::interrupt::current();
    let f = |i: usize| crate::interrupt::with(check.clone(), || f(i));
    if rayon::current_thread_index().is_some() {
        // Already on a pool: share it.
        return (0..items).into_par_iter().map(f).collect();
    }
    pool(threads).install(|| (0..items).into_par_iter().map(f).collect())
}

/// `f(k, chunk)` for each `size`-long chunk of `data`, on up to `threads`
/// threads.
pub(crate) fn chunks_mut<T: Send>(
    data: &mut [T],
    size: usize,
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if threads <= 1 || data.len() <= size {
        data.chunks_mut(size).enumerate().for_each(|(k, c)| f(k, c));
        return;
    }
    let check = crate::interrupt::current();
    let run = |data: &mut [T]| {
        data.par_chunks_mut(size)
            .enumerate()
            .for_each(|(k, c)| crate::interrupt::with(check.clone(), || f(k, c)))
    };
    if rayon::current_thread_index().is_some() {
        run(data)
    } else {
        pool(threads).install(|| run(data))
    }
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
        let nested = map(4, 2, |i| map(3, 2, move |j| i * 10 + j));
        assert_eq!(nested[3], vec![30, 31, 32]);
        assert_eq!(blocks(10, 4), vec![0..4, 4..8, 8..10]);
    }

    #[test]
    fn a_budget_caps_the_threads_and_is_restored() {
        let all = threads(None);
        assert_eq!(with_threads(1, || threads(None)), 1);
        assert_eq!(with_threads(1, || threads(Some(4))), 1);
        assert_eq!(threads(None), all);
    }
}
