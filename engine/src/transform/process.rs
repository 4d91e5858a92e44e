//! Running an external program on the groups of one physical partition.
//!
//! The protocol (documented in docs/transform.md): fsql starts the program
//! once per partition, with no shell, and writes to its stdin, for each
//! group in order, one Arrow IPC stream per input dataframe (one for
//! TRANSFORM, one per zipped dataframe for a co-transform), then closes
//! stdin. For TRANSFORM the program answers each group with one Arrow IPC
//! stream on stdout, in the same order; for OUTTRANSFORM / OUTPUT its stdout
//! is read and dropped. Environment: `FSQL_KEYS` (JSON list of the key
//! columns), `FSQL_PARAMS` (JSON object of PARAMS), `FSQL_INPUTS` (streams
//! per group).
//!
//! Writing, reading and stderr each have a thread, so a program that
//! answers before it has read everything cannot deadlock on a full pipe.
//! The process is killed and reaped on every path out (error, timeout,
//! cancellation): no zombies.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

use super::spec::Program;

/// Lines of the program's stderr kept for error messages.
const STDERR_LINES: usize = 20;

/// One group: its key as text (for errors) and one batch per input.
pub struct Group {
    pub key: String,
    pub frames: Vec<RecordBatch>,
}

/// Kills (with everything it started) and reaps the child when dropped.
struct Reaped(Child);

impl Reaped {
    fn kill(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            // The program leads its own process group: a shell's children
            // go with it.
            #[cfg(unix)]
            // SAFETY: kill(2) with a negative pid signals that process
            // group; no memory is involved.
            unsafe {
                libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Joins `thread` if it ends within a grace period; otherwise leaves it (a
/// process the program started may still hold the pipe it reads).
fn join_soon<T>(thread: std::thread::JoinHandle<T>) {
    let until = Instant::now() + Duration::from_millis(500);
    while !thread.is_finished() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    if thread.is_finished() {
        let _ = thread.join();
    }
}

type Answer = Result<Vec<RecordBatch>, String>;

/// Runs `program` on `groups`. For TRANSFORM (`answers`), returns each
/// group's output batches in group order; otherwise an empty list. Errors
/// name the program, the group and the end of its stderr. When `cancelled`
/// turns true (the query was dropped), the program is killed.
pub fn run(
    program: &Program,
    keys_json: &str,
    groups: Vec<Group>,
    answers: bool,
    cancelled: &AtomicBool,
) -> Result<Vec<Vec<RecordBatch>>, String> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let inputs = groups[0].frames.len();
    start(program, keys_json, inputs, answers)?.finish(groups, cancelled)
}

/// A running program, started before its partition's groups are ready so
/// that its start-up overlaps fsql's work.
pub struct Started {
    shown: String,
    timeout_ms: Option<u64>,
    deadline: Option<Instant>,
    child: Reaped,
    stdin: ChildStdin,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_thread: JoinHandle<()>,
    reader: JoinHandle<()>,
    rx: mpsc::Receiver<Answer>,
    answers: bool,
}

/// Starts `program` for a partition whose groups have `inputs` dataframes
/// each. The timeout counts from here.
pub fn start(
    program: &Program,
    keys_json: &str,
    inputs: usize,
    answers: bool,
) -> Result<Started, String> {
    let shown = shown(&program.args);
    let mut command = Command::new(&program.args[0]);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .args(&program.args[1..])
        .env("FSQL_KEYS", keys_json)
        .env("FSQL_PARAMS", &program.params_json)
        .env("FSQL_INPUTS", inputs.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr_thread = {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || keep_tail(stderr, &tail))
    };
    let (tx, rx) = mpsc::channel::<Answer>();
    let reader = std::thread::spawn(move || read_answers(stdout, answers, tx));
    Ok(Started {
        shown,
        timeout_ms: program.timeout_ms,
        deadline: program
            .timeout_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms)),
        child: Reaped(child),
        stdin,
        tail,
        stderr_thread,
        reader,
        rx,
        answers,
    })
}

impl Started {
    /// Hands the program its groups and collects its answers.
    pub fn finish(
        self,
        groups: Vec<Group>,
        cancelled: &AtomicBool,
    ) -> Result<Vec<Vec<RecordBatch>>, String> {
        let Started {
            shown,
            timeout_ms,
            deadline,
            mut child,
            stdin,
            tail,
            stderr_thread,
            reader,
            rx,
            answers,
        } = self;
        let keys: Vec<String> = groups.iter().map(|g| g.key.clone()).collect();
        let n = groups.len();
        let writer = std::thread::spawn(move || write_groups(stdin, groups));
        let stderr_text = || tail_text(&tail);
        let group_of = |i: usize| match keys.get(i) {
            Some(k) if !k.is_empty() => format!(" on the group {k}"),
            _ => String::new(),
        };

        let mut out = Vec::with_capacity(if answers { n } else { 0 });
        let mut failure: Option<String> = None;
        let expected = if answers { n } else { 1 };
        while out.len() < expected && failure.is_none() {
            if cancelled.load(AtomicOrdering::Relaxed) {
                return Err(format!("{shown} was stopped: the query was cancelled"));
            }
            let got = rx.recv_timeout(slice(deadline));
            if matches!(got, Err(RecvTimeoutError::Timeout))
                && deadline.is_none_or(|d| Instant::now() < d)
            {
                continue;
            }
            match got {
                Ok(Ok(batches)) => {
                    if answers {
                        out.push(batches)
                    } else {
                        break;
                    }
                }
                Ok(Err(e)) => failure = Some(e),
                Err(RecvTimeoutError::Timeout) => {
                    drop(child);
                    return Err(format!(
                        "{shown} timed out after {} ms{} (PARAMS timeout){}",
                        timeout_ms.unwrap_or(0),
                        group_of(out.len()),
                        stderr_text()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    failure = Some(
                        "its output ended before the answer (one Arrow IPC stream per group)"
                            .into(),
                    );
                }
            }
        }
        // The exit status explains a broken answer better than the broken answer.
        let status = wait(&mut child.0, deadline, cancelled);
        child.kill();
        join_soon(writer);
        join_soon(reader);
        join_soon(stderr_thread);
        if failure.is_none() && answers {
            match rx.try_recv() {
                Ok(Ok(_)) => {
                    failure = Some(
                        "it wrote more answers than there were groups (one IPC stream per group)"
                            .into(),
                    )
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => {}
            }
        }
        let failed_at = group_of(out.len());
        match status {
            Some(s) if !s.success() => Err(format!(
                "{shown} {}{failed_at}{}",
                describe_exit(s),
                stderr_text()
            )),
            None if cancelled.load(AtomicOrdering::Relaxed) => {
                Err(format!("{shown} was stopped: the query was cancelled"))
            }
            None => Err(format!(
                "{shown} did not exit after its last answer within the timeout{}",
                stderr_text()
            )),
            Some(_) => match failure {
                Some(e) => Err(format!(
                    "{shown} wrote an invalid answer{failed_at}: {e}{}",
                    stderr_text()
                )),
                None => Ok(out),
            },
        }
    }
}

/// `exec('python3 fit.py')` as the statement wrote it.
pub fn shown(args: &[String]) -> String {
    let line: Vec<String> = args
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                format!("\"{}\"", a.replace('"', "\\\""))
            } else {
                a.clone()
            }
        })
        .collect();
    format!("exec('{}')", line.join(" ").replace('\'', "''"))
}

fn describe_exit(s: ExitStatus) -> String {
    match s.code() {
        Some(c) => format!("exited with status {c}"),
        None => format!("was killed ({s})"),
    }
}

/// How long to block before looking at the deadline and cancellation again.
fn slice(deadline: Option<Instant>) -> Duration {
    let step = Duration::from_millis(50);
    deadline.map_or(step, |d| {
        d.saturating_duration_since(Instant::now()).min(step)
    })
}

/// Waits for the child to exit, until `deadline` or cancellation; None when
/// it did not exit.
fn wait(
    child: &mut Child,
    deadline: Option<Instant>,
    cancelled: &AtomicBool,
) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None)
                if deadline.is_none_or(|d| Instant::now() < d)
                    && !cancelled.load(AtomicOrdering::Relaxed) =>
            {
                std::thread::sleep(Duration::from_millis(1))
            }
            _ => return None,
        }
    }
}

/// The kept stderr lines, for an error message ("" when there are none).
pub(crate) fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let lines: Vec<String> = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n--- last lines of its stderr ---\n{}", lines.join("\n"))
    }
}

/// Keeps the last lines of `stderr` in `tail`; with `echo`, also writes
/// each line to fsql's stderr.
pub(crate) fn keep_tail_echoing(stderr: impl Read, tail: &Mutex<VecDeque<String>>, echo: bool) {
    for line in BufReader::new(stderr).lines() {
        let Ok(mut line) = line else { break };
        if echo {
            eprintln!("{line}");
        }
        line.truncate(2000);
        if let Ok(mut t) = tail.lock() {
            if t.len() == STDERR_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
}

fn keep_tail(stderr: impl Read, tail: &Mutex<VecDeque<String>>) {
    keep_tail_echoing(stderr, tail, false)
}

/// Writes every group; stops quietly when the program closes its stdin (the
/// exit status or the answers tell what happened).
fn write_groups(stdin: impl Write, groups: Vec<Group>) {
    let mut w = BufWriter::with_capacity(1 << 16, stdin);
    for g in groups {
        for frame in g.frames {
            let ok = (|| {
                let mut s = StreamWriter::try_new(&mut w, &frame.schema())?;
                if frame.num_rows() > 0 {
                    s.write(&frame)?;
                }
                s.finish()
            })();
            if ok.is_err() {
                return;
            }
        }
    }
    let _ = w.flush();
}

/// Reads IPC streams until the program closes its stdout, sending each on
/// `tx` (or, when no answers are expected, reads the output and drops it).
fn read_answers(stdout: impl Read, answers: bool, tx: mpsc::Sender<Answer>) {
    let mut r = BufReader::with_capacity(1 << 16, stdout);
    if !answers {
        let _ = std::io::copy(&mut r, &mut std::io::sink());
        let _ = tx.send(Ok(Vec::new()));
        return;
    }
    loop {
        let answer = (|| {
            let start = r.fill_buf().map_err(|e| e.to_string())?;
            if start.is_empty() {
                return Ok(None);
            }
            if start.len() >= 4 && start[..4] != [0xFF; 4] {
                let text = String::from_utf8_lossy(&start[..start.len().min(60)]).to_string();
                return Err(format!("not an Arrow IPC stream (it starts with {text:?})"));
            }
            let reader = StreamReader::try_new(&mut r, None).map_err(|e| ipc_error(&e))?;
            reader
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
                .map_err(|e| ipc_error(&e))
        })();
        match answer {
            Ok(None) => return,
            Ok(Some(batches)) => {
                if tx.send(Ok(batches)).is_err() {
                    return;
                }
            }
            Err(e) => {
                // Read on, so the program is not killed by a closed pipe and
                // its exit status stays its own.
                let _ = std::io::copy(&mut r, &mut std::io::sink());
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

fn ipc_error(e: &datafusion::arrow::error::ArrowError) -> String {
    let m = e.to_string();
    if m.contains("failed to fill whole buffer") || m.contains("UnexpectedEof") {
        "its output ended before the answer did (one Arrow IPC stream per group)".into()
    } else {
        format!("not an Arrow IPC stream ({m})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn groups(n: usize) -> Vec<Group> {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int32, true)]));
        (0..n)
            .map(|i| Group {
                key: format!("k={i}"),
                frames: vec![
                    RecordBatch::try_new(
                        schema.clone(),
                        vec![Arc::new(Int32Array::from(vec![i as i32; 3]))],
                    )
                    .unwrap(),
                ],
            })
            .collect()
    }

    fn run_(
        p: &Program,
        keys: &str,
        g: Vec<Group>,
        answers: bool,
    ) -> Result<Vec<Vec<RecordBatch>>, String> {
        run(p, keys, g, answers, &AtomicBool::new(false))
    }

    fn sh(script: &str, timeout_ms: Option<u64>) -> Program {
        Program {
            args: vec!["sh".into(), "-c".into(), script.into()],
            params_json: "{}".into(),
            timeout_ms,
        }
    }

    /// Children of this process that are zombies (exited, not reaped).
    fn zombies() -> usize {
        let me = std::process::id().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .filter(|stat| {
                // pid (comm) state ppid ...
                let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
                let mut f = rest.split_whitespace();
                f.next() == Some("Z") && f.next() == Some(me.as_str())
            })
            .count()
    }

    #[test]
    fn cat_echoes_every_group_in_order() {
        let out = run_(&sh("cat", None), "[]", groups(3), true).unwrap();
        assert_eq!(out.len(), 3);
        for (i, batches) in out.iter().enumerate() {
            let col = batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap();
            assert_eq!(col.values().to_vec(), vec![i as i32; 3]);
        }
    }

    #[test]
    fn failures_name_the_group_and_keep_stderr() {
        let e = run_(
            &sh("echo first >&2; echo 'Traceback: boom' >&2; exit 4", None),
            "[]",
            groups(2),
            true,
        )
        .unwrap_err();
        assert!(e.contains("exited with status 4 on the group k=0"), "{e}");
        assert!(e.contains("Traceback: boom") && e.contains("first"), "{e}");
        // A program that answers nothing for an OUTPUT is fine; a failing one is not.
        assert!(
            run_(&sh("cat > /dev/null", None), "[]", groups(2), false)
                .unwrap()
                .is_empty()
        );
        let e = run_(&sh("exit 9", None), "[]", groups(1), false).unwrap_err();
        assert!(e.contains("status 9"), "{e}");
    }

    #[test]
    fn timeouts_kill_and_reap_the_program() {
        let before = zombies();
        let started = Instant::now();
        let e = run_(&sh("sleep 30", Some(200)), "[]", groups(2), true).unwrap_err();
        assert!(e.contains("timed out after 200 ms on the group k=0"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // A program that closes stdout early but lingers is killed too.
        let e = run_(&sh("exec >&-; sleep 30", Some(200)), "[]", groups(1), true).unwrap_err();
        assert!(e.contains("timed out") || e.contains("did not exit"), "{e}");
        assert_eq!(zombies(), before, "no zombie processes are left");
    }

    #[test]
    fn cancelling_stops_the_program() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancelled);
        let started = Instant::now();
        let worker =
            std::thread::spawn(move || run(&sh("sleep 30", None), "[]", groups(1), true, &flag));
        std::thread::sleep(Duration::from_millis(200));
        cancelled.store(true, AtomicOrdering::Relaxed);
        let e = worker.join().unwrap().unwrap_err();
        assert!(e.contains("cancelled"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
