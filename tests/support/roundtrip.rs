//! The SAVE → LOAD type matrix: a table with every type fsql supports (and
//! NULL in every column) is saved in every format (CSV with and without a
//! header, JSON, Parquet) and layout (one file, a folder of parts,
//! PREPARTITION BY), loaded back with its declared COLUMNS, and compared
//! with the original, value by value and type by type. The same table also
//! goes through PERSIST, CHECKPOINT, SAVE AND USE, YIELD FILE and a
//! TRANSFORM program. [`fingerprint`] then lets a test compare the files
//! one engine wrote with another's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::dataframe::DataFrame;
use fsql_engine::{CollectSink, Session};

use crate::Target;

/// Every column: name, fugue type, and the value of each row as text
/// (None: NULL). Row 4 is NULL everywhere, its key included.
const COLUMNS: &[(&str, &str, [Option<&str>; 4])] = &[
    ("id", "int", [Some("1"), Some("2"), Some("3"), Some("4")]),
    ("k", "str", [Some("a"), Some("b"), Some("a"), None]),
    ("i8", "byte", [Some("-128"), Some("127"), Some("0"), None]),
    (
        "i16",
        "short",
        [Some("-32768"), Some("32767"), Some("-1"), None],
    ),
    (
        "i32",
        "int",
        [Some("-2147483648"), Some("2147483647"), Some("7"), None],
    ),
    (
        "i64",
        "long",
        [
            Some("-9223372036854775808"),
            Some("9223372036854775807"),
            Some("42"),
            None,
        ],
    ),
    ("u8", "ubyte", [Some("0"), Some("255"), Some("1"), None]),
    ("u16", "ushort", [Some("0"), Some("65535"), Some("2"), None]),
    (
        "u32",
        "uint",
        [Some("0"), Some("4294967295"), Some("3"), None],
    ),
    (
        "u64",
        "ulong",
        [Some("0"), Some("18446744073709551615"), Some("4"), None],
    ),
    (
        "f32",
        "float",
        [Some("NaN"), Some("inf"), Some("-1.5e-7"), None],
    ),
    (
        "f64",
        "double",
        [Some("-inf"), Some("0.1"), Some("1e300"), None],
    ),
    (
        "dec",
        "decimal(18,4)",
        [
            Some("-99999999999999.9999"),
            Some("0.0001"),
            Some("12.5"),
            None,
        ],
    ),
    (
        "b",
        "bool",
        [Some("true"), Some("false"), Some("true"), None],
    ),
    (
        "s",
        "str",
        [
            Some("plain"),
            Some("a,b \"quoted\" 'single'\nsecond line"),
            Some("ünïcødé 😀 \t tab"),
            None,
        ],
    ),
    (
        "d",
        "date",
        [
            Some("2024-02-29"),
            Some("1969-12-31"),
            Some("9999-12-31"),
            None,
        ],
    ),
    (
        "ts",
        "datetime",
        [
            Some("2024-03-01 10:00:00"),
            Some("2024-03-01 10:00:00.5"),
            Some("1969-12-31 23:59:59.999999"),
            None,
        ],
    ),
    (
        "tsn",
        "timestamp(ns)",
        [
            Some("2024-03-01 10:00:00.123456789"),
            Some("2000-01-01 00:00:00"),
            Some("2024-03-01 10:00:00.001"),
            None,
        ],
    ),
    (
        "tz",
        "timestamp(us,UTC)",
        [
            Some("2024-03-01 10:00:00+00:00"),
            Some("2024-03-01 10:00:00.25+00:00"),
            Some("2024-06-30 23:00:00-05:00"),
            None,
        ],
    ),
    (
        "tzo",
        "timestamp(ms,+05:30)",
        [
            Some("2024-03-01 10:00:00+05:30"),
            Some("2024-03-01 10:00:00.125+00:00"),
            Some("1970-01-01 00:00:00+05:30"),
            None,
        ],
    ),
    (
        "bin",
        "bytes",
        [Some("bytes"), Some("\u{0}"), Some("\u{1}\u{7f},\""), None],
    ),
];

/// Nested columns, built in SQL (only JSON and Parquet hold them).
const NESTED: &str = "CASE id WHEN 1 THEN make_array(1, 2, 3) WHEN 2 THEN make_array(CAST(NULL AS BIGINT), -5) \
     WHEN 3 THEN arrow_cast(make_array(), 'List(Int64)') END AS list, \
     CASE WHEN id < 4 THEN named_struct('x', CAST(id * 10 AS BIGINT), 'y', \
     CASE WHEN id = 2 THEN NULL ELSE arrow_cast('v' || CAST(id AS VARCHAR), 'Utf8') END) END AS st";
const NESTED_SCHEMA: &str = "list:[long], st:{x:long,y:str}";

/// The script that makes `src`.
fn source_script() -> String {
    let rows: Vec<String> = (0..4)
        .map(|r| {
            let values: Vec<String> = COLUMNS
                .iter()
                .map(|(_, _, v)| match v[r] {
                    None => "null".to_string(),
                    Some(s) => json_string(s),
                })
                .collect();
            format!("[{}]", values.join(","))
        })
        .collect();
    let as_str: Vec<String> = COLUMNS.iter().map(|(n, _, _)| format!("{n}:str")).collect();
    let typed: Vec<String> = COLUMNS
        .iter()
        .filter(|(n, _, _)| *n != "k")
        .map(|(n, t, _)| format!("{n}:{t}"))
        .collect();
    format!(
        "CREATE [{}] SCHEMA {}\nALTER COLUMNS {}\nsrc = SELECT *, {NESTED}\n",
        rows.join(","),
        as_str.join(","),
        typed.join(", ")
    )
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// The declared schema of the columns `format` holds, in COLUMNS form.
fn schema(nested: bool) -> String {
    let mut fields: Vec<String> = COLUMNS.iter().map(|(n, t, _)| format!("{n}:{t}")).collect();
    if nested {
        fields.push(NESTED_SCHEMA.to_string());
    }
    fields.join(", ")
}

/// One way of saving: format, options, and whether nested columns fit.
#[derive(Clone, Copy)]
struct Format {
    name: &'static str,
    keyword: &'static str,
    options: &'static str,
    ext: &'static str,
    nested: bool,
}

const FORMATS: &[Format] = &[
    Format {
        name: "csv",
        keyword: "CSV",
        options: "",
        ext: "csv",
        nested: false,
    },
    Format {
        name: "csv_header",
        keyword: "CSV",
        options: "(header=true)",
        ext: "csv",
        nested: false,
    },
    Format {
        name: "csv_null",
        keyword: "CSV",
        options: "(header=true, null_value='NA')",
        ext: "csv",
        nested: false,
    },
    Format {
        name: "json",
        keyword: "JSON",
        options: "",
        ext: "json",
        nested: true,
    },
    Format {
        name: "parquet",
        keyword: "PARQUET",
        options: "",
        ext: "parquet",
        nested: true,
    },
];

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Single,
    Folder,
    Partitioned,
}

const LAYOUTS: &[(Layout, &str)] = &[
    (Layout::Single, "single"),
    (Layout::Folder, "folder"),
    (Layout::Partitioned, "by_k"),
];

/// Runs the matrix on `target`, writing under `out`; returns what differed
/// (empty when every case round-tripped).
pub async fn run_matrix(target: &Target, out: &Path, transformer: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    let mut s = match Session::open(
        target.engine,
        target.cluster.clone(),
        Box::new(CollectSink::default()),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return vec![format!("session: {e}")],
    };
    let engine = target.engine;
    if let Err(e) = s.run(&source_script()).await {
        return vec![format!("{engine}: making the source: {e}")];
    }
    let Some(src) = s.frame("src").cloned() else {
        return vec![format!("{engine}: no src")];
    };
    let expected = match table(src.clone()).await {
        Ok(t) => t,
        Err(e) => return vec![format!("{engine}: reading src: {e}")],
    };
    let flat: Vec<&str> = COLUMNS.iter().map(|(n, _, _)| *n).collect();
    for f in FORMATS {
        for (layout, layout_name) in LAYOUTS {
            let case = format!("{}_{layout_name}", f.name);
            let path = match layout {
                Layout::Single => out.join(format!("{case}.{}", f.ext)),
                _ => out.join(&case),
            };
            let p = path.display();
            let by = if *layout == Layout::Partitioned {
                "PREPARTITION BY k "
            } else {
                ""
            };
            let columns = if f.nested {
                "*".to_string()
            } else {
                flat.join(", ")
            };
            let save = format!(
                "SELECT {columns} FROM src ORDER BY id\nSAVE {by}OVERWRITE {} '{p}' {}",
                f.keyword, f.options
            );
            let load = format!(
                "LOAD {} '{p}' {} COLUMNS {}\nSELECT * ORDER BY id",
                f.keyword,
                f.options,
                schema(f.nested)
            );
            let want = expected.only(if f.nested { None } else { Some(&flat) });
            check(
                &mut s,
                &case,
                &format!("{save}\n{load}"),
                &want,
                &mut failures,
            )
            .await;
        }
        // SAVE AND USE continues from the data read back.
        let path = out.join(format!("and_use_{}.{}", f.name, f.ext));
        let columns = if f.nested {
            "*".to_string()
        } else {
            flat.join(", ")
        };
        let script = format!(
            "SELECT {columns} FROM src ORDER BY id\nSAVE AND USE OVERWRITE {} '{}' {}\nSELECT * ORDER BY id",
            f.keyword,
            path.display(),
            f.options
        );
        let want = expected.only(if f.nested { None } else { Some(&flat) });
        let case = format!("save_and_use_{}", f.name);
        check(&mut s, &case, &script, &want, &mut failures).await;
        // APPEND to a single file rewrites the old rows with the new ones.
        let path = out.join(format!("append_{}.{}", f.name, f.ext));
        let p = path.display();
        let (kw, opts) = (f.keyword, f.options);
        let script = format!(
            "SELECT {columns} FROM src WHERE id <= 2\nSAVE OVERWRITE {kw} '{p}' {opts}\n\
             SELECT {columns} FROM src WHERE id > 2 OR id IS NULL\nSAVE APPEND {kw} '{p}' {opts}\n\
             LOAD {kw} '{p}' {opts} COLUMNS {}\nSELECT * ORDER BY id",
            schema(f.nested)
        );
        let case = format!("append_{}", f.name);
        check(&mut s, &case, &script, &want, &mut failures).await;
    }
    // The other places data is written and read again.
    let transformer = transformer.display();
    for (case, script) in [
        (
            "persist",
            "SELECT * FROM src PERSIST\nSELECT * ORDER BY id".to_string(),
        ),
        (
            "checkpoint",
            "SELECT * FROM src CHECKPOINT\nSELECT * ORDER BY id".to_string(),
        ),
        (
            "transform",
            format!(
                "TRANSFORM src PREPARTITION BY k USING exec('{transformer} echo') SCHEMA *\nSELECT * ORDER BY id"
            ),
        ),
    ] {
        check(&mut s, case, &script, &expected, &mut failures).await;
    }
    match s.run("SELECT * FROM src YIELD FILE AS yielded").await {
        Ok(()) => {
            let y = s.yielded().iter().find(|y| y.name == "yielded").cloned();
            match y {
                Some(y) => {
                    let sorted = y.frame.sort_by(vec![datafusion::prelude::col("id")]);
                    match sorted {
                        Ok(df) => compare("yield_file", engine, df, &expected, &mut failures).await,
                        Err(e) => failures.push(format!("{engine} yield_file: {e}")),
                    }
                }
                None => failures.push(format!("{engine} yield_file: nothing yielded")),
            }
        }
        Err(e) => failures.push(format!("{engine} yield_file: {e}")),
    }
    failures
}

async fn check(
    s: &mut Session,
    case: &str,
    script: &str,
    want: &Table,
    failures: &mut Vec<String>,
) {
    let engine = s.engine();
    if let Err(e) = s.run(script).await {
        failures.push(format!("{engine} {case}: {e}\n{script}"));
        return;
    }
    match s.last().cloned() {
        Some(df) => compare(case, engine, df, want, failures).await,
        None => failures.push(format!("{engine} {case}: no result")),
    }
}

async fn compare(
    case: &str,
    engine: fsql_engine::Engine,
    df: DataFrame,
    want: &Table,
    failures: &mut Vec<String>,
) {
    match table(df).await {
        Ok(got) => {
            if let Some(diff) = want.diff(&got) {
                failures.push(format!("{engine} {case}: {diff}"));
            }
        }
        Err(e) => failures.push(format!("{engine} {case}: {e}")),
    }
}

/// Rows as text (NULL as `NULL`) and each column's type.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    columns: Vec<(String, DataType)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// The named columns only (None: all).
    fn only(&self, names: Option<&[&str]>) -> Table {
        let Some(names) = names else {
            return self.clone();
        };
        let keep: Vec<usize> = names
            .iter()
            .filter_map(|n| self.columns.iter().position(|(c, _)| c == n))
            .collect();
        Table {
            columns: keep.iter().map(|&i| self.columns[i].clone()).collect(),
            rows: self
                .rows
                .iter()
                .map(|r| keep.iter().map(|&i| r[i].clone()).collect())
                .collect(),
        }
    }

    fn diff(&self, got: &Table) -> Option<String> {
        if self.columns != got.columns {
            return Some(format!(
                "columns differ:\n  want {:?}\n  got  {:?}",
                self.columns, got.columns
            ));
        }
        if self.rows.len() != got.rows.len() {
            return Some(format!("{} rows, want {}", got.rows.len(), self.rows.len()));
        }
        for (r, (w, g)) in self.rows.iter().zip(&got.rows).enumerate() {
            for (c, (wv, gv)) in w.iter().zip(g).enumerate() {
                if wv != gv {
                    return Some(format!(
                        "row {} column {}: got {gv:?}, want {wv:?}",
                        r + 1,
                        self.columns[c].0
                    ));
                }
            }
        }
        None
    }
}

async fn table(df: DataFrame) -> Result<Table, String> {
    let columns = df
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let batches = df.collect().await.map_err(|e| e.strip_backtrace())?;
    Ok(Table {
        columns,
        rows: text_rows(&batches),
    })
}

fn text_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in batches {
        let fmts: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
            .collect();
        for r in 0..b.num_rows() {
            rows.push(fmts.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    rows
}

/// What the files under `dir` hold, by path relative to it: single files
/// byte for byte; a folder of parts (whose names and number differ between
/// engines) as its parts' records, sorted, and CSV headers kept apart.
/// Parquet parts are read (schema and rows), since their bytes depend on
/// how rows were split into parts. An appended file is compared like a
/// part: the order of its rows is not fixed.
pub fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("output folder") {
        let p = entry.expect("entry").path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            let mut parts = Vec::new();
            collect_parts(&p, &p, &mut parts);
            out.insert(name, parts_content(&parts));
        } else if name.starts_with("append_") {
            out.insert(name, parts_content(&[(String::new(), p)]));
        } else {
            let bytes = std::fs::read(&p).expect("file");
            out.insert(name, format!("{:?}", String::from_utf8_lossy(&bytes)));
        }
    }
    out
}

fn collect_parts(root: &Path, dir: &Path, parts: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("folder") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            collect_parts(root, &p, parts);
        } else {
            let folder = p
                .parent()
                .unwrap()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            parts.push((folder, p));
        }
    }
}

/// The records of each partition folder's parts, sorted.
fn parts_content(parts: &[(String, PathBuf)]) -> String {
    let mut by_folder: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (folder, p) in parts {
        let (headers, records) = by_folder.entry(folder).or_default();
        let ext = p.extension().map(|e| e.to_string_lossy().to_string());
        if ext.as_deref() == Some("parquet") {
            let (schema, rows) = parquet_content(p);
            headers.push(schema);
            records.extend(rows);
            continue;
        }
        let text = std::fs::read_to_string(p).expect("a text part");
        let mut recs = csv_records(&text);
        if ext.as_deref() == Some("csv")
            && p.to_string_lossy().contains("header")
            && !recs.is_empty()
        {
            headers.push(recs.remove(0));
        }
        records.extend(recs);
    }
    let mut out = String::new();
    for (folder, (mut headers, mut records)) in by_folder {
        headers.sort();
        headers.dedup();
        records.sort();
        out.push_str(&format!("[{folder}] {headers:?} {records:?}\n"));
    }
    out
}

/// Lines, except that a newline inside double quotes stays in its record.
fn csv_records(text: &str) -> Vec<String> {
    let mut records = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c == '\n' && !quoted {
            records.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        records.push(current);
    }
    records
}

fn parquet_content(p: &Path) -> (String, Vec<String>) {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(p).expect("parquet part");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet metadata");
    let schema = format!("{:?}", builder.schema());
    let batches: Vec<RecordBatch> = builder
        .build()
        .expect("parquet reader")
        .collect::<Result<_, _>>()
        .expect("parquet rows");
    let rows = text_rows(&batches)
        .into_iter()
        .map(|r| r.join("|"))
        .collect();
    (schema, rows)
}
