//! Parsing of the user-code statements: `TRANSFORM`, `OUTTRANSFORM`,
//! `OUTPUT` (user code per partition), `PROCESS` and `CREATE USING` (user
//! code over whole dataframes) and `ZIP` (co-partitioned dataframes for a
//! TRANSFORM that sees each key's groups together).

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::ast::*;
use crate::error::ParseError;
use crate::parser::Parser;

impl Parser {
    /// `TRANSFORM|OUTTRANSFORM|OUTPUT|PROCESS [df, ...] [PREPARTITION ..]
    /// USING x [PARAMS ..] [SCHEMA ..]`, PARAMS and SCHEMA in either order;
    /// `CREATE USING x [PARAMS ..] [SCHEMA ..]`.
    pub(crate) fn transform(&mut self) -> Result<Statement, ParseError> {
        let kind = if self.cur.eat_kw("TRANSFORM") {
            TransformKind::Transform
        } else if self.cur.eat_kw("OUTTRANSFORM") {
            TransformKind::OutTransform
        } else if self.cur.eat_kw("PROCESS") {
            TransformKind::Process
        } else if self.cur.eat_kw("CREATE") {
            TransformKind::Create
        } else {
            self.cur.expect_kw("OUTPUT")?;
            TransformKind::Output
        };
        let inputs =
            if kind == TransformKind::Create || self.cur.is_kw("USING") || self.at_partition_spec()
            {
                Vec::new()
            } else {
                self.dataframe_list("a dataframe name")?
            };
        let mut partition = if kind == TransformKind::Create {
            None
        } else {
            self.partition_spec()?
        };
        if partition.is_none() && self.cur.eat_kw("PRESORT") {
            // PRESORT alone: the whole dataframe is one group, in this order.
            partition = Some(PartitionSpec {
                presort: self.presort_list()?,
                ..Default::default()
            });
        }
        if !self.cur.is_kw("USING") {
            return Err(self.cur.expected(if kind == TransformKind::Create {
                "USING and a function after CREATE"
            } else {
                "USING and a transformer"
            }));
        }
        self.cur.next();
        let using = self.transformer()?;
        let mut params = None;
        let mut schema = None;
        loop {
            if self.cur.is_kw("PARAMS") && params.is_none() {
                params = Some(self.params()?);
            } else if self.cur.is_kw("SCHEMA") && schema.is_none() {
                let at = self.cur.next().span;
                if !kind.produces() {
                    return Err(ParseError::new(
                        "OUTTRANSFORM and OUTPUT produce no dataframe, so they take no SCHEMA",
                        at,
                    ));
                }
                schema = Some(self.output_schema()?);
            } else if self.cur.is_kw("CALLBACK") {
                return Err(ParseError::new(
                    "CALLBACK is not supported: fsql runs transformers as separate programs",
                    self.cur.peek().span,
                ));
            } else {
                break;
            }
        }
        Ok(Statement::Transform(Transform {
            kind,
            inputs,
            partition,
            using,
            params: params.unwrap_or(Options { entries: vec![] }),
            schema,
        }))
    }

    /// `name` (a built-in or a `--udf` function), `module.path.fn`,
    /// `'file.py:fn'` or `exec('program args', 'arg', ...)`.
    fn transformer(&mut self) -> Result<Transformer, ParseError> {
        if matches!(
            self.cur.peek().token,
            Token::SingleQuotedString(_) | Token::DoubleQuotedString(_)
        ) {
            let (text, span) = self.string("'file.py:function'")?;
            let parsed = text
                .rsplit_once(':')
                .map(|(f, n)| (f.trim(), n.trim()))
                .filter(|(f, n)| !f.is_empty() && is_identifier(n));
            let Some((file, function)) = parsed else {
                return Err(ParseError::new(
                    "a function in a file is written 'path/to/file.py:function'",
                    span,
                ));
            };
            return Ok(Transformer::Python(PythonRef {
                location: file.to_string(),
                file: true,
                function: function.to_string(),
                span,
            }));
        }
        if matches!(self.cur.peek().token, Token::Word(_))
            && matches!(self.cur.peek_at(1).token, Token::Period)
        {
            let first = self.name("a module path")?;
            let mut parts = vec![first.value];
            let mut span = first.span;
            while self.cur.eat_token(&Token::Period) {
                let n = self.name("the next part of the module path, or the function")?;
                span = span.union(&n.span);
                parts.push(n.value);
            }
            let function = parts.pop().expect("two parts at least");
            return Ok(Transformer::Python(PythonRef {
                location: parts.join("."),
                file: false,
                function,
                span,
            }));
        }
        if self.cur.is_kw("exec") && matches!(self.cur.peek_at(1).token, Token::LParen) {
            let start = self.cur.next().span;
            self.cur.next();
            let mut args = Vec::new();
            let (first, first_span) = self.string("the program to run, as a string")?;
            let split = shlex::split(&first).ok_or_else(|| {
                ParseError::new("unbalanced quotes in the command line", first_span)
            })?;
            if split.is_empty() {
                return Err(ParseError::new("the program to run is empty", first_span));
            }
            args.extend(split);
            while self.cur.eat_token(&Token::Comma) {
                args.push(self.string("an argument, as a string")?.0);
            }
            let end = self.cur.expect_token(&Token::RParen, "',' or ')'")?;
            return Ok(Transformer::Exec {
                args,
                span: start.union(&end),
            });
        }
        Ok(Transformer::Builtin(
            self.name("a transformer name or exec(...)")?,
        ))
    }

    /// `*, b:int`, `*-a-b, c:str`, `a:int, b:str`
    pub(crate) fn output_schema(&mut self) -> Result<OutputSchema, ParseError> {
        let start = self.cur.peek().span;
        let mut items = Vec::new();
        loop {
            if self.cur.is_token(&Token::Mul) {
                let at = self.cur.next().span;
                let mut except = Vec::new();
                let mut if_exists = Vec::new();
                loop {
                    if self.cur.eat_token(&Token::Minus) {
                        except.push(self.name("a column name to leave out after '-'")?);
                    } else if self.cur.eat_token(&Token::Tilde) {
                        if_exists.push(self.name("a column name to leave out after '~'")?);
                    } else {
                        break;
                    }
                }
                items.push(SchemaItem::All {
                    except,
                    if_exists,
                    span: at.union(&self.cur.prev_span()),
                });
            } else {
                let name = self.name("'*' or a column name")?;
                self.cur
                    .expect_token(&Token::Colon, "':' and a type after the column name")?;
                let ty = self.type_name()?;
                let dup = items
                    .iter()
                    .any(|i| matches!(i, SchemaItem::Field(f) if f.name.value == name.value));
                if dup {
                    return Err(ParseError::new(
                        format!("duplicate column name '{}' in schema", name.value),
                        name.span,
                    ));
                }
                items.push(SchemaItem::Field(Field { name, ty }));
            }
            // A comma continues the schema only when `*` or `name:` follows.
            let more = matches!(self.cur.peek().token, Token::Comma)
                && (matches!(self.cur.peek_at(1).token, Token::Mul)
                    || matches!(self.cur.peek_at(2).token, Token::Colon));
            if !more {
                break;
            }
            self.cur.next();
        }
        Ok(OutputSchema {
            items,
            span: start.union(&self.cur.prev_span()),
        })
    }

    /// `ZIP a, b [CROSS|INNER|LEFT OUTER|RIGHT OUTER|FULL OUTER] [BY k, ..]
    /// [PRESORT ..]`
    pub(crate) fn zip(&mut self) -> Result<Statement, ParseError> {
        let start = self.cur.expect_kw("ZIP")?;
        let inputs = self.dataframe_list("a dataframe name")?;
        if inputs.len() < 2 {
            return Err(ParseError::new(
                "ZIP needs at least two dataframes",
                start.union(&self.cur.prev_span()),
            ));
        }
        let how = if self.cur.eat_kw("CROSS") {
            ZipHow::Cross
        } else if self.cur.eat_kw("INNER") {
            ZipHow::Inner
        } else if self.cur.eat_kw("LEFT") {
            self.cur.expect_kw("OUTER")?;
            ZipHow::LeftOuter
        } else if self.cur.eat_kw("RIGHT") {
            self.cur.expect_kw("OUTER")?;
            ZipHow::RightOuter
        } else if self.cur.eat_kw("FULL") {
            self.cur.expect_kw("OUTER")?;
            ZipHow::FullOuter
        } else {
            ZipHow::Inner
        };
        let by = if self.cur.eat_kw("BY") {
            self.name_list("a key column")?
        } else {
            Vec::new()
        };
        if how == ZipHow::Cross && !by.is_empty() {
            return Err(ParseError::new(
                "a CROSS ZIP has no keys",
                by[0].span.union(&self.cur.prev_span()),
            ));
        }
        let presort = if self.cur.eat_kw("PRESORT") {
            self.presort_list()?
        } else {
            Vec::new()
        };
        Ok(Statement::Zip(Zip {
            inputs,
            how,
            by,
            presort,
        }))
    }
}

/// Parses a TRANSFORM output schema on its own (`*, x:int`), as a Python
/// function's `# schema:` hint writes it. Spans are within `text`.
pub fn parse_output_schema(text: &str) -> Result<OutputSchema, ParseError> {
    let mut p = Parser::new(text)?;
    let schema = p.output_schema()?;
    if !p.cur.at_end() {
        let t = p.cur.peek();
        return Err(ParseError::new(
            format!(
                "unexpected {} in the schema",
                crate::cursor::describe(&t.token)
            ),
            t.span,
        ));
    }
    Ok(schema)
}

/// A Python identifier (letters, digits and `_`, not starting with a digit).
fn is_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use crate::ast::*;
    use crate::parse;
    use crate::tests::round_trip;

    fn statement(text: &str) -> Statement {
        let mut s = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(s.steps.len(), 1, "{text}");
        s.steps.remove(0).statement
    }

    #[test]
    fn transform_forms() {
        let Statement::Transform(t) = statement(
            "TRANSFORM a PREPARTITION BY k, j PRESORT v DESC USING exec('python3 \"my fit.py\" -x', 'b c') \
             PARAMS n:3, timeout:'5s' SCHEMA *-j, z:double",
        ) else {
            panic!()
        };
        assert_eq!(t.kind, TransformKind::Transform);
        assert_eq!(t.inputs[0].value, "a");
        let p = t.partition.unwrap();
        assert_eq!(p.by.len(), 2);
        assert!(!p.presort[0].ascending);
        let Transformer::Exec { args, .. } = &t.using else {
            panic!()
        };
        assert_eq!(args, &["python3", "my fit.py", "-x", "b c"]);
        assert_eq!(t.params.entries.len(), 2);
        let items = t.schema.unwrap().items;
        assert!(matches!(&items[0], SchemaItem::All { except, .. } if except[0].value == "j"));
        assert!(matches!(&items[1], SchemaItem::Field(f) if f.name.value == "z"));

        // SCHEMA before PARAMS; no input; built-in transformer.
        let Statement::Transform(t) =
            statement("TRANSFORM USING row_number SCHEMA *, n:long PARAMS column:'n'")
        else {
            panic!()
        };
        assert!(t.inputs.is_empty() && t.partition.is_none());
        assert!(matches!(&t.using, Transformer::Builtin(n) if n.value == "row_number"));

        let s = parse("x = SELECT 1 AS a\nOUTPUT x PREPARTITION BY a USING exec('cat')\nPRINT")
            .unwrap();
        assert_eq!(s.steps.len(), 3);
        assert!(s.steps[1].statement.is_output());
        assert!(statement("OUTTRANSFORM USING exec('true')").is_output());
        assert!(!statement("TRANSFORM USING row_number").is_output());

        round_trip(
            "TRANSFORM a, b HASH PREPARTITION 4 BY k PRESORT v DESC USING exec('python3 \"my fit.py\"', 'x y') PARAMS n:3 SCHEMA *-j-k~m, z:[int]\n\
             OUTTRANSFORM USING fill_forward\nt = TRANSFORM PREPARTITION BY k USING row_number PERSIST YIELD DATAFRAME AS r",
        );
    }

    #[test]
    fn python_functions_process_and_create() {
        let Statement::Transform(t) =
            statement("TRANSFORM a PREPARTITION BY k USING mypkg.sub.add_qty SCHEMA *, q:long")
        else {
            panic!()
        };
        let Transformer::Python(p) = &t.using else {
            panic!()
        };
        assert_eq!((p.location.as_str(), p.file), ("mypkg.sub", false));
        assert_eq!(p.function, "add_qty");
        let Statement::Transform(t) = statement("OUTPUT a USING 'dir/udf.py:show'") else {
            panic!()
        };
        let Transformer::Python(p) = &t.using else {
            panic!()
        };
        assert_eq!((p.location.as_str(), p.file), ("dir/udf.py", true));
        assert_eq!(p.function, "show");

        let Statement::Transform(t) = statement("PROCESS a, b USING merge PARAMS n:2 SCHEMA x:int")
        else {
            panic!()
        };
        assert_eq!(t.kind, TransformKind::Process);
        assert_eq!(t.inputs.len(), 2);
        let Statement::Transform(t) = statement("CREATE USING make PARAMS n:3") else {
            panic!()
        };
        assert_eq!(t.kind, TransformKind::Create);
        assert!(t.inputs.is_empty() && t.partition.is_none());
        assert!(!statement("PROCESS USING f").is_output());
        // Both produce dataframes: assignable and nestable.
        let s =
            parse("x = CREATE USING make\ny = PROCESS x USING f\nSELECT * FROM (CREATE USING g)")
                .unwrap();
        assert_eq!(s.steps.len(), 3);
        assert_eq!(s.steps[2].nested.len(), 1);
        round_trip(
            "x = CREATE USING make PARAMS n:3 SCHEMA a:int\nPROCESS x PREPARTITION BY a USING pkg.m.f\nOUTPUT USING 'u dir/udf.py:show'",
        );
        let e = parse("TRANSFORM USING 'udf.py' SCHEMA *").unwrap_err();
        assert!(e.message.contains("'path/to/file.py:function'"), "{e}");
        let e = parse("CREATE USING").unwrap_err();
        assert!(
            e.message.contains("function") || e.message.contains("name"),
            "{e}"
        );
    }

    #[test]
    fn zip_forms() {
        let Statement::Zip(z) = statement("ZIP a, b LEFT OUTER BY k PRESORT v") else {
            panic!()
        };
        assert_eq!(z.how, ZipHow::LeftOuter);
        assert_eq!(z.by[0].value, "k");
        let Statement::Zip(z) = statement("ZIP a, (TAKE 1 ROW FROM b), c") else {
            panic!()
        };
        assert_eq!((z.inputs.len(), z.how), (3, ZipHow::Inner));
        round_trip("z = ZIP a, b FULL OUTER BY k, j\nTRANSFORM z USING exec('x')\nZIP a, b CROSS");
        // Nested where SQL takes a table.
        let s = parse("SELECT * FROM (TRANSFORM t USING row_number)").unwrap();
        assert_eq!(s.steps[0].nested.len(), 1);
    }

    #[test]
    fn errors_point_at_the_place() {
        let at = |text: &str| {
            let e = parse(text).expect_err(text);
            (e.message, e.span.start.line, e.span.start.column)
        };
        let (m, _, c) = at("TRANSFORM a PREPARTITION BY k");
        assert!(m.contains("USING"), "{m}");
        assert_eq!(c, 30);
        let (m, _, c) = at("TRANSFORM USING exec('python3 \"fit.py')");
        assert!(m.contains("unbalanced quotes"), "{m}");
        assert_eq!(c, 22);
        let (m, _, c) = at("OUTPUT USING exec('x') SCHEMA a:int");
        assert!(m.contains("no SCHEMA"), "{m}");
        assert_eq!(c, 24);
        let (m, _, _) = at("TRANSFORM USING exec('x') CALLBACK f");
        assert!(m.contains("CALLBACK"), "{m}");
        let (m, _, c) = at("TRANSFORM USING f SCHEMA *, a:int, a:str");
        assert!(m.contains("duplicate"), "{m}");
        assert_eq!(c, 36);
        let (m, _, _) = at("ZIP a");
        assert!(m.contains("two dataframes"), "{m}");
        let (m, _, _) = at("ZIP a, b CROSS BY k");
        assert!(m.contains("CROSS"), "{m}");
        let (m, _, _) = at("x = OUTPUT USING exec('x')");
        assert!(m.contains("no result to assign"), "{m}");
        let (m, _, c) = at("TRANSFORM USING exec()");
        assert!(m.contains("program"), "{m}");
        assert_eq!(c, 22);
    }
}
