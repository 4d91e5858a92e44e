//! The fsql parser: splits a script into steps, parses FugueSQL statements
//! itself and hands standard SQL to DataFusion's `sqlparser`.

use datafusion::sql::sqlparser::ast as sql;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser as SqlParser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::ast::{
    Explain, Modifier, Name, Nested, Script, Span, Statement, Step, Yield, YieldKind,
};
use crate::cursor::{Cursor, describe, is_word, tokenize};
use crate::error::ParseError;
use crate::extent::sql_end;

/// Parses a whole fsql script.
pub fn parse(text: &str) -> Result<Script, ParseError> {
    let mut p = Parser::new(text)?;
    let mut steps = Vec::new();
    loop {
        while p.cur.eat_token(&Token::SemiColon) {}
        if p.cur.at_end() {
            break;
        }
        steps.push(p.step()?);
        let t = p.cur.peek();
        if !matches!(t.token, Token::SemiColon | Token::EOF) && p.cur.pos() > 0 {
            // The next statement must start here; anything else is left over.
            if !starts_new_statement(&p.cur) {
                return Err(ParseError::new(
                    format!(
                        "unexpected {} after the end of the statement",
                        describe(&t.token)
                    ),
                    t.span,
                ));
            }
        }
    }
    Ok(Script { steps })
}

pub(crate) struct Parser {
    pub(crate) cur: Cursor,
    /// Nested statements found in the current step's SQL.
    nested: Vec<Nested>,
}

/// Tokens after which SQL expects a table.
fn takes_table(t: &Token) -> bool {
    matches!(t, Token::Comma) || is_word(t, "FROM") || is_word(t, "JOIN")
}

/// True when `tokens` begin a FugueSQL statement that produces a dataframe
/// and can be nested in SQL.
fn starts_nested(tokens: &[TokenWithSpan]) -> bool {
    let kw = |i: usize, k: &str| tokens.get(i).is_some_and(|t| is_word(&t.token, k));
    let number = |i: usize| {
        tokens
            .get(i)
            .is_some_and(|t| matches!(t.token, Token::Number(..)))
    };
    (kw(0, "CREATE") && tokens.get(1).is_some_and(|t| t.token == Token::LBracket))
        || (kw(0, "DROP")
            && ["COLUMNS", "COLUMN", "ROWS", "ROW"]
                .iter()
                .any(|k| kw(1, k)))
        || (kw(0, "ALTER") && (kw(1, "COLUMNS") || kw(1, "COLUMN")))
        || (kw(0, "RENAME") && (kw(1, "COLUMNS") || kw(1, "COLUMN")))
        || (kw(0, "FILL") && (kw(1, "NULLS") || kw(1, "NULL")))
        || (kw(0, "LOAD")
            && tokens.get(1).is_some_and(|t| {
                matches!(
                    t.token,
                    Token::SingleQuotedString(_) | Token::DoubleQuotedString(_)
                ) || ["CSV", "PARQUET", "JSON"]
                    .iter()
                    .any(|k| is_word(&t.token, k))
            }))
        || (kw(0, "TAKE") && number(1))
        || kw(0, "TRANSFORM")
        || kw(0, "PROCESS")
        || (kw(0, "CREATE") && kw(1, "USING"))
        || kw(0, "ZIP")
        || (kw(0, "SAMPLE") && (number(1) || kw(1, "REPLACE")))
}

/// The index of the `)` that closes the `(` at `open`.
pub(crate) fn matching_paren(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0i64;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// True when the cursor sits on something that begins a statement.
fn starts_new_statement(cur: &Cursor) -> bool {
    matches!(&cur.peek().token, Token::Word(_) | Token::LParen)
}

impl Parser {
    /// A parser at the start of `text`.
    pub(crate) fn new(text: &str) -> Result<Parser, ParseError> {
        Ok(Parser {
            cur: Cursor::new(tokenize(text)?, text),
            nested: Vec::new(),
        })
    }

    fn step(&mut self) -> Result<Step, ParseError> {
        let start = self.cur.peek().span;
        let assign = if matches!(self.cur.peek().token, Token::Word(_))
            && matches!(self.cur.peek_at(1).token, Token::Eq | Token::Assignment)
        {
            let name = self.name("a dataframe name")?;
            self.cur.next();
            Some(name)
        } else {
            None
        };
        self.nested.clear();
        let statement = self.statement()?;
        let nested = std::mem::take(&mut self.nested);
        let modifiers = self.modifiers()?;
        let yield_ = self.yield_clause()?;
        if matches!(statement, Statement::Previous) && modifiers.is_empty() && yield_.is_none() {
            return Err(self.cur.expected("a statement"));
        }
        if assign.is_some() && statement.is_output() {
            return Err(ParseError::new(
                "an output statement (PRINT, SAVE) has no result to assign; use SAVE AND USE to continue with saved data",
                start,
            ));
        }
        Ok(Step {
            assign,
            statement,
            modifiers,
            yield_,
            nested,
            span: start.union(&self.cur.prev_span()),
        })
    }

    pub(crate) fn statement(&mut self) -> Result<Statement, ParseError> {
        if self.cur.is_kw("EXPLAIN") {
            let mut n = 1;
            while self.cur.is_kw_at(n, "ANALYZE") || self.cur.is_kw_at(n, "VERBOSE") {
                n += 1;
            }
            if self.fugue_dataframe_at(n) {
                self.cur.next();
                let analyze = self.cur.eat_kw("ANALYZE");
                let verbose = self.cur.eat_kw("VERBOSE");
                let statement = Box::new(self.statement()?);
                return Ok(Statement::Explain(Explain {
                    analyze,
                    verbose,
                    statement,
                }));
            }
        }
        if self.cur.is_kw("CREATE") && self.cur.is_kw_at(1, "USING") {
            return self.transform();
        }
        if let Some(statement) = self.ml_statement()? {
            return Ok(statement);
        }
        let c = &self.cur;
        if c.is_kw("CREATE") && matches!(c.peek_at(1).token, Token::LBracket) {
            return self.create_data();
        }
        if c.is_kw("DROP") && (c.is_kw_at(1, "COLUMNS") || c.is_kw_at(1, "COLUMN")) {
            return self.drop_columns();
        }
        if c.is_kw("DROP") && (c.is_kw_at(1, "ROWS") || c.is_kw_at(1, "ROW")) {
            return self.drop_rows();
        }
        if c.is_kw("ALTER") && (c.is_kw_at(1, "COLUMNS") || c.is_kw_at(1, "COLUMN")) {
            return self.alter_columns();
        }
        if c.is_kw("LOAD") {
            return self.load();
        }
        if c.is_kw("SAVE") {
            return self.save();
        }
        if c.is_kw("PRINT") {
            return self.print();
        }
        if c.is_kw("TAKE") {
            return self.take();
        }
        if c.is_kw("SAMPLE") {
            return self.sample();
        }
        if c.is_kw("FILL") {
            return self.fill_nulls();
        }
        if c.is_kw("RENAME") {
            return self.rename_columns();
        }
        for kw in [
            "PERSIST",
            "BROADCAST",
            "CHECKPOINT",
            "YIELD",
            "LAZY",
            "STRONG",
            "DETERMINISTIC",
        ] {
            if c.is_kw(kw) {
                return Ok(Statement::Previous);
            }
        }
        if ["TRANSFORM", "OUTTRANSFORM", "OUTPUT", "PROCESS"]
            .iter()
            .any(|kw| c.is_kw(kw))
        {
            return self.transform();
        }
        if c.is_kw("ZIP") {
            return self.zip();
        }
        for kw in ["SUB", "CONNECT"] {
            if c.is_kw(kw) {
                return Err(ParseError::new(
                    format!("{kw} is not supported by this version of fsql"),
                    c.peek().span,
                ));
            }
        }
        match &c.peek().token {
            Token::Word(_) | Token::LParen => self.sql_statement(),
            other => Err(ParseError::new(
                format!("expected a statement, found {}", describe(other)),
                c.peek().span,
            )),
        }
    }

    /// True when a FugueSQL statement that produces a dataframe starts `n`
    /// tokens ahead (what `EXPLAIN` may be followed by, besides SQL).
    fn fugue_dataframe_at(&self, n: usize) -> bool {
        let c = &self.cur;
        (c.is_kw_at(n, "CREATE")
            && (matches!(c.peek_at(n + 1).token, Token::LBracket) || c.is_kw_at(n + 1, "USING")))
            || [
                "LOAD",
                "TAKE",
                "SAMPLE",
                "FILL",
                "RENAME",
                "TRANSFORM",
                "PROCESS",
                "ZIP",
            ]
            .iter()
            .any(|kw| c.is_kw_at(n, kw))
            || (c.is_kw_at(n, "DROP")
                && ["COLUMNS", "COLUMN", "ROWS", "ROW"]
                    .iter()
                    .any(|kw| c.is_kw_at(n + 1, kw)))
            || (c.is_kw_at(n, "ALTER")
                && (c.is_kw_at(n + 1, "COLUMNS") || c.is_kw_at(n + 1, "COLUMN")))
    }

    /// Parses the SQL statement that starts here with `sqlparser`, over the
    /// tokens up to where the statement ends (see `extent.rs`).
    fn sql_statement(&mut self) -> Result<Statement, ParseError> {
        let start = self.cur.pos();
        let end = sql_end(self.cur.tokens(), start);
        let slice: Vec<TokenWithSpan> = self.cur.tokens()[start..end].to_vec();
        let fallback = slice.first().map(|t| t.span).unwrap_or_else(Span::empty);
        let end_span = self.cur.peek_at(end - start).span;
        let mut tokens = self.extract_nested(slice)?;
        crate::chains::check(&tokens)?;
        tokens.push(TokenWithSpan::new(Token::EOF, end_span));
        let quoted: Vec<(String, Span)> = tokens
            .iter()
            .filter_map(|t| match &t.token {
                Token::SingleQuotedString(v) => Some((v.clone(), t.span)),
                _ => None,
            })
            .collect();
        let dialect = GenericDialect {};
        let mut parser = SqlParser::new(&dialect).with_tokens_with_locations(tokens);
        let mut stmt = parser
            .parse_statement()
            .map_err(|e| ParseError::from_sqlparser(&e.to_string(), fallback))?;
        locate_quoted_tables(&mut stmt, &quoted);
        let rest = parser.peek_token();
        if rest.token != Token::EOF {
            return Err(ParseError::new(
                format!("unexpected {} in SQL statement", describe(&rest.token)),
                rest.span,
            ));
        }
        self.cur.set_pos(end);
        Ok(match stmt {
            sql::Statement::Query(q) => Statement::Query(q),
            other => Statement::Sql(Box::new(other)),
        })
    }

    /// Replaces each FugueSQL statement written in parentheses where a table
    /// can be (`FROM (TAKE 1 ROW FROM t)`) by a table name, and records the
    /// statement in `self.nested`.
    fn extract_nested(
        &mut self,
        slice: Vec<TokenWithSpan>,
    ) -> Result<Vec<TokenWithSpan>, ParseError> {
        let mut out = Vec::with_capacity(slice.len());
        let mut i = 0;
        while i < slice.len() {
            if i > 0
                && takes_table(&slice[i - 1].token)
                && is_word(&slice[i].token, "PREDICT")
                && slice.get(i + 1).is_some_and(|t| t.token == Token::LParen)
            {
                let (name, close) = self.predict(&slice, i + 1)?;
                out.push(TokenWithSpan::new(
                    Token::make_word(&name.value, None),
                    name.span,
                ));
                i = close + 1;
                continue;
            }
            let nests = slice[i].token == Token::LParen
                && i > 0
                && takes_table(&slice[i - 1].token)
                && starts_nested(&slice[i + 1..]);
            if !nests {
                out.push(slice[i].clone());
                i += 1;
                continue;
            }
            let (name, close) = self.nest(&slice, i)?;
            out.push(TokenWithSpan::new(
                Token::make_word(&name.value, None),
                name.span,
            ));
            i = close + 1;
        }
        Ok(out)
    }

    /// Parses the statement in the parentheses opening at `tokens[open]`,
    /// records it in `self.nested` and returns the name it goes by and the
    /// index of the closing parenthesis.
    fn nest(&mut self, tokens: &[TokenWithSpan], open: usize) -> Result<(Name, usize), ParseError> {
        let close = matching_paren(tokens, open)
            .ok_or_else(|| ParseError::new("this '(' is never closed", tokens[open].span))?;
        let statement = self.statement_in(&tokens[open + 1..close], tokens[close].span)?;
        Ok((
            self.push_nested(statement, tokens[open].span.union(&tokens[close].span)),
            close,
        ))
    }

    /// Parses `tokens` (the inside of parentheses, closed at `end`) as one
    /// statement that produces a dataframe. Statements nested in it are
    /// recorded first, so they run before it.
    pub(crate) fn statement_in(
        &mut self,
        tokens: &[TokenWithSpan],
        end: Span,
    ) -> Result<Statement, ParseError> {
        let first = tokens.first().map_or(end, |t| t.span);
        let mut sub = Parser {
            cur: Cursor::with_eof(tokens.to_vec(), end),
            nested: Vec::new(),
        };
        let statement = sub.statement()?;
        if !sub.cur.at_end() {
            let t = sub.cur.peek();
            return Err(ParseError::new(
                format!(
                    "unexpected {} in the nested statement, expected ')'",
                    describe(&t.token)
                ),
                t.span,
            ));
        }
        if statement.is_output() || matches!(statement, Statement::Previous) {
            return Err(ParseError::new(
                "a nested statement must produce a dataframe",
                first,
            ));
        }
        self.nested.append(&mut sub.nested);
        Ok(statement)
    }

    /// Records `statement` as nested under a name made from where it is
    /// written, and returns that name.
    pub(crate) fn push_nested(&mut self, statement: Statement, span: Span) -> Name {
        let name = format!("__fsql_nested_{}_{}__", span.start.line, span.start.column);
        self.nested.push(Nested {
            name: name.clone(),
            statement,
            span,
        });
        Name {
            value: name,
            quoted: false,
            span,
        }
    }

    /// A dataframe a FugueSQL statement reads: a name, or a statement in
    /// parentheses (`TAKE 1 ROW FROM (LOAD 'x.csv')`).
    pub(crate) fn dataframe(&mut self, what: &str) -> Result<Name, ParseError> {
        if !self.cur.is_token(&Token::LParen) {
            return self.name(what);
        }
        let open = self.cur.pos();
        let (name, close) = {
            let tokens = self.cur.tokens().to_vec();
            self.nest(&tokens, open)?
        };
        self.cur.set_pos(close + 1);
        Ok(name)
    }

    fn modifiers(&mut self) -> Result<Vec<Modifier>, ParseError> {
        let mut out = Vec::new();
        loop {
            if self.cur.eat_kw("PERSIST") {
                out.push(Modifier::Persist);
            } else if self.cur.eat_kw("BROADCAST") {
                out.push(Modifier::Broadcast);
            } else if self.cur.eat_kw("CHECKPOINT") {
                out.push(Modifier::Checkpoint(None));
            } else if let Some(kw) = ["LAZY", "STRONG", "DETERMINISTIC"]
                .into_iter()
                .find(|k| self.cur.is_kw(k) && self.cur.is_kw_at(1, "CHECKPOINT"))
            {
                self.cur.next();
                self.cur.next();
                out.push(Modifier::Checkpoint(Some(kw.to_string())));
            } else {
                return Ok(out);
            }
        }
    }

    fn yield_clause(&mut self) -> Result<Option<Yield>, ParseError> {
        if !self.cur.is_kw("YIELD") {
            return Ok(None);
        }
        let start = self.cur.next().span;
        let kind = if self.cur.eat_kw("DATAFRAME") {
            YieldKind::Dataframe
        } else if self.cur.eat_kw("LOCAL") {
            self.cur.expect_kw("DATAFRAME")?;
            YieldKind::LocalDataframe
        } else if self.cur.eat_kw("FILE") {
            YieldKind::File
        } else if self.cur.eat_kw("TABLE") {
            YieldKind::Table
        } else {
            return Err(self
                .cur
                .expected("DATAFRAME, LOCAL DATAFRAME, FILE or TABLE after YIELD"));
        };
        let name = if self.cur.eat_kw("AS") {
            Some(self.name("a name after AS")?)
        } else {
            None
        };
        Ok(Some(Yield {
            kind,
            name,
            span: start.union(&self.cur.prev_span()),
        }))
    }

    /// An identifier (quoted or not).
    pub(crate) fn name(&mut self, what: &str) -> Result<Name, ParseError> {
        match &self.cur.peek().token {
            Token::Word(w) => {
                let name = Name {
                    value: w.value.clone(),
                    quoted: w.quote_style.is_some(),
                    span: self.cur.peek().span,
                };
                self.cur.next();
                Ok(name)
            }
            _ => Err(self.cur.expected(what)),
        }
    }

    /// `a, (TAKE 1 ROW FROM b), c`: dataframes a statement reads.
    pub(crate) fn dataframe_list(&mut self, what: &str) -> Result<Vec<Name>, ParseError> {
        let mut out = vec![self.dataframe(what)?];
        while self.cur.eat_token(&Token::Comma) {
            out.push(self.dataframe(what)?);
        }
        Ok(out)
    }

    /// `a, b, c`
    pub(crate) fn name_list(&mut self, what: &str) -> Result<Vec<Name>, ParseError> {
        let mut out = vec![self.name(what)?];
        while self.cur.eat_token(&Token::Comma) {
            out.push(self.name(what)?);
        }
        Ok(out)
    }

    /// `FROM df` (optional): the input dataframe of a statement.
    pub(crate) fn input_clause(&mut self) -> Result<Option<Name>, ParseError> {
        if self.cur.eat_kw("FROM") {
            Ok(Some(self.dataframe("a dataframe name after FROM")?))
        } else {
            Ok(None)
        }
    }

    /// An unsigned integer.
    pub(crate) fn integer(&mut self, what: &str) -> Result<u64, ParseError> {
        match &self.cur.peek().token {
            Token::Number(n, _) => {
                let span = self.cur.peek().span;
                let v = n
                    .parse::<u64>()
                    .map_err(|_| ParseError::new(format!("expected {what}, found '{n}'"), span))?;
                self.cur.next();
                Ok(v)
            }
            _ => Err(self.cur.expected(what)),
        }
    }

    /// A quoted string (single or double quotes).
    pub(crate) fn string(&mut self, what: &str) -> Result<(String, Span), ParseError> {
        let t = self.cur.peek().clone();
        match t.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => {
                self.cur.next();
                Ok((s, t.span))
            }
            Token::Word(w) if w.quote_style == Some('"') => {
                self.cur.next();
                Ok((w.value, t.span))
            }
            _ => Err(self.cur.expected(what)),
        }
    }
}

/// `SELECT * FROM name` as a query, for statements that take a dataframe by
/// name where a query is expected (`PREDICT(MODEL m, df)`).
pub(crate) fn select_all_from(
    name: &str,
    quote: Option<char>,
    span: Span,
) -> Result<sql::Query, ParseError> {
    let ident = match quote {
        Some(q) => sql::Ident::with_quote(q, name),
        None => sql::Ident::new(name),
    };
    let text = format!("SELECT * FROM {ident}");
    let dialect = GenericDialect {};
    let mut parser = SqlParser::new(&dialect)
        .try_with_sql(&text)
        .map_err(|e| ParseError::from_sqlparser(&e.to_string(), span))?;
    parser
        .parse_query()
        .map(|q| *q)
        .map_err(|e| ParseError::from_sqlparser(&e.to_string(), span))
}

/// Gives the tables named by a string (`FROM 'sales.csv'`, a file) the
/// place of that string in the script: sqlparser makes their names without
/// one, and an error about the file points there.
fn locate_quoted_tables(stmt: &mut sql::Statement, quoted: &[(String, Span)]) {
    use sql::{ObjectNamePart, TableFactor, VisitMut, VisitorMut};
    use std::ops::ControlFlow;
    struct Locate<'a> {
        quoted: &'a [(String, Span)],
        used: usize,
    }
    impl VisitorMut for Locate<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, .. } = factor
                && let [ObjectNamePart::Identifier(id)] = name.0.as_mut_slice()
                && id.quote_style == Some('\'')
                && id.span == Span::empty()
                && let Some(k) = self.quoted[self.used..]
                    .iter()
                    .position(|(v, _)| *v == id.value)
            {
                id.span = self.quoted[self.used + k].1;
                self.used += k + 1;
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Locate { quoted, used: 0 });
}
