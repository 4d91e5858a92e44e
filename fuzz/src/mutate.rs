//! The script fuzzer: scripts made from the golden files and examples by
//! mutation (token insert, delete, swap, splice across scripts), random
//! bytes and huge inputs, through parse, plan and run on the local engine,
//! each under a time limit. A panic, a hang, or a failure without a place
//! in the script is a finding. Files are corrupted too (truncated, bytes
//! flipped) and LOADed as CSV, JSON and Parquet.
//!
//! Sessions run with a policy that confines every path to a scratch folder
//! and refuses `exec(...)` and Python functions, so no mutated script
//! touches the repository or starts a program.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fsql_engine::{ClusterOptions, Engine, Policy, Session};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the mutation fuzzer saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub scripts: u64,
    pub parsed: u64,
    pub ran_ok: u64,
    pub files: u64,
    /// Panics, hangs and unspanned failures: (kind, script, message).
    pub findings: Vec<(String, String, String)>,
}

/// The statement texts of the golden files and the example scripts.
pub fn corpus(root: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    let mut visit = vec![root.join("queries"), root.join("examples")];
    while let Some(dir) = visit.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match path.extension().and_then(|e| e.to_str()) {
                Some("slt") => texts.extend(records(&text)),
                Some("fsql") => texts.push(text),
                _ => {}
            }
        }
    }
    texts.sort();
    texts
}

/// The statement text of each sqllogictest record.
fn records(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("statement ") || line.starts_with("query ") {
            current = Some(String::new());
            continue;
        }
        if line.trim() == "----" || line.trim().is_empty() {
            if let Some(c) = current.take()
                && !c.trim().is_empty()
            {
                out.push(c);
            }
            continue;
        }
        if let Some(c) = &mut current {
            c.push_str(line);
            c.push('\n');
        }
    }
    if let Some(c) = current
        && !c.trim().is_empty()
    {
        out.push(c);
    }
    out
}

/// Splits a script into tokens (words, quoted strings, punctuation, space).
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut w = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_alphanumeric() || n == '_' || n == '.' {
                    w.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(w);
        } else if c == '\'' || c == '"' {
            let mut w = String::from(c);
            for n in chars.by_ref() {
                w.push(n);
                if n == c {
                    break;
                }
            }
            out.push(w);
        } else {
            out.push(c.to_string());
        }
    }
    out
}

/// One mutation of a corpus script.
pub fn mutate(rng: &mut ChaCha8Rng, corpus: &[String]) -> String {
    let base = corpus.choose(rng).cloned().unwrap_or_default();
    let mut t = tokens(&base);
    let pool = tokens(corpus.choose(rng).map(String::as_str).unwrap_or(""));
    match rng.random_range(0..12) {
        0 => {
            // Random bytes (valid UTF-8 only: scripts are text).
            let n = rng.random_range(1..200);
            return (0..n)
                .map(|_| char::from_u32(rng.random_range(0..0x3000)).unwrap_or('?'))
                .collect();
        }
        1 => {
            // Huge: deep nesting, a long chain of operators (DataFusion
            // plans one in time quadratic in its length: 2,000 terms took
            // up to 2.4 s and were most of a run's time, so up to 400 here;
            // tests/parser_robustness.rs and the parser's limit cover
            // longer ones), a long repetition.
            let n = rng.random_range(1_000..100_000);
            return match rng.random_range(0..3) {
                0 => format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n)),
                1 => format!("SELECT {}", vec!["1"; n / 250].join(" + ")),
                _ => base.repeat(rng.random_range(2..50)),
            };
        }
        _ => {}
    }
    for _ in 0..rng.random_range(1..4) {
        if t.is_empty() {
            break;
        }
        let i = rng.random_range(0..t.len());
        match rng.random_range(0..4) {
            0 => {
                t.remove(i);
            }
            1 => {
                if let Some(p) = pool.choose(rng) {
                    t.insert(i, p.clone());
                }
            }
            2 => {
                let j = rng.random_range(0..t.len());
                t.swap(i, j);
            }
            _ => {
                // Splice: the rest from another script.
                let j = rng.random_range(0..pool.len().max(1));
                t.truncate(i);
                t.extend(pool.iter().skip(j).cloned());
            }
        }
    }
    t.concat()
}

async fn fresh_session(scratch: &Path) -> Session {
    let mut s = Session::open(
        Engine::Local,
        ClusterOptions::default(),
        Box::new(fsql_engine::CollectSink::default()),
    )
    .await
    .expect("a local session opens");
    s.set_policy(Policy {
        read_only: false,
        allow_exec: false,
        data_root: Some(scratch.to_path_buf()),
    });
    s
}

/// Runs `script` in a task of its own (a panic ends the task, not the
/// fuzzer); the session comes back unless it panicked or hung.
async fn run_one(
    session: Session,
    script: String,
    limit: Duration,
) -> (Option<Session>, Result<bool, (String, String)>) {
    let task = tokio::spawn(async move {
        let mut session = session;
        let outcome = match fsql_sql::parse(&script) {
            Err(e) => {
                // Parse errors always carry a place (checked by
                // tests/parser_robustness.rs); nothing to see here.
                let _ = e;
                Ok(false)
            }
            Ok(parsed) => match session.run_script(&parsed).await {
                Ok(()) => match session.last().cloned() {
                    Some(df) => match df.collect().await {
                        Ok(_) => Ok(true),
                        // What PRINT would report at the statement.
                        Err(e) => {
                            let m = e.strip_backtrace();
                            if m.contains("panicked") || m.contains("Internal error") {
                                Err(m)
                            } else {
                                Ok(false)
                            }
                        }
                    },
                    None => Ok(true),
                },
                Err(e) if e.span().is_some_and(|s| s.start.line > 0) => {
                    let m = e.message();
                    if m.contains("panicked") || m.contains("Internal error") {
                        Err(m)
                    } else {
                        Ok(false)
                    }
                }
                Err(e) => Err(format!("unspanned: {}", e.message())),
            },
        };
        (session, outcome)
    });
    match tokio::time::timeout(limit, task).await {
        Ok(Ok((session, Ok(ok)))) => (Some(session), Ok(ok)),
        Ok(Ok((session, Err(m)))) => {
            let kind = if m.starts_with("unspanned") {
                "unspanned"
            } else {
                "crash"
            };
            (Some(session), Err((kind.into(), m)))
        }
        Ok(Err(join)) => (None, Err(("panic".into(), join.to_string()))),
        Err(_) => (
            None,
            Err(("hang".into(), format!("no answer within {limit:?}"))),
        ),
    }
}

/// `count` mutated scripts from `seed`.
pub async fn scripts(root: &Path, seed: u64, count: u64, limit: Duration) -> Report {
    let corpus = corpus(root);
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = Report::default();
    let mut session = Some(fresh_session(scratch.path()).await);
    for i in 0..count {
        let script = mutate(&mut rng, &corpus);
        report.scripts += 1;
        if fsql_sql::parse(&script).is_ok() {
            report.parsed += 1;
        }
        // Scripts change their session (SET, bound names): start afresh
        // now and then, so one script's settings do not decide many others.
        if i % 25 == 0 {
            session = None;
        }
        run_counted(&mut session, scratch.path(), script, limit, &mut report).await;
    }
    report
}

/// Runs `script` on `session` (a fresh one if the last was lost to a panic
/// or a hang) and counts the outcome in `report`.
async fn run_counted(
    session: &mut Option<Session>,
    scratch: &Path,
    script: String,
    limit: Duration,
    report: &mut Report,
) {
    let s = match session.take() {
        Some(s) => s,
        None => fresh_session(scratch).await,
    };
    let started = std::time::Instant::now();
    let (back, outcome) = run_one(s, script.clone(), limit).await;
    if let Some(ms) = std::env::var("FSQL_FUZZ_SLOW_MS")
        .ok()
        .and_then(|v| v.parse::<u128>().ok())
        && started.elapsed().as_millis() >= ms
    {
        let head: String = script.chars().take(100).collect();
        eprintln!(
            "slow {} ms, {} bytes: {head:?}",
            started.elapsed().as_millis(),
            script.len()
        );
    }
    *session = back;
    match outcome {
        Ok(true) => report.ran_ok += 1,
        Ok(false) => {}
        Err((kind, message)) => report.findings.push((kind, script, message)),
    }
}

/// Corrupted copies of `file` (truncated, bytes flipped, bytes inserted).
fn corruptions(rng: &mut ChaCha8Rng, bytes: &[u8], n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let mut b = bytes.to_vec();
            if b.is_empty() {
                return b;
            }
            match rng.random_range(0..3) {
                0 => b.truncate(rng.random_range(0..b.len())),
                1 => {
                    for _ in 0..rng.random_range(1..8) {
                        let i = rng.random_range(0..b.len());
                        b[i] ^= 1 << rng.random_range(0..8);
                    }
                }
                _ => {
                    let i = rng.random_range(0..b.len());
                    let junk: Vec<u8> =
                        (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                    b.splice(i..i, junk);
                }
            }
            b
        })
        .collect()
}

/// LOADs `per_file` corrupted copies of each of `files` (CSV, JSON,
/// Parquet) on the local engine: every one loads or fails with a spanned
/// error.
pub async fn files(files: &[PathBuf], seed: u64, per_file: usize, limit: Duration) -> Report {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = Report::default();
    let mut session = Some(fresh_session(scratch.path()).await);
    for file in files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("csv");
        for (i, b) in corruptions(&mut rng, &bytes, per_file)
            .into_iter()
            .enumerate()
        {
            let path = scratch.path().join(format!("bad{i}.{ext}"));
            if std::fs::write(&path, b).is_err() {
                continue;
            }
            report.files += 1;
            let options = if ext == "csv" {
                " (header=true, infer_schema=true)"
            } else {
                ""
            };
            let script = format!("x = LOAD '{}'{options}\nSELECT * FROM x", path.display());
            run_counted(&mut session, scratch.path(), script, limit, &mut report).await;
        }
    }
    report
}
