//! Python workers: long-lived interpreters running `runner.py`, kept in a
//! process-wide pool per interpreter path. A worker that has imported pandas
//! and the user's module serves the next partition, statement or query of
//! this process (a cluster executor is a process too) without starting
//! again.
//!
//! Each request is framed (`runner.py` documents the frames). A job writes
//! its groups on one thread while this one reads the answers, so a worker
//! that answers a group before reading the next cannot deadlock on a full
//! pipe; a watchdog thread kills the worker (its whole process group) on
//! the job's timeout or when the query is cancelled. A worker that dies, is
//! killed or breaks the protocol is never reused; one whose function raised
//! is (it reads the rest of the job and stays in step).

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, BufWriter, Cursor, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use serde::Deserialize;

use super::{Code, Op, PyFunction, Signature};
use crate::transform::process::{Group, keep_tail_echoing, tail_text};

/// The worker's program, run with `python -c`.
const RUNNER: &str = include_str!("runner.py");

/// How long a new interpreter may take to import pandas and pyarrow.
const START_LIMIT: Duration = Duration::from_secs(120);

/// Interpreters started by this process (for tests and the benchmark).
static STARTS: AtomicU64 = AtomicU64::new(0);

/// Idle workers per interpreter.
static POOL: LazyLock<Mutex<HashMap<String, Vec<Worker>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// How many interpreters this process has started.
pub fn starts() -> u64 {
    STARTS.load(Ordering::Relaxed)
}

/// An interpreter running `runner.py`.
struct Worker {
    python: String,
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

#[derive(Deserialize)]
struct Failure {
    message: String,
    #[serde(default)]
    traceback: String,
}

impl Worker {
    fn start(python: &str) -> Result<Worker, String> {
        let mut command = Command::new(python);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(["-c", RUNNER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the Python interpreter '{python}': {e} (choose one with --python PATH or FSQL_PYTHON)"
                )
            })?;
        STARTS.fetch_add(1, Ordering::Relaxed);
        let stdin = BufWriter::with_capacity(1 << 16, child.stdin.take().expect("piped"));
        let stdout = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped"));
        let stderr = child.stderr.take().expect("piped");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        {
            let tail = Arc::clone(&tail);
            // The user's prints: shown on fsql's stderr, the end kept for errors.
            std::thread::spawn(move || keep_tail_echoing(stderr, &tail, true));
        }
        let mut w = Worker {
            python: python.to_string(),
            child,
            stdin,
            stdout,
            tail,
        };
        // An interpreter that never says hello (a `--python` that is not
        // Python and waits for input) is killed after a while.
        let done = AtomicBool::new(false);
        let late = AtomicBool::new(false);
        let not_cancelled = AtomicBool::new(false);
        let limit = Some(Instant::now() + START_LIMIT);
        let pid = w.child.id();
        let hello = std::thread::scope(|scope| {
            scope.spawn(|| watch(pid, limit, &not_cancelled, &done, &late));
            let hello = read_frame(&mut w.stdout);
            done.store(true, Ordering::Relaxed);
            hello
        });
        if late.load(Ordering::Relaxed) {
            return Err(w.broken(&format!(
                "it did not start within {} s (is --python a Python interpreter?)",
                START_LIMIT.as_secs()
            )));
        }
        match hello {
            Ok((b'H', _)) => Ok(w),
            Ok((b'E', body)) => Err(failure(&body).message),
            Ok((tag, _)) => Err(w.broken(&format!("it said {:?} instead of hello", tag as char))),
            Err(e) => Err(w.broken(&e)),
        }
    }

    /// The worker is unusable: it is killed, and the message says what its
    /// exit status and stderr tell.
    fn broken(&mut self, what: &str) -> String {
        let status = (0..200)
            .find_map(|_| match self.child.try_wait() {
                Ok(Some(s)) => Some(Some(s)),
                Ok(None) => {
                    std::thread::sleep(Duration::from_millis(5));
                    None
                }
                Err(_) => Some(None),
            })
            .flatten();
        self.kill();
        let how = match status {
            Some(s) => match s.code() {
                Some(c) => format!("exited with status {c}"),
                None => format!("was killed ({s})"),
            },
            None => "stopped answering".into(),
        };
        format!(
            "the Python worker ({}) {how}: {what}{}",
            self.python,
            self.stderr_tail()
        )
    }

    fn stderr_tail(&self) -> String {
        // The stderr thread may still be reading the last lines.
        std::thread::sleep(Duration::from_millis(20));
        tail_text(&self.tail)
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            #[cfg(unix)]
            // SAFETY: kill(2) with a negative pid signals that process
            // group (the worker leads its own); no memory is involved.
            unsafe {
                libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A request answered by one J (or E) frame.
    fn ask(&mut self, tag: u8, request: &serde_json::Value) -> Result<serde_json::Value, Asked> {
        let body = serde_json::to_vec(request).expect("JSON");
        if let Err(e) = write_frame(&mut self.stdin, tag, &body).and_then(|_| self.stdin.flush()) {
            return Err(Asked::Broken(self.broken(&e.to_string())));
        }
        match read_frame(&mut self.stdout) {
            Ok((b'J', body)) => serde_json::from_slice(&body)
                .map_err(|e| Asked::Broken(self.broken(&format!("bad answer: {e}")))),
            Ok((b'E', body)) => Err(Asked::Failed(failure(&body))),
            Ok((t, _)) => Err(Asked::Broken(
                self.broken(&format!("unexpected frame {:?}", t as char)),
            )),
            Err(e) => Err(Asked::Broken(self.broken(&e))),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

enum Asked {
    /// The worker is gone (message says why).
    Broken(String),
    /// The request failed in Python; the worker is fine.
    Failed(Failure),
}

fn failure(body: &[u8]) -> Failure {
    serde_json::from_slice(body).unwrap_or_else(|_| Failure {
        message: String::from_utf8_lossy(body).into_owned(),
        traceback: String::new(),
    })
}

/// A worker for `python`: an idle one, else a new one.
fn checkout(python: &str) -> Result<Worker, String> {
    loop {
        let idle = POOL
            .lock()
            .ok()
            .and_then(|mut p| p.get_mut(python).and_then(Vec::pop));
        match idle {
            Some(mut w) => {
                if w.alive() {
                    return Ok(w);
                }
            }
            None => return Worker::start(python),
        }
    }
}

/// Back to the pool, unless the pool already keeps enough idle workers.
fn checkin(mut w: Worker) {
    if !w.alive() {
        return;
    }
    let cap = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    if let Ok(mut p) = POOL.lock() {
        let idle = p.entry(w.python.clone()).or_default();
        if idle.len() < cap {
            idle.push(w);
        }
    }
}

fn code_json(code: &Code) -> serde_json::Value {
    match code {
        Code::File { path, source, hash } => {
            serde_json::json!({"kind": "file", "path": path, "source": source, "hash": hash})
        }
        Code::Module { name } => serde_json::json!({"kind": "module", "name": name}),
    }
}

/// One request to a pooled worker, answered with JSON.
fn request(python: &str, tag: u8, body: serde_json::Value) -> Result<serde_json::Value, String> {
    let mut w = checkout(python)?;
    match w.ask(tag, &body) {
        Ok(v) => {
            checkin(w);
            Ok(v)
        }
        Err(Asked::Failed(f)) => {
            checkin(w);
            Err(with_traceback(&f))
        }
        Err(Asked::Broken(m)) => Err(m),
    }
}

/// The traceback (which ends with the message) when there is one, else the message.
fn with_traceback(f: &Failure) -> String {
    let tb = f.traceback.trim_end();
    if tb.is_empty() || !tb.contains(f.message.lines().next().unwrap_or_default()) {
        f.message.clone()
    } else {
        format!("\n{tb}")
    }
}

/// The public functions `code` defines (a file's own, not its imports).
pub fn list(python: &str, code: &Code) -> Result<Vec<String>, String> {
    let v = request(python, b'L', serde_json::json!({"code": code_json(code)}))?;
    Ok(serde_json::from_value(v["functions"].clone()).unwrap_or_default())
}

/// How fugue would call `function`: its dataframe parameters, other
/// parameters, output kind and schema hint.
pub fn describe(python: &str, code: &Code, function: &str, op: Op) -> Result<Signature, String> {
    let v = request(
        python,
        b'D',
        serde_json::json!({"code": code_json(code), "function": function, "op": op.name()}),
    )?;
    serde_json::from_value(v).map_err(|e| format!("bad description of {function}: {e}"))
}

/// Runs `f` on `groups` (each with one frame per dataframe parameter).
/// With answers (`op` produces rows), returns each group's batches in group
/// order, in `schema` when one is given (else as the function made them).
pub fn run(
    f: &PyFunction,
    op: Op,
    schema: Option<&Schema>,
    groups: Vec<Group>,
    cancelled: &AtomicBool,
) -> Result<Vec<Vec<RecordBatch>>, String> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = checkout(&f.python)?;
    let inputs = groups[0].frames.len();
    let keys: Vec<String> = groups.iter().map(|g| g.key.clone()).collect();
    let header = serde_json::json!({
        "code": code_json(&f.code),
        "function": f.function,
        "op": op.name(),
        "params": serde_json::from_str::<serde_json::Value>(&f.params_json)
            .unwrap_or_else(|_| serde_json::json!({})),
        "inputs": inputs,
        "schema": schema.is_some(),
    });
    let header = serde_json::to_vec(&header).expect("JSON");
    let deadline = f
        .timeout_ms
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let stop = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let timed_out = AtomicBool::new(false);
    let pid = w.child.id();
    let n = groups.len();
    let outcome = std::thread::scope(|scope| {
        let Worker { stdin, stdout, .. } = &mut w;
        let writer = scope.spawn(|| write_job(stdin, &header, schema, groups, &stop));
        scope.spawn(|| watch(pid, deadline, cancelled, &done, &timed_out));
        let read = read_job(stdout, n, op.answers(), &stop);
        done.store(true, Ordering::Relaxed);
        let _ = writer.join();
        read
    });
    let group_of = |i: usize| match keys.get(i) {
        Some(k) if !k.is_empty() => format!(" on the group {k}"),
        _ => String::new(),
    };
    match outcome {
        Outcome::Done(answers) => {
            checkin(w);
            Ok(answers)
        }
        Outcome::Raised(i, failure) => {
            checkin(w);
            Err(format!(
                "{} raised{}: {}",
                f.shown,
                group_of(i),
                with_traceback(&failure)
            ))
        }
        Outcome::Broken(i, what) => {
            if timed_out.load(Ordering::Relaxed) {
                w.kill();
                Err(format!(
                    "{} timed out after {} ms{} (PARAMS timeout){}",
                    f.shown,
                    f.timeout_ms.unwrap_or(0),
                    group_of(i),
                    w.stderr_tail()
                ))
            } else if cancelled.load(Ordering::Relaxed) {
                w.kill();
                Err(format!("{} was stopped: the query was cancelled", f.shown))
            } else {
                Err(format!(
                    "{} failed{}: {}",
                    f.shown,
                    group_of(i),
                    w.broken(&what)
                ))
            }
        }
    }
}

enum Outcome {
    Done(Vec<Vec<RecordBatch>>),
    /// The function raised on group i.
    Raised(usize, Failure),
    /// The worker broke while group i was due.
    Broken(usize, String),
}

/// Kills the worker's process group on the deadline or cancellation.
fn watch(
    pid: u32,
    deadline: Option<Instant>,
    cancelled: &AtomicBool,
    done: &AtomicBool,
    timed_out: &AtomicBool,
) {
    while !done.load(Ordering::Relaxed) {
        let late = deadline.is_some_and(|d| Instant::now() >= d);
        if late || cancelled.load(Ordering::Relaxed) {
            timed_out.store(late, Ordering::Relaxed);
            #[cfg(unix)]
            // SAFETY: kill(2) on the worker's process group; no memory is involved.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn write_job(
    stdin: &mut BufWriter<ChildStdin>,
    header: &[u8],
    schema: Option<&Schema>,
    groups: Vec<Group>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    write_frame(stdin, b'J', header)?;
    if let Some(schema) = schema {
        let mut buf = Vec::new();
        StreamWriter::try_new(&mut buf, schema)
            .and_then(|mut w| w.finish())
            .map_err(std::io::Error::other)?;
        write_frame(stdin, b'S', &buf)?;
    }
    let mut buf = Vec::new();
    for g in groups {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        write_frame(stdin, b'B', &[])?;
        for frame in g.frames {
            buf.clear();
            let mut s =
                StreamWriter::try_new(&mut buf, &frame.schema()).map_err(std::io::Error::other)?;
            if frame.num_rows() > 0 {
                s.write(&frame).map_err(std::io::Error::other)?;
            }
            s.finish().map_err(std::io::Error::other)?;
            drop(s);
            write_frame(stdin, b'G', &buf)?;
        }
        // Each group goes out whole, so the worker can start on it.
        stdin.flush()?;
    }
    write_frame(stdin, b'Z', &[])?;
    stdin.flush()
}

fn read_job(
    stdout: &mut BufReader<ChildStdout>,
    n: usize,
    answers: bool,
    stop: &AtomicBool,
) -> Outcome {
    let mut out = Vec::with_capacity(if answers { n } else { 0 });
    let mut seen = 0;
    let mut raised: Option<(usize, Failure)> = None;
    loop {
        let (tag, body) = match read_frame(stdout) {
            Ok(f) => f,
            Err(e) => return Outcome::Broken(seen, e),
        };
        match tag {
            b'Z' => break,
            b'E' => {
                stop.store(true, Ordering::Relaxed);
                if raised.is_none() {
                    raised = Some((seen, failure(&body)));
                }
            }
            b'R' if answers => {
                // An answer without rows still has its schema.
                let batches = StreamReader::try_new(Cursor::new(body), None).and_then(|r| {
                    let schema = r.schema();
                    let mut b = r.collect::<Result<Vec<_>, _>>()?;
                    if b.is_empty() {
                        b.push(RecordBatch::new_empty(schema));
                    }
                    Ok(b)
                });
                match batches {
                    Ok(b) => out.push(b),
                    Err(e) => {
                        return Outcome::Broken(seen, format!("an answer is not Arrow IPC: {e}"));
                    }
                }
                seen += 1;
            }
            b'K' if !answers => seen += 1,
            t => return Outcome::Broken(seen, format!("unexpected frame {:?}", t as char)),
        }
    }
    if let Some((i, f)) = raised {
        return Outcome::Raised(i, f);
    }
    if seen != n {
        return Outcome::Broken(seen, format!("{seen} answers for {n} groups"));
    }
    Outcome::Done(out)
}

fn write_frame(w: &mut impl Write, tag: u8, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len() + 1)
        .map_err(|_| std::io::Error::other("a group over 4 GiB cannot be sent to Python"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&[tag])?;
    w.write_all(body)
}

fn read_frame(r: &mut impl Read) -> Result<(u8, Vec<u8>), String> {
    let mut head = [0u8; 4];
    r.read_exact(&mut head)
        .map_err(|_| "its output ended".to_string())?;
    let len = u32::from_le_bytes(head) as usize;
    if len == 0 {
        return Err("an empty frame".into());
    }
    let mut tag = [0u8; 1];
    let mut body = vec![0u8; len - 1];
    r.read_exact(&mut tag)
        .and_then(|_| r.read_exact(&mut body))
        .map_err(|_| "its output ended inside a frame".to_string())?;
    Ok((tag[0], body))
}
