//! The REPL's line editor helper: tab completion (keywords, dataframe and
//! table names, column names, file paths inside quotes), syntax highlighting,
//! history hints, and multi-line input that ends at `;`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// SQL and FugueSQL keywords offered by completion and highlighted.
pub const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "INNER",
    "CROSS",
    "SEMI",
    "ANTI",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "NULLS",
    "FIRST",
    "LAST",
    "ASC",
    "DESC",
    "DISTINCT",
    "UNION",
    "ALL",
    "INTERSECT",
    "EXCEPT",
    "WITH",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "BETWEEN",
    "LIKE",
    "EXISTS",
    "OVER",
    "PARTITION",
    "VALUES",
    "EXPLAIN",
    "SHOW",
    "DESCRIBE",
    "CREATE",
    "TABLE",
    "VIEW",
    "DROP",
    "ALTER",
    "INSERT",
    "INTO",
    "TRUE",
    "FALSE",
    // FugueSQL
    "LOAD",
    "SAVE",
    "PRINT",
    "TAKE",
    "SAMPLE",
    "ROWS",
    "ROW",
    "PERCENT",
    "REPLACE",
    "SEED",
    "SCHEMA",
    "COLUMNS",
    "FILL",
    "PARAMS",
    "RENAME",
    "PREPARTITION",
    "PRESORT",
    "OVERWRITE",
    "APPEND",
    "TO",
    "SINGLE",
    "CSV",
    "PARQUET",
    "JSON",
    "ROWCOUNT",
    "TITLE",
    "PERSIST",
    "BROADCAST",
    "CHECKPOINT",
    "YIELD",
    "DATAFRAME",
    "FILE",
    "IF",
    "ANY",
];

/// What completion knows of the session: names and their columns. The REPL
/// refreshes it after every input.
#[derive(Default)]
pub struct Names {
    pub relations: Vec<(String, Vec<String>)>,
}

pub struct FsqlHelper {
    pub names: Arc<Mutex<Names>>,
    files: FilenameCompleter,
    hinter: HistoryHinter,
    color: bool,
}

impl FsqlHelper {
    pub fn new(names: Arc<Mutex<Names>>, color: bool) -> Self {
        Self {
            names,
            files: FilenameCompleter::new(),
            hinter: HistoryHinter::new(),
            color,
        }
    }
}

impl Helper for FsqlHelper {}

/// True when `pos` is inside a quoted string of `line`.
fn in_string(line: &str, pos: usize) -> bool {
    let mut quote: Option<char> = None;
    for ch in line[..pos].chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            _ => {}
        }
    }
    quote == Some('\'')
}

/// Where the word ending at `pos` starts (a byte index on a character
/// boundary: the character before the word may be several bytes long).
fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

impl Completer for FsqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if in_string(line, pos) {
            return self.files.complete(line, pos, ctx);
        }
        let start = word_start(line, pos);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let upper = word.to_uppercase();
        let lower = word.to_lowercase();
        let mut out: Vec<Pair> = Vec::new();
        let mut add = |display: &str, replacement: String| {
            if !out.iter().any(|p| p.replacement == replacement) {
                out.push(Pair {
                    display: display.to_string(),
                    replacement,
                });
            }
        };
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        for (name, columns) in &names.relations {
            if name.to_lowercase().starts_with(&lower) {
                add(name, name.clone());
            }
            for c in columns {
                if c.to_lowercase().starts_with(&lower) {
                    add(c, c.clone());
                }
            }
        }
        // Keywords in the case the user is typing.
        let typed_lower = word.chars().all(|c| !c.is_uppercase());
        for kw in KEYWORDS {
            if kw.starts_with(&upper) {
                let text = if typed_lower {
                    kw.to_lowercase()
                } else {
                    kw.to_string()
                };
                add(kw, text);
            }
        }
        Ok((start, out))
    }
}

impl Hinter for FsqlHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

impl Highlighter for FsqlHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight(line))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.color {
            return Cow::Borrowed(hint);
        }
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

/// Keywords bold blue, strings green, numbers yellow, comments dim.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            let text: String = chars[i..end].iter().collect();
            if c == '\'' {
                out.push_str(&format!("\x1b[32m{text}\x1b[0m"));
            } else {
                out.push_str(&text);
            }
            i = end;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            let text: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
            i += text.chars().count();
            out.push_str(&format!("\x1b[2m{text}\x1b[0m"));
        } else if c.is_alphabetic() || c == '_' {
            let text: String = chars[i..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_')
                .collect();
            i += text.chars().count();
            if KEYWORDS.contains(&text.to_uppercase().as_str()) {
                out.push_str(&format!("\x1b[1;34m{text}\x1b[0m"));
            } else {
                out.push_str(&text);
            }
        } else if c.is_ascii_digit() {
            let text: String = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == '.')
                .collect();
            i += text.chars().count();
            out.push_str(&format!("\x1b[33m{text}\x1b[0m"));
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

impl Validator for FsqlHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if input_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

/// An input is complete when it is empty, a meta-command (`\d`), or its last
/// non-comment text ends with `;` outside a string.
pub fn input_complete(input: &str) -> bool {
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed.starts_with('\\') {
        return true;
    }
    let mut quote: Option<char> = None;
    let mut last_significant = None;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                last_significant = Some(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                last_significant = Some(c);
            }
            None if c == '-' && chars.peek() == Some(&'-') => {
                // A comment runs to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            None if !c.is_whitespace() => last_significant = Some(c),
            None => {}
        }
    }
    quote.is_none() && last_significant == Some(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_ends_at_semicolon_outside_strings_and_comments() {
        assert!(input_complete("SELECT 1;"));
        assert!(input_complete("SELECT 1;  -- done"));
        assert!(input_complete("\\d"));
        assert!(input_complete(""));
        assert!(!input_complete("SELECT 1"));
        assert!(!input_complete("SELECT ';"));
        assert!(!input_complete("SELECT 1 -- ;"));
        assert!(input_complete("a = SELECT 1\nFROM t;"));
    }

    #[test]
    fn strings_are_detected_for_path_completion() {
        assert!(in_string("LOAD 'data/x", 12));
        assert!(!in_string("LOAD 'data/x' ", 14));
    }

    #[test]
    fn completion_after_a_multibyte_character() {
        // `rfind(..) + 1` landed inside '€' and panicked.
        assert_eq!(
            word_start("SELECT €sel", "SELECT €sel".len()),
            "SELECT €".len()
        );
        assert_eq!(word_start("→x", "→x".len()), "→".len());
        assert_eq!(word_start("abc", 3), 0);
    }

    /// The REPL's input handling on random lines (quotes, comments,
    /// backslashes, semicolons, multibyte characters, lone surrogates are
    /// impossible in `str` but every other code point range is drawn):
    /// no panic, and highlighting only adds colour codes. More cases with
    /// `FSQL_REPL_FUZZ_CASES`.
    #[test]
    fn random_input_lines_are_handled() {
        let cases: usize = std::env::var("FSQL_REPL_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let names = Arc::new(Mutex::new(Names::default()));
        if let Ok(mut n) = names.lock() {
            n.relations
                .push(("tëst".to_string(), vec!["é".to_string(), "a_b".to_string()]));
        }
        let helper = FsqlHelper::new(names, true);
        let history = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&history);
        let pieces = [
            "SELECT",
            "select",
            " ",
            "\n",
            "\n",
            ";",
            "'",
            "\"",
            "--",
            "-",
            "/*",
            "*/",
            "\\",
            "\\d",
            "\\engine ",
            "\\set ",
            "€",
            "→",
            "é",
            "😀",
            "\u{0}",
            "\t",
            "a",
            "_",
            "1.5",
            "LOAD '",
            "të",
            "{{",
            "}}",
            "\u{202e}",
            "\r\n",
            "ｓｅｌｅｃｔ",
            "ß",
            "İ",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..cases {
            let mut line = String::new();
            for _ in 0..(next() % 12) {
                if next() % 4 == 0 {
                    // Any scalar value.
                    if let Some(c) = char::from_u32((next() % 0x11_0000) as u32) {
                        line.push(c);
                    }
                } else {
                    line.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                }
            }
            let _ = input_complete(&line);
            let plain = strip_colour(&highlight(&line));
            assert_eq!(plain, line, "highlighting changed the text of {line:?}");
            if line.trim_start().starts_with('\\') {
                let _ = super::super::meta::parse(&line);
            }
            for (pos, _) in line.char_indices().chain([(line.len(), ' ')]) {
                let _ = in_string(&line, pos);
                let (start, _) = helper
                    .complete(&line, pos, &ctx)
                    .unwrap_or((pos, Vec::new()));
                assert!(start <= pos && line.is_char_boundary(start));
            }
        }
    }

    fn strip_colour(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn keywords_are_highlighted_and_strings_kept() {
        let h = highlight("select 'a' from t");
        assert!(h.contains("\x1b[1;34mselect\x1b[0m"));
        assert!(h.contains("\x1b[32m'a'\x1b[0m"));
    }
}
