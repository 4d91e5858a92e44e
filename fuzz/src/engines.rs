//! fsql's three engines, in this process: one session each (the cluster's
//! an embedded Ballista cluster), fed the same tables and scripts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fsql_engine::{ClusterOptions, Engine, Printed, Session, Sink};

use crate::rows::{self, Rows};

/// PRINT output kept for the caller.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<Printed>>>);

impl Sink for Kept {
    fn print(&mut self, printed: Printed) -> std::io::Result<()> {
        if let Ok(mut p) = self.0.lock() {
            p.push(printed);
        }
        Ok(())
    }
}

/// What one engine answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Rows(Rows),
    /// An error: its message, and whether it points into the script.
    Error {
        message: String,
        spanned: bool,
    },
}

impl Outcome {
    /// An error that is a bug whatever the input: a panic or an internal
    /// error escaping as a message.
    pub fn is_crash(&self) -> bool {
        match self {
            Outcome::Error { message, .. } => {
                let m = message.to_ascii_lowercase();
                m.contains("panicked")
                    || m.contains("internal error")
                    || m.contains("this was likely caused by a bug")
            }
            Outcome::Rows(_) => false,
        }
    }
}

pub struct Engines {
    pub sessions: Vec<(Engine, Session)>,
    pub timeout: Duration,
}

impl Engines {
    /// Sessions on `engines`.
    pub async fn open(engines: &[Engine]) -> Result<Engines, String> {
        let mut sessions = Vec::new();
        for e in engines {
            let session = Session::open(*e, ClusterOptions::default(), Box::new(Kept::default()))
                .await
                .map_err(|err| format!("cannot open a {e} session: {err}"))?;
            sessions.push((*e, session));
        }
        Ok(Engines {
            sessions,
            timeout: Duration::from_secs(30),
        })
    }

    /// Binds every table (name, Parquet file) in every session.
    pub async fn load(&mut self, tables: &[(String, PathBuf)]) -> Result<(), String> {
        let script: String = tables
            .iter()
            .map(|(n, p)| format!("{n} = LOAD '{}'\n", p.display()))
            .collect();
        if std::env::var_os("FSQL_FUZZ_TRACE").is_some() {
            eprint!("[load] {script}");
            for (n, p) in tables {
                let keep = std::env::temp_dir().join(format!("fuzz-trace-{n}.parquet"));
                if !keep.exists() {
                    let _ = std::fs::copy(p, keep);
                }
            }
        }
        for (e, s) in &mut self.sessions {
            let parsed = fsql_sql::parse(&script).map_err(|err| err.to_string())?;
            s.run_script(&parsed)
                .await
                .map_err(|err| format!("{e}: cannot load the tables: {err}"))?;
        }
        Ok(())
    }

    /// Runs `script` on session `i`; the answer is its last dataframe.
    pub async fn run_on(&mut self, i: usize, script: &str) -> Outcome {
        let timeout = self.timeout;
        if std::env::var_os("FSQL_FUZZ_TRACE").is_some() {
            eprintln!("[{}] {script}", self.sessions[i].0);
        }
        let session = &mut self.sessions[i].1;
        let work = async {
            let parsed = match fsql_sql::parse(script) {
                Ok(p) => p,
                Err(e) => {
                    return Outcome::Error {
                        message: e.to_string(),
                        spanned: true,
                    };
                }
            };
            if let Err(e) = session.run_script(&parsed).await {
                return Outcome::Error {
                    message: e.message(),
                    spanned: e.span().is_some_and(|s| s.start.line > 0),
                };
            }
            let Some(df) = session.last().cloned() else {
                return Outcome::Rows(Vec::new());
            };
            match df.collect().await {
                Ok(batches) => Outcome::Rows(rows::of_batches(&batches)),
                Err(e) => Outcome::Error {
                    message: e.strip_backtrace(),
                    spanned: false,
                },
            }
        };
        // A panic (DataFusion's, while collecting) is a finding, not the end
        // of the run.
        let work = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(work));
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(panic)) => Outcome::Error {
                message: format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default()
                ),
                spanned: false,
            },
            Err(_) => Outcome::Error {
                message: format!("hang: no answer within {timeout:?}"),
                spanned: false,
            },
        }
    }

    /// Runs `script` on every session.
    pub async fn run_all(&mut self, script: &str) -> Vec<(Engine, Outcome)> {
        let mut out = Vec::new();
        for i in 0..self.sessions.len() {
            let engine = self.sessions[i].0;
            out.push((engine, self.run_on(i, script).await));
        }
        out
    }
}
