//! Whether a process still runs: what tells a leftover of a killed fsql
//! (an executor's work directory, a SAVE's temporary file) from the live
//! work of another.

/// Whether a process with this id exists (signal 0 checks without sending).
pub(crate) fn running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_runs_and_an_exited_one_does_not() {
        assert!(super::running(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        // The id may be reused meanwhile; then it runs again.
        let _ = super::running(pid);
        assert!(!super::running(0));
    }
}
