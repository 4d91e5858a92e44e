//! `Display` for the AST: prints valid fsql that parses back to the same
//! script (checked by the round-trip tests in `tests.rs`).

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;

fn comma<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A value of CREATE's data, which is read as JSON: strings with JSON's
/// escapes.
fn data_value(f: &mut Formatter<'_>, v: &Literal) -> fmt::Result {
    match v {
        Literal::String(s) => {
            f.write_char('"')?;
            for c in s.chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    '\t' => f.write_str("\\t")?,
                    c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
                    c => f.write_char(c)?,
                }
            }
            f.write_char('"')
        }
        Literal::List(items) => {
            f.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                data_value(f, item)?;
            }
            f.write_char(']')
        }
        Literal::Object(items) => {
            f.write_char('{')?;
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                data_value(f, &Literal::String(k.clone()))?;
                f.write_char(':')?;
                data_value(f, item)?;
            }
            f.write_char('}')
        }
        other => write!(f, "{other}"),
    }
}

impl Display for Script {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step};")?;
        }
        Ok(())
    }
}

impl Display for Step {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(a) = &self.assign {
            write!(f, "{a} = ")?;
        }
        if !matches!(self.statement, Statement::Previous) {
            let mut text = self.statement.to_string();
            // Nested statements go back where the SQL names them.
            // Outer ones were recorded after the ones nested in them.
            for n in self.nested.iter().rev() {
                let inline = match &n.statement {
                    Statement::Predict(_) => n.statement.to_string(),
                    other => format!("({other})"),
                };
                text = text.replace(&n.name, &inline);
            }
            f.write_str(&text)?;
        }
        for m in &self.modifiers {
            match m {
                Modifier::Persist => f.write_str(" PERSIST")?,
                Modifier::Broadcast => f.write_str(" BROADCAST")?,
                Modifier::Checkpoint(None) => f.write_str(" CHECKPOINT")?,
                Modifier::Checkpoint(Some(k)) => write!(f, " {k} CHECKPOINT")?,
            }
        }
        if let Some(y) = &self.yield_ {
            f.write_str(" YIELD ")?;
            f.write_str(match y.kind {
                YieldKind::Dataframe => "DATAFRAME",
                YieldKind::LocalDataframe => "LOCAL DATAFRAME",
                YieldKind::File => "FILE",
                YieldKind::Table => "TABLE",
            })?;
            if let Some(n) = &y.name {
                write!(f, " AS {n}")?;
            }
        }
        Ok(())
    }
}

impl Display for Name {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "\"{}\"", self.value.replace('"', "\"\""))
        } else {
            f.write_str(&self.value)
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) => f.write_str(n),
            Literal::String(s) => f.write_str(&quote(s)),
            Literal::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            Literal::Object(items) => {
                f.write_char('{')?;
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{}:{v}", quote(k))?;
                }
                f.write_char('}')
            }
        }
    }
}

impl Display for TypeName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TypeName::Bool => f.write_str("bool"),
            TypeName::Byte => f.write_str("byte"),
            TypeName::Short => f.write_str("short"),
            TypeName::Int => f.write_str("int"),
            TypeName::Long => f.write_str("long"),
            TypeName::UByte => f.write_str("ubyte"),
            TypeName::UShort => f.write_str("ushort"),
            TypeName::UInt => f.write_str("uint"),
            TypeName::ULong => f.write_str("ulong"),
            TypeName::Float => f.write_str("float"),
            TypeName::Double => f.write_str("double"),
            TypeName::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            TypeName::Str => f.write_str("str"),
            TypeName::Bytes => f.write_str("bytes"),
            TypeName::Date => f.write_str("date"),
            TypeName::Datetime => f.write_str("datetime"),
            TypeName::Timestamp(unit, None) => write!(f, "timestamp({})", unit.name()),
            TypeName::Timestamp(unit, Some(tz)) => write!(f, "timestamp({},{tz})", unit.name()),
            TypeName::List(t) => write!(f, "[{t}]"),
            TypeName::Struct(fields) => {
                f.write_char('{')?;
                for (i, fl) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{fl}")?;
                }
                f.write_char('}')
            }
        }
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.ty)
    }
}

impl Display for Schema {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        comma(f, &self.fields)
    }
}

impl Display for Options {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return Ok(());
        }
        f.write_str(" (")?;
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v}")?;
        }
        f.write_char(')')
    }
}

impl Display for FileFormat {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Csv => "CSV",
            FileFormat::Parquet => "PARQUET",
            FileFormat::Json => "JSON",
        })
    }
}

impl Display for SortKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.column,
            if self.ascending { "ASC" } else { "DESC" }
        )
    }
}

impl Display for PartitionSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(a) = &self.algo {
            write!(f, "{a} ")?;
        }
        f.write_str("PREPARTITION")?;
        if let Some(n) = &self.num {
            write!(f, " {n}")?;
        }
        clause(f, "BY", &self.by)?;
        clause(f, "PRESORT", &self.presort)
    }
}

/// ` KEYWORD a, b` when there are items; nothing otherwise.
fn clause<T: Display>(f: &mut Formatter<'_>, keyword: &str, items: &[T]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    write!(f, " {keyword} ")?;
    comma(f, items)
}

/// A partition spec, or just its PRESORT when it has neither keys nor a
/// count (TAKE and TRANSFORM accept PRESORT alone).
fn partition_or_presort(f: &mut Formatter<'_>, p: &PartitionSpec) -> fmt::Result {
    if p.by.is_empty() && p.num.is_none() {
        clause(f, "PRESORT", &p.presort)
    } else {
        write!(f, " {p}")
    }
}

fn from(f: &mut Formatter<'_>, input: &Option<Name>) -> fmt::Result {
    match input {
        Some(n) => write!(f, " FROM {n}"),
        None => Ok(()),
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Query(q) => write!(f, "{q}"),
            Statement::Sql(s) => write!(f, "{s}"),
            Statement::Previous => Ok(()),
            Statement::Transform(t) => write!(f, "{t}"),
            Statement::Zip(z) => write!(f, "{z}"),
            Statement::CreateModel(m) => {
                f.write_str("CREATE ")?;
                if m.or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                f.write_str("MODEL ")?;
                if m.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{} WITH ", m.name)?;
                with_options(f, &m.options)?;
                write!(f, " AS ({})", m.query)
            }
            Statement::CompareModels(c) => {
                f.write_str("COMPARE MODELS ")?;
                if let Some(input) = &c.input {
                    write!(f, "FROM ({input}) ")?;
                }
                if !c.partition.is_empty() {
                    f.write_str("PREPARTITION BY ")?;
                    for (i, k) in c.partition.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{k}")?;
                    }
                    f.write_char(' ')?;
                }
                f.write_str("WITH ")?;
                with_options(f, &c.options)
            }
            Statement::CreateExperiment(e) => {
                f.write_str("CREATE ")?;
                if e.or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                write!(f, "EXPERIMENT {} WITH ", e.name)?;
                with_options(f, &e.options)?;
                write!(f, " AS ({})", e.query)
            }
            Statement::Predict(p) => write!(f, "PREDICT(MODEL {}, {})", p.model, p.input),
            Statement::DescribeModel(n) => write!(f, "DESCRIBE MODEL {n}"),
            Statement::ShowModels => f.write_str("SHOW MODELS"),
            Statement::DropModel { name, if_exists } => {
                f.write_str("DROP MODEL ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                write!(f, "{name}")
            }
            Statement::ExportModel { name, options } => {
                write!(f, "EXPORT MODEL {name} WITH ")?;
                with_options(f, options)
            }
            Statement::ImportModel {
                name,
                or_replace,
                options,
            } => {
                f.write_str("IMPORT ")?;
                if *or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                write!(f, "MODEL {name} WITH ")?;
                with_options(f, options)
            }
            Statement::Explain(e) => {
                write!(f, "EXPLAIN ")?;
                if e.analyze {
                    write!(f, "ANALYZE ")?;
                }
                if e.verbose {
                    write!(f, "VERBOSE ")?;
                }
                write!(f, "{}", e.statement)
            }
            Statement::CreateData(c) => {
                f.write_str("CREATE [")?;
                for (i, row) in c.rows.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    data_value(f, &Literal::List(row.clone()))?;
                }
                write!(f, "] SCHEMA {}", c.schema)
            }
            Statement::Load(l) => {
                f.write_str("LOAD ")?;
                if let Some(fmt) = l.format {
                    write!(f, "{fmt} ")?;
                }
                write!(f, "{}{}", quote(&l.path), l.options)?;
                match &l.columns {
                    Some(Columns::Schema(s)) => write!(f, " COLUMNS {s}"),
                    Some(Columns::Names(n)) => {
                        f.write_str(" COLUMNS ")?;
                        comma(f, n)
                    }
                    None => Ok(()),
                }
            }
            Statement::Save(s) => {
                f.write_str(if s.and_use { "SAVE AND USE" } else { "SAVE" })?;
                if let Some(i) = &s.input {
                    write!(f, " {i}")?;
                }
                if let Some(p) = &s.partition {
                    write!(f, " {p}")?;
                }
                f.write_str(match s.mode {
                    SaveMode::Overwrite => " OVERWRITE",
                    SaveMode::Append => " APPEND",
                    SaveMode::ErrorIfExists => " TO",
                })?;
                if s.single {
                    f.write_str(" SINGLE")?;
                }
                if let Some(fmt) = s.format {
                    write!(f, " {fmt}")?;
                }
                write!(f, " {}{}", quote(&s.path), s.options)
            }
            Statement::Print(p) => {
                f.write_str("PRINT")?;
                if let Some(n) = p.rows {
                    write!(f, " {n} ROWS")?;
                }
                if !p.inputs.is_empty() {
                    f.write_str(" FROM ")?;
                    comma(f, &p.inputs)?;
                }
                if p.rowcount {
                    f.write_str(" ROWCOUNT")?;
                }
                if let Some(t) = &p.title {
                    write!(f, " TITLE {}", quote(t))?;
                }
                Ok(())
            }
            Statement::Take(t) => {
                write!(f, "TAKE {} ROWS", t.rows)?;
                from(f, &t.input)?;
                partition_or_presort(f, &t.partition)?;
                match t.nulls_first {
                    Some(true) => f.write_str(" NULLS FIRST"),
                    Some(false) => f.write_str(" NULLS LAST"),
                    None => Ok(()),
                }
            }
            Statement::Sample(s) => {
                f.write_str("SAMPLE ")?;
                if s.replace {
                    f.write_str("REPLACE ")?;
                }
                match &s.method {
                    SampleMethod::Rows(n) => write!(f, "{n} ROWS")?,
                    SampleMethod::Percent(p) => write!(f, "{p} PERCENT")?,
                }
                if let Some(seed) = s.seed {
                    write!(f, " SEED {seed}")?;
                }
                from(f, &s.input)
            }
            Statement::DropColumns(d) => {
                f.write_str("DROP COLUMNS ")?;
                comma(f, &d.columns)?;
                if d.if_exists {
                    f.write_str(" IF EXISTS")?;
                }
                from(f, &d.input)
            }
            Statement::DropRows(d) => {
                write!(
                    f,
                    "DROP ROWS IF {} NULLS",
                    if d.all { "ALL" } else { "ANY" }
                )?;
                if !d.columns.is_empty() {
                    f.write_str(" ON ")?;
                    comma(f, &d.columns)?;
                }
                from(f, &d.input)
            }
            Statement::FillNulls(n) => {
                f.write_str("FILL NULLS PARAMS ")?;
                for (i, (k, v)) in n.values.entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                from(f, &n.input)
            }
            Statement::RenameColumns(r) => {
                f.write_str("RENAME COLUMNS ")?;
                for (i, (a, b)) in r.pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}:{b}")?;
                }
                from(f, &r.input)
            }
            Statement::AlterColumns(a) => {
                write!(f, "ALTER COLUMNS {}", a.schema)?;
                from(f, &a.input)
            }
        }
    }
}

/// `(k = v, ...)` of the ML statements; maps print as nested parentheses,
/// lists as `ARRAY[...]`.
fn with_options(f: &mut Formatter<'_>, options: &[(Name, Literal)]) -> fmt::Result {
    f.write_char('(')?;
    for (i, (k, v)) in options.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{k} = ")?;
        ml_value(f, v)?;
    }
    f.write_char(')')
}

fn ml_value(f: &mut Formatter<'_>, v: &Literal) -> fmt::Result {
    match v {
        Literal::Object(entries) => {
            f.write_char('(')?;
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k} = ")?;
                ml_value(f, v)?;
            }
            f.write_char(')')
        }
        Literal::List(items) => {
            f.write_str("ARRAY[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                ml_value(f, item)?;
            }
            f.write_char(']')
        }
        Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
        other => write!(f, "{other}"),
    }
}

impl Display for Transform {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.keyword())?;
        if !self.inputs.is_empty() {
            f.write_char(' ')?;
            comma(f, &self.inputs)?;
        }
        if let Some(p) = &self.partition {
            partition_or_presort(f, p)?;
        }
        match &self.using {
            Transformer::Builtin(n) => write!(f, " USING {n}")?,
            Transformer::Python(p) if p.file => write!(
                f,
                " USING {}",
                quote(&format!("{}:{}", p.location, p.function))
            )?,
            Transformer::Python(p) => write!(f, " USING {}.{}", p.location, p.function)?,
            Transformer::Exec { args, .. } => {
                // The program as one shell-quoted string, the rest as given.
                let (program, rest) = args.split_first().expect("exec has a program");
                let quoted = shlex::try_quote(program).map_err(|_| fmt::Error)?;
                write!(f, " USING exec({}", quote(&quoted))?;
                for a in rest {
                    write!(f, ", {}", quote(a))?;
                }
                f.write_char(')')?;
            }
        }
        if !self.params.entries.is_empty() {
            f.write_str(" PARAMS ")?;
            for (i, (k, v)) in self.params.entries.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}:{v}")?;
            }
        }
        if let Some(s) = &self.schema {
            f.write_str(" SCHEMA ")?;
            for (i, item) in s.items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                match item {
                    SchemaItem::All {
                        except, if_exists, ..
                    } => {
                        f.write_char('*')?;
                        for e in except {
                            write!(f, "-{e}")?;
                        }
                        for e in if_exists {
                            write!(f, "~{e}")?;
                        }
                    }
                    SchemaItem::Field(field) => write!(f, "{}:{}", field.name, field.ty)?,
                }
            }
        }
        Ok(())
    }
}

impl Display for Zip {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("ZIP ")?;
        comma(f, &self.inputs)?;
        f.write_str(match self.how {
            ZipHow::Inner => " INNER",
            ZipHow::LeftOuter => " LEFT OUTER",
            ZipHow::RightOuter => " RIGHT OUTER",
            ZipHow::FullOuter => " FULL OUTER",
            ZipHow::Cross => " CROSS",
        })?;
        clause(f, "BY", &self.by)?;
        clause(f, "PRESORT", &self.presort)
    }
}
