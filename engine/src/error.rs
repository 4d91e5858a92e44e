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
            Error::Template { .. } => None,
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
    let mut msg = msg.trim();
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

/// Adds the statement span to DataFusion results.
pub(crate) trait AtSpan<T> {
    fn at(self, span: Span) -> Result<T>;
}

impl<T> AtSpan<T> for std::result::Result<T, DataFusionError> {
    fn at(self, span: Span) -> Result<T> {
        self.map_err(|e| Error::datafusion(span, e))
    }
}
