//! Random FugueSQL scripts on fsql's three engines, which must give the
//! same rows: chains of statements over the case's tables, each taking the
//! previous dataframe (anonymous chaining) or a named one — SELECT with a
//! random predicate, TAKE per group, SAMPLE with SEED, FILL NULLS,
//! DROP ROWS, DROP/RENAME/ALTER COLUMNS, PERSIST, ZIP-free joins — ending
//! in one query whose rows are compared.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{self, Kind, Table};
use crate::differential::{Finding, Fuzzer, agree, describe};
use crate::query::Gen;

/// One random script over `tables`.
pub fn script(rng: &mut ChaCha8Rng, tables: &[Table]) -> String {
    let t = tables.choose(rng).expect("tables");
    // The columns of the current dataframe, as the script goes.
    let mut columns: Vec<(String, Kind)> =
        t.columns.iter().map(|c| (c.name.clone(), c.kind)).collect();
    let mut lines = vec![format!("x0 = SELECT * FROM {}", t.name)];
    let steps = rng.random_range(1..5);
    for i in 1..=steps {
        let scope: Vec<(String, Kind)> = columns.clone();
        let name = format!("x{i}");
        let prev = format!("x{}", i - 1);
        let line = match rng.random_range(0..9) {
            0 => {
                let p = Gen::new(rng, tables).predicate(&scope, 1);
                // Anonymous chaining: no FROM takes the previous result.
                format!("{name} = SELECT * WHERE {p}")
            }
            1 => {
                let by = &columns[0].0;
                let all: Vec<String> = columns.iter().map(|(c, _)| format!("{c} DESC")).collect();
                format!(
                    "{name} = TAKE {} ROWS FROM {prev} PREPARTITION BY {by} PRESORT {}",
                    rng.random_range(0..3),
                    all.join(", ")
                )
            }
            2 => format!(
                "{name} = SAMPLE {} PERCENT SEED {} FROM {prev}",
                rng.random_range(10..90),
                rng.random_range(0..5)
            ),
            3 => {
                let fills: Vec<String> = columns
                    .iter()
                    .filter_map(|(c, k)| match k {
                        Kind::Int => Some(format!("{c}:0")),
                        Kind::Float => Some(format!("{c}:-1.5")),
                        Kind::Str => Some(format!("{c}:'?'")),
                        Kind::Bool => Some(format!("{c}:false")),
                        _ => None,
                    })
                    .collect();
                if fills.is_empty() {
                    format!("{name} = SELECT * FROM {prev}")
                } else {
                    format!(
                        "{name} = FILL NULLS PARAMS {} FROM {prev}",
                        fills.join(", ")
                    )
                }
            }
            4 => {
                let how = *["ANY", "ALL"].choose(rng).expect("how");
                format!("{name} = DROP ROWS IF {how} NULLS FROM {prev}")
            }
            5 if columns.len() > 1 => {
                let (dropped, _) = columns.remove(columns.len() - 1);
                format!("{name} = DROP COLUMNS {dropped} FROM {prev}")
            }
            6 => {
                let (old, kind) = columns[columns.len() - 1].clone();
                let new = format!("{old}_r");
                let last = columns.len() - 1;
                columns[last] = (new.clone(), kind);
                format!("{name} = RENAME COLUMNS {old}:{new} FROM {prev}")
            }
            7 => {
                let ints: Vec<usize> = (0..columns.len())
                    .filter(|&j| columns[j].1 == Kind::Int)
                    .collect();
                match ints.choose(rng) {
                    Some(&j) => {
                        let c = columns[j].0.clone();
                        columns[j].1 = Kind::Str;
                        format!("{name} = ALTER COLUMNS {c}:str FROM {prev}")
                    }
                    None => format!("{name} = SELECT * FROM {prev} PERSIST"),
                }
            }
            _ => format!("{name} = SELECT * FROM {prev} PERSIST"),
        };
        lines.push(line);
    }
    lines.push(format!("SELECT * FROM x{steps}"));
    lines.join("\n")
}

impl Fuzzer {
    /// One script case: tables from `seed`, then `scripts` scripts on the
    /// three engines.
    pub async fn script_case(&mut self, seed: u64, scripts: usize) -> Result<(), String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c81);
        let count = rng.random_range(1..3);
        let tables = data::tables(&mut rng, count);
        self.load(&tables).await?;
        self.stats.cases += 1;
        for _ in 0..scripts {
            let text = script(&mut rng, &tables);
            self.stats.queries += 1;
            let outcomes = self.engines.run_all(&text).await;
            let (_, local) = &outcomes[0];
            for (engine, o) in &outcomes {
                let crash = o.is_crash();
                if crash || !agree(local, o, false) {
                    self.findings.push(Finding {
                        kind: if crash { "crash" } else { "engines" },
                        seed,
                        sql: text.clone(),
                        detail: format!("local: {}\n{engine}: {}", describe(local), describe(o)),
                        tables: tables.clone(),
                        ordered: false,
                        expected: None,
                        query: None,
                        fsql_rows: None,
                    });
                    break;
                }
            }
        }
        Ok(())
    }
}
