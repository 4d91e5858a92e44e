//! The `fsql` binary: `fsql run FILE`, `fsql -c 'script'`, scripts on stdin,
//! `fsql serve` (Flight SQL), `fsql cluster ...`.

mod args;
mod cluster;
mod progress;
mod repl;
mod report;
mod serve;
mod sinks;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fsql_engine::{ClusterOptions, PythonConfig, Session, template};

use crate::args::{Cli, Command, OutputFormat};

/// Rows `fsql -c` shows of a final query in table format (all rows in CSV
/// and JSON).
const RESULT_ROWS: u64 = 40;

/// Stack of the thread that plans statements, and of the runtime's
/// workers: planning and evaluating a deep expression (a long chain of
/// operators, up to the parser's limit) recurses once per level.
const MAIN_STACK: usize = 512 << 20;
const WORKER_STACK: usize = 64 << 20;

fn main() -> ExitCode {
    // The stack is reserved address space; pages are used as touched.
    match std::thread::Builder::new()
        .name("fsql".into())
        .stack_size(MAIN_STACK)
        .spawn(real_main)
    {
        Ok(handle) => handle.join().unwrap_or(ExitCode::FAILURE),
        Err(_) => real_main(),
    }
}

fn real_main() -> ExitCode {
    install_panic_hook();
    init_logging();
    let cli = Cli::parse();
    fsql_engine::limits::set(fsql_engine::limits::Limits {
        // 0: no limit.
        memory: match cli.memory_limit {
            Some(0) => None,
            Some(bytes) => Some(bytes),
            None => fsql_engine::limits::default_memory(),
        },
        disk: cli.disk_limit,
        temp_dir: cli.temp_dir.clone(),
        scratch: cli.scratch.clone(),
    });
    let script = match read_script(&cli) {
        Ok(script) => script,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Command::Cluster { role }) = &cli.command {
        return cluster::run(runtime, &cli, role);
    }
    if let Some(Command::Serve(args)) = &cli.command {
        return serve::run(runtime, &cli, args);
    }
    match script {
        Some((name, text)) => {
            let show_result = cli.command_text.is_some();
            // Ctrl-C stops the script: its statement is dropped, which
            // aborts its unfinished uploads and removes a SAVE's temporary
            // objects; the process waits (briefly) for that before exiting.
            let code = runtime.block_on(async {
                tokio::select! {
                    code = run(&cli, &name, &text, show_result) => code,
                    _ = tokio::signal::ctrl_c() => {
                        eprintln!("interrupted");
                        ExitCode::from(130)
                    }
                }
            });
            fsql_engine::storage::settle(Duration::from_secs(10));
            code
        }
        // No script and a terminal: the interactive REPL.
        None => match python_config(&cli) {
            Ok(python) => repl::run(
                runtime,
                cli.engine,
                cluster_options(&cli),
                cli.format,
                &cli.defines,
                &cli.model_dir,
                python,
            ),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn run(cli: &Cli, name: &str, text: &str, show_result: bool) -> ExitCode {
    let format = cli.format;
    let sink = sinks::for_format(format, sinks::Output::stdout());
    let mut session = match Session::open(cli.engine, cluster_options(cli), sink).await {
        Ok(s) => s,
        Err(e) => return report::error(name, text, &e),
    };
    session.set_model_dir(&cli.model_dir);
    match python_config(cli) {
        Ok(p) => session.set_python(p),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    for (k, v) in &cli.defines {
        session.set_variable(k.clone(), v.clone());
    }
    let vars = cli.defines.iter().cloned().collect();
    let rendered = match template::render(text, &vars) {
        Ok(t) => t,
        Err(e) => return report::error(name, text, &e),
    };
    let script = match fsql_sql::parse(&rendered) {
        Ok(s) => s,
        Err(e) => return report::error(name, &rendered, &e.into()),
    };
    if let Err(e) = session.run_script(&script).await {
        return report::error(name, &rendered, &e);
    }
    // `fsql -c "SELECT ..."` shows the final result, like duckdb -c.
    if show_result && session.last_step_produced() {
        let rows = match format {
            OutputFormat::Table => Some(RESULT_ROWS),
            _ => None,
        };
        if let Err(e) = sinks::print_last(&mut session, rows).await {
            return report::error(name, &rendered, &e);
        }
    }
    ExitCode::SUCCESS
}

/// The Python interpreter and `--udf` files, read now.
pub(crate) fn python_config(cli: &Cli) -> anyhow::Result<PythonConfig> {
    PythonConfig::new(Some(cli.python.clone()), &cli.udf).map_err(|e| anyhow::anyhow!(e))
}

/// Where `--engine cluster` runs, from the command line.
pub(crate) fn cluster_options(cli: &Cli) -> ClusterOptions {
    ClusterOptions {
        scheduler: cli.scheduler.clone(),
        executors: usize::from(cli.executors),
        ..ClusterOptions::default()
    }
}

/// The script to run and the name to show in errors, or None when there is
/// nothing to run (no arguments, interactive terminal).
fn read_script(cli: &Cli) -> anyhow::Result<Option<(String, String)>> {
    if let Some(text) = &cli.command_text {
        return Ok(Some(("<command>".to_string(), text.clone())));
    }
    match &cli.command {
        Some(Command::Run { file }) if file == "-" => Ok(Some(("<stdin>".into(), read_stdin()?))),
        Some(Command::Cluster { .. } | Command::Serve(_)) => Ok(None),
        Some(Command::Run { file }) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read script '{file}': {e}"))?;
            Ok(Some((file.clone(), text)))
        }
        None if !std::io::stdin().is_terminal() => Ok(Some(("<stdin>".into(), read_stdin()?))),
        None => Ok(None),
    }
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read the script from stdin: {e}"))?;
    Ok(text)
}

/// A bug must never show a Rust backtrace to a user: one line instead
/// (and the backtrace too when `RUST_BACKTRACE` asks for it).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("fsql: internal error: {msg}{at} (this is a bug; please report it)");
        let trace = std::backtrace::Backtrace::capture();
        if trace.status() == std::backtrace::BacktraceStatus::Captured {
            eprintln!("{trace}");
        }
    }));
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}
