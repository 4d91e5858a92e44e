//! A benchmark suite through fsql's library API (in-process), on each
//! engine in one run:
//!
//! `cargo bench -p fsql-engine --bench suite -- --setup FILE --queries PATH [--queries PATH]... [--engines local,threads,cluster] [--runs 3] [--set key=value]...`
//!
//! `--setup` is an fsql script run once per engine (the LOADs). `--queries`
//! is a directory of `qNN.sql` files (TPC-H) or one file of queries, each
//! starting with a `-- name` line (h2o, the script benchmark). A query may be
//! a whole multi-statement fsql script; its time is running it and
//! collecting its last dataframe. Prints CSV like `bench/anchor.py` does
//! (`engine,query,best_ms,median_ms,rows`: one warm-up, then `--runs` timed
//! runs), so the two can be compared in one table. Not a test: it asserts
//! nothing about time.

use std::path::Path;
use std::time::Instant;

use fsql_engine::{Engine, Session};

struct Args {
    setup: String,
    queries: Vec<(String, String)>,
    engines: Vec<Engine>,
    runs: usize,
    sets: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: suite --setup FILE --queries PATH [--queries PATH]... [--engines local,threads,cluster] [--runs N] [--set key=value]..."
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        setup: String::new(),
        queries: Vec::new(),
        engines: vec![Engine::Threads],
        runs: 3,
        sets: Vec::new(),
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else { usage() };
        match flag.as_str() {
            "--setup" => args.setup = read(Path::new(&value)),
            "--queries" => args.queries.extend(queries(Path::new(&value))),
            "--engines" => {
                args.engines = value
                    .split(',')
                    .map(|e| e.parse().unwrap_or_else(|e| panic!("{e}")))
                    .collect()
            }
            "--runs" => args.runs = value.parse().unwrap_or_else(|_| usage()),
            "--set" => args.sets.push(value),
            _ => usage(),
        }
    }
    if args.queries.is_empty() {
        usage()
    }
    args
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (name, text) of every query under `path`: `qNN.sql` files of a
/// directory, or the `-- name` sections of one file.
fn queries(path: &Path) -> Vec<(String, String)> {
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .expect("queries dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        return files
            .iter()
            .map(|p| {
                let name = p.file_stem().expect("file name").to_string_lossy().into();
                (name, read(p))
            })
            .collect();
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for line in read(path).lines() {
        match line.strip_prefix("-- ") {
            Some(name) if !name.contains(' ') => out.push((name.to_string(), String::new())),
            _ => {
                if let Some((_, text)) = out.last_mut() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    out
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("engine,query,best_ms,median_ms,rows");
    for &engine in &args.engines {
        rt.block_on(run_engine(engine, &args));
    }
}

async fn run_engine(engine: Engine, args: &Args) {
    let mut session = Session::new(engine).await.expect("session");
    // `--set key=value`: a DataFusion/Ballista setting for every session.
    for set in &args.sets {
        let (k, v) = set.split_once('=').expect("--set key=value");
        session
            .run(&format!("SET {k} = '{v}'"))
            .await
            .unwrap_or_else(|e| panic!("SET {k}: {e}"));
    }
    if !args.setup.trim().is_empty() {
        session
            .run(&args.setup)
            .await
            .unwrap_or_else(|e| panic!("setup on {engine}: {e}"));
    }
    for (name, text) in &args.queries {
        let text = text.trim().trim_end_matches(';');
        let mut times = Vec::with_capacity(args.runs);
        let mut rows = 0;
        for i in 0..=args.runs {
            let start = Instant::now();
            session
                .run(text)
                .await
                .unwrap_or_else(|e| panic!("{name} on {engine}: {e}"));
            let df = session.last().expect("a result").clone();
            let batches = df
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{name} on {engine}: {e}"));
            rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
            if i > 0 {
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let best = times.first().copied().unwrap_or(0.0);
        let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
        println!("fsql-{engine},{name},{best:.1},{median:.1},{rows}");
    }
}
