//! Live progress of long statements (COMPARE MODELS) on stderr: an
//! indicatif bar with the tasks done and the current leader when stderr is
//! a terminal, otherwise a plain line every few seconds (and a last one).
//! Nothing goes to stdout, so `--format csv` output stays clean. The bar is
//! registered with the output, which clears it before results are written.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fsql_engine::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sinks::Output;

/// Seconds between plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct StderrProgress {
    output: Output,
    state: Mutex<State>,
}

struct State {
    bar: Option<ProgressBar>,
    title: String,
    total: u64,
    done: u64,
    message: String,
    last_line: Option<Instant>,
}

impl StderrProgress {
    pub fn new(output: Output) -> Self {
        Self {
            output,
            state: Mutex::new(State {
                bar: None,
                title: String::new(),
                total: 0,
                done: 0,
                message: String::new(),
                last_line: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for StderrProgress {
    fn start(&self, title: &str, total: u64) {
        let mut st = self.state();
        st.title = title.to_string();
        st.total = total;
        st.done = 0;
        st.message.clear();
        if std::io::stderr().is_terminal() {
            // Replaces the REPL's spinner, if it shows one.
            self.output.clear_progress();
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} tasks, {elapsed} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(title.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            self.output.set_progress(Some(bar.clone()));
            st.bar = Some(bar);
        } else {
            eprintln!("{title}: {total} tasks");
            st.last_line = Some(Instant::now());
        }
    }

    fn update(&self, done: u64, message: &str) {
        let mut st = self.state();
        let changed = done != st.done || message != st.message;
        st.done = done;
        st.message = message.to_string();
        if let Some(bar) = &st.bar {
            bar.set_position(done);
            bar.set_message(message.to_string());
        } else if changed && st.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
            eprintln!(
                "{}: {done}/{} tasks done{}",
                st.title,
                st.total,
                with(message)
            );
            st.last_line = Some(Instant::now());
        }
    }

    fn finish(&self) {
        let mut st = self.state();
        if let Some(bar) = st.bar.take() {
            bar.finish_and_clear();
            self.output.set_progress(None);
        }
        eprintln!(
            "{}: {}/{} tasks done{}",
            st.title,
            st.done,
            st.total,
            with(&st.message)
        );
    }
}

fn with(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(", {message}")
    }
}
