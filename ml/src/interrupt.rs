//! Stopping a long fit from outside. A caller that may give up on a fit (a
//! cancelled model comparison) runs it inside [`interruptible`] with a
//! check; the estimators' long loops call [`point`] between steps (a tree
//! of a forest, a boosting round, a solver iteration), which unwinds out of
//! the fit when the check says stop, as salsa cancels a query. The unwinding
//! carries [`Interrupted`], not a panic: no panic hook runs, and
//! [`interruptible`] turns it into an `Err`. Work spread over the cores
//! (`par`) carries the check to the threads that do it.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

/// A fit stopped by its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// Says whether the fit running under it should stop.
pub type Check = Arc<dyn Fn() -> bool + Send + Sync>;

thread_local! {
    static CHECK: RefCell<Option<Check>> = const { RefCell::new(None) };
}

/// Runs `f` with `check` installed on this thread (and carried to the
/// threads `f` spreads its work over); `Err(Interrupted)` when a step of
/// `f` found `check` true. Other panics go on unwinding.
pub fn interruptible<T>(check: Check, f: impl FnOnce() -> T) -> Result<T, Interrupted> {
    match catch_unwind(AssertUnwindSafe(|| with(Some(check), f))) {
        Ok(v) => Ok(v),
        Err(payload) if payload.is::<Interrupted>() => Err(Interrupted),
        Err(payload) => resume_unwind(payload),
    }
}

/// The check installed on this thread.
pub(crate) fn current() -> Option<Check> {
    CHECK.with(|c| c.borrow().clone())
}

/// Runs `f` with `check` installed on this thread, then puts back the one
/// that was there (also when `f` unwinds).
pub(crate) fn with<T>(check: Option<Check>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Check>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CHECK.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CHECK.with(|c| std::mem::replace(&mut *c.borrow_mut(), check));
    let _restore = Restore(previous);
    f()
}

/// Between two steps of a long loop: unwinds with [`Interrupted`] when the
/// installed check says stop.
pub(crate) fn point() {
    let stop = CHECK.with(|c| c.borrow().as_ref().is_some_and(|check| check()));
    if stop {
        resume_unwind(Box::new(Interrupted));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_check_stops_work_on_every_thread_and_nothing_else() {
        // Without a check, points do nothing.
        point();
        let steps = Arc::new(AtomicUsize::new(0));
        let seen = steps.clone();
        let check: Check = Arc::new(move || seen.load(Ordering::SeqCst) >= 5);
        let counted = steps.clone();
        let r = interruptible(check, || {
            crate::par::map(64, 2, |_| {
                point();
                counted.fetch_add(1, Ordering::SeqCst);
            });
            "finished"
        });
        assert_eq!(r, Err(Interrupted));
        assert!(steps.load(Ordering::SeqCst) < 64);
        // The check is gone afterwards, and a fit that never stops finishes.
        assert!(current().is_none());
        let r = interruptible(Arc::new(|| false), || {
            crate::par::map(8, 2, |i| {
                point();
                i
            })
        });
        assert_eq!(r.unwrap(), (0..8).collect::<Vec<_>>());
        // Real panics are not swallowed.
        let panicked = catch_unwind(|| interruptible(Arc::new(|| false), || panic!("boom")));
        assert!(panicked.is_err());
    }

    /// A real fit, which runs on a training thread of its own: the check
    /// reaches it and stops it; without the check firing it trains.
    #[test]
    fn a_forest_fit_stops_when_its_check_fires() {
        use crate::{Column, Label, Model, ModelClass, Target, TargetKind, TrainSpec, Value};
        let n = 3000;
        let features: Vec<(String, Column)> = (0..4)
            .map(|j| {
                let v = (0..n).map(|i| ((i * (j + 7)) % 101) as f64).collect();
                (format!("f{j}"), Column::Numeric(v, None))
            })
            .collect();
        let target = || {
            Target::Labels(
                TargetKind::Int,
                (0..n).map(|i| Some(Label::Int((i % 3) as i64))).collect(),
            )
        };
        let spec = TrainSpec {
            class: ModelClass::parse("RandomForestClassifier").unwrap(),
            params: vec![("n_estimators".to_string(), Value::Number(400.0))],
            target: Some("y".to_string()),
            impute: Default::default(),
        };
        let stopped = interruptible(Arc::new(|| true), || {
            Model::train("m", &spec, &features, Some(target()))
        });
        // Without the check on the training thread, the fit would finish.
        assert_eq!(stopped.err(), Some(Interrupted));
        let trained = interruptible(Arc::new(|| false), || {
            Model::train("m", &spec, &features, Some(target()))
        });
        assert!(trained.unwrap().is_ok());
    }
}
