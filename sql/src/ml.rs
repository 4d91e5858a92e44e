//! Parsing of the machine-learning statements (Dask-SQL's surface):
//! CREATE MODEL, PREDICT(MODEL m, ...), DESCRIBE / SHOW / DROP / EXPORT /
//! IMPORT MODEL, and their `WITH (k = v, ...)` options.

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::ast::{CompareModels, CreateExperiment, CreateModel, Literal, Name, Predict, Statement};
use crate::cursor::describe;
use crate::error::ParseError;
use crate::parser::{Parser, matching_paren};
use datafusion::sql::sqlparser::tokenizer::TokenWithSpan;

impl Parser {
    /// An ML statement starting here, if there is one.
    pub(crate) fn ml_statement(&mut self) -> Result<Option<Statement>, ParseError> {
        let c = &self.cur;
        let statement = if c.is_kw("CREATE")
            && (c.is_kw_at(1, "MODEL")
                || (c.is_kw_at(1, "OR") && c.is_kw_at(2, "REPLACE") && c.is_kw_at(3, "MODEL")))
        {
            self.create_model()?
        } else if c.is_kw("CREATE")
            && (c.is_kw_at(1, "EXPERIMENT")
                || (c.is_kw_at(1, "OR") && c.is_kw_at(2, "REPLACE") && c.is_kw_at(3, "EXPERIMENT")))
        {
            self.create_experiment()?
        } else if c.is_kw("COMPARE") && c.is_kw_at(1, "MODELS") {
            self.compare_models()?
        } else if c.is_kw("DESCRIBE") && c.is_kw_at(1, "MODEL") {
            self.cur.next();
            self.cur.next();
            Statement::DescribeModel(self.name("a model name")?)
        } else if c.is_kw("SHOW") && c.is_kw_at(1, "MODELS") {
            self.cur.next();
            self.cur.next();
            Statement::ShowModels
        } else if c.is_kw("DROP") && c.is_kw_at(1, "MODEL") {
            self.cur.next();
            self.cur.next();
            let if_exists = self.if_exists()?;
            Statement::DropModel {
                name: self.name("a model name")?,
                if_exists,
            }
        } else if c.is_kw("EXPORT") && c.is_kw_at(1, "MODEL") {
            self.cur.next();
            self.cur.next();
            let name = self.name("a model name")?;
            self.cur.expect_kw("WITH")?;
            Statement::ExportModel {
                name,
                options: self.with_options()?,
            }
        } else if (c.is_kw("IMPORT") || c.is_kw("LOAD"))
            && (c.is_kw_at(1, "MODEL")
                || (c.is_kw_at(1, "OR") && c.is_kw_at(2, "REPLACE") && c.is_kw_at(3, "MODEL")))
        {
            self.cur.next();
            let or_replace = self.or_replace()?;
            self.cur.expect_kw("MODEL")?;
            let name = self.name("a model name")?;
            self.cur.expect_kw("WITH")?;
            Statement::ImportModel {
                name,
                or_replace,
                options: self.with_options()?,
            }
        } else {
            return Ok(None);
        };
        Ok(Some(statement))
    }

    fn or_replace(&mut self) -> Result<bool, ParseError> {
        if self.cur.eat_kw("OR") {
            self.cur.expect_kw("REPLACE")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn if_exists(&mut self) -> Result<bool, ParseError> {
        if self.cur.is_kw("IF") && self.cur.is_kw_at(1, "EXISTS") {
            self.cur.next();
            self.cur.next();
            return Ok(true);
        }
        Ok(false)
    }

    fn create_model(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("CREATE")?;
        let or_replace = self.or_replace()?;
        self.cur.expect_kw("MODEL")?;
        let if_not_exists = if self.cur.is_kw("IF") {
            self.cur.next();
            self.cur.expect_kw("NOT")?;
            self.cur.expect_kw("EXISTS")?;
            true
        } else {
            false
        };
        if or_replace && if_not_exists {
            return Err(ParseError::new(
                "OR REPLACE and IF NOT EXISTS cannot be used together",
                self.cur.prev_span(),
            ));
        }
        let name = self.name("a model name")?;
        self.cur.expect_kw("WITH")?;
        let options = self.with_options()?;
        self.cur.expect_kw("AS")?;
        let query = if self.cur.is_token(&Token::LParen) {
            let open = self.cur.pos();
            let tokens = self.cur.tokens().to_vec();
            let close = matching_paren(&tokens, open)
                .ok_or_else(|| ParseError::new("this '(' is never closed", tokens[open].span))?;
            let statement = self.statement_in(&tokens[open + 1..close], tokens[close].span)?;
            self.cur.set_pos(close + 1);
            statement
        } else {
            self.statement()?
        };
        Ok(Statement::CreateModel(CreateModel {
            name,
            or_replace,
            if_not_exists,
            options,
            query: Box::new(query),
        }))
    }

    /// `(<statement>)` starting here: the statement inside the parentheses.
    fn parenthesized_statement(&mut self) -> Result<Statement, ParseError> {
        let open = self.cur.pos();
        let tokens = self.cur.tokens().to_vec();
        let close = matching_paren(&tokens, open)
            .ok_or_else(|| ParseError::new("this '(' is never closed", tokens[open].span))?;
        let statement = self.statement_in(&tokens[open + 1..close], tokens[close].span)?;
        self.cur.set_pos(close + 1);
        Ok(statement)
    }

    /// `COMPARE MODELS [FROM df | FROM (<statement>)] WITH (...)`; without
    /// FROM the previous dataframe is compared on.
    fn compare_models(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("COMPARE")?;
        self.cur.expect_kw("MODELS")?;
        let input = if self.cur.eat_kw("FROM") {
            if self.cur.is_token(&Token::LParen) {
                Some(Box::new(self.parenthesized_statement()?))
            } else {
                let t = self.cur.peek().clone();
                let Token::Word(w) = &t.token else {
                    return Err(self
                        .cur
                        .expected("a dataframe name or a (query) after FROM"));
                };
                self.cur.next();
                Some(Box::new(Statement::Query(Box::new(
                    crate::parser::select_all_from(&w.value, w.quote_style, t.span)?,
                ))))
            }
        } else {
            None
        };
        // PREPARTITION BY keys: one series per key (forecasting).
        let partition = self.partition_spec()?.map(|p| p.by).unwrap_or_default();
        if !self.cur.is_kw("WITH") {
            return Err(self.cur.expected(
                "WITH (target = '...', ...) after COMPARE MODELS [FROM ...] [PREPARTITION BY ...]",
            ));
        }
        self.cur.next();
        let options = self.with_options()?;
        Ok(Statement::CompareModels(CompareModels {
            input,
            partition,
            options,
        }))
    }

    /// `CREATE [OR REPLACE] EXPERIMENT name WITH (...) AS (<statement>)`.
    fn create_experiment(&mut self) -> Result<Statement, ParseError> {
        self.cur.expect_kw("CREATE")?;
        let or_replace = self.or_replace()?;
        self.cur.expect_kw("EXPERIMENT")?;
        let name = self.name("an experiment name")?;
        self.cur.expect_kw("WITH")?;
        let options = self.with_options()?;
        self.cur.expect_kw("AS")?;
        let query = if self.cur.is_token(&Token::LParen) {
            self.parenthesized_statement()?
        } else {
            self.statement()?
        };
        Ok(Statement::CreateExperiment(CreateExperiment {
            name,
            or_replace,
            options,
            query: Box::new(query),
        }))
    }

    /// `PREDICT(MODEL m, <statement>)` with `tokens[open]` its '(': records
    /// it as a nested statement and returns its table name and the index of
    /// the closing parenthesis.
    pub(crate) fn predict(
        &mut self,
        tokens: &[TokenWithSpan],
        open: usize,
    ) -> Result<(Name, usize), ParseError> {
        let close = matching_paren(tokens, open)
            .ok_or_else(|| ParseError::new("this '(' is never closed", tokens[open].span))?;
        let span = tokens[open - 1].span.union(&tokens[close].span);
        let inner = &tokens[open + 1..close];
        let model_kw = inner
            .first()
            .filter(|t| crate::cursor::is_word(&t.token, "MODEL"));
        let Some(model_kw) = model_kw else {
            return Err(ParseError::new(
                "expected PREDICT(MODEL name, SELECT ...)",
                inner.first().map_or(tokens[close].span, |t| t.span),
            ));
        };
        let model = match inner.get(1).map(|t| &t.token) {
            Some(Token::Word(w)) => Name {
                value: w.value.clone(),
                quoted: w.quote_style.is_some(),
                span: inner[1].span,
            },
            other => {
                return Err(ParseError::new(
                    format!(
                        "expected a model name after MODEL, found {}",
                        other.map_or("')'".to_string(), describe)
                    ),
                    inner.get(1).map_or(model_kw.span, |t| t.span),
                ));
            }
        };
        match inner.get(2) {
            Some(t) if t.token == Token::Comma => {}
            other => {
                return Err(ParseError::new(
                    "expected ',' and the statement to predict for: PREDICT(MODEL name, SELECT ...)",
                    other.map_or(tokens[close].span, |t| t.span),
                ));
            }
        }
        let body = &inner[3..];
        let input = if body.len() == 1 && matches!(&body[0].token, Token::Word(_)) {
            // PREDICT(MODEL m, df): a dataframe or table by name.
            let Token::Word(w) = &body[0].token else {
                unreachable!()
            };
            Statement::Query(Box::new(crate::parser::select_all_from(
                &w.value,
                w.quote_style,
                body[0].span,
            )?))
        } else {
            self.statement_in(body, tokens[close].span)?
        };
        let statement = Statement::Predict(Predict {
            model,
            input: Box::new(input),
        });
        Ok((self.push_nested(statement, span), close))
    }

    /// `(k = v, ...)`: values are literals, nested `(k = v)` maps and
    /// `ARRAY[...]` lists.
    fn with_options(&mut self) -> Result<Vec<(Name, Literal)>, ParseError> {
        self.cur.expect_token(&Token::LParen, "'(' after WITH")?;
        let mut entries = Vec::new();
        if self.cur.eat_token(&Token::RParen) {
            return Ok(entries);
        }
        loop {
            let key = self.name("an option name")?;
            if !(self.cur.eat_token(&Token::Eq) || self.cur.eat_token(&Token::Colon)) {
                return Err(self.cur.expected("'=' after the option name"));
            }
            let value = self.ml_value()?;
            if let Some((dup, _)) = entries
                .iter()
                .find(|(k, _): &&(Name, Literal)| k.value.eq_ignore_ascii_case(&key.value))
            {
                return Err(ParseError::new(
                    format!("option '{}' is given twice", dup.value),
                    key.span,
                ));
            }
            entries.push((key, value));
            if self.cur.eat_token(&Token::RParen) {
                return Ok(entries);
            }
            self.cur.expect_token(&Token::Comma, "',' or ')'")?;
        }
    }

    /// True when the '(' here opens `(k = v, ...)` (or is empty), not a
    /// list of values.
    fn options_start(&self) -> bool {
        let next = &self.cur.peek_at(1).token;
        *next == Token::RParen
            || (matches!(next, Token::Word(_))
                && matches!(self.cur.peek_at(2).token, Token::Eq | Token::Colon))
    }

    /// An item of a `(a, b)` list: a literal, or a bare word as a string
    /// (`models = (lr, rf)`).
    fn list_item(&mut self) -> Result<Literal, ParseError> {
        if let Token::Word(w) = &self.cur.peek().token
            && w.quote_style.is_none()
            && !["TRUE", "FALSE", "NULL", "ARRAY"].contains(&w.value.to_ascii_uppercase().as_str())
        {
            let v = w.value.clone();
            self.cur.next();
            return Ok(Literal::String(v));
        }
        self.ml_value()
    }

    fn ml_value(&mut self) -> Result<Literal, ParseError> {
        if self.cur.is_kw("ARRAY") && self.cur.peek_at(1).token == Token::LBracket {
            self.cur.next();
            return self.literal();
        }
        if self.cur.is_token(&Token::LParen) && !self.options_start() {
            // `('lr', 'rf')`: a list.
            self.cur.next();
            let mut items = Vec::new();
            loop {
                items.push(self.list_item()?);
                if self.cur.eat_token(&Token::RParen) {
                    return Ok(Literal::List(items));
                }
                self.cur.expect_token(&Token::Comma, "',' or ')'")?;
            }
        }
        if self.cur.is_token(&Token::LParen) {
            let entries = self.with_options()?;
            return Ok(Literal::Object(
                entries.into_iter().map(|(k, v)| (k.value, v)).collect(),
            ));
        }
        self.literal()
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::*;
    use crate::parse;
    use crate::tests::round_trip;

    #[test]
    fn create_model_with_nested_options_and_arrays() {
        let s = parse(
            "t = SELECT 1 AS x, 2 AS y\n\
             CREATE OR REPLACE MODEL m WITH (\n  model_class = 'sklearn.linear_model.Ridge',\n  target_column = 'y', alpha = 0.5,\n  fit_kwargs = (sample_weight = 'w'), grid = ARRAY[1, 2]\n) AS (SELECT * FROM t)\n\
             SELECT 3",
        )
        .unwrap();
        assert_eq!(s.steps.len(), 3);
        let Statement::CreateModel(m) = &s.steps[1].statement else {
            panic!("{:?}", s.steps[1].statement)
        };
        assert!(m.or_replace && !m.if_not_exists);
        assert_eq!(m.name.value, "m");
        let keys: Vec<&str> = m.options.iter().map(|(k, _)| k.value.as_str()).collect();
        assert_eq!(
            keys,
            [
                "model_class",
                "target_column",
                "alpha",
                "fit_kwargs",
                "grid"
            ]
        );
        assert_eq!(
            m.options[3].1,
            Literal::Object(vec![("sample_weight".into(), Literal::String("w".into()))])
        );
        assert!(matches!(m.options[4].1, Literal::List(ref v) if v.len() == 2));
        assert!(matches!(*m.query, Statement::Query(_)));
        round_trip(
            "CREATE MODEL IF NOT EXISTS m WITH (model_class = 'KMeans', n_clusters = 3) AS (LOAD 'x.csv')",
        );
    }

    #[test]
    fn predict_is_a_nested_statement() {
        let s = parse("SELECT target, COUNT(*) FROM PREDICT(MODEL m, SELECT * FROM t WHERE a > 1) GROUP BY target").unwrap();
        let step = &s.steps[0];
        assert_eq!(step.nested.len(), 1);
        let Statement::Predict(p) = &step.nested[0].statement else {
            panic!()
        };
        assert_eq!(p.model.value, "m");
        assert_eq!(step.nested[0].name, "__fsql_nested_1_30__");
        round_trip("SELECT * FROM PREDICT(MODEL m, SELECT * FROM (TAKE 1 ROW FROM t))");
        // A dataframe by name, and joins.
        let s = parse("SELECT * FROM a JOIN PREDICT(MODEL m, df) p ON a.id = p.id").unwrap();
        let Statement::Predict(p) = &s.steps[0].nested[0].statement else {
            panic!()
        };
        assert_eq!(p.input.to_string(), "SELECT * FROM df");
    }

    #[test]
    fn catalog_statements() {
        let s = parse(
            "SHOW MODELS\nDESCRIBE MODEL m\nDROP MODEL IF EXISTS m\n\
             EXPORT MODEL m WITH (format = 'json', location = 'models/m.json')\n\
             IMPORT OR REPLACE MODEL m2 WITH (location = 'models/m.json')\n\
             LOAD MODEL m3 WITH (location = 'models/m.json')",
        )
        .unwrap();
        assert!(matches!(s.steps[0].statement, Statement::ShowModels));
        assert!(matches!(&s.steps[1].statement, Statement::DescribeModel(n) if n.value == "m"));
        assert!(matches!(
            &s.steps[2].statement,
            Statement::DropModel {
                if_exists: true,
                ..
            }
        ));
        assert!(
            matches!(&s.steps[3].statement, Statement::ExportModel { options, .. } if options.len() == 2)
        );
        assert!(matches!(
            &s.steps[4].statement,
            Statement::ImportModel {
                or_replace: true,
                ..
            }
        ));
        assert!(matches!(
            &s.steps[5].statement,
            Statement::ImportModel {
                or_replace: false,
                ..
            }
        ));
        round_trip(
            "SHOW MODELS\nDESCRIBE MODEL m\nDROP MODEL IF EXISTS m\nEXPORT MODEL m WITH (format = 'json', location = 'a''b')",
        );
    }

    #[test]
    fn compare_models_and_experiments() {
        let s = parse(
            "t = LOAD 'x.csv'\n\
             board = COMPARE MODELS FROM t WITH (target = 'y', models = ('lr', rf), folds = 5, exclude = ('knn'))\n\
             COMPARE MODELS WITH (target = 'y')\n\
             COMPARE MODELS FROM (SELECT * FROM t WHERE a > 1) WITH (target = 'y', sort = 'AUC')\n\
             trials = CREATE OR REPLACE EXPERIMENT e WITH (model_class = 'Ridge', tune_parameters = (alpha = ARRAY[0.1, 1]), target_column = 'y') AS (SELECT * FROM t)",
        )
        .unwrap();
        let Statement::CompareModels(c) = &s.steps[1].statement else {
            panic!("{:?}", s.steps[1].statement)
        };
        assert_eq!(s.steps[1].assign.as_ref().unwrap().value, "board");
        assert_eq!(c.input.as_ref().unwrap().to_string(), "SELECT * FROM t");
        assert_eq!(
            c.options[1].1,
            Literal::List(vec![
                Literal::String("lr".into()),
                Literal::String("rf".into())
            ])
        );
        assert_eq!(
            c.options[3].1,
            Literal::List(vec![Literal::String("knn".into())])
        );
        let Statement::CompareModels(c) = &s.steps[2].statement else {
            panic!()
        };
        assert!(c.input.is_none());
        let Statement::CreateExperiment(e) = &s.steps[4].statement else {
            panic!()
        };
        assert!(e.or_replace);
        assert!(matches!(&e.options[1].1, Literal::Object(o) if o.len() == 1));
        round_trip(
            "COMPARE MODELS FROM (SELECT * FROM t) WITH (target = 'y', models = ARRAY['lr', 'rf'])",
        );
        round_trip(
            "COMPARE MODELS FROM (SELECT * FROM t) PREPARTITION BY store, item WITH (target = 'y', task = 'forecast')",
        );
        let s = parse("COMPARE MODELS FROM t PREPARTITION BY store WITH (target = 'y')").unwrap();
        let Statement::CompareModels(c) = &s.steps[0].statement else {
            panic!()
        };
        assert_eq!(c.partition.len(), 1);
        round_trip(
            "CREATE EXPERIMENT e WITH (model_class = 'Ridge', tune_parameters = (alpha = ARRAY[1, 2])) AS (SELECT * FROM t)",
        );
        let e = parse("COMPARE MODELS FROM t").unwrap_err();
        assert!(e.message.contains("WITH"), "{}", e.message);
    }

    #[test]
    fn errors_point_at_the_place() {
        let e = parse("SELECT * FROM PREDICT(m, SELECT 1)").unwrap_err();
        assert!(e.message.contains("PREDICT(MODEL name"), "{}", e.message);
        assert_eq!((e.span.start.line, e.span.start.column), (1, 23));
        let e = parse("SELECT * FROM PREDICT(MODEL m SELECT 1)").unwrap_err();
        assert!(e.message.contains("expected ','"), "{}", e.message);
        assert_eq!(e.span.start.column, 31);
        let e = parse("CREATE MODEL m AS (SELECT 1)").unwrap_err();
        assert!(e.message.contains("WITH"), "{}", e.message);
        let e = parse("CREATE MODEL m WITH (a = 1, A = 2) AS (SELECT 1)").unwrap_err();
        assert!(e.message.contains("given twice"), "{}", e.message);
        assert_eq!(e.span.start.column, 29);
        let e = parse("m = DROP MODEL m").unwrap_err();
        assert!(e.message.contains("no result to assign"), "{}", e.message);
    }
}
