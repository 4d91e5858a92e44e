//! Answers in one normal form, so fsql's Arrow results and DuckDB's Python
//! values compare as text: numbers to 10 significant digits (`1`, `1.0` and
//! `1.00` are one value; `-0` is `0`; NaN and ±inf by name), timestamps
//! with a space between date and time, booleans as `true`/`false`, NULL as
//! None. Unordered answers compare as multisets (sorted rows).

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

pub type Rows = Vec<Vec<Option<String>>>;

/// One cell's normal form.
pub fn cell(text: Option<&str>) -> Option<String> {
    let t = text?;
    if let Ok(x) = t.parse::<f64>()
        && !t.is_empty()
        && t.trim() == t
        && !t.starts_with('+')
    {
        return Some(number(x));
    }
    let b = t.as_bytes();
    // 2020-09-13T12:26:40 (Arrow) and 2020-09-13 12:26:40 (DuckDB).
    if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' {
        return Some(format!("{} {}", &t[..10], &t[11..]));
    }
    Some(t.to_string())
}

fn number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    format!("{x:.9e}")
}

/// Normal rows of Arrow batches.
pub fn of_batches(batches: &[RecordBatch]) -> Rows {
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable column"))
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(col, f)| {
                        if col.is_null(r) {
                            None
                        } else {
                            cell(Some(&f.value(r).to_string()))
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

/// Normal rows of DuckDB's answer.
pub fn of_duck(rows: &[Vec<Option<String>>]) -> Rows {
    rows.iter()
        .map(|r| r.iter().map(|c| cell(c.as_deref())).collect())
        .collect()
}

/// Whether two answers are the same: in order when `ordered`, else as
/// multisets.
pub fn same(a: &Rows, b: &Rows, ordered: bool) -> bool {
    if ordered {
        return a == b;
    }
    let (mut a, mut b) = (a.clone(), b.clone());
    a.sort();
    b.sort();
    a == b
}

/// A short rendering of rows for reports.
pub fn show(rows: &Rows) -> String {
    let mut s = String::new();
    for r in rows.iter().take(12) {
        let cells: Vec<String> = r
            .iter()
            .map(|c| c.clone().unwrap_or_else(|| "NULL".into()))
            .collect();
        s.push_str(&cells.join(" | "));
        s.push('\n');
    }
    if rows.len() > 12 {
        s.push_str(&format!("... ({} rows)\n", rows.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_meet_in_one_form() {
        assert_eq!(cell(Some("1")), cell(Some("1.0")));
        assert_eq!(cell(Some("1.50")), cell(Some("1.5")));
        assert_eq!(cell(Some("-0")), cell(Some("0.0")));
        assert_eq!(cell(Some("NaN")), cell(Some("nan")));
        assert_eq!(cell(Some("inf")), Some("inf".into()));
        assert_eq!(
            cell(Some("2020-09-13T12:26:40")),
            cell(Some("2020-09-13 12:26:40"))
        );
        assert_eq!(cell(Some(" 1")), Some(" 1".into()));
        assert_eq!(cell(None), None);
        assert!(same(
            &vec![vec![Some("1".into())], vec![None]],
            &vec![vec![None], vec![Some("1".into())]],
            false
        ));
    }
}
