//! A session's scratch space: where PERSIST and BROADCAST on the cluster,
//! CHECKPOINT and YIELD FILE write the data they continue from.
//!
//! By default a folder of the system's temporary directory, made on first
//! use and removed with the session. `--scratch` (FSQL_SCRATCH) moves it:
//! to another local folder (a disk with room, or a folder every executor
//! mounts), or to an object store (`s3://bucket/scratch/`), which is what a
//! cluster whose machines share no disk needs, since executors write the
//! data and the client and other executors read it back. On a store, each
//! session writes under a prefix of its own (`fsql-<pid>-<n>/`), whose
//! objects are deleted when the session ends; a session that is killed
//! leaves them (a bucket lifecycle rule on the prefix removes them).
//! A comparison's progress markers stay in a local folder.

use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use fsql_sql::Span;

use crate::error::{Error, Result};

#[derive(Default)]
pub(crate) struct Scratch {
    /// A local folder of this session (made on first use).
    local: Option<tempfile::TempDir>,
    /// This session's prefix on the store, once used, and the context whose
    /// stores delete it.
    remote: Option<(String, SessionContext)>,
}

/// The `--scratch` root: a local folder or a store URL.
fn root() -> Option<String> {
    crate::limits::current().scratch
}

impl Scratch {
    /// A local folder of this session: under `--scratch` when that is a
    /// local folder, else in the system's temporary folder.
    pub(crate) fn local(&mut self, span: Span) -> Result<PathBuf> {
        if self.local.is_none() {
            let mut builder = tempfile::Builder::new();
            builder.prefix("fsql-");
            let dir = match root().filter(|r| !crate::storage::is_url(r)) {
                Some(r) => std::fs::create_dir_all(&r).and_then(|_| builder.tempdir_in(&r)),
                None => builder.tempdir(),
            }
            .map_err(|e| Error::at(span, format!("cannot create a scratch directory: {e}")))?;
            self.local = Some(dir);
        }
        Ok(self
            .local
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }

    /// Where a new piece of scratch data named `name` goes: a path under
    /// [`Scratch::local`], or a URL under this session's prefix on the store.
    pub(crate) fn location(
        &mut self,
        ctx: &SessionContext,
        name: &str,
        span: Span,
    ) -> Result<String> {
        match root().filter(|r| crate::storage::is_url(r)) {
            Some(root) => {
                if self.remote.is_none() {
                    let prefix = format!(
                        "{}/fsql-{}-{}",
                        root.trim_end_matches('/'),
                        std::process::id(),
                        crate::session::unique_suffix()
                    );
                    self.remote = Some((prefix, ctx.clone()));
                }
                let (prefix, _) = self.remote.as_ref().expect("set above");
                Ok(format!("{prefix}/{name}"))
            }
            None => Ok(self.local(span)?.join(name).to_string_lossy().into_owned()),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some((prefix, ctx)) = self.remote.take() else {
            return;
        };
        // Deleting objects is async; the session may be dropped inside or
        // outside a runtime, so a thread of its own runs it.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(crate::storage::remove_any(&ctx, &prefix));
        })
        .join();
    }
}
