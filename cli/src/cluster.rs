//! `fsql cluster scheduler` and `fsql cluster executor`: long-running
//! processes of a Ballista cluster, stopped by SIGTERM or Ctrl-C.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use fsql_engine::cluster::{self, ExecutorOptions, SchedulerOptions};

use crate::args::{Cli, ClusterRole};

pub fn run(runtime: tokio::runtime::Runtime, cli: &Cli, role: &ClusterRole) -> ExitCode {
    let result = match role {
        ClusterRole::Scheduler {
            bind,
            executor_timeout,
        } => {
            let opts = SchedulerOptions {
                bind: *bind,
                executor_timeout: Duration::from_secs(*executor_timeout),
            };
            runtime.block_on(cluster::run_scheduler(opts, |addr| {
                announce(&format!("fsql scheduler listening on {addr}"))
            }))
        }
        ClusterRole::Executor {
            bind,
            external_host,
            slots,
            work_dir,
            connect_timeout,
        } => {
            let Some(scheduler) = cli.scheduler.clone() else {
                eprintln!("error: an executor needs --scheduler HOST:PORT");
                return ExitCode::FAILURE;
            };
            let opts = ExecutorOptions {
                scheduler: scheduler.clone(),
                bind: *bind,
                external_host: external_host.clone(),
                slots: *slots,
                work_dir: work_dir.clone(),
                connect_timeout: Duration::from_secs(*connect_timeout),
            };
            runtime.block_on(cluster::run_executor(opts, |addr| {
                announce(&format!(
                    "fsql executor serving on {addr}, scheduler {scheduler}"
                ))
            }))
        }
    };
    // Ballista's background tasks must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => {
            announce("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One status line on stdout, flushed (tests and scripts wait for it).
fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
