//! Tokens of CREATE's inline data (`CREATE [[1, "say \"hi\""]] SCHEMA ..`).
//!
//! FugueSQL reads that data as JSON, so its strings take JSON's backslash
//! escapes (`\"`, `\\`, `\n`, `\t`, `\uXXXX`, ...), which SQL's tokenizer
//! does not know (it would end `"say \"` at the second quote). Before the
//! script is tokenized, each `CREATE [` data literal is found here and
//! scanned into the tokens the parser's literal rule reads (brackets,
//! braces, commas, colons, numbers, words, strings with their escapes
//! resolved), with their own spans; the rest of the script goes to SQL's
//! tokenizer as before. A quote doubled inside a string is also one quote
//! (SQL's habit). Data this scanner cannot read is left to SQL's tokenizer,
//! whose error then points at it.

use datafusion::sql::sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan};

/// A scanned data literal: its byte range in the script and its tokens.
pub(crate) struct DataLiteral {
    pub start: usize,
    pub end: usize,
    pub tokens: Vec<TokenWithSpan>,
}

/// Every `CREATE [...]` data literal in `text`, in order.
pub(crate) fn find(text: &str) -> Vec<DataLiteral> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quoted(b, i),
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block(b, i),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let after_word = start == 0 || !is_ident_byte(b[start - 1]);
                if after_word && text[start..i].eq_ignore_ascii_case("create") {
                    let at = skip_space(b, i);
                    if b.get(at) == Some(&b'[')
                        && let Some(lit) = Scanner::new(text, at).literal()
                    {
                        i = lit.end;
                        out.push(lit);
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Past a quoted string or identifier starting at `i` (its quote doubled
/// inside is part of it).
fn skip_quoted(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p + 1)
}

/// Past a (nested) block comment starting at `i`.
fn skip_block(b: &[u8], i: usize) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j + 1 < b.len() {
        if b[j] == b'/' && b[j + 1] == b'*' {
            depth += 1;
            j += 2;
        } else if b[j] == b'*' && b[j + 1] == b'/' {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    b.len()
}

/// Past whitespace and comments from `i`.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(c) if c.is_ascii_whitespace() => i += 1,
            Some(b'-') if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            Some(b'/') if b.get(i + 1) == Some(&b'*') => i = skip_block(b, i),
            _ => return i,
        }
    }
}

/// Scans one literal: a JSON value with either quote for strings.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    tokens: Vec<TokenWithSpan>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, pos: usize) -> Self {
        Self {
            text,
            pos,
            tokens: Vec::new(),
        }
    }

    fn literal(mut self) -> Option<DataLiteral> {
        let start = self.pos;
        self.value(0)?;
        Some(DataLiteral {
            start,
            end: self.pos,
            tokens: self.tokens,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        self.pos = skip_space(self.text.as_bytes(), self.pos);
    }

    fn push(&mut self, token: Token, start: usize) {
        let span = Span::new(location(self.text, start), location(self.text, self.pos));
        self.tokens.push(TokenWithSpan::new(token, span));
    }

    fn punct(&mut self, token: Token) {
        let start = self.pos;
        self.pos += 1;
        self.push(token, start);
    }

    /// One value; `depth` bounds nesting so hostile input cannot overflow.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > 64 {
            return None;
        }
        self.skip_space();
        match self.peek()? {
            b'[' => self.sequence(b']', Token::LBracket, Token::RBracket, depth),
            b'{' => self.sequence(b'}', Token::LBrace, Token::RBrace, depth),
            b'"' | b'\'' => self.string(),
            b'-' | b'+' | b'.' | b'0'..=b'9' => self.number(),
            c if c.is_ascii_alphabetic() => self.word(),
            _ => None,
        }
    }

    /// `[a, b]` or `{k: v}`: values separated by commas (an object's keys
    /// are values followed by ':').
    fn sequence(&mut self, close: u8, open_t: Token, close_t: Token, depth: usize) -> Option<()> {
        let object = close == b'}';
        self.punct(open_t);
        self.skip_space();
        if self.peek()? == close {
            self.punct(close_t);
            return Some(());
        }
        loop {
            self.value(depth + 1)?;
            self.skip_space();
            if object {
                if self.peek()? != b':' {
                    return None;
                }
                self.punct(Token::Colon);
                self.value(depth + 1)?;
                self.skip_space();
            }
            match self.peek()? {
                b',' => self.punct(Token::Comma),
                c if c == close => {
                    self.punct(close_t);
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<()> {
        let start = self.pos;
        let quote = self.peek()? as char;
        let mut chars = self.text[self.pos + 1..].char_indices();
        let mut value = String::new();
        loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => {
                    let (_, e) = chars.next()?;
                    match e {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        'b' => value.push('\u{8}'),
                        'f' => value.push('\u{c}'),
                        'u' => value.push(unicode_escape(&mut chars)?),
                        other => value.push(other),
                    }
                }
                c if c == quote => {
                    let rest = &self.text[self.pos + 1 + i + 1..];
                    if rest.starts_with(quote) {
                        value.push(quote);
                        chars.next();
                        continue;
                    }
                    self.pos += 1 + i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        self.push(Token::SingleQuotedString(value), start);
        Some(())
    }

    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        let b = self.text.as_bytes();
        let mut end = self.pos;
        while end < b.len()
            && (b[end].is_ascii_alphanumeric() || matches!(b[end], b'.' | b'-' | b'+'))
        {
            // A sign is part of a number only at its start or after an exponent.
            if matches!(b[end], b'-' | b'+') && end != start && !matches!(b[end - 1], b'e' | b'E') {
                break;
            }
            end += 1;
        }
        let text = &self.text[start..end];
        let body = text.strip_prefix(['-', '+']).unwrap_or(text);
        if body.parse::<f64>().is_err()
            || body
                .chars()
                .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        {
            return None;
        }
        self.pos = end;
        if let Some(body) = text.strip_prefix('-') {
            // As SQL's tokenizer gives it: a minus, then the number.
            let minus_start = start;
            self.pos = start + 1;
            self.push(Token::Minus, minus_start);
            self.pos = end;
            self.push(Token::Number(body.to_string(), false), start + 1);
        } else {
            self.push(Token::Number(body.to_string(), false), start);
        }
        Some(())
    }

    fn word(&mut self) -> Option<()> {
        let start = self.pos;
        let b = self.text.as_bytes();
        while self.pos < b.len() && (b[self.pos].is_ascii_alphanumeric() || b[self.pos] == b'_') {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        if !["null", "none", "true", "false"].contains(&word.to_lowercase().as_str()) {
            return None;
        }
        self.push(Token::make_word(word, None), start);
        Some(())
    }
}

/// The character of `\uXXXX` (the `\u` already read), joining a UTF-16
/// surrogate pair written as two escapes.
fn unicode_escape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    let hex = |chars: &mut std::str::CharIndices<'_>| -> Option<u32> {
        let digits: String = (0..4)
            .map(|_| chars.next().map(|(_, c)| c))
            .collect::<Option<_>>()?;
        u32::from_str_radix(&digits, 16).ok()
    };
    let first = hex(chars)?;
    if (0xD800..0xDC00).contains(&first) {
        let (_, backslash) = chars.next()?;
        let (_, u) = chars.next()?;
        if backslash != '\\' || u != 'u' {
            return None;
        }
        let second = hex(chars)?;
        let code = 0x10000 + ((first - 0xD800) << 10) + (second.checked_sub(0xDC00)?);
        return char::from_u32(code);
    }
    char::from_u32(first)
}

/// The line and column (1-based, in characters) of byte `at` in `text`.
fn location(text: &str, at: usize) -> Location {
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    Location::new(line, before[line_start..].chars().count() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(text: &str) -> Vec<String> {
        find(text)
            .into_iter()
            .flat_map(|l| l.tokens)
            .filter_map(|t| match t.token {
                Token::SingleQuotedString(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn json_escapes_in_either_quote() {
        assert_eq!(
            strings(
                r#"CREATE [[1, "say \"hi\""], [2, 'it\'s'], [3, "a\\b\n\u00e9\ud83d\ude00"]] SCHEMA a:int"#
            ),
            vec!["say \"hi\"", "it's", "a\\b\né😀"]
        );
        assert_eq!(strings("create [['it''s']] SCHEMA a:str"), vec!["it's"]);
    }

    #[test]
    fn only_create_data_outside_strings_and_comments() {
        assert!(find("SELECT 'CREATE [1]' -- CREATE [2]\n/* CREATE [3] */").is_empty());
        assert!(find("RECREATE [1]").is_empty());
        let found = find("x = SELECT 1\n  CREATE\n [[1]] SCHEMA a:int");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].tokens[0].span.start, Location::new(3, 2));
    }

    #[test]
    fn unreadable_data_is_left_to_sql() {
        assert!(find("CREATE [[1, \"open]] SCHEMA a:int").is_empty());
        assert!(find("CREATE [[1 2]] SCHEMA a:int").is_empty());
    }
}
