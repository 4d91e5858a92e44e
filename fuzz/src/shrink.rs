//! A finding made small, and written as a golden file ready to commit.
//!
//! Shrinking drops the query's clauses (WHERE, GROUP BY/HAVING, ORDER BY,
//! LIMIT, DISTINCT, output columns) and the tables' rows, one at a time,
//! keeping each step while the same kind of finding still shows. The
//! golden file creates the tables with typed VALUES (NaN, -0 and the other
//! odd values written exactly) and expects the answer believed right:
//! DuckDB's for a DuckDB difference, the local engine's otherwise.

use std::fmt::Write as _;

use crate::data::{Kind, Value};
use crate::differential::{Finding, Fuzzer};
use crate::query::Query;

/// Variants of `q` with one part removed.
fn smaller_queries(q: &Query) -> Vec<Query> {
    let Query::Select(s) = q else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut crate::query::Select)| {
        let mut t = s.as_ref().clone();
        f(&mut t);
        out.push(Query::Select(Box::new(t)));
    };
    if s.filter.is_some() {
        push(&|t| t.filter = None);
    }
    if s.having.is_some() {
        push(&|t| t.having = None);
    }
    if s.limit.is_some() {
        push(&|t| t.limit = None);
    }
    if !s.order_by.is_empty() && s.limit.is_none() {
        push(&|t| t.order_by.clear());
    }
    if s.distinct {
        push(&|t| t.distinct = false);
    }
    if s.group_by.is_empty() && s.items.len() > 1 && s.order_by.is_empty() {
        for i in 0..s.items.len() {
            push(&move |t| {
                t.items.remove(i);
            });
        }
    }
    out
}

/// Shrinks `finding` (its query given as `query`) with `fuzzer`.
pub async fn shrink(fuzzer: &mut Fuzzer, finding: &Finding, query: &Query) -> (Finding, Query) {
    let mut best = finding.clone();
    let mut query = query.clone();
    let still = |f: &Option<Finding>| f.as_ref().is_some_and(|f| f.kind == finding.kind);
    // Clauses first: each try is one run on the same tables.
    let mut changed = true;
    while changed {
        changed = false;
        for candidate in smaller_queries(&query) {
            if fuzzer.load(&best.tables).await.is_err() {
                return (best, query);
            }
            if let Ok(f) = fuzzer.check(&candidate, best.seed, &best.tables).await
                && still(&f)
            {
                best = f.expect("checked");
                query = candidate;
                changed = true;
                break;
            }
        }
    }
    // Then rows, one at a time, from the biggest table.
    let mut tables = best.tables.clone();
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tables[i].rows.len()));
    for t in order {
        let mut r = 0;
        while r < tables[t].rows.len() {
            let mut trial = tables.clone();
            trial[t].rows.remove(r);
            if fuzzer.load(&trial).await.is_ok()
                && let Ok(f) = fuzzer.check(&query, best.seed, &trial).await
                && still(&f)
            {
                tables = trial;
                best = f.expect("checked");
                continue;
            }
            r += 1;
        }
    }
    (best, query)
}

fn sql_value(v: &Value, kind: Kind) -> String {
    let ty = match kind {
        Kind::Int => "BIGINT",
        Kind::Float => "DOUBLE",
        Kind::Decimal => "DECIMAL(10,2)",
        Kind::Str => "VARCHAR",
        Kind::Bool => "BOOLEAN",
        Kind::Date => "DATE",
        Kind::Timestamp => "TIMESTAMP",
    };
    let text = match v {
        Value::Null => "NULL".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "'NaN'".into(),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 {
                "'inf'".into()
            } else {
                "'-inf'".into()
            }
        }
        Value::Float(f) if *f == 0.0 && f.is_sign_negative() => "'-0.0'".into(),
        Value::Float(f) => format!("{f:?}"),
        Value::Decimal(d) => format!(
            "'{}{}.{:02}'",
            if *d < 0 { "-" } else { "" },
            d.abs() / 100,
            d.abs() % 100
        ),
        Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => {
            let date = chrono_date(*d);
            format!("'{date}'")
        }
        Value::Timestamp(t) => format!("'{}'", chrono_timestamp(*t)),
    };
    format!("CAST({text} AS {ty})")
}

/// Days since 1970-01-01 as YYYY-MM-DD (proleptic Gregorian).
fn chrono_date(days: i32) -> String {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

fn chrono_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        chrono_date(days as i32),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A golden-file cell from a normal-form cell (see crate::rows).
fn golden_cell(c: &Option<String>) -> String {
    match c {
        None => "NULL".into(),
        Some(s) if s.is_empty() => "(empty)".into(),
        Some(s) => match s.parse::<f64>() {
            Ok(x) if s.contains('e') => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    format!("{}", x as i64)
                } else {
                    format!("{x}")
                }
            }
            _ => s.clone(),
        },
    }
}

/// The finding as a sqllogictest golden file.
pub fn golden(f: &Finding) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Found by the fuzzer ({} difference, seed {}).\n# {}",
        f.kind,
        f.seed,
        f.detail.lines().next().unwrap_or("")
    );
    for t in &f.tables {
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        let select = if t.rows.is_empty() {
            let cells: Vec<String> = t
                .columns
                .iter()
                .map(|c| format!("{} AS {}", sql_value(&Value::Null, c.kind), c.name))
                .collect();
            format!("SELECT {} WHERE FALSE", cells.join(", "))
        } else {
            let rows: Vec<String> = t
                .rows
                .iter()
                .map(|r| {
                    let cells: Vec<String> = r
                        .iter()
                        .zip(&t.columns)
                        .map(|(v, c)| sql_value(v, c.kind))
                        .collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            format!(
                "SELECT * FROM (VALUES {}) AS v({})",
                rows.join(", "),
                names.join(", ")
            )
        };
        let _ = writeln!(out, "\nstatement ok\n{} = {select}", t.name);
    }
    let width = f
        .expected
        .as_ref()
        .and_then(|r| r.first().map(Vec::len))
        .unwrap_or(1);
    let sort = if f.ordered { "" } else { " rowsort" };
    let _ = writeln!(out, "\nquery {}{sort}\n{}\n----", "T".repeat(width), f.sql);
    if let Some(rows) = &f.expected {
        for r in rows {
            let cells: Vec<String> = r.iter().map(golden_cell).collect();
            let _ = writeln!(out, "{}", cells.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_the_calendar_says() {
        assert_eq!(chrono_date(0), "1970-01-01");
        assert_eq!(chrono_date(-719_162), "0001-01-01");
        assert_eq!(chrono_date(2_932_896), "9999-12-31");
        assert_eq!(chrono_date(18_000), "2019-04-14");
        assert_eq!(
            chrono_timestamp(1_600_000_000_000_000),
            "2020-09-13 12:26:40"
        );
        assert_eq!(chrono_timestamp(-1_000_000), "1969-12-31 23:59:59");
    }
}
