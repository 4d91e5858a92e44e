//! What Flight SQL clients ask about the server and its data: catalogs,
//! schemas, tables (with their Arrow schemas), table types, server facts
//! (`GetSqlInfo`) and the SQL types fsql has (`GetXdbcTypeInfo`). Catalogs
//! and tables are a connection's view: the shared catalog plus the
//! dataframes its own scripts named.

use std::sync::{Arc, OnceLock};

use arrow_flight::sql::metadata::{
    GetTablesBuilder, SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData,
    XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    Nullable, Searchable, SqlInfo, SqlNullOrdering, SqlSupportedCaseSensitivity, XdbcDataType,
    XdbcDatetimeSubcode,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::datasource::TableType;
use datafusion::execution::context::SessionContext;

/// `GetPrimaryKeys`' columns (Flight SQL's schema); fsql's tables have no
/// keys, so its answer is always empty.
pub fn primary_keys_schema() -> Schema {
    Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ])
}

/// The columns of `GetExportedKeys`, `GetImportedKeys` and
/// `GetCrossReference` (always empty: no foreign keys).
pub fn foreign_keys_schema() -> Schema {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Schema::new(vec![
        text("pk_catalog_name", true),
        text("pk_db_schema_name", true),
        text("pk_table_name", false),
        text("pk_column_name", false),
        text("fk_catalog_name", true),
        text("fk_db_schema_name", true),
        text("fk_table_name", false),
        text("fk_column_name", false),
        Field::new("key_sequence", DataType::Int32, false),
        text("fk_key_name", true),
        text("pk_key_name", true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ])
}

/// DataFusion's table types as Flight SQL names them.
pub const TABLE_TYPES: [&str; 3] = ["TABLE", "VIEW", "LOCAL TEMPORARY"];

pub fn table_type(t: TableType) -> &'static str {
    match t {
        TableType::Base => "TABLE",
        TableType::View => "VIEW",
        TableType::Temporary => "LOCAL TEMPORARY",
    }
}

/// The server's facts, with `read_only` as configured.
pub fn sql_info(read_only: bool) -> &'static SqlInfoData {
    static INFO: OnceLock<[SqlInfoData; 2]> = OnceLock::new();
    let both = INFO.get_or_init(|| [build_info(false), build_info(true)]);
    &both[usize::from(read_only)]
}

fn build_info(read_only: bool) -> SqlInfoData {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "fsql");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    // The Arrow IPC format version (Schema.fbs MetadataVersion V5).
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.5");
    b.append(SqlInfo::FlightSqlServerReadOnly, read_only);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    b.append(SqlInfo::FlightSqlServerCancel, false);
    b.append(SqlInfo::FlightSqlServerStatementTimeout, 0i32);
    b.append(SqlInfo::FlightSqlServerTransactionTimeout, 0i32);
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, true);
    b.append(SqlInfo::SqlDdlTable, true);
    // Unquoted identifiers are folded to lower case; quoted ones keep theirs.
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityLowercase as i32,
    );
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlAllTablesAreSelectable, true);
    b.append(
        SqlInfo::SqlNullOrdering,
        SqlNullOrdering::SqlNullsSortedHigh as i32,
    );
    b.append(SqlInfo::SqlSupportsColumnAliasing, true);
    b.append(SqlInfo::SqlNullPlusNullIsNull, true);
    b.append(SqlInfo::SqlSupportsTableCorrelationNames, true);
    b.append(SqlInfo::SqlSupportsExpressionsInOrderBy, true);
    b.append(SqlInfo::SqlSupportsOrderByUnrelated, true);
    b.append(SqlInfo::SqlSupportsLikeEscapeClause, true);
    b.append(SqlInfo::SqlSupportsNonNullableColumns, true);
    b.append(SqlInfo::SqlCatalogTerm, "catalog");
    b.append(SqlInfo::SqlSchemaTerm, "schema");
    b.append(SqlInfo::SqlProcedureTerm, "procedure");
    b.append(SqlInfo::SqlCatalogAtStart, true);
    b.append(SqlInfo::SqlSelectForUpdateSupported, false);
    b.append(SqlInfo::SqlStoredProceduresSupported, false);
    b.append(SqlInfo::SqlCorrelatedSubqueriesSupported, true);
    b.append(SqlInfo::SqlTransactionsSupported, false);
    b.append(SqlInfo::SqlBatchUpdatesSupported, false);
    b.append(SqlInfo::SqlSavepointsSupported, false);
    b.append(SqlInfo::SqlNamedParametersSupported, false);
    b.append(SqlInfo::SqlLocatorsUpdateCopy, false);
    b.append(SqlInfo::SqlStoredFunctionsUsingCallSyntaxSupported, false);
    b.append(SqlInfo::SqlSearchStringEscape, "\\");
    b.append(SqlInfo::SqlExtraNameCharacters, "");
    b.append(SqlInfo::SqlMaxColumnNameLength, 0i64);
    b.append(SqlInfo::SqlMaxStatementLength, 0i64);
    b.append(SqlInfo::SqlKeywords, &FSQL_KEYWORDS[..]);
    b.append(SqlInfo::SqlNumericFunctions, &NUMERIC_FUNCTIONS[..]);
    b.append(SqlInfo::SqlStringFunctions, &STRING_FUNCTIONS[..]);
    b.append(SqlInfo::SqlDatetimeFunctions, &DATETIME_FUNCTIONS[..]);
    b.build().expect("the server facts are well-formed")
}

/// FugueSQL's and fsql's words beyond SQL-92's (what JDBC's
/// getSQLKeywords reports).
const FSQL_KEYWORDS: [&str; 22] = [
    "LOAD",
    "SAVE",
    "PRINT",
    "TAKE",
    "SAMPLE",
    "FILL",
    "NULLS",
    "RENAME",
    "ALTER",
    "TRANSFORM",
    "PREPARTITION",
    "PRESORT",
    "ZIP",
    "PERSIST",
    "YIELD",
    "OUTPUT",
    "PROCESS",
    "MODEL",
    "MODELS",
    "PREDICT",
    "COMPARE",
    "EXPERIMENT",
];
const NUMERIC_FUNCTIONS: [&str; 16] = [
    "abs", "ceil", "floor", "round", "trunc", "sqrt", "power", "exp", "ln", "log", "log10", "sin",
    "cos", "tan", "pi", "random",
];
const STRING_FUNCTIONS: [&str; 14] = [
    "length", "lower", "upper", "trim", "ltrim", "rtrim", "substr", "concat", "replace",
    "position", "left", "right", "lpad", "rpad",
];
const DATETIME_FUNCTIONS: [&str; 7] = [
    "now",
    "current_date",
    "current_time",
    "date_trunc",
    "date_part",
    "extract",
    "to_timestamp",
];

/// The SQL types fsql reads and writes, with their Arrow counterparts.
pub fn xdbc_types() -> &'static XdbcTypeInfoData {
    static TYPES: OnceLock<XdbcTypeInfoData> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut b = XdbcTypeInfoDataBuilder::new();
        let t = |name: &str,
                 data_type: XdbcDataType,
                 size: Option<i32>,
                 quote: bool,
                 radix: Option<i32>,
                 subcode: Option<XdbcDatetimeSubcode>| XdbcTypeInfo {
            type_name: name.to_string(),
            data_type,
            column_size: size,
            literal_prefix: quote.then(|| "'".to_string()),
            literal_suffix: quote.then(|| "'".to_string()),
            create_params: None,
            nullable: Nullable::NullabilityNullable,
            case_sensitive: data_type == XdbcDataType::XdbcVarchar,
            searchable: Searchable::Full,
            unsigned_attribute: radix.map(|_| false),
            fixed_prec_scale: false,
            auto_increment: radix.map(|_| false),
            local_type_name: Some(name.to_string()),
            minimum_scale: None,
            maximum_scale: None,
            sql_data_type: data_type,
            datetime_subcode: subcode,
            num_prec_radix: radix,
            interval_precision: None,
        };
        use XdbcDataType as X;
        // Sorted by data type number, as ODBC's SQLGetTypeInfo is.
        for info in [
            t("VARCHAR", X::XdbcWvarchar, Some(i32::MAX), true, None, None),
            t("BOOLEAN", X::XdbcBit, Some(1), false, None, None),
            t("TINYINT", X::XdbcTinyint, Some(3), false, Some(10), None),
            t("BIGINT", X::XdbcBigint, Some(19), false, Some(10), None),
            t("BYTEA", X::XdbcVarbinary, Some(i32::MAX), false, None, None),
            t("DECIMAL", X::XdbcDecimal, Some(38), false, Some(10), None),
            t("INTEGER", X::XdbcInteger, Some(10), false, Some(10), None),
            t("SMALLINT", X::XdbcSmallint, Some(5), false, Some(10), None),
            t("REAL", X::XdbcReal, Some(24), false, Some(2), None),
            t("DOUBLE", X::XdbcDouble, Some(53), false, Some(2), None),
            t("DATE", X::XdbcDate, Some(10), true, None, None),
            t("TIME", X::XdbcTime, Some(18), true, None, None),
            t(
                "TIMESTAMP",
                X::XdbcTimestamp,
                Some(29),
                true,
                None,
                Some(XdbcDatetimeSubcode::XdbcSubcodeTimestamp),
            ),
        ] {
            b.append(info);
        }
        b.build().expect("the type table is well-formed")
    })
}

/// Every table a connection sees, for `GetTables` (the builder applies the
/// request's filters).
pub async fn tables(ctx: &SessionContext, into: &mut GetTablesBuilder) -> Result<(), String> {
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            let mut names = schema.table_names();
            names.sort();
            for name in names {
                // fsql's internal names (nested statements) are not shown.
                if name.starts_with("__fsql") {
                    continue;
                }
                let table: Option<Arc<dyn TableProvider>> =
                    schema.table(&name).await.map_err(|e| e.to_string())?;
                let Some(table) = table else { continue };
                let arrow: &Schema = &table.schema();
                into.append(
                    &catalog_name,
                    &schema_name,
                    &name,
                    table_type(table.table_type()),
                    arrow,
                )
                .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}
