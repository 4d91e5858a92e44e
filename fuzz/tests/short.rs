//! The fuzzers' short, fixed-seed runs, part of `cargo test` (about a minute
//! in all on the CI machine): the differential query fuzzer (three engines,
//! DuckDB, ternary logic partitioning), the script fuzzer on the three
//! engines, mutated scripts and corrupted files. Any finding that is not a
//! known difference (`fuzz/src/known.rs`) fails the test, with the seed that
//! replays it (`fsql-fuzz queries --seed N --cases 1`).

use std::path::Path;
use std::time::Duration;

use fsql_fuzz::differential::{Finding, Fuzzer};
use fsql_fuzz::{duck, known, mutate};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(64 << 20)
        .build()
        .expect("a runtime")
}

/// Runs `f` on a thread with a big stack (planning deep expressions).
fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("a thread")
        .join()
        .expect("no panic")
}

fn unknown(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| known::classify(f).is_none())
        .map(|f| format!("{} (seed {}):\n{}\n{}", f.kind, f.seed, f.sql, f.detail))
        .collect()
}

#[test]
fn differential_queries_agree() {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-venv");
    let python = duck::python(&venv).expect("a venv with duckdb");
    let (stats, new) = big_stack(move || {
        runtime().block_on(async move {
            let d = duck::Duck::start(&python).expect("DuckDB starts");
            let mut f = Fuzzer::new(Some(d)).await.expect("engines open");
            for seed in 1000..1008 {
                f.case(seed, 20).await.expect("a case runs");
            }
            (f.stats.clone(), unknown(&f.findings))
        })
    });
    println!("{stats:?}");
    assert!(
        stats.compared_with_duckdb > 100,
        "too few comparisons: {stats:?}"
    );
    assert!(stats.tlp_checks > 10, "{stats:?}");
    assert!(new.is_empty(), "new findings:\n{}", new.join("\n\n"));
}

#[test]
fn scripts_agree_on_every_engine() {
    let new = big_stack(|| {
        runtime().block_on(async {
            let mut f = Fuzzer::new(None).await.expect("engines open");
            for seed in 2000..2008 {
                f.script_case(seed, 15).await.expect("a case runs");
            }
            assert!(f.stats.queries >= 120);
            unknown(&f.findings)
        })
    });
    assert!(new.is_empty(), "new findings:\n{}", new.join("\n\n"));
}

#[test]
fn mutated_scripts_and_corrupted_files_never_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let report = big_stack(move || {
        runtime().block_on(async move {
            let limit = Duration::from_secs(20);
            let mut r = mutate::scripts(&root, 7, 400, limit).await;
            let data = root.join("tests/data");
            let mut files: Vec<_> = std::fs::read_dir(&data)
                .expect("tests/data")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            // And a Parquet file with every kind of column.
            let dir = tempfile::tempdir().expect("a folder");
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
            for t in fsql_fuzz::data::tables(&mut rng, 2) {
                files.push(t.write(dir.path()).expect("parquet written"));
            }
            let f = mutate::files(&files, 7, 10, limit).await;
            r.files = f.files;
            r.findings.extend(f.findings);
            r
        })
    });
    println!(
        "scripts {} (parsed {}, ran {}), files {}",
        report.scripts, report.parsed, report.ran_ok, report.files
    );
    assert!(report.scripts == 400 && report.files >= 30, "{report:?}");
    let shown: Vec<String> = report
        .findings
        .iter()
        .map(|(k, s, m)| format!("{k}: {m}\n{}", s.chars().take(300).collect::<String>()))
        .collect();
    assert!(shown.is_empty(), "findings:\n{}", shown.join("\n\n"));
}
