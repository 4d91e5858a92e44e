//! TPC-H through fsql's library API (in-process), on each engine in one run:
//! `cargo bench -p fsql-engine --bench tpch -- DATA_DIR [--engines local,threads,cluster] [--runs 3] [--queries DIR] [--set key=value]...`
//!
//! DATA_DIR holds one Parquet file per table (`../shared/bench/tpch/gen.sh`).
//! Prints CSV like `../shared/bench/tpch/run_anchor.py` does
//! (`engine,query,best_ms,median_ms,rows`: one warm-up, then `--runs` timed
//! runs of planning + execution), so the two can be compared in one table.
//! Not a test: it asserts nothing about time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use fsql_engine::{ClusterOptions, CollectSink, Engine, Session};

const TABLES: [&str; 8] = [
    "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let Some(data) = args.iter().find(|a| !a.starts_with("--")).filter(|a| {
        // a flag's value is not the data dir
        !["--engines", "--runs", "--queries", "--set"]
            .iter()
            .any(|f| value(f).as_deref() == Some(a.as_str()))
    }) else {
        eprintln!(
            "usage: tpch DATA_DIR [--engines local,threads,cluster] [--runs N] [--queries DIR]"
        );
        std::process::exit(2);
    };
    let data = std::path::absolute(data).expect("data dir");
    let runs: usize = value("--runs").and_then(|r| r.parse().ok()).unwrap_or(3);
    let queries = value("--queries").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/tpch/queries")
    });
    let engines: Vec<Engine> = value("--engines")
        .unwrap_or_else(|| "threads,cluster".into())
        .split(',')
        .map(|e| e.parse().expect("engine name"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("engine,query,best_ms,median_ms,rows");
    // `--set key=value` (repeatable): a DataFusion/Ballista setting for every session.
    let sets: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--set")
        .map(|w| w[1].clone())
        .collect();
    for engine in engines {
        rt.block_on(run_engine(engine, &data, &queries, runs, &sets));
    }
}

async fn run_engine(engine: Engine, data: &Path, queries: &Path, runs: usize, sets: &[String]) {
    let mut session = Session::open(
        engine,
        ClusterOptions::default(),
        Box::new(CollectSink::default()),
    )
    .await
    .expect("session");
    for set in sets {
        let (k, v) = set.split_once('=').expect("--set key=value");
        session
            .run(&format!("SET {k} = '{v}'"))
            .await
            .unwrap_or_else(|e| panic!("SET {k}: {e}"));
    }
    for t in TABLES {
        let file = data.join(format!("{t}.parquet"));
        session
            .run(&format!("{t} = LOAD PARQUET '{}'", file.display()))
            .await
            .unwrap_or_else(|e| panic!("registering {t}: {e}"));
    }
    for q in 1..=22 {
        let sql =
            std::fs::read_to_string(queries.join(format!("q{q:02}.sql"))).expect("query file");
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0;
        for i in 0..=runs {
            let start = Instant::now();
            session
                .run(&sql)
                .await
                .unwrap_or_else(|e| panic!("q{q:02} on {engine}: {e}"));
            let df = session.last().expect("a result").clone();
            let batches = df
                .collect()
                .await
                .unwrap_or_else(|e| panic!("q{q:02} on {engine}: {e}"));
            rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
            if i > 0 {
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let best = times.first().copied().unwrap_or(0.0);
        let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
        println!("fsql-{engine},q{q:02},{best:.1},{median:.1},{rows}");
    }
}
