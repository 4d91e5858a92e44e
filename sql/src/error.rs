//! Parse errors: a message and the span it is about (line:column, 1-based).

use crate::ast::{Location, Span};

/// A script that could not be parsed. `span.start` is where the problem is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{}: {message}", span.start.line, span.start.column)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
}

impl ParseError {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span,
        }
    }

    /// Builds an error from a `sqlparser` message, which carries its location
    /// as text (`... at Line: 3, Column: 5`); falls back to `fallback`.
    pub fn from_sqlparser(message: &str, fallback: Span) -> Self {
        let (message, location) = split_location(message);
        let span = match location {
            Some(loc) => Span::new(loc, loc),
            None => fallback,
        };
        let message = message
            .trim_start_matches("sql parser error: ")
            .trim()
            .to_string();
        Self { message, span }
    }
}

/// Splits `"... at Line: 3, Column: 5"` into the message and the location.
fn split_location(message: &str) -> (&str, Option<Location>) {
    let Some(at) = message.rfind(" at Line: ") else {
        return (message, None);
    };
    let rest = &message[at + " at Line: ".len()..];
    let mut parts = rest.splitn(2, ", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
    let column = parts.next().and_then(|c| {
        c.trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse::<u64>()
            .ok()
    });
    match (line, column) {
        (Some(line), Some(column)) => (&message[..at], Some(Location::new(line, column))),
        _ => (message, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_taken_from_sqlparser_messages() {
        let e = ParseError::from_sqlparser(
            "sql parser error: Expected: an expression, found: FROM at Line: 3, Column: 8",
            Span::empty(),
        );
        assert_eq!(e.message, "Expected: an expression, found: FROM");
        assert_eq!((e.span.start.line, e.span.start.column), (3, 8));
    }

    #[test]
    fn message_without_location_keeps_fallback() {
        let fallback = Span::new(Location::new(2, 1), Location::new(2, 4));
        let e = ParseError::from_sqlparser("oops", fallback);
        assert_eq!(e.span, fallback);
        assert_eq!(e.to_string(), "2:1: oops");
    }
}
