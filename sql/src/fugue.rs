//! FugueSQL statements: CREATE data, LOAD, SAVE, PRINT, TAKE, SAMPLE and the
//! column/row operations. Grammar follows fugue 0.9's `fugue_sql` rules, with
//! keywords case-insensitive.

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::ast::*;
use crate::error::ParseError;
use crate::parser::Parser;

impl Parser {
    /// `CREATE [[..],..] SCHEMA a:int,...`
    pub(crate) fn create_data(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("CREATE")?;
        let data_span = self.cur.peek().span;
        let data = self.literal()?;
        let Literal::List(rows) = data else {
            return Err(ParseError::new(
                "expected a list of rows like [[1,\"a\"],[2,null]]",
                data_span,
            ));
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match row {
                Literal::List(values) => out.push(values),
                _ => {
                    return Err(ParseError::new(
                        "each row of CREATE data must be a list like [1,\"a\"]",
                        data_span,
                    ));
                }
            }
        }
        self.cur.expect_kw("SCHEMA")?;
        let schema = self.schema()?;
        Ok(Statement::CreateData(CreateData { rows: out, schema }))
    }

    fn file_format(&mut self) -> Option<FileFormat> {
        let f = if self.cur.is_kw("CSV") {
            FileFormat::Csv
        } else if self.cur.is_kw("PARQUET") {
            FileFormat::Parquet
        } else if self.cur.is_kw("JSON") {
            FileFormat::Json
        } else {
            return None;
        };
        self.cur.next();
        Some(f)
    }

    /// `LOAD [fmt] 'path' [(options)] [COLUMNS schema | COLUMNS a,b]`
    pub(crate) fn load(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("LOAD")?;
        let format = self.file_format();
        let (path, path_span) = self.string("a quoted path after LOAD")?;
        let options = self.options_in_parens()?;
        let columns = if self.cur.eat_kw("COLUMNS") {
            if matches!(self.cur.peek_at(1).token, Token::Colon) {
                Some(Columns::Schema(self.schema()?))
            } else {
                Some(Columns::Names(self.name_list("a column name")?))
            }
        } else {
            None
        };
        Ok(Statement::Load(Load {
            format,
            path,
            path_span,
            options,
            columns,
        }))
    }

    /// `SAVE [AND USE] [df] [PREPARTITION ..] OVERWRITE|APPEND|TO [SINGLE] [fmt] 'path' [(options)]`
    pub(crate) fn save(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("SAVE")?;
        let and_use = if self.cur.eat_kw("AND") {
            self.cur.expect_kw("USE")?;
            true
        } else {
            false
        };
        let is_mode = |p: &Parser| {
            ["OVERWRITE", "APPEND", "TO"].iter().any(|k| p.cur.is_kw(k)) || p.at_partition_spec()
        };
        let input =
            if !is_mode(self) && matches!(self.cur.peek().token, Token::Word(_) | Token::LParen) {
                Some(self.dataframe("a dataframe name")?)
            } else {
                None
            };
        let mut partition = self.partition_spec()?;
        let mode = if self.cur.eat_kw("OVERWRITE") {
            SaveMode::Overwrite
        } else if self.cur.eat_kw("APPEND") {
            SaveMode::Append
        } else if self.cur.eat_kw("TO") {
            SaveMode::ErrorIfExists
        } else {
            return Err(self.cur.expected("OVERWRITE, APPEND or TO"));
        };
        let single = self.cur.eat_kw("SINGLE");
        let format = self.file_format();
        let (path, path_span) = self.string("a quoted path")?;
        let options = self.options_in_parens()?;
        if partition.is_none() {
            partition = self.partition_spec()?;
        }
        if single && partition.as_ref().is_some_and(|p| !p.by.is_empty()) {
            return Err(ParseError::new(
                "SINGLE cannot be combined with PREPARTITION BY: a partitioned save writes one folder per key",
                path_span,
            ));
        }
        Ok(Statement::Save(Save {
            and_use,
            input,
            partition,
            mode,
            single,
            format,
            path,
            path_span,
            options,
        }))
    }

    /// `PRINT [n ROWS] [FROM] [a, b] [ROWCOUNT] [TITLE 'x']`
    pub(crate) fn print(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("PRINT")?;
        let rows = if matches!(self.cur.peek().token, Token::Number(..)) {
            let n = self.integer("a row count")?;
            self.rows_keyword()?;
            Some(n)
        } else {
            None
        };
        let explicit_from = self.cur.eat_kw("FROM");
        let bare_name = matches!(self.cur.peek().token, Token::Word(_))
            && !self.cur.is_kw("ROWCOUNT")
            && !self.cur.is_kw("TITLE")
            && !matches!(self.cur.peek_at(1).token, Token::Eq | Token::Assignment)
            && !crate::extent::is_statement_word(&self.cur.peek().token);
        let inputs = if explicit_from {
            self.dataframe_list("a dataframe name after FROM")?
        } else if bare_name {
            self.name_list("a dataframe name")?
        } else {
            Vec::new()
        };
        let rowcount = self.cur.eat_kw("ROWCOUNT");
        let title = if self.cur.eat_kw("TITLE") {
            Some(self.string("a quoted title after TITLE")?.0)
        } else {
            None
        };
        Ok(Statement::Print(Print {
            rows,
            inputs,
            rowcount,
            title,
        }))
    }

    fn rows_keyword(&mut self) -> Result<(), ParseError> {
        if self.cur.eat_kw("ROWS") || self.cur.eat_kw("ROW") {
            Ok(())
        } else {
            Err(self.cur.expected("ROWS after the row count"))
        }
    }

    /// `TAKE n ROWS [FROM df] [PREPARTITION ..] [PRESORT ..] [NULLS FIRST|LAST]`
    pub(crate) fn take(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("TAKE")?;
        let rows = self.integer("the number of rows to take")?;
        self.rows_keyword()?;
        let input = self.input_clause()?;
        let mut partition = self.partition_spec()?.unwrap_or_default();
        if self.cur.eat_kw("PRESORT") {
            if !partition.presort.is_empty() {
                return Err(ParseError::new("PRESORT given twice", self.cur.prev_span()));
            }
            partition.presort = self.presort_list()?;
        }
        let nulls_first = if self.cur.is_kw("NULLS") {
            self.cur.next();
            if self.cur.eat_kw("FIRST") {
                Some(true)
            } else if self.cur.eat_kw("LAST") {
                Some(false)
            } else {
                return Err(self.cur.expected("FIRST or LAST after NULLS"));
            }
        } else {
            None
        };
        Ok(Statement::Take(Take {
            rows,
            input,
            partition,
            nulls_first,
        }))
    }

    /// `SAMPLE [REPLACE] n ROWS | p PERCENT [REPLACE] [SEED s] [FROM df]`
    pub(crate) fn sample(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("SAMPLE")?;
        let mut replace = self.cur.eat_kw("REPLACE");
        let t = self.cur.peek().clone();
        let Token::Number(n, _) = &t.token else {
            return Err(self.cur.expected("a number of ROWS or a PERCENT"));
        };
        self.cur.next();
        let method = if self.cur.eat_kw("ROWS") || self.cur.eat_kw("ROW") {
            let rows = n.parse::<u64>().map_err(|_| {
                ParseError::new("the number of rows must be a whole number", t.span)
            })?;
            SampleMethod::Rows(rows)
        } else if self.cur.eat_kw("PERCENT") || self.cur.eat_token(&Token::Mod) {
            let p = n
                .parse::<f64>()
                .map_err(|_| ParseError::new("bad percentage", t.span))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(ParseError::new(
                    "a percentage must be between 0 and 100",
                    t.span,
                ));
            }
            SampleMethod::Percent(p)
        } else {
            return Err(self.cur.expected("ROWS or PERCENT"));
        };
        replace |= self.cur.eat_kw("REPLACE");
        let seed = if self.cur.eat_kw("SEED") {
            Some(self.integer("a whole-number seed")?)
        } else {
            None
        };
        let input = self.input_clause()?;
        Ok(Statement::Sample(Sample {
            method,
            replace,
            seed,
            input,
        }))
    }

    /// `DROP COLUMNS a, b [IF EXISTS] [FROM df]`
    pub(crate) fn drop_columns(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("DROP")?;
        self.cur.next(); // COLUMNS
        let columns = self.name_list("a column name")?;
        let if_exists = if self.cur.eat_kw("IF") {
            self.cur.expect_kw("EXISTS")?;
            true
        } else {
            false
        };
        let input = self.input_clause()?;
        Ok(Statement::DropColumns(DropColumns {
            columns,
            if_exists,
            input,
        }))
    }

    /// `DROP ROWS IF ALL|ANY NULL[S] [ON a, b] [FROM df]`
    pub(crate) fn drop_rows(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("DROP")?;
        self.cur.next(); // ROWS
        self.cur.expect_kw("IF")?;
        let all = if self.cur.eat_kw("ALL") {
            true
        } else if self.cur.eat_kw("ANY") {
            false
        } else {
            return Err(self.cur.expected("ALL or ANY"));
        };
        if !(self.cur.eat_kw("NULLS") || self.cur.eat_kw("NULL")) {
            return Err(self.cur.expected("NULLS"));
        }
        let columns = if self.cur.eat_kw("ON") {
            self.name_list("a column name")?
        } else {
            Vec::new()
        };
        let input = self.input_clause()?;
        Ok(Statement::DropRows(DropRows {
            all,
            columns,
            input,
        }))
    }

    /// `FILL NULLS PARAMS a:0, b:'x' [FROM df]`
    pub(crate) fn fill_nulls(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("FILL")?;
        if !(self.cur.eat_kw("NULLS") || self.cur.eat_kw("NULL")) {
            return Err(self.cur.expected("NULLS after FILL"));
        }
        let values = self.params()?;
        if values.entries.is_empty() {
            return Err(self.cur.expected("PARAMS column:value, ..."));
        }
        let input = self.input_clause()?;
        Ok(Statement::FillNulls(FillNulls { values, input }))
    }

    /// `RENAME COLUMNS a:x, b:y [FROM df]`
    pub(crate) fn rename_columns(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("RENAME")?;
        if !(self.cur.eat_kw("COLUMNS") || self.cur.eat_kw("COLUMN")) {
            return Err(self.cur.expected("COLUMNS after RENAME"));
        }
        let mut pairs = Vec::new();
        loop {
            let from = self.name("a column name")?;
            self.cur
                .expect_token(&Token::Colon, "':' between old and new column name")?;
            let to = self.name("the new column name")?;
            pairs.push((from, to));
            if !self.cur.eat_token(&Token::Comma) {
                break;
            }
        }
        let input = self.input_clause()?;
        Ok(Statement::RenameColumns(RenameColumns { pairs, input }))
    }

    /// `ALTER COLUMNS a:double, b:str [FROM df]`
    pub(crate) fn alter_columns(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("ALTER")?;
        self.cur.next(); // COLUMNS
        let schema = self.schema()?;
        let input = self.input_clause()?;
        Ok(Statement::AlterColumns(AlterColumns { schema, input }))
    }

    pub(crate) fn at_partition_spec(&self) -> bool {
        self.cur.is_kw("PREPARTITION")
            || (["HASH", "RAND", "EVEN", "COARSE"]
                .iter()
                .any(|k| self.cur.is_kw(k))
                && self.cur.is_kw_at(1, "PREPARTITION"))
    }

    /// `[HASH|RAND|EVEN|COARSE] PREPARTITION [n] [BY a, b] [PRESORT c DESC, d]`
    pub(crate) fn partition_spec(&mut self) -> Result<Option<PartitionSpec>, ParseError> {
        if !self.at_partition_spec() {
            return Ok(None);
        }
        let algo = if self.cur.is_kw("PREPARTITION") {
            None
        } else {
            Some(self.cur.next().token.to_string().to_uppercase())
        };
        self.cur.expect_kw("PREPARTITION")?;
        // The partition count: a number or an expression over ROWCOUNT and
        // CONCURRENCY. Kept as written: results never depend on it.
        let mut num = Vec::new();
        while is_count_token(&self.cur.peek().token) {
            num.push(self.cur.next().token.to_string());
        }
        let by = if self.cur.eat_kw("BY") {
            self.name_list("a partition key column")?
        } else {
            Vec::new()
        };
        let presort = if self.cur.eat_kw("PRESORT") {
            self.presort_list()?
        } else {
            Vec::new()
        };
        if num.is_empty() && by.is_empty() {
            return Err(self
                .cur
                .expected("a partition count or BY after PREPARTITION"));
        }
        Ok(Some(PartitionSpec {
            algo,
            num: (!num.is_empty()).then(|| num.join(" ")),
            by,
            presort,
        }))
    }

    /// `c DESC, d ASC, e`
    pub(crate) fn presort_list(&mut self) -> Result<Vec<SortKey>, ParseError> {
        let mut out = Vec::new();
        loop {
            let column = self.name("a column to presort by")?;
            let ascending = if self.cur.eat_kw("DESC") {
                false
            } else {
                self.cur.eat_kw("ASC");
                true
            };
            out.push(SortKey { column, ascending });
            if !self.cur.eat_token(&Token::Comma) {
                return Ok(out);
            }
        }
    }
}

/// Tokens allowed in a PREPARTITION count: numbers, ROWCOUNT, CONCURRENCY and
/// arithmetic.
fn is_count_token(t: &Token) -> bool {
    match t {
        Token::Number(..) | Token::Mul | Token::Div | Token::Plus | Token::Minus => true,
        Token::LParen | Token::RParen => true,
        Token::Word(w) => {
            w.quote_style.is_none()
                && (w.value.eq_ignore_ascii_case("ROWCOUNT")
                    || w.value.eq_ignore_ascii_case("CONCURRENCY"))
        }
        _ => false,
    }
}
