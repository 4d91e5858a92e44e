//! Live progress of a comparison: a thread reads the units' markers as they
//! appear (on any engine, the executors write them into the comparison's
//! folder) and reports tasks done and the current leader to the session's
//! [`Progress`] (the CLI draws it on stderr).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::task::Marker;
use crate::output::Progress;

/// What to watch and how to name the leader.
pub(crate) struct Watch {
    pub title: String,
    /// (candidate, fold) pairs in all.
    pub total: usize,
    pub names: Vec<String>,
    /// The sort metric's position among the metric values (None: time).
    pub sort_at: Option<usize>,
    pub higher_is_better: bool,
    pub metric: String,
}

pub(crate) struct Reporter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Stops watching (after a last look at the markers).
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

pub(crate) fn start(w: Watch, dir: PathBuf, progress: Arc<dyn Progress>) -> Reporter {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("fsql-compare-progress".into())
        .spawn(move || watch(w, dir, progress, flag))
        .ok();
    Reporter { stop, thread }
}

fn watch(w: Watch, dir: PathBuf, progress: Arc<dyn Progress>, stop: Arc<AtomicBool>) {
    progress.start(&w.title, w.total as u64);
    let mut seen: HashSet<String> = HashSet::new();
    // Per candidate: the sort metric's values of its finished folds.
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); w.names.len()];
    let mut done = 0u64;
    let mut workers: HashSet<String> = HashSet::new();
    loop {
        let last = stop.load(Ordering::SeqCst);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".json") || name.starts_with('.') || seen.contains(&name) {
                    continue;
                }
                let Ok(bytes) = std::fs::read(e.path()) else {
                    continue;
                };
                let Ok(m) = serde_json::from_slice::<Marker>(&bytes) else {
                    continue;
                };
                seen.insert(name);
                if m.fold.is_none() {
                    continue;
                }
                done += 1;
                workers.insert(m.worker.clone());
                if let (Some(at), Some(metrics)) = (w.sort_at, &m.metrics)
                    && let (Some(v), Some(x)) = (values.get_mut(m.candidate), metrics.get(at))
                {
                    v.push(*x);
                }
            }
        }
        let mut message = leader(&w, &values);
        if !workers.is_empty() {
            let n = workers.len();
            let s = if n == 1 { "" } else { "es" };
            message.push_str(&format!(" [{n} worker process{s}]"));
        }
        progress.update(done, message.trim_start());
        if last {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    progress.finish();
}

/// "leader: RandomForestClassifier (Accuracy 0.9521 over 3 folds)".
fn leader(w: &Watch, values: &[Vec<f64>]) -> String {
    let mut best: Option<(usize, f64)> = None;
    for (c, v) in values.iter().enumerate() {
        if v.is_empty() {
            continue;
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let better = match best {
            None => true,
            Some((_, b)) => {
                if w.higher_is_better {
                    mean > b
                } else {
                    mean < b
                }
            }
        };
        if better {
            best = Some((c, mean));
        }
    }
    match best {
        Some((c, mean)) => format!(
            "leader: {} ({} {mean:.4} over {} folds)",
            w.names[c],
            w.metric,
            values[c].len()
        ),
        None => String::new(),
    }
}
