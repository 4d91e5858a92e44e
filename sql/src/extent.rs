//! Where an embedded SQL statement ends. FugueSQL needs no separator between
//! statements: a SQL statement ends at `;`, at the end of the script, or where
//! a new statement visibly begins at parenthesis depth 0 right after a token
//! that can end a SQL clause:
//! - `name =` / `name :=` (an assignment),
//! - a FugueSQL statement keyword (`PRINT`, `TAKE`, `LOAD`, ...), or
//! - a `SELECT` / `WITH name AS` that cannot continue the current query.
//!
//! Column names that collide with these keywords still work wherever they
//! follow `SELECT`, `,`, `.`, `AS`, an operator or a clause keyword; only an
//! implicit alias named like a statement keyword (`SELECT x print`) is taken
//! as a statement start — write `AS print`.

use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::cursor::is_word;

/// Words that start an fsql statement (checked only after a clause-ending token).
const STATEMENT_WORDS: &[&str] = &[
    "LOAD",
    "SAVE",
    "PRINT",
    "TAKE",
    "SAMPLE",
    "FILL",
    "RENAME",
    "TRANSFORM",
    "OUTPUT",
    "OUTTRANSFORM",
    "ZIP",
    "PROCESS",
    "YIELD",
    "PERSIST",
    "BROADCAST",
    "CHECKPOINT",
    "DROP",
    "ALTER",
    "CREATE",
    "SELECT",
    "EXPLAIN",
    "SHOW",
    "DESCRIBE",
    "SUB",
    "CONNECT",
    "EXPORT",
    "IMPORT",
    "COMPARE",
];

/// Keywords after which an expression or clause necessarily continues.
const CONTINUING_WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "WHEN",
    "THEN",
    "ELSE",
    "CASE",
    "ON",
    "SET",
    "HAVING",
    "BY",
    "IS",
    "LIKE",
    "ILIKE",
    "RLIKE",
    "REGEXP",
    "SIMILAR",
    "BETWEEN",
    "IN",
    "DISTINCT",
    "ALL",
    "ANY",
    "SOME",
    "AS",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "MINUS",
    "JOIN",
    "USING",
    "QUALIFY",
    "WINDOW",
    "PARTITION",
    "OVER",
    "LIMIT",
    "OFFSET",
    "EXISTS",
    "WITH",
    "RECURSIVE",
    "INTO",
    "VALUES",
    "ESCAPE",
    "TO",
    "INTERVAL",
    "NATURAL",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "CROSS",
    "SEMI",
    "ANTI",
    "LATERAL",
    "ORDER",
    "GROUP",
    "TABLE",
    "FETCH",
    "EXPLAIN",
    "ANALYZE",
    "VERBOSE",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "VIEW",
    "REPLACE",
    "IF",
    "WITHIN",
    "FILTER",
    "ROLLUP",
    "CUBE",
    "GROUPING",
    "SETS",
    "DESCRIBE",
    "SHOW",
    "EXTERNAL",
    "LOCATION",
    "STORED",
    "OPTIONS",
];

/// Words that end an expression but never name an assignment target.
const NOT_A_NAME: &[&str] = &["END", "NULL", "TRUE", "FALSE"];

/// Returns the index one past the last token of the SQL statement starting at
/// `start` (a `;` is not included).
pub(crate) fn sql_end(tokens: &[TokenWithSpan], start: usize) -> usize {
    let starts_with_insert = tokens
        .get(start)
        .is_some_and(|t| is_word(&t.token, "INSERT"));
    // `SET a = 1` then `SET b = 2`: SET is no statement word (UPDATE .. SET
    // continues), but it does start the statement after a SET.
    let starts_with_set = tokens.get(start).is_some_and(|t| is_word(&t.token, "SET"));
    // `WITH a AS (...) SELECT`: the first SELECT after the CTEs is the body.
    let mut awaiting_with_body = tokens.get(start).is_some_and(|t| is_word(&t.token, "WITH"));
    let mut depth: i64 = 0;
    let mut i = start;
    while i < tokens.len() {
        let t = &tokens[i].token;
        match t {
            Token::SemiColon if depth == 0 => return i,
            Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => depth -= 1,
            _ => {}
        }
        if depth == 0 && awaiting_with_body && is_word(t, "SELECT") {
            awaiting_with_body = false;
            i += 1;
            continue;
        }
        if depth == 0 && i > start && ends_clause_at(tokens, i - 1, start) {
            if starts_with_set && is_word(t, "SET") {
                return i;
            }
            let next = tokens.get(i + 1).map(|t| &t.token);
            if starts_statement(
                t,
                next,
                tokens.get(i + 2).map(|t| &t.token),
                starts_with_insert,
            ) {
                return i;
            }
        }
        i += 1;
    }
    tokens.len()
}

/// True for a word that begins an fsql statement of its own.
pub(crate) fn is_statement_word(t: &Token) -> bool {
    STATEMENT_WORDS.iter().any(|k| is_word(t, k)) || is_word(t, "WITH") || is_word(t, "VALUES")
}

/// Whether token `k` can end a clause. A `*` does where it is a wildcard
/// (`SELECT *`, `, *`, `t.*`, `DISTINCT *`): `SELECT *` then `PRINT` on the
/// next line is two statements. After anything else it multiplies, and an
/// operand must follow.
fn ends_clause_at(tokens: &[TokenWithSpan], k: usize, start: usize) -> bool {
    let t = &tokens[k].token;
    if matches!(t, Token::Mul) {
        if k == start {
            return false;
        }
        let before = &tokens[k - 1].token;
        return matches!(before, Token::Comma | Token::Period)
            || ["SELECT", "DISTINCT", "ALL"]
                .iter()
                .any(|w| is_word(before, w));
    }
    // The word after AS is a name, even one spelled like a keyword
    // (`b.y AS by`).
    if matches!(t, Token::Word(_)) && k > start && is_word(&tokens[k - 1].token, "AS") {
        return true;
    }
    ends_clause(t)
}

fn ends_clause(t: &Token) -> bool {
    match t {
        Token::RParen | Token::RBracket | Token::Number(..) => true,
        Token::SingleQuotedString(_) | Token::DoubleQuotedString(_) => true,
        Token::Word(w) => {
            w.quote_style.is_some()
                || !CONTINUING_WORDS
                    .iter()
                    .any(|k| w.value.eq_ignore_ascii_case(k))
        }
        _ => false,
    }
}

fn starts_statement(
    t: &Token,
    next: Option<&Token>,
    after: Option<&Token>,
    in_insert: bool,
) -> bool {
    let Token::Word(w) = t else { return false };
    if matches!(next, Some(Token::Eq) | Some(Token::Assignment)) {
        return w.quote_style.is_some()
            || !NOT_A_NAME.iter().any(|k| w.value.eq_ignore_ascii_case(k));
    }
    if w.quote_style.is_some() {
        return false;
    }
    if is_word(t, "SELECT") {
        return !in_insert;
    }
    if is_word(t, "WITH") {
        return matches!(next, Some(n) if is_word(n, "RECURSIVE"))
            || matches!((next, after), (Some(Token::Word(_)), Some(a)) if is_word(a, "AS"));
    }
    if ["LAZY", "STRONG", "DETERMINISTIC"]
        .iter()
        .any(|k| is_word(t, k))
    {
        return matches!(next, Some(n) if is_word(n, "CHECKPOINT"));
    }
    STATEMENT_WORDS.iter().any(|k| is_word(t, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::tokenize;

    /// The first statement's tokens, without spaces (so the expected text
    /// can be written naturally).
    fn first_statement(text: &str) -> String {
        let tokens = tokenize(text).unwrap();
        let end = sql_end(&tokens, 0);
        tokens[..end]
            .iter()
            .map(|t| t.token.to_string())
            .collect::<String>()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    #[test]
    fn assignment_on_next_line_ends_the_query() {
        assert_eq!(
            first_statement("SELECT * FROM a\nb = SELECT 1"),
            squash("SELECT * FROM a")
        );
    }

    #[test]
    fn comparisons_do_not_end_the_query() {
        let q = "SELECT * FROM t WHERE a = 1 AND b = 2 OR NOT c = 3";
        assert_eq!(first_statement(q), squash(q));
        let q = "SELECT CASE WHEN x = 1 THEN 2 ELSE 3 END = 2 FROM t";
        assert_eq!(first_statement(q), squash(q));
        let q = "SELECT a, b = 1 AS f FROM t ORDER BY a DESC, b";
        assert_eq!(first_statement(q), squash(q));
    }

    #[test]
    fn fugue_keywords_end_the_query() {
        assert_eq!(
            first_statement("SELECT a FROM t ORDER BY a DESC PRINT"),
            squash("SELECT a FROM t ORDER BY a DESC")
        );
        assert_eq!(
            first_statement("SELECT a FROM t TAKE 3 ROWS"),
            squash("SELECT a FROM t")
        );
        assert_eq!(first_statement("SELECT 1 SELECT 2"), squash("SELECT 1"));
    }

    #[test]
    fn a_wildcard_ends_the_query_a_product_does_not() {
        // `SELECT *` (no FROM: the previous dataframe) then a statement.
        for (q, want) in [
            ("SELECT *\nPRINT", "SELECT *"),
            ("SELECT *\nTAKE 1 ROW", "SELECT *"),
            ("SELECT DISTINCT *\nSAVE OVERWRITE 'x'", "SELECT DISTINCT *"),
            ("SELECT a, *\nPRINT", "SELECT a, *"),
            ("SELECT t.*\nPRINT", "SELECT t.*"),
            ("SELECT *\nx = SELECT 1", "SELECT *"),
        ] {
            assert_eq!(first_statement(q), squash(want), "{q}");
        }
        // An alias spelled like a keyword ends the query too.
        assert_eq!(
            first_statement("SELECT b.x AS bx, b.y AS by\nPRINT"),
            squash("SELECT b.x AS bx, b.y AS by")
        );
        // A product's operand may be named like a statement keyword.
        let q = "SELECT a *\nsample FROM t";
        assert_eq!(first_statement(q), squash(q));
    }

    #[test]
    fn keywords_as_column_names_are_kept() {
        let q = "SELECT sample, t.print, x AS take FROM t GROUP BY sample";
        assert_eq!(first_statement(q), squash(q));
    }

    #[test]
    fn set_operations_and_subqueries_continue() {
        let q = "SELECT 1 UNION ALL SELECT 2 EXCEPT (SELECT 3)";
        assert_eq!(first_statement(q), squash(q));
        let q = "WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a";
        assert_eq!(first_statement(q), squash(q));
        assert_eq!(
            first_statement("WITH a AS (SELECT 1) SELECT * FROM a SELECT 2"),
            squash("WITH a AS (SELECT 1) SELECT * FROM a")
        );
        assert_eq!(first_statement("SELECT 1; SELECT 2"), squash("SELECT 1"));
    }

    #[test]
    fn a_set_ends_at_the_next_set() {
        assert_eq!(
            first_statement("SET a.b = true\nSET a.c = 0"),
            squash("SET a.b = true")
        );
        assert_eq!(
            first_statement("SET a.b = 'x' SET a.c = 0"),
            squash("SET a.b = 'x'")
        );
        let q = "UPDATE t SET a = 1 WHERE b = 2";
        assert_eq!(first_statement(q), squash(q));
    }
}
