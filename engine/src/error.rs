//! Engine errors. Each carries the place it is about: the script span of the
//! statement (or the token inside it, when DataFusion can tell), so the CLI
//! can show the source line with a caret.

use datafusion::error::DataFusionError;
use fsql_sql::{Location, ParseError, Span};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The script is not valid fsql.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// `{{ ... }}` templating failed (undefined variable, bad syntax).
    #[error("template error: {message}")]
    Template { message: String, line: Option<u64> },
    /// The cluster could not be started or reached.
    #[error("cluster: {0}")]
    Cluster(String),
    /// A statement failed while planning or running.
    #[error("{message}")]
    Statement { message: String, span: Span },
}

impl Error {
    /// Where in the script the error is, if known.
    pub fn span(&self) -> Option<Span> {
        match self {
            Error::Parse(e) => Some(e.span),
            Error::Template { line: Some(l), .. } => {
                Some(Span::new(Location::new(*l, 1), Location::new(*l, 1)))
            }
            Error::Template { .. } | Error::Cluster(_) => None,
            Error::Statement { span, .. } => Some(*span),
        }
    }

    /// The message without the location.
    pub fn message(&self) -> String {
        match self {
            Error::Parse(e) => e.message.clone(),
            other => other.to_string(),
        }
    }

    /// An error about `span` with a message of fsql's own.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        Error::Statement {
            message: message.into(),
            span,
        }
    }

    /// Wraps a DataFusion error raised by the statement at `span`. When
    /// DataFusion knows a finer location (SQL planned with span collection),
    /// that one is used.
    pub fn datafusion(span: Span, err: DataFusionError) -> Self {
        let finer = err.diagnostic().and_then(|d| d.span).and_then(|s| {
            (s.start.line > 0).then(|| {
                Span::new(
                    Location::new(s.start.line, s.start.column),
                    Location::new(s.end.line, s.end.column),
                )
            })
        });
        Error::Statement {
            message: clean_message(&err),
            span: finer.unwrap_or(span),
        }
    }
}

/// DataFusion's message without backtraces and without the wrapping
/// "External error: ..." / "Context(...)" noise.
fn clean_message(err: &DataFusionError) -> String {
    let root = match err {
        DataFusionError::Context(_, inner) => inner.as_ref(),
        DataFusionError::Shared(inner) => inner.as_ref(),
        other => other,
    };
    let msg = root.strip_backtrace();
    let unwrapped = unwrap_cluster_error(&msg);
    let mut msg = unwrapped.as_deref().unwrap_or(&msg).trim();
    // DataFusion's category prefixes say nothing a user needs.
    for prefix in [
        "Error during planning: ",
        "External error: ",
        "Execution error: ",
        "Arrow error: ",
        "Parser error: ",
        "SQL error: ",
        "Schema error: ",
    ] {
        msg = msg.strip_prefix(prefix).unwrap_or(msg);
    }
    if let Some(m) = unsupported_subquery(msg) {
        return m;
    }
    if let Some(m) = no_matching_signature(msg) {
        return m;
    }
    if let Some(m) = memory_exceeded(msg) {
        return m;
    }
    // DataFusion's advice to change a setting fsql fixes for its users.
    let mut msg = msg.to_string();
    if let Some(start) = msg.find("Column names are case sensitive.")
        && let Some(len) = msg[start..].find("configuration.")
    {
        msg.replace_range(
            start..start + len + "configuration.".len(),
            "Quoted names must match exactly.",
        );
    }
    msg
}

/// DataFusion's "Resources exhausted" said with the limit and the operator
/// that needed more ("Failed to allocate additional 10.0 MB for
/// ExternalSorter[0] with ...").
fn memory_exceeded(msg: &str) -> Option<String> {
    let at = msg.find("Resources exhausted")?;
    let rest = &msg[at..];
    let operator = rest
        .find("allocate additional ")
        .map(|i| &rest[i..])
        .and_then(|r| r.find(" for ").map(|i| &r[i + 5..]))
        .map(|r| r.split([' ', '[']).next().unwrap_or(r))
        .filter(|o| !o.is_empty())
        .unwrap_or("an operator");
    let limit = crate::limits::current()
        .memory
        .map_or("memory limit".to_string(), |b| {
            format!("memory limit of {}", crate::limits::show_size(b))
        });
    Some(format!(
        "{limit} exceeded by {operator} (it cannot spill to disk, or spilling did not free enough); raise --memory-limit (FSQL_MEMORY_LIMIT) or let the query need less memory (fewer columns, a filter before it)"
    ))
}

/// DataFusion 55 reports a function given arguments of the wrong types
/// (`SUM('x')`, `SUM(list)`) as an "Internal error ... likely caused by a
/// bug in DataFusion" (found by the mutation fuzzer). It is the user's type
/// error: say which call and what the function takes.
fn no_matching_signature(msg: &str) -> Option<String> {
    if !msg.contains("failed to match any signature") {
        return None;
    }
    let call = msg
        .split("argument types '")
        .nth(1)
        .and_then(|r| r.split('\'').next())?;
    let candidates: Vec<&str> = msg
        .split("Candidate functions:")
        .nth(1)
        .map(|c| c.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    let takes = if candidates.is_empty() {
        String::new()
    } else {
        format!("; it takes {}", candidates.join(", "))
    };
    Some(format!(
        "no function matches {call}: the arguments have the wrong types (a CAST may help){takes}"
    ))
}

/// DataFusion 55 and Ballista 55 fail on some subqueries with internal
/// messages (found by the differential fuzzer, see docs/testing.md); say
/// what is not supported and what to write instead.
fn unsupported_subquery(msg: &str) -> Option<String> {
    let kind = [
        "EXISTS",
        "IN",
        "ScalarSubquery",
        "InSubquery",
        "Exists",
        "scalar subquery",
    ]
    .into_iter()
    .find(|k| msg.contains(k))?;
    let what = match kind {
        "ScalarSubquery" | "scalar subquery" => "a scalar subquery",
        "InSubquery" | "IN" => "an IN (subquery)",
        _ => "an EXISTS (subquery)",
    };
    if msg.contains("Proto serialization error") && msg.contains("not yet supported")
        || msg.contains("Could not parse plan") && msg.contains("__correlated_sq")
    {
        return Some(format!(
            "the cluster engine cannot run {what} inside an expression (Ballista 55 cannot ship it to the executors); write it as a JOIN, or run the query on the threads engine"
        ));
    }
    if msg.contains("Physical plan does not support logical expression") {
        return Some(format!(
            "{what} is not supported here (in a SELECT list, a CASE or a join condition; DataFusion 55 cannot run it there): move it to WHERE or write it as a JOIN"
        ));
    }
    None
}

/// A failed Ballista job reports the task's error as "Job ID failed: Job
/// failed due to stage N failed: Task failed due to runtime execution error:
/// DataFusionError(Shared(External(..(Execution(\"message\")))))". The user
/// needs only the message: the last string in that debug text.
fn unwrap_cluster_error(msg: &str) -> Option<String> {
    let at = msg.find("Job ")?;
    let (_, rest) = msg[at..].split_once(" failed: ")?;
    let mut rest = rest.trim();
    while let Some(r) = rest.strip_prefix("Job failed due to stage ") {
        rest = r
            .split_once(" failed: ")
            .map(|(_, r)| r.trim())
            .unwrap_or(r);
    }
    let marker = "Task failed due to ";
    match rest.find(marker) {
        Some(i) => {
            let detail = &rest[i + marker.len()..];
            last_debug_string(detail).or_else(|| Some(detail.to_string()))
        }
        None => Some(rest.to_string()),
    }
}

/// The last string literal in Rust debug output, unescaped, with the
/// prefix Arrow's Display gives the error variant that holds it (so a CSV
/// error reads the same on every engine).
fn last_debug_string(text: &str) -> Option<String> {
    let mut last = None;
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '"' {
            continue;
        }
        let variant = text[..at]
            .strip_suffix('(')
            .map(|before| {
                let start = before
                    .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .map_or(0, |i| i + 1);
                &before[start..]
            })
            .unwrap_or("");
        let prefix = match variant {
            "CsvError" => "Csv error: ",
            "JsonError" => "Json error: ",
            "ParseError" => "Parser error: ",
            "CastError" => "Cast error: ",
            "ComputeError" => "Compute error: ",
            "InvalidArgumentError" => "Invalid argument error: ",
            "ArithmeticOverflow" => "Arithmetic overflow: ",
            _ => "",
        };
        let mut s = prefix.to_string();
        while let Some((_, c)) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(other) => s.push(other),
                    None => break,
                },
                other => s.push(other),
            }
        }
        last = Some(s);
    }
    last.filter(|s| !s.trim().is_empty())
}

/// Adds the statement span to DataFusion results.
pub(crate) trait AtSpan<T> {
    fn at(self, span: Span) -> Result<T>;
}

impl<T> AtSpan<T> for std::result::Result<T, DataFusionError> {
    fn at(self, span: Span) -> Result<T> {
        self.map_err(|e| Error::datafusion(span, e))
    }
}

impl<T> AtSpan<T> for std::result::Result<T, datafusion::arrow::error::ArrowError> {
    fn at(self, span: Span) -> Result<T> {
        self.map_err(|e| Error::datafusion(span, DataFusionError::ArrowError(Box::new(e), None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_given_wrong_types_is_a_type_error() {
        let raw = "Internal error: Function 'sum' failed to match any signature, errors: Error during planning: Function 'sum' requires Decimal, but received String (DataType: Utf8).\nThis issue was likely caused by a bug in DataFusion's code. No function matches the given name and argument types 'sum(Utf8)'. You might need to add explicit type casts.\n\tCandidate functions:\n\tsum(Decimal)\n\tsum(Int64)";
        assert_eq!(
            no_matching_signature(raw).as_deref(),
            Some(
                "no function matches sum(Utf8): the arguments have the wrong types (a CAST may help); it takes sum(Decimal), sum(Int64)"
            )
        );
        assert_eq!(
            no_matching_signature("Internal error: something else"),
            None
        );
    }

    #[test]
    fn cluster_errors_keep_only_the_message() {
        let raw = "Job 038GKC7JD6000 failed: Job failed due to stage 0 failed: Task failed due to runtime execution error: DataFusionError(Shared(External(DataFusionError(Execution(\"cannot cast 'Ana' in \\\"name\\\"\")))))";
        assert_eq!(
            unwrap_cluster_error(raw).as_deref(),
            Some("cannot cast 'Ana' in \"name\"")
        );
        assert_eq!(
            unwrap_cluster_error("Job 1 failed: Error planning job 1: bad plan").as_deref(),
            Some("Error planning job 1: bad plan")
        );
        assert_eq!(unwrap_cluster_error("no job here"), None);
        let csv = "Job 1 failed: Task failed due to runtime execution error: DataFusionError(ArrowError(CsvError(\"incorrect number of fields\"), None))";
        assert_eq!(
            unwrap_cluster_error(csv).as_deref(),
            Some("Csv error: incorrect number of fields")
        );
    }
}
