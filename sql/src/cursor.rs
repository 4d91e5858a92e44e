//! Token cursor used by the fsql parser: tokens come from DataFusion's
//! `sqlparser` tokenizer (whitespace and comments dropped), with spans.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::ast::{Location, Span};
use crate::error::ParseError;

/// Tokenizes a whole script. Unterminated strings and similar lexical errors
/// are reported at their location. CREATE's inline data is scanned as JSON
/// (`data_tokens`); everything else by SQL's tokenizer.
pub(crate) fn tokenize(text: &str) -> Result<Vec<TokenWithSpan>, ParseError> {
    let mut out = Vec::new();
    let mut at = 0;
    for data in crate::data_tokens::find(text) {
        sql_tokens(text, at, data.start, &mut out)?;
        out.extend(data.tokens);
        at = data.end;
    }
    sql_tokens(text, at, text.len(), &mut out)?;
    Ok(out)
}

/// SQL's tokens of `text[from..to]`, with spans in the whole text.
fn sql_tokens(
    text: &str,
    from: usize,
    to: usize,
    out: &mut Vec<TokenWithSpan>,
) -> Result<(), ParseError> {
    let base = end_location(&text[..from]);
    let shift = |l: Location| {
        if l.line == 1 {
            Location::new(base.line, base.column + l.column - 1)
        } else {
            Location::new(base.line + l.line - 1, l.column)
        }
    };
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, &text[from..to])
        .tokenize_with_location()
        .map_err(|e| {
            let loc = shift(e.location);
            ParseError::new(e.message, Span::new(loc, loc))
        })?;
    out.extend(
        tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| {
                TokenWithSpan::new(t.token, Span::new(shift(t.span.start), shift(t.span.end)))
            }),
    );
    Ok(())
}

pub(crate) struct Cursor {
    tokens: Vec<TokenWithSpan>,
    pos: usize,
    eof: TokenWithSpan,
}

impl Cursor {
    pub(crate) fn new(tokens: Vec<TokenWithSpan>, text: &str) -> Self {
        let end = end_location(text);
        Self {
            tokens,
            pos: 0,
            eof: TokenWithSpan::new(Token::EOF, Span::new(end, end)),
        }
    }

    /// A cursor over part of a script that ends at `eof` (e.g. a closing
    /// parenthesis).
    pub(crate) fn with_eof(tokens: Vec<TokenWithSpan>, eof: Span) -> Self {
        Self {
            tokens,
            pos: 0,
            eof: TokenWithSpan::new(Token::EOF, eof),
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(crate) fn tokens(&self) -> &[TokenWithSpan] {
        &self.tokens
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    pub(crate) fn peek(&self) -> &TokenWithSpan {
        self.peek_at(0)
    }

    pub(crate) fn peek_at(&self, n: usize) -> &TokenWithSpan {
        self.tokens.get(self.pos + n).unwrap_or(&self.eof)
    }

    pub(crate) fn next(&mut self) -> TokenWithSpan {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    /// Span of the last consumed token.
    pub(crate) fn prev_span(&self) -> Span {
        if self.pos == 0 {
            return self.peek().span;
        }
        self.tokens[self.pos - 1].span
    }

    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        is_word(&self.peek().token, kw)
    }

    pub(crate) fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        is_word(&self.peek_at(n).token, kw)
    }

    pub(crate) fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: &str) -> Result<Span, ParseError> {
        if self.is_kw(kw) {
            Ok(self.next().span)
        } else {
            Err(self.expected(kw))
        }
    }

    pub(crate) fn is_token(&self, t: &Token) -> bool {
        &self.peek().token == t
    }

    pub(crate) fn eat_token(&mut self, t: &Token) -> bool {
        if self.is_token(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_token(&mut self, t: &Token, what: &str) -> Result<Span, ParseError> {
        if self.is_token(t) {
            Ok(self.next().span)
        } else {
            Err(self.expected(what))
        }
    }

    /// "expected X, found Y" at the current token.
    pub(crate) fn expected(&self, what: &str) -> ParseError {
        let t = self.peek();
        ParseError::new(
            format!("expected {what}, found {}", describe(&t.token)),
            t.span,
        )
    }
}

/// True when `t` is the unquoted word `kw` (case-insensitive).
pub(crate) fn is_word(t: &Token, kw: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// How a token is shown in an error message.
pub(crate) fn describe(t: &Token) -> String {
    match t {
        Token::EOF => "end of input".to_string(),
        Token::SingleQuotedString(s) => format!("string '{s}'"),
        Token::DoubleQuotedString(s) => format!("string \"{s}\""),
        other => format!("'{other}'"),
    }
}

/// The location just past the last character of `text`.
fn end_location(text: &str) -> Location {
    let mut line = 1u64;
    let mut column = 1u64;
    for ch in text.chars() {
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    Location::new(line, column)
}
