//! A panic in a statement (a bug in fsql or DataFusion; the differential
//! fuzzer found some) becomes an error at the statement instead of the end
//! of the process, so the REPL, a server connection or a script's caller go
//! on.

use fsql_sql::Span;

use crate::error::{Error, Result};

/// Runs `work`; a panic in it (a bug in fsql or DataFusion, found by the
/// differential fuzzer) becomes an error at `span` instead of ending the
/// process, so the REPL, a server connection or a script's caller go on.
pub(crate) async fn guarded<T>(
    work: impl std::future::Future<Output = Result<T>>,
    span: Span,
) -> Result<T> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Error::at(
                span,
                format!("internal error (a bug in fsql or DataFusion; please report it): {msg}"),
            ))
        }
    }
}
