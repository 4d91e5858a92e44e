//! Executors' temporary work directories (shuffle and spill files).
//!
//! An executor given no `--work-dir` (and every executor of the embedded
//! cluster) writes its shuffle files under a fresh folder in the system's
//! temporary directory, named `fsql-executor-<pid>-<random>`. The folder is
//! removed when the executor stops; one left by a process that was killed
//! (SIGKILL, a crash) is removed by the next fsql executor that starts on
//! the machine, once its owner's process id is no longer running. Without
//! this, every killed executor left its job data (hundreds of megabytes
//! after a large shuffle) in `/tmp` for good.

use std::path::Path;

const PREFIX: &str = "fsql-executor-";

/// A new work directory for this process, after sweeping the ones whose
/// process is gone.
pub fn create() -> std::io::Result<tempfile::TempDir> {
    let parent = std::env::temp_dir();
    sweep(&parent);
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir_in(parent)
}

/// Removes `fsql-executor-<pid>-*` folders in `parent` whose process no
/// longer runs. Best effort: a folder that cannot be read or removed stays.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = owner(&name.to_string_lossy()) else {
            continue;
        };
        if !crate::pids::running(pid) && entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process id in a work directory's name.
fn owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_owner() {
        assert_eq!(owner("fsql-executor-123-abCD"), Some(123));
        assert_eq!(owner("fsql-executor-123-"), None);
        assert_eq!(owner("fsql-executor-x-abc"), None);
        assert_eq!(owner(".tmpabc"), None);
    }

    #[test]
    fn a_dead_owners_folder_is_swept_and_a_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        // A process that has exited: its id is not running any more.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = parent.path().join(format!("{PREFIX}{dead}-old"));
        std::fs::create_dir_all(stale.join("job/1")).unwrap();
        std::fs::write(stale.join("job/1/data-0.arrow"), b"x").unwrap();
        let live = parent
            .path()
            .join(format!("{PREFIX}{}-mine", std::process::id()));
        std::fs::create_dir(&live).unwrap();
        let other = parent.path().join("unrelated");
        std::fs::create_dir(&other).unwrap();
        sweep(parent.path());
        // The pid may have been reused in between; then the folder stays.
        assert_eq!(stale.exists(), crate::pids::running(dead));
        assert!(live.exists());
        assert!(other.exists());
    }
}
