//! Error reports: the message, then the script line with a caret under the
//! place (ariadne), on stderr. Never a Rust backtrace.

use std::io::IsTerminal;
use std::process::ExitCode;

use ariadne::{Config, Label, Report, ReportKind, Source};
use fsql_engine::Error;

pub fn error(name: &str, text: &str, err: &Error) -> ExitCode {
    let message = err.message();
    let Some(span) = err.span().filter(|s| s.start.line > 0) else {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    };
    let (line, col) = (span.start.line, span.start.column);
    let mut start = char_offset(text, line, col);
    // An error at the end of the script ("found: EOF") points at its last
    // character, so the report still shows the line.
    let chars: Vec<char> = text.chars().collect();
    if start >= chars.len() {
        start = chars.iter().rposition(|c| !c.is_whitespace()).unwrap_or(0);
    }
    let end = if span.end.line > 0
        && (span.end.line, span.end.column) > (line, col)
        && start < chars.len()
    {
        char_offset(text, span.end.line, span.end.column)
    } else {
        start + 1
    };
    // Keep the label on the first line of a multi-line span.
    let line_end = start + text.chars().skip(start).take_while(|c| *c != '\n').count();
    let end = end.min(line_end.max(start + 1));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let report = Report::build(ReportKind::Error, (name, start..end))
        .with_config(Config::default().with_color(color))
        .with_message(format!("{message}\n  at {name}:{line}:{col}"))
        .with_label(Label::new((name, start..end)).with_message("here"))
        .finish();
    if report.eprint((name, Source::from(text))).is_err() {
        eprintln!("error: {name}:{line}:{col}: {message}");
    }
    ExitCode::FAILURE
}

/// The character offset of a 1-based line and column.
fn char_offset(text: &str, line: u64, col: u64) -> usize {
    let mut offset = 0usize;
    for (i, l) in text.split('\n').enumerate() {
        if i as u64 + 1 == line {
            return offset + (col.saturating_sub(1) as usize).min(l.chars().count());
        }
        offset += l.chars().count() + 1;
    }
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::char_offset;

    #[test]
    fn offsets_count_characters() {
        let t = "ab\ncdé\nx";
        assert_eq!(char_offset(t, 1, 1), 0);
        assert_eq!(char_offset(t, 2, 3), 5);
        assert_eq!(char_offset(t, 3, 1), 7);
        assert_eq!(char_offset(t, 9, 1), 8);
    }
}
