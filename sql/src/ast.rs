//! The fsql AST: a [`Script`] is a list of [`Step`]s, each wrapping one
//! [`Statement`] with its optional assignment target, modifiers (PERSIST,
//! BROADCAST, CHECKPOINT), optional YIELD and its source span.
//!
//! Standard SQL inside a statement is kept as `sqlparser` AST, so fsql accepts
//! exactly the SQL DataFusion accepts. `Display` prints valid fsql again (see
//! `display.rs`).

pub use datafusion::sql::sqlparser::tokenizer::{Location, Span};

use datafusion::sql::sqlparser::ast as sql;

/// A whole script: the statements in source order.
#[derive(Debug, Clone)]
pub struct Script {
    pub steps: Vec<Step>,
}

/// One statement of a script with everything attached to it.
#[derive(Debug, Clone)]
pub struct Step {
    /// `name = <statement>`: the dataframe name bound to the result.
    pub assign: Option<Name>,
    pub statement: Statement,
    /// `PERSIST`, `BROADCAST`, `CHECKPOINT` written after the statement.
    pub modifiers: Vec<Modifier>,
    /// `YIELD DATAFRAME|FILE|TABLE [AS name]` written after the statement.
    pub yield_: Option<Yield>,
    /// FugueSQL statements nested in the SQL's FROM clause
    /// (`SELECT * FROM (TAKE 1 ROW FROM t)`), in the order written. The SQL
    /// refers to each by its [`Nested::name`]; they run before the statement.
    pub nested: Vec<Nested>,
    /// The whole step, assignment and suffixes included.
    pub span: Span,
}

/// A FugueSQL statement written in parentheses where SQL expects a table.
#[derive(Debug, Clone)]
pub struct Nested {
    /// The table name the SQL uses in its place (`__fsql_nested_L_C__`).
    pub name: String,
    pub statement: Statement,
    /// From the opening to the closing parenthesis.
    pub span: Span,
}

/// An identifier as written, with where it was written.
#[derive(Debug, Clone)]
pub struct Name {
    pub value: String,
    /// Quoted identifiers keep their case; unquoted ones are case-insensitive.
    pub quoted: bool,
    pub span: Span,
}

impl Name {
    /// The name as the catalog knows it: unquoted names are lower-cased, the
    /// same rule DataFusion applies to SQL identifiers.
    pub fn normalized(&self) -> String {
        if self.quoted {
            self.value.clone()
        } else {
            self.value.to_lowercase()
        }
    }
}

/// Every statement fsql knows. One variant per statement kind; the engine has
/// one lowering function per variant.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `SELECT ...`, `WITH ...`, `VALUES ...`, set operations: any query.
    Query(Box<sql::Query>),
    /// Any other SQL statement DataFusion runs (EXPLAIN, SHOW, CREATE TABLE ...).
    Sql(Box<sql::Statement>),
    /// `CREATE [[..],..] SCHEMA a:int,...`
    CreateData(CreateData),
    Load(Load),
    Save(Save),
    Print(Print),
    Take(Take),
    Sample(Sample),
    DropColumns(DropColumns),
    DropRows(DropRows),
    FillNulls(FillNulls),
    RenameColumns(RenameColumns),
    AlterColumns(AlterColumns),
    /// `EXPLAIN [ANALYZE] [VERBOSE] <FugueSQL statement>`: the plan of the
    /// dataframe the statement produces (SQL's own EXPLAIN stays `Sql`).
    Explain(Explain),
    /// `CREATE [OR REPLACE] MODEL [IF NOT EXISTS] m WITH (...) AS (SELECT ...)`
    CreateModel(CreateModel),
    /// `PREDICT(MODEL m, SELECT ...)`, written where SQL expects a table; it
    /// reaches the engine as a [`Nested`] statement.
    Predict(Predict),
    /// `DESCRIBE MODEL m`
    DescribeModel(Name),
    /// `SHOW MODELS`
    ShowModels,
    /// `DROP MODEL [IF EXISTS] m`
    DropModel {
        name: Name,
        if_exists: bool,
    },
    /// `EXPORT MODEL m WITH (format = 'fsql'|'json', location = '...')`
    ExportModel {
        name: Name,
        options: Vec<(Name, Literal)>,
    },
    /// `IMPORT MODEL [OR REPLACE] m WITH (location = '...')` (also `LOAD MODEL`)
    ImportModel {
        name: Name,
        or_replace: bool,
        options: Vec<(Name, Literal)>,
    },
    /// `COMPARE MODELS [FROM df | FROM (..)] WITH (...)`: the leaderboard of
    /// a cross-validated model comparison.
    CompareModels(CompareModels),
    /// `CREATE [OR REPLACE] EXPERIMENT name WITH (...) AS (..)`: a grid
    /// search; its trials, and the best model stored as `name`.
    CreateExperiment(CreateExperiment),
    /// `TRANSFORM`, `OUTTRANSFORM`, `OUTPUT`: user code per partition;
    /// `PROCESS` and `CREATE USING`: user code over whole dataframes.
    Transform(Transform),
    /// `ZIP a, b [how] [BY keys] [PRESORT ..]`
    Zip(Zip),
    /// A statement made only of modifiers / YIELD: applies them to the
    /// previous dataframe (`SELECT ...; PERSIST`).
    Previous,
}

/// Which of the user-code statements was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformKind {
    /// `TRANSFORM`: the result is a dataframe.
    Transform,
    /// `OUTTRANSFORM`: run for side effects; no dataframe.
    OutTransform,
    /// `OUTPUT`: run for side effects; no dataframe.
    Output,
    /// `PROCESS [df, ...] USING f`: f sees whole dataframes; any result.
    Process,
    /// `CREATE USING f`: f makes a dataframe from nothing (no inputs).
    Create,
}

impl TransformKind {
    /// The statement's keyword(s).
    pub fn keyword(self) -> &'static str {
        match self {
            TransformKind::Transform => "TRANSFORM",
            TransformKind::OutTransform => "OUTTRANSFORM",
            TransformKind::Output => "OUTPUT",
            TransformKind::Process => "PROCESS",
            TransformKind::Create => "CREATE",
        }
    }

    /// True when the statement produces a dataframe.
    pub fn produces(self) -> bool {
        !matches!(self, TransformKind::OutTransform | TransformKind::Output)
    }
}

/// `TRANSFORM [df, ...] [PREPARTITION BY ..] USING x [PARAMS ..] [SCHEMA ..]`
/// (and OUTTRANSFORM / OUTPUT, which have no SCHEMA).
#[derive(Debug, Clone)]
pub struct Transform {
    pub kind: TransformKind,
    /// The dataframes read (none: the previous one). Several are zipped by
    /// the partition keys (inner), as in FugueSQL.
    pub inputs: Vec<Name>,
    pub partition: Option<PartitionSpec>,
    pub using: Transformer,
    pub params: Options,
    pub schema: Option<OutputSchema>,
}

/// What runs on each partition.
#[derive(Debug, Clone)]
pub enum Transformer {
    /// A bare name (`USING row_number`, `USING add_running_qty`): a built-in
    /// transformer or a function of the session's `--udf` files.
    Builtin(Name),
    /// A Python function named where it lives: `USING mypkg.module.fn` (an
    /// importable module) or `USING 'udf.py:fn'` (a file).
    Python(PythonRef),
    /// `USING exec('python3 fit.py', 'arg', ...)`: an external program. The
    /// first string is split like a shell command line (no shell runs);
    /// every further string is one more argument, as written.
    Exec { args: Vec<String>, span: Span },
}

/// Where a Python function named in USING lives.
#[derive(Debug, Clone)]
pub struct PythonRef {
    /// A module path (`mypkg.module`) or a file path (`udf.py`).
    pub location: String,
    /// True for a file (`'udf.py:fn'`), false for a module path.
    pub file: bool,
    pub function: String,
    pub span: Span,
}

/// The SCHEMA of a TRANSFORM: `*` (all input columns), `*-a-b` (all but
/// those), and `name:type` fields, in order.
#[derive(Debug, Clone)]
pub struct OutputSchema {
    pub items: Vec<SchemaItem>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum SchemaItem {
    /// `*`, `*-a-b`, `*~c`: the input columns except those listed (`-`: the
    /// column must exist; `~`: left out if it exists).
    All {
        except: Vec<Name>,
        if_exists: Vec<Name>,
        span: Span,
    },
    Field(Field),
}

/// How ZIP matches the groups of its dataframes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipHow {
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    Cross,
}

/// `ZIP a, b [CROSS|INNER|LEFT OUTER|RIGHT OUTER|FULL OUTER] [BY keys] [PRESORT ..]`
#[derive(Debug, Clone)]
pub struct Zip {
    pub inputs: Vec<Name>,
    pub how: ZipHow,
    /// Empty: the columns every input has (not for CROSS).
    pub by: Vec<Name>,
    pub presort: Vec<SortKey>,
}

/// `CREATE MODEL`: the options as written (`model_class`, `target_column`,
/// hyper-parameters, nested `(k = v)` maps, `ARRAY[...]` lists) and the
/// statement whose rows train the model.
#[derive(Debug, Clone)]
pub struct CreateModel {
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub options: Vec<(Name, Literal)>,
    pub query: Box<Statement>,
}

/// `COMPARE MODELS`: the rows to compare on (None: the previous dataframe)
/// and the options as written (`target`, `models`, `folds`, `sort`, ...).
#[derive(Debug, Clone)]
pub struct CompareModels {
    pub input: Option<Box<Statement>>,
    /// `PREPARTITION BY` keys: a forecast per series.
    pub partition: Vec<Name>,
    pub options: Vec<(Name, Literal)>,
}

/// `CREATE EXPERIMENT`: Dask-SQL's hyper-parameter search.
#[derive(Debug, Clone)]
pub struct CreateExperiment {
    pub name: Name,
    pub or_replace: bool,
    pub options: Vec<(Name, Literal)>,
    pub query: Box<Statement>,
}

/// `PREDICT(MODEL m, <statement>)`: the statement's rows plus the model's
/// `target` column (and `probability` for classifiers that have one).
#[derive(Debug, Clone)]
pub struct Predict {
    pub model: Name,
    pub input: Box<Statement>,
}

impl Statement {
    /// Output statements consume a dataframe without producing one: they leave
    /// the previous dataframe unchanged.
    pub fn is_output(&self) -> bool {
        matches!(
            self,
            Statement::Print(_)
                | Statement::Save(Save { and_use: false, .. })
                | Statement::CreateModel(_)
                | Statement::DropModel { .. }
                | Statement::ExportModel { .. }
                | Statement::ImportModel { .. }
                | Statement::Transform(Transform {
                    kind: TransformKind::OutTransform | TransformKind::Output,
                    ..
                })
        )
    }
}

#[derive(Debug, Clone)]
pub struct Explain {
    pub analyze: bool,
    pub verbose: bool,
    pub statement: Box<Statement>,
}

/// A literal value in inline data, options and parameters (JSON-like).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    /// Kept as written, so the engine decides integer vs float vs decimal.
    Number(String),
    String(String),
    List(Vec<Literal>),
    Object(Vec<(String, Literal)>),
}

/// A Fugue type name: `int`, `str`, `decimal(10,2)`, `[int]`, `{a:int}`.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeName {
    Bool,
    Byte,
    Short,
    Int,
    Long,
    UByte,
    UShort,
    UInt,
    ULong,
    Float,
    Double,
    Decimal(u8, i8),
    Str,
    Bytes,
    Date,
    /// `datetime`: microseconds, no time zone (fugue's default timestamp).
    Datetime,
    /// `timestamp(unit[,tz])` (triad's form): any unit, a zone name or
    /// offset (`UTC`, `+05:30`, `America/New_York`).
    Timestamp(TimeUnit, Option<String>),
    List(Box<TypeName>),
    Struct(Vec<Field>),
}

/// The unit of a `timestamp(unit)` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
}

impl TimeUnit {
    pub fn from_name(name: &str) -> Option<TimeUnit> {
        Some(match name.to_lowercase().as_str() {
            "s" => TimeUnit::Second,
            "ms" => TimeUnit::Millisecond,
            "us" => TimeUnit::Microsecond,
            "ns" => TimeUnit::Nanosecond,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Second => "s",
            TimeUnit::Millisecond => "ms",
            TimeUnit::Microsecond => "us",
            TimeUnit::Nanosecond => "ns",
        }
    }
}

/// `name:type`
#[derive(Debug, Clone)]
pub struct Field {
    pub name: Name,
    pub ty: TypeName,
}

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        self.name.value == other.name.value && self.ty == other.ty
    }
}

/// A Fugue schema `a:int,b:str`.
#[derive(Debug, Clone)]
pub struct Schema {
    pub fields: Vec<Field>,
    pub span: Span,
}

/// `key=value` / `key:value` pairs: LOAD/SAVE options, FILL NULLS params.
#[derive(Debug, Clone)]
pub struct Options {
    pub entries: Vec<(Name, Literal)>,
}

/// `CREATE [[0,"a"],[1,null]] SCHEMA id:long,name:str`
#[derive(Debug, Clone)]
pub struct CreateData {
    pub rows: Vec<Vec<Literal>>,
    pub schema: Schema,
}

/// File formats LOAD and SAVE know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
    Json,
}

/// `COLUMNS a:int,b:str` (pick and type) or `COLUMNS a,b` (pick).
#[derive(Debug, Clone)]
pub enum Columns {
    Schema(Schema),
    Names(Vec<Name>),
}

/// `LOAD [fmt] 'path' [(options)] [COLUMNS ...]`
#[derive(Debug, Clone)]
pub struct Load {
    pub format: Option<FileFormat>,
    pub path: String,
    pub path_span: Span,
    pub options: Options,
    pub columns: Option<Columns>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    Overwrite,
    Append,
    /// `TO`: fail when the path exists.
    ErrorIfExists,
}

/// `SAVE [AND USE] [df] [PREPARTITION BY ..] OVERWRITE|APPEND|TO [SINGLE] [fmt] 'path' [(options)]`
#[derive(Debug, Clone)]
pub struct Save {
    pub and_use: bool,
    pub input: Option<Name>,
    pub partition: Option<PartitionSpec>,
    pub mode: SaveMode,
    pub single: bool,
    pub format: Option<FileFormat>,
    pub path: String,
    pub path_span: Span,
    pub options: Options,
}

/// `PRINT [n ROWS] [FROM a, b] [ROWCOUNT] [TITLE 'x']`
#[derive(Debug, Clone)]
pub struct Print {
    pub rows: Option<u64>,
    pub inputs: Vec<Name>,
    pub rowcount: bool,
    pub title: Option<String>,
}

/// One key of a PRESORT list.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub column: Name,
    pub ascending: bool,
}

/// `[HASH|RAND|EVEN|COARSE] PREPARTITION [n] [BY a, b] [PRESORT c DESC]`
#[derive(Debug, Clone, Default)]
pub struct PartitionSpec {
    pub algo: Option<String>,
    /// The physical partition count as written (an expression); results never
    /// depend on it.
    pub num: Option<String>,
    pub by: Vec<Name>,
    pub presort: Vec<SortKey>,
}

/// `TAKE n ROWS [FROM df] [PREPARTITION BY ..] [PRESORT ..] [NULLS FIRST|LAST]`
#[derive(Debug, Clone)]
pub struct Take {
    pub rows: u64,
    pub input: Option<Name>,
    pub partition: PartitionSpec,
    /// `Some(true)`: NULLS FIRST for every presort key.
    pub nulls_first: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SampleMethod {
    Rows(u64),
    Percent(f64),
}

/// `SAMPLE [REPLACE] n ROWS | p PERCENT [SEED s] [FROM df]`
#[derive(Debug, Clone)]
pub struct Sample {
    pub method: SampleMethod,
    pub replace: bool,
    pub seed: Option<u64>,
    pub input: Option<Name>,
}

/// `DROP COLUMNS a, b [IF EXISTS] [FROM df]`
#[derive(Debug, Clone)]
pub struct DropColumns {
    pub columns: Vec<Name>,
    pub if_exists: bool,
    pub input: Option<Name>,
}

/// `DROP ROWS IF ALL|ANY NULLS [ON a, b] [FROM df]`
#[derive(Debug, Clone)]
pub struct DropRows {
    /// true: drop a row when all (listed) columns are NULL; false: when any is.
    pub all: bool,
    pub columns: Vec<Name>,
    pub input: Option<Name>,
}

/// `FILL NULLS PARAMS a:0, b:'x' [FROM df]`
#[derive(Debug, Clone)]
pub struct FillNulls {
    pub values: Options,
    pub input: Option<Name>,
}

/// `RENAME COLUMNS a:x, b:y [FROM df]`
#[derive(Debug, Clone)]
pub struct RenameColumns {
    pub pairs: Vec<(Name, Name)>,
    pub input: Option<Name>,
}

/// `ALTER COLUMNS a:double, b:str [FROM df]`
#[derive(Debug, Clone)]
pub struct AlterColumns {
    pub schema: Schema,
    pub input: Option<Name>,
}

/// Modifiers that may follow any dataframe-producing statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modifier {
    /// Materialise once, reuse (in memory).
    Persist,
    /// Mark for broadcast joins.
    Broadcast,
    /// Materialise to files and continue from them. The word before
    /// CHECKPOINT (`LAZY`, `STRONG`, `DETERMINISTIC`) is kept as written.
    Checkpoint(Option<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YieldKind {
    Dataframe,
    LocalDataframe,
    File,
    Table,
}

/// `YIELD DATAFRAME|LOCAL DATAFRAME|FILE|TABLE [AS name]`
#[derive(Debug, Clone)]
pub struct Yield {
    pub kind: YieldKind,
    pub name: Option<Name>,
    pub span: Span,
}
