//! What a comparison unit needs from the process it runs in: a core to run
//! on (at most one unit per core), the check that stops its fits when the
//! comparison is cancelled, and files written whole.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::task::CANCEL_MARKER;

/// At most one unit per core runs at a time in a process: the engine may
/// start a task per partition (a worker blocked in `block_in_place` is
/// replaced by another, which starts the next partition), and each unit
/// already uses every core for its estimator.
struct Slots {
    free: Mutex<usize>,
    freed: std::sync::Condvar,
}

fn slots() -> &'static Slots {
    static S: OnceLock<Slots> = OnceLock::new();
    S.get_or_init(|| Slots {
        free: Mutex::new(std::thread::available_parallelism().map_or(1, |n| n.get())),
        freed: std::sync::Condvar::new(),
    })
}

pub(super) struct Slot;

impl Slot {
    pub(super) fn take() -> Slot {
        let s = slots();
        let mut free = s.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = s.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let s = slots();
        *s.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        s.freed.notify_one();
    }
}

/// True once the comparison's cancel marker is in `dir` (looked for at
/// most every 20 ms: fits ask between every step).
pub(super) fn cancel_check(dir: &Path) -> fsql_ml::interrupt::Check {
    let marker = dir.join(CANCEL_MARKER);
    let state = Mutex::new((std::time::Instant::now(), false));
    Arc::new(move || {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.1 && s.0.elapsed() >= std::time::Duration::from_millis(20) {
            s.0 = std::time::Instant::now();
            s.1 = marker.exists();
        }
        s.1
    })
}

/// Writes `bytes` to a temporary name next to `path`, then renames it: a
/// reader never sees part of the file.
pub(super) fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
