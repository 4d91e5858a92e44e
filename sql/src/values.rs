//! Fugue schemas (`a:int,b:[str]`), type names, JSON-like literals and
//! option lists (`(k=v, ...)`, `PARAMS k:v, ...`).

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::ast::{Field, Literal, Name, Options, Schema, TimeUnit, TypeName};
use crate::cursor::describe;
use crate::error::ParseError;
use crate::parser::Parser;

impl Parser {
    /// `a:int, b:str, c:[int], d:{x:int}`
    pub(crate) fn schema(&mut self) -> Result<Schema, ParseError> {
        let start = self.cur.peek().span;
        let mut fields = Vec::new();
        loop {
            let name = self.name("a column name")?;
            self.cur
                .expect_token(&Token::Colon, "':' and a type after the column name")?;
            let ty = self.type_name()?;
            if fields.iter().any(|f: &Field| f.name.value == name.value) {
                return Err(ParseError::new(
                    format!("duplicate column name '{}' in schema", name.value),
                    name.span,
                ));
            }
            fields.push(Field { name, ty });
            // A comma continues the schema only when a `name:` follows.
            if matches!(self.cur.peek().token, Token::Comma)
                && matches!(self.cur.peek_at(2).token, Token::Colon)
            {
                self.cur.next();
            } else {
                break;
            }
        }
        Ok(Schema {
            fields,
            span: start.union(&self.cur.prev_span()),
        })
    }

    pub(crate) fn type_name(&mut self) -> Result<TypeName, ParseError> {
        let t = self.cur.peek().clone();
        match &t.token {
            Token::LBracket => {
                self.cur.next();
                let inner = self.type_name()?;
                self.cur
                    .expect_token(&Token::RBracket, "']' closing the list type")?;
                Ok(TypeName::List(Box::new(inner)))
            }
            Token::LBrace => {
                self.cur.next();
                let mut fields = Vec::new();
                loop {
                    let name = self.name("a struct field name")?;
                    self.cur
                        .expect_token(&Token::Colon, "':' after the field name")?;
                    let ty = self.type_name()?;
                    fields.push(Field { name, ty });
                    if !self.cur.eat_token(&Token::Comma) {
                        break;
                    }
                }
                self.cur
                    .expect_token(&Token::RBrace, "'}' closing the struct type")?;
                Ok(TypeName::Struct(fields))
            }
            Token::Word(w) if w.quote_style.is_none() => {
                let lower = w.value.to_lowercase();
                if lower == "decimal" {
                    self.cur.next();
                    return self.decimal_args();
                }
                if lower == "timestamp" && matches!(self.cur.peek_at(1).token, Token::LParen) {
                    self.cur.next();
                    return self.timestamp_args();
                }
                let ty = simple_type(&lower).ok_or_else(|| {
                    ParseError::new(
                        format!(
                            "unknown type '{}'; expected one of bool, byte, short, int, long, ubyte, ushort, uint, ulong, float, double, decimal(p,s), str, bytes, date, datetime, timestamp(unit,tz), [type], {{name:type}}",
                            w.value
                        ),
                        t.span,
                    )
                })?;
                self.cur.next();
                Ok(ty)
            }
            _ => Err(self.cur.expected("a type name")),
        }
    }

    fn decimal_args(&mut self) -> Result<TypeName, ParseError> {
        if !self.cur.eat_token(&Token::LParen) {
            return Ok(TypeName::Decimal(38, 10));
        }
        let span = self.cur.peek().span;
        let p = self.integer("the decimal precision")?;
        let s = if self.cur.eat_token(&Token::Comma) {
            self.integer("the decimal scale")?
        } else {
            0
        };
        self.cur
            .expect_token(&Token::RParen, "')' after decimal(p,s)")?;
        if !(1..=38).contains(&p) || s > p {
            return Err(ParseError::new(
                format!(
                    "decimal({p},{s}): precision must be 1..=38 and scale at most the precision"
                ),
                span,
            ));
        }
        Ok(TypeName::Decimal(p as u8, s as i8))
    }

    /// `(unit[, tz])` after `timestamp`; the zone is taken as written
    /// (`UTC`, `+05:30`, `America/New_York`, or quoted).
    fn timestamp_args(&mut self) -> Result<TypeName, ParseError> {
        self.cur
            .expect_token(&Token::LParen, "'(' after timestamp")?;
        let at = self.cur.peek().clone();
        let unit = match &at.token {
            Token::Word(w) => TimeUnit::from_name(&w.value),
            _ => None,
        }
        .ok_or_else(|| ParseError::new("expected a time unit: s, ms, us or ns", at.span))?;
        self.cur.next();
        let mut tz = None;
        if self.cur.eat_token(&Token::Comma) {
            let start = self.cur.peek().span;
            let mut text = String::new();
            while !matches!(self.cur.peek().token, Token::RParen | Token::EOF) {
                match &self.cur.next().token {
                    Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => text.push_str(s),
                    Token::Word(w) => text.push_str(&w.value),
                    other => text.push_str(&other.to_string()),
                }
            }
            if text.is_empty() {
                return Err(ParseError::new("expected a time zone after ','", start));
            }
            tz = Some(text);
        }
        self.cur
            .expect_token(&Token::RParen, "')' after timestamp(unit, tz)")?;
        Ok(TypeName::Timestamp(unit, tz))
    }

    /// A JSON-like literal: null, true, false, numbers, strings, `[..]`, `{k:v}`.
    pub(crate) fn literal(&mut self) -> Result<Literal, ParseError> {
        let t = self.cur.peek().clone();
        let lit = match &t.token {
            Token::Number(n, _) => Literal::Number(n.clone()),
            Token::Minus => {
                self.cur.next();
                match &self.cur.peek().token {
                    Token::Number(n, _) => Literal::Number(format!("-{n}")),
                    _ => return Err(self.cur.expected("a number after '-'")),
                }
            }
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => {
                Literal::String(s.clone())
            }
            Token::Word(w) if w.quote_style == Some('"') => Literal::String(w.value.clone()),
            Token::Word(w) if w.quote_style.is_none() => match w.value.to_lowercase().as_str() {
                "null" | "none" => Literal::Null,
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                _ => {
                    return Err(self
                        .cur
                        .expected("a value (number, string, true, false, null)"));
                }
            },
            Token::LBracket => {
                self.cur.next();
                let mut items = Vec::new();
                if !self.cur.eat_token(&Token::RBracket) {
                    loop {
                        items.push(self.literal()?);
                        if self.cur.eat_token(&Token::RBracket) {
                            break;
                        }
                        self.cur.expect_token(&Token::Comma, "',' or ']'")?;
                    }
                }
                return Ok(Literal::List(items));
            }
            Token::LBrace => {
                self.cur.next();
                let mut items = Vec::new();
                if !self.cur.eat_token(&Token::RBrace) {
                    loop {
                        let key = match self.literal()? {
                            Literal::String(s) => s,
                            _ => {
                                return Err(ParseError::new("object keys must be strings", t.span));
                            }
                        };
                        self.cur.expect_token(&Token::Colon, "':' after the key")?;
                        items.push((key, self.literal()?));
                        if self.cur.eat_token(&Token::RBrace) {
                            break;
                        }
                        self.cur.expect_token(&Token::Comma, "',' or '}'")?;
                    }
                }
                return Ok(Literal::Object(items));
            }
            other => {
                return Err(ParseError::new(
                    format!("expected a value, found {}", describe(other)),
                    t.span,
                ));
            }
        };
        self.cur.next();
        Ok(lit)
    }

    /// Optional `(k=v, k2:v2)` after a path.
    pub(crate) fn options_in_parens(&mut self) -> Result<Options, ParseError> {
        if !self.cur.eat_token(&Token::LParen) {
            return Ok(Options { entries: vec![] });
        }
        let mut entries = Vec::new();
        if !self.cur.eat_token(&Token::RParen) {
            loop {
                entries.push(self.option_entry()?);
                if self.cur.eat_token(&Token::RParen) {
                    break;
                }
                self.cur.expect_token(&Token::Comma, "',' or ')'")?;
            }
        }
        Ok(Options { entries })
    }

    /// `PARAMS a:1, b:'x'` or `PARAMS (a=1)` or `(a=1)`.
    pub(crate) fn params(&mut self) -> Result<Options, ParseError> {
        self.cur.eat_kw("PARAMS");
        if matches!(self.cur.peek().token, Token::LParen) {
            return self.options_in_parens();
        }
        let mut entries = vec![self.option_entry()?];
        while matches!(self.cur.peek().token, Token::Comma)
            && matches!(self.cur.peek_at(2).token, Token::Colon | Token::Eq)
        {
            self.cur.next();
            entries.push(self.option_entry()?);
        }
        Ok(Options { entries })
    }

    fn option_entry(&mut self) -> Result<(Name, Literal), ParseError> {
        let key = match &self.cur.peek().token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => {
                let n = Name {
                    value: s.clone(),
                    quoted: true,
                    span: self.cur.peek().span,
                };
                self.cur.next();
                n
            }
            _ => self.name("an option name")?,
        };
        if !(self.cur.eat_token(&Token::Eq) || self.cur.eat_token(&Token::Colon)) {
            return Err(self.cur.expected("'=' or ':' after the option name"));
        }
        Ok((key, self.literal()?))
    }
}

fn simple_type(name: &str) -> Option<TypeName> {
    Some(match name {
        "bool" | "boolean" => TypeName::Bool,
        "byte" | "int8" | "tinyint" => TypeName::Byte,
        "short" | "int16" | "smallint" => TypeName::Short,
        "int" | "int32" | "integer" => TypeName::Int,
        "long" | "int64" | "bigint" => TypeName::Long,
        "ubyte" | "uint8" => TypeName::UByte,
        "ushort" | "uint16" => TypeName::UShort,
        "uint" | "uint32" => TypeName::UInt,
        "ulong" | "uint64" => TypeName::ULong,
        "float" | "float32" | "real" => TypeName::Float,
        "double" | "float64" => TypeName::Double,
        "str" | "string" | "varchar" | "text" => TypeName::Str,
        "bytes" | "binary" => TypeName::Bytes,
        "date" => TypeName::Date,
        "datetime" | "timestamp" => TypeName::Datetime,
        _ => return None,
    })
}
