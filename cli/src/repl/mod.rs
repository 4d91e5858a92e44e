//! The interactive REPL (`fsql` with no arguments on a terminal): a rustyline
//! editor over one [`Session`], so dataframes, variables and tables stay
//! between inputs. Inputs end with `;`; lines starting with `\` are
//! meta-commands (see `meta.rs`). Ctrl-C cancels the running query (its
//! future is dropped, which stops DataFusion's streams) and keeps the session.

mod helper;
mod meta;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fsql_engine::{ClusterOptions, Engine, Session, template};
use indicatif::{ProgressBar, ProgressDrawTarget};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use crate::args::OutputFormat;
use crate::report;
use crate::sinks::{self, Output};
use helper::{FsqlHelper, Names};
use meta::Meta;

/// Rows of a result shown unless `\maxrows` says otherwise.
const DEFAULT_MAX_ROWS: u64 = 40;

struct Repl {
    session: Session,
    runtime: tokio::runtime::Runtime,
    format: OutputFormat,
    output: Output,
    timing: bool,
    max_rows: u64,
    vars: BTreeMap<String, String>,
    names: Arc<Mutex<Names>>,
}

/// Runs the REPL until `\q` or Ctrl-D.
pub fn run(
    runtime: tokio::runtime::Runtime,
    engine: Engine,
    cluster: ClusterOptions,
    format: OutputFormat,
    defines: &[(String, String)],
    model_dir: &std::path::Path,
    python: fsql_engine::PythonConfig,
) -> ExitCode {
    let output = Output::stdout();
    let names = Arc::new(Mutex::new(Names::default()));
    let sink = sinks::for_format(format, output.clone());
    let mut session = match runtime.block_on(Session::open(engine, cluster, sink)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    session.set_model_dir(model_dir);
    session.set_python(python);
    let mut repl = Repl {
        session,
        runtime,
        format,
        output,
        timing: false,
        max_rows: DEFAULT_MAX_ROWS,
        vars: defines.iter().cloned().collect(),
        names: names.clone(),
    };
    let config = Config::builder().auto_add_history(true).build();
    let mut editor: Editor<FsqlHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot open the terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    editor.set_helper(Some(FsqlHelper::new(names, color)));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "fsql {} on {engine}: end statements with ';', \\help for help, Ctrl-D to exit",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        match editor.readline("fsql> ") {
            Ok(line) => {
                if let Some(h) = &history {
                    let _ = editor.save_history(h);
                }
                let input = line.trim();
                if input.is_empty() {
                    continue;
                }
                if input.starts_with('\\') {
                    match meta::parse(input) {
                        Ok(Meta::Quit) => break,
                        Ok(m) => repl.meta(m),
                        Err(e) => eprintln!("{e}"),
                    }
                } else {
                    repl.run_input("<input>", &line, false);
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // Work a cancelled statement left behind (a step of a fit, until its
    // next interrupt point) does not hold the exit for long.
    let Repl {
        session, runtime, ..
    } = repl;
    runtime.block_on(async move { drop(session) });
    // Aborts of uploads a cancelled SAVE left (see storage::settle).
    fsql_engine::storage::settle(Duration::from_secs(10));
    runtime.shutdown_timeout(Duration::from_secs(2));
    ExitCode::SUCCESS
}

/// `$FSQL_HISTORY`, else `~/.fsql_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FSQL_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".fsql_history"))
}

/// A spinner on stderr that appears only when a query runs longer than half
/// a second, only on a terminal, and goes away when output starts.
struct Spinner {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
    output: Output,
}

impl Spinner {
    fn start(runtime: &tokio::runtime::Runtime, output: &Output) -> Self {
        let mut spinner = Self {
            bar: None,
            task: None,
            output: output.clone(),
        };
        if !std::io::stderr().is_terminal() {
            return spinner;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        output.set_progress(Some(bar.clone()));
        let shown = bar.clone();
        spinner.task = Some(runtime.spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if shown.is_finished() {
                return;
            }
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.set_message("running (Ctrl-C cancels)");
            shown.enable_steady_tick(Duration::from_millis(120));
        }));
        spinner.bar = Some(bar);
        spinner
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.output.set_progress(None);
    }
}

impl Repl {
    /// Runs one input (a script) and shows its final result unless it ended
    /// with PRINT or produced nothing. With `explain`, shows the final
    /// dataframe's plan instead.
    fn run_input(&mut self, name: &str, text: &str, explain: bool) {
        let started = Instant::now();
        let rendered = match template::render(text, &self.vars) {
            Ok(t) => t,
            Err(e) => {
                report::error(name, text, &e);
                return;
            }
        };
        let script = match fsql_sql::parse(&rendered) {
            Ok(s) => s,
            Err(e) => {
                report::error(name, &rendered, &e.into());
                return;
            }
        };
        let spinner = Spinner::start(&self.runtime, &self.output);
        let Repl {
            session,
            runtime,
            max_rows,
            ..
        } = self;
        let max_rows = *max_rows;
        let outcome = runtime.block_on(async {
            let work = async {
                session.run_script(&script).await?;
                if explain {
                    session.explain_last().await?;
                } else if session.last_step_produced() {
                    session.print_last(Some(max_rows), true).await?;
                }
                Ok::<_, fsql_engine::Error>(())
            };
            tokio::select! {
                r = work => Some(r),
                _ = tokio::signal::ctrl_c() => None,
            }
        });
        drop(spinner);
        match outcome {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                report::error(name, &rendered, &e);
            }
            None => eprintln!("cancelled"),
        }
        if self.timing {
            eprintln!("time: {:.3} s", started.elapsed().as_secs_f64());
        }
        self.refresh_names();
    }

    /// Updates what completion knows: names and their columns.
    fn refresh_names(&mut self) {
        let relations = self.runtime.block_on(self.session.relations());
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.relations = relations
            .into_iter()
            .map(|(n, schema)| {
                (
                    n,
                    schema.fields().iter().map(|f| f.name().clone()).collect(),
                )
            })
            .collect();
    }

    fn meta(&mut self, m: Meta) {
        match m {
            Meta::Help => println!("{}", meta::HELP),
            Meta::Quit => {}
            Meta::Describe(None) => {
                let relations = self.runtime.block_on(self.session.relations());
                if relations.is_empty() {
                    println!("no dataframes or tables yet");
                }
                for (name, schema) in relations {
                    let cols: Vec<String> = schema
                        .fields()
                        .iter()
                        .map(|f| {
                            format!(
                                "{}:{}",
                                f.name(),
                                fsql_engine::types::fugue_name(f.data_type())
                            )
                        })
                        .collect();
                    println!("{name}  {}", cols.join(", "));
                }
            }
            Meta::Describe(Some(name)) => {
                let relations = self.runtime.block_on(self.session.relations());
                let found = relations.iter().find(|(n, _)| *n == name).or_else(|| {
                    relations
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                });
                match found {
                    Some((n, schema)) => {
                        println!("{n}");
                        for f in schema.fields() {
                            println!(
                                "  {:<24} {}",
                                f.name(),
                                fsql_engine::types::fugue_name(f.data_type())
                            );
                        }
                    }
                    None => eprintln!("unknown dataframe or table '{name}'"),
                }
            }
            Meta::Engine(engine) => match self.runtime.block_on(self.session.set_engine(engine)) {
                Ok(()) => println!("engine: {engine}"),
                Err(e) => eprintln!("error: {}", e.message()),
            },
            Meta::Timing(on) => self.timing = on,
            Meta::Format(format) => {
                self.format = format;
                self.reset_sink();
            }
            Meta::MaxRows(n) => self.max_rows = n,
            Meta::Include(path) => match std::fs::read_to_string(&path) {
                Ok(text) => self.run_input(&path, &text, false),
                Err(e) => eprintln!("error: cannot read script '{path}': {e}"),
            },
            Meta::Output(None) => {
                self.output = Output::stdout();
                self.reset_sink();
            }
            Meta::Output(Some(path)) => match std::fs::File::create(&path) {
                Ok(f) => {
                    self.output = Output::file(f);
                    self.reset_sink();
                }
                Err(e) => eprintln!("error: cannot write '{path}': {e}"),
            },
            Meta::Set(Some((k, v))) => {
                self.vars.insert(k, v);
            }
            Meta::Set(None) => {
                for (k, v) in &self.vars {
                    println!("{k} = {v}");
                }
            }
            Meta::Explain(script) => self.run_input("<explain>", &script, true),
        }
    }

    fn reset_sink(&mut self) {
        self.session
            .set_sink(sinks::for_format(self.format, self.output.clone()));
    }
}
