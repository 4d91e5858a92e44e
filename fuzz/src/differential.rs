//! The differential query fuzzer: random tables and queries, run on fsql's
//! three engines and on DuckDB, and checked by ternary logic partitioning
//! (SQLancer's TLP: the rows of a query are exactly the rows where its
//! predicate is true, false or NULL, taken together).
//!
//! A case is a seed: its tables and queries follow from it alone, so any
//! finding is reproduced by `fsql-fuzz queries --seed N --cases 1`.

use std::path::PathBuf;

use fsql_engine::Engine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{self, Table};
use crate::duck::Duck;
use crate::engines::{Engines, Outcome};
use crate::query::{Expr, Gen, Query};
use crate::rows::{self, Rows};

/// What a check found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: &'static str,
    pub seed: u64,
    pub sql: String,
    pub detail: String,
    pub tables: Vec<Table>,
    pub ordered: bool,
    /// The answer believed right (DuckDB's, else the local engine's).
    pub expected: Option<Rows>,
    /// The generated query (for the shrinker), when there is one.
    pub query: Option<Query>,
    /// fsql's answer, for a DuckDB difference.
    pub fsql_rows: Option<Rows>,
}

/// Counts of one run.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub cases: u64,
    pub queries: u64,
    pub compared_with_duckdb: u64,
    pub both_failed: u64,
    pub only_fsql_failed: u64,
    pub only_duckdb_failed: u64,
    pub tlp_checks: u64,
    /// The first messages of queries only fsql rejected (for the report).
    pub fsql_errors: Vec<String>,
}

pub struct Fuzzer {
    pub engines: Engines,
    pub duck: Option<Duck>,
    dir: tempfile::TempDir,
    pub stats: Stats,
    pub findings: Vec<Finding>,
}

/// The engines every check runs on.
pub const ENGINES: [Engine; 3] = [Engine::Local, Engine::Threads, Engine::Cluster];

impl Fuzzer {
    pub async fn new(duck: Option<Duck>) -> Result<Fuzzer, String> {
        Ok(Fuzzer {
            engines: Engines::open(&ENGINES).await?,
            duck,
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
            stats: Stats::default(),
            findings: Vec::new(),
        })
    }

    /// Writes `tables` and binds them everywhere.
    pub async fn load(&mut self, tables: &[Table]) -> Result<(), String> {
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for t in tables {
            let path = t.write(self.dir.path()).map_err(|e| e.to_string())?;
            files.push((t.name.clone(), path));
        }
        self.engines.load(&files).await?;
        if let Some(d) = &mut self.duck {
            d.load(&files)?;
        }
        Ok(())
    }

    /// One case: tables from `seed`, then `queries` queries on them.
    pub async fn case(&mut self, seed: u64, queries: usize) -> Result<(), String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let count = rng.random_range(1..4);
        let tables = data::tables(&mut rng, count);
        self.load(&tables).await?;
        self.stats.cases += 1;
        for _ in 0..queries {
            let query = Gen::new(&mut rng, &tables).query();
            if let Some(f) = self.check(&query, seed, &tables).await? {
                self.findings.push(f);
            }
            if rng.random_bool(0.3) {
                let mut g = Gen::new(&mut rng, &tables);
                let t = &tables[0];
                let scope: Vec<(String, data::Kind)> = t
                    .columns
                    .iter()
                    .map(|c| (format!("a.{}", c.name), c.kind))
                    .collect();
                let p = g.predicate(&scope, 2);
                if let Some(f) = self.tlp(&t.name, &p, seed, &tables).await {
                    self.findings.push(f);
                }
            }
        }
        Ok(())
    }

    /// Runs `query` everywhere; a finding when the answers disagree.
    pub async fn check(
        &mut self,
        query: &Query,
        seed: u64,
        tables: &[Table],
    ) -> Result<Option<Finding>, String> {
        let sql = query.to_string();
        self.stats.queries += 1;
        let ordered = query.ordered();
        let outcomes = self.engines.run_all(&sql).await;
        let finding = |kind: &'static str, detail: String, expected: Option<Rows>| Finding {
            kind,
            seed,
            sql: sql.clone(),
            detail,
            tables: tables.to_vec(),
            ordered,
            expected,
            query: Some(query.clone()),
            fsql_rows: None,
        };
        for (engine, o) in &outcomes {
            if o.is_crash() {
                return Ok(Some(finding("crash", format!("{engine}: {o:?}"), None)));
            }
            if let Outcome::Error { message, .. } = o
                && message.starts_with("hang")
            {
                return Ok(Some(finding("hang", format!("{engine}: {message}"), None)));
            }
        }
        let (_, local) = &outcomes[0];
        for (engine, o) in &outcomes[1..] {
            if !agree(local, o, ordered) {
                return Ok(Some(finding(
                    "engines",
                    format!("local: {}\n{engine}: {}", describe(local), describe(o)),
                    match local {
                        Outcome::Rows(r) => Some(r.clone()),
                        _ => None,
                    },
                )));
            }
        }
        let Some(duck) = &mut self.duck else {
            return Ok(None);
        };
        let answer = duck.query(&sql)?;
        match (local, answer) {
            (Outcome::Rows(ours), Ok(theirs)) => {
                self.stats.compared_with_duckdb += 1;
                let theirs = rows::of_duck(&theirs);
                if !rows::same(ours, &theirs, ordered) {
                    let mut f = finding(
                        "duckdb",
                        format!(
                            "fsql:\n{}DuckDB:\n{}",
                            rows::show(ours),
                            rows::show(&theirs)
                        ),
                        Some(theirs),
                    );
                    f.fsql_rows = Some(ours.clone());
                    return Ok(Some(f));
                }
            }
            (Outcome::Error { message, .. }, Ok(_)) => {
                self.stats.only_fsql_failed += 1;
                if self.stats.fsql_errors.len() < 20 {
                    self.stats
                        .fsql_errors
                        .push(format!("{message}\n    in: {sql}"));
                }
            }
            (Outcome::Rows(_), Err(_)) => self.stats.only_duckdb_failed += 1,
            (Outcome::Error { .. }, Err(_)) => self.stats.both_failed += 1,
        }
        Ok(None)
    }

    /// TLP on `table` with predicate `p`: all rows = rows where p, where
    /// NOT p, where p IS NULL (UNION ALL), as multisets, on every engine.
    pub async fn tlp(
        &mut self,
        table: &str,
        p: &Expr,
        seed: u64,
        tables: &[Table],
    ) -> Option<Finding> {
        self.stats.tlp_checks += 1;
        let whole = format!("SELECT * FROM {table} AS a");
        let parts = format!(
            "SELECT * FROM {table} AS a WHERE {p} UNION ALL SELECT * FROM {table} AS a WHERE NOT {p} UNION ALL SELECT * FROM {table} AS a WHERE ({p}) IS NULL"
        );
        for i in 0..self.engines.sessions.len() {
            let engine = self.engines.sessions[i].0;
            let all = self.engines.run_on(i, &whole).await;
            let split = self.engines.run_on(i, &parts).await;
            if let Outcome::Error { .. } = split {
                if split.is_crash() {
                    return Some(Finding {
                        kind: "crash",
                        seed,
                        sql: parts,
                        detail: format!("{engine}: {split:?}"),
                        tables: tables.to_vec(),
                        ordered: false,
                        expected: None,
                        query: None,
                        fsql_rows: None,
                    });
                }
                // A predicate the engine rejects (types): not a TLP case.
                return None;
            }
            if !agree(&all, &split, false) {
                return Some(Finding {
                    kind: "tlp",
                    seed,
                    sql: parts,
                    detail: format!(
                        "{engine}: all rows:\n{}partitions:\n{}",
                        describe(&all),
                        describe(&split)
                    ),
                    tables: tables.to_vec(),
                    ordered: false,
                    expected: match all {
                        Outcome::Rows(r) => Some(r),
                        _ => None,
                    },
                    query: None,
                    fsql_rows: None,
                });
            }
        }
        None
    }
}

/// Two engines agree: the same rows, or both an error.
pub fn agree(a: &Outcome, b: &Outcome, ordered: bool) -> bool {
    match (a, b) {
        (Outcome::Rows(x), Outcome::Rows(y)) => rows::same(x, y, ordered),
        (Outcome::Error { .. }, Outcome::Error { .. }) => true,
        _ => false,
    }
}

pub fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Rows(r) => rows::show(r),
        Outcome::Error { message, .. } => format!("error: {message}\n"),
    }
}
