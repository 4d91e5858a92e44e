//! The parser never panics and always points inside the script: every prefix
//! of every golden-file record and example script, and thousands of seeded
//! random mutations of them, either parse or give an error whose line and
//! column exist in the input (the column may be one past the end of a line).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut texts = Vec::new();
    for dir in ["queries", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("corpus folder") {
            let path = entry.expect("dir entry").path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match path.extension().and_then(|e| e.to_str()) {
                Some("slt") => texts.extend(records(&text)),
                Some("fsql") => texts.push(text),
                _ => {}
            }
        }
    }
    assert!(texts.len() > 50, "corpus too small: {}", texts.len());
    texts
}

/// The statement text of each sqllogictest record.
fn records(slt: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in slt.lines() {
        if line.starts_with("statement") || line.starts_with("query") {
            current = Some(String::new());
        } else if let Some(text) = current.as_mut() {
            if line.is_empty() || line == "----" || line.starts_with("----") {
                out.push(std::mem::take(text));
                current = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    out.extend(current);
    out
}

fn check(text: &str) {
    let result = catch_unwind(AssertUnwindSafe(|| fsql_sql::parse(text)));
    let parsed = match result {
        Ok(p) => p,
        Err(_) => panic!("parser panicked on:\n{text}"),
    };
    if let Err(e) = parsed {
        let lines: Vec<&str> = text.split('\n').collect();
        let (line, column) = (e.span.start.line as usize, e.span.start.column as usize);
        assert!(
            line >= 1 && line <= lines.len().max(1),
            "error line {line} outside the script ({} lines): {e}\n{text}",
            lines.len()
        );
        let width = lines.get(line - 1).map_or(0, |l| l.chars().count());
        assert!(
            column >= 1 && column <= width + 1,
            "error column {column} outside line {line} (width {width}): {e}\n{text}"
        );
        assert!(
            !e.message.trim().is_empty(),
            "empty error message for:\n{text}"
        );
    }
}

#[test]
fn every_prefix_parses_or_fails_cleanly() {
    for text in corpus() {
        let ends: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        for end in ends {
            check(&text[..end]);
        }
    }
}

#[test]
fn random_mutations_parse_or_fail_cleanly() {
    const TRICKY: &[&str] = &[
        "'",
        "\"",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        "{{",
        "}}",
        ":",
        ",",
        ";",
        "\n",
        "=",
        "*",
        "-",
        "--",
        "/*",
        "`",
        "\\",
        "SELECT",
        "FROM",
        "PRINT",
        "LOAD",
        "TAKE",
        "ROWS",
        "SCHEMA",
        "NULL",
        "é",
        " ",
        "0",
        "-1",
        "99999999999999999999999",
    ];
    let corpus = corpus();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..20_000 {
        let base = &corpus[rng.random_range(0..corpus.len())];
        let mut text = base.clone();
        for _ in 0..rng.random_range(1..4) {
            let cuts: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let at = cuts[rng.random_range(0..cuts.len())];
            let insert = TRICKY[rng.random_range(0..TRICKY.len())];
            if rng.random_bool(0.5) && at < text.len() {
                // Replace one character.
                let next = cuts.iter().copied().find(|&c| c > at).unwrap_or(text.len());
                text.replace_range(at..next, insert);
            } else {
                text.insert_str(at, insert);
            }
        }
        check(&text);
    }
}
