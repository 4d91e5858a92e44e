//! `fsql-fuzz`: the fuzzers' long runs (`fuzz/run.sh` drives it).
//!
//! ```text
//! fsql-fuzz queries   [--seed N] [--seconds S] [--cases C] [--venv DIR] [--out DIR]
//! fsql-fuzz scripts   [--seed N] [--seconds S] [--cases C]
//! fsql-fuzz mutations [--seed N] [--seconds S]
//! fsql-fuzz files     [--seed N] [--seconds S]
//! ```
//!
//! Prints the counts, the rate, every finding not already known (see
//! `known.rs`), and writes each new finding, shrunk, as a golden file to
//! `--out` (default `fuzz/findings/`). Exit status 1 when there is one.
//! `--show-known` also prints every finding a known difference explains.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fsql_fuzz::differential::Fuzzer;
use fsql_fuzz::{duck, known, mutate, shrink};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    // Planning deep expressions recurses (as fsql's own main thread allows).
    let code = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(run)
        .expect("the fuzzer's thread starts")
        .join()
        .unwrap_or(3);
    std::process::exit(code);
}

fn run() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).cloned().unwrap_or_else(|| "queries".into());
    let seed: u64 = arg(&args, "--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let cases: u64 = arg(&args, "--cases")
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let show_known = args.iter().any(|a| a == "--show-known");
    let seconds: f64 = arg(&args, "--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = arg(&args, "--venv")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/fuzz-venv"));
    let out = arg(&args, "--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("fuzz/findings"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(64 << 20)
        .build()
        .expect("a runtime");
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let new = match kind.as_str() {
        "queries" | "scripts" => runtime.block_on(async {
            let duck = if kind == "queries" {
                let python = duck::python(&venv).expect("the DuckDB venv");
                Some(duck::Duck::start(&python).expect("DuckDB starts"))
            } else {
                None
            };
            let mut f = Fuzzer::new(duck).await.expect("engines open");
            let mut s = seed;
            while Instant::now() < until && s - seed < cases {
                let result = if kind == "queries" {
                    f.case(s, 20).await
                } else {
                    f.script_case(s, 20).await
                };
                if let Err(e) = result {
                    eprintln!("case {s}: {e}");
                }
                s += 1;
            }
            let secs = started.elapsed().as_secs_f64();
            println!("{:?}", f.stats);
            println!(
                "{:.1} {kind}/s over {secs:.0} s",
                f.stats.queries as f64 / secs
            );
            let findings = std::mem::take(&mut f.findings);
            let mut counts = std::collections::BTreeMap::new();
            let mut new = 0;
            for finding in findings {
                if let Some(k) = known::classify(&finding) {
                    *counts.entry(k).or_insert(0) += 1;
                    if show_known {
                        println!("--- known {k} (seed {})\n{}", finding.seed, finding.sql);
                    }
                    continue;
                }
                new += 1;
                println!(
                    "--- {} (seed {})\n{}\n{}",
                    finding.kind, finding.seed, finding.sql, finding.detail
                );
                let small = match &finding.query {
                    Some(q) => shrink::shrink(&mut f, &finding, q).await.0,
                    None => finding.clone(),
                };
                let _ = std::fs::create_dir_all(&out);
                let file = out.join(format!("{}-{}-{new}.slt", finding.kind, finding.seed));
                if std::fs::write(&file, shrink::golden(&small)).is_ok() {
                    println!("written: {}", file.display());
                }
            }
            println!("known differences met: {counts:?}");
            new
        }),
        "mutations" | "files" => runtime.block_on(async {
            let limit = Duration::from_secs(10);
            let mut total = mutate::Report::default();
            let mut s = seed;
            while Instant::now() < until {
                let r = if kind == "mutations" {
                    mutate::scripts(&root, s, 500, limit).await
                } else {
                    let data = root.join("tests/data");
                    let files: Vec<PathBuf> = std::fs::read_dir(&data)
                        .map(|d| {
                            d.flatten()
                                .map(|e| e.path())
                                .filter(|p| p.is_file())
                                .collect()
                        })
                        .unwrap_or_default();
                    mutate::files(&files, s, 5, limit).await
                };
                total.scripts += r.scripts;
                total.parsed += r.parsed;
                total.ran_ok += r.ran_ok;
                total.files += r.files;
                total.findings.extend(r.findings);
                s += 1;
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "scripts {} (parsed {}, ran {}), files {}, {:.1}/s over {secs:.0} s",
                total.scripts,
                total.parsed,
                total.ran_ok,
                total.files,
                (total.scripts + total.files) as f64 / secs
            );
            for (k, script, message) in &total.findings {
                let short: String = script.chars().take(400).collect();
                println!("--- {k}\n{short}\n{message}");
            }
            total.findings.len()
        }),
        other => {
            eprintln!("unknown fuzzer {other}: queries, scripts, mutations, files");
            return 2;
        }
    };
    if new == 0 { 0 } else { 1 }
}
