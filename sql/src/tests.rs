//! Parser tests: each statement form, error locations, and the Display
//! round trip (printing a parsed script and parsing it again is stable).

use crate::ast::*;
use crate::parse;

fn one(text: &str) -> Step {
    let mut s = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(s.steps.len(), 1, "{text}");
    s.steps.remove(0)
}

fn err(text: &str) -> (String, u64, u64) {
    let e = parse(text).expect_err(text);
    (e.message, e.span.start.line, e.span.start.column)
}

pub(crate) fn round_trip(text: &str) {
    let first = parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_string();
    let second = parse(&first)
        .unwrap_or_else(|e| panic!("re-parse of {first}: {e}"))
        .to_string();
    assert_eq!(first, second, "round trip of {text}");
}

#[test]
fn statements_need_no_separator() {
    let s = parse(
        "a = CREATE [[1,\"x\"],[2,null]] SCHEMA id:int,name:str\n\
         b = SELECT * FROM a WHERE id > 1\n\
         SELECT name\n\
         PRINT 3 ROWS FROM a, b ROWCOUNT TITLE 'hello'\n\
         TAKE 1 ROW",
    )
    .unwrap();
    assert_eq!(s.steps.len(), 5);
    assert_eq!(s.steps[0].assign.as_ref().unwrap().value, "a");
    assert!(matches!(s.steps[2].statement, Statement::Query(_)));
    let Statement::Print(p) = &s.steps[3].statement else {
        panic!()
    };
    assert_eq!(p.rows, Some(3));
    assert_eq!(p.inputs.len(), 2);
    assert!(p.rowcount);
    assert_eq!(p.title.as_deref(), Some("hello"));
    assert_eq!(s.steps[1].span.start.line, 2);
}

#[test]
fn semicolons_and_lowercase_are_accepted() {
    let s = parse("select 1 as x; print; take 1 rows;").unwrap();
    assert_eq!(s.steps.len(), 3);
}

#[test]
fn create_data_with_nested_values() {
    let st =
        one("CREATE [[1,[1,2],{\"k\":\"v\"}],[-2.5,[],null]] SCHEMA a:double,b:[int],c:{k:str}");
    let Statement::CreateData(c) = st.statement else {
        panic!()
    };
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.rows[1][0], Literal::Number("-2.5".into()));
    assert_eq!(
        c.schema.fields[1].ty,
        TypeName::List(Box::new(TypeName::Int))
    );
    assert!(matches!(c.schema.fields[2].ty, TypeName::Struct(_)));
}

#[test]
fn load_forms() {
    let st = one("LOAD CSV 'data/x.csv' (header=true, delimiter='|') COLUMNS a:int,b:str");
    let Statement::Load(l) = st.statement else {
        panic!()
    };
    assert_eq!(l.format, Some(FileFormat::Csv));
    assert_eq!(l.options.entries.len(), 2);
    assert!(matches!(l.columns, Some(Columns::Schema(_))));
    let st = one("LOAD \"x.parquet\" COLUMNS a, b");
    let Statement::Load(l) = st.statement else {
        panic!()
    };
    assert_eq!(l.format, None);
    assert!(matches!(l.columns, Some(Columns::Names(ref n)) if n.len() == 2));
}

#[test]
fn save_forms() {
    let st = one("SAVE t PREPARTITION BY a OVERWRITE PARQUET 'out/x' (compression='zstd')");
    let Statement::Save(s) = st.statement else {
        panic!()
    };
    assert_eq!(s.input.unwrap().value, "t");
    assert_eq!(s.partition.unwrap().by[0].value, "a");
    assert_eq!(s.mode, SaveMode::Overwrite);
    let st = one("SAVE AND USE TO SINGLE CSV 'x.csv' (header=true)");
    let Statement::Save(s) = st.statement else {
        panic!()
    };
    assert!(s.and_use && s.single);
    assert_eq!(s.mode, SaveMode::ErrorIfExists);
    let st = one("SAVE APPEND 'x.parquet'");
    assert!(matches!(
        st.statement,
        Statement::Save(Save {
            mode: SaveMode::Append,
            ..
        })
    ));
}

#[test]
fn take_and_sample() {
    let st = one("TAKE 2 ROWS FROM t PREPARTITION BY a, b PRESORT c DESC, d NULLS FIRST");
    let Statement::Take(t) = st.statement else {
        panic!()
    };
    assert_eq!(t.rows, 2);
    assert_eq!(t.partition.by.len(), 2);
    assert!(!t.partition.presort[0].ascending && t.partition.presort[1].ascending);
    assert_eq!(t.nulls_first, Some(true));
    let st = one("TAKE 3 ROWS PRESORT x");
    let Statement::Take(t) = st.statement else {
        panic!()
    };
    assert_eq!(t.partition.presort.len(), 1);
    let st = one("SAMPLE REPLACE 10 PERCENT SEED 42 FROM t");
    let Statement::Sample(s) = st.statement else {
        panic!()
    };
    assert_eq!(s.method, SampleMethod::Percent(10.0));
    assert!(s.replace);
    assert_eq!(s.seed, Some(42));
    let st = one("SAMPLE 5 ROWS");
    assert!(matches!(
        st.statement,
        Statement::Sample(Sample {
            method: SampleMethod::Rows(5),
            ..
        })
    ));
}

#[test]
fn column_operations() {
    assert!(matches!(
        one("DROP COLUMNS a, b IF EXISTS FROM t").statement,
        Statement::DropColumns(DropColumns {
            if_exists: true,
            ..
        })
    ));
    assert!(matches!(
        one("DROP ROWS IF ALL NULL ON a, b").statement,
        Statement::DropRows(DropRows { all: true, .. })
    ));
    assert!(matches!(
        one("DROP ROWS IF ANY NULLS").statement,
        Statement::DropRows(DropRows { all: false, .. })
    ));
    let Statement::FillNulls(f) = one("FILL NULLS PARAMS a:0, b:'x' FROM t").statement else {
        panic!()
    };
    assert_eq!(f.values.entries.len(), 2);
    let Statement::RenameColumns(r) = one("RENAME COLUMNS a:x, b:y").statement else {
        panic!()
    };
    assert_eq!(r.pairs[1].1.value, "y");
    let Statement::AlterColumns(a) = one("ALTER COLUMNS a:double, b:decimal(10,2)").statement
    else {
        panic!()
    };
    assert_eq!(a.schema.fields[1].ty, TypeName::Decimal(10, 2));
}

#[test]
fn modifiers_and_yield() {
    let st = one("x = SELECT * FROM t PERSIST BROADCAST LAZY CHECKPOINT YIELD DATAFRAME AS y");
    assert_eq!(st.modifiers.len(), 3);
    let y = st.yield_.unwrap();
    assert_eq!(y.kind, YieldKind::Dataframe);
    assert_eq!(y.name.unwrap().value, "y");
    let s = parse("SELECT 1; PERSIST").unwrap();
    assert!(matches!(s.steps[1].statement, Statement::Previous));
}

#[test]
fn sql_of_all_kinds_is_accepted() {
    for q in [
        "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
        "SELECT * FROM a LEFT SEMI JOIN b ON a.x = b.x",
        "SELECT x, row_number() OVER (PARTITION BY y ORDER BY z DESC) FROM t",
        "SELECT 1 UNION SELECT 2 INTERSECT SELECT 3",
        "EXPLAIN SELECT 1",
        "SELECT * WHERE x > 1",
    ] {
        one(q);
    }
}

#[test]
fn errors_point_at_the_place() {
    assert_eq!(err("TAKE 3 FROM t").1, 1);
    let (msg, line, col) = err("TAKE 3 FROM t");
    assert!(msg.contains("expected ROWS"), "{msg}");
    assert_eq!((line, col), (1, 8));
    let (msg, line, col) = err("a = SELECT 1\nb = SELECT (a FROM t");
    assert!(msg.contains("Expected: ), found: FROM"), "{msg}");
    assert_eq!((line, col), (2, 15));
    let (msg, line, _) = err("SELECT 'abc\nPRINT");
    assert!(msg.contains("Unterminated string"), "{msg}");
    assert_eq!(line, 1);
    let (msg, _, col) = err("CREATE [[1]] SCHEMA a:integr");
    assert!(msg.contains("unknown type 'integr'"), "{msg}");
    assert_eq!(col, 23);
    let (msg, ..) = err("x = PRINT");
    assert!(msg.contains("no result to assign"), "{msg}");
    let (msg, ..) = err("CREATE [[1]] SCHEMA a:int,a:str");
    assert!(msg.contains("duplicate column"), "{msg}");
    let (msg, ..) = err("SAMPLE 120 PERCENT");
    assert!(msg.contains("between 0 and 100"), "{msg}");
}

#[test]
fn create_data_takes_json_escapes() {
    let text =
        r#"CREATE [[1, "say \"hi\"\n\u00e9"], [2, 'it\'s'], [3, "a\\b"]] SCHEMA a:int, s:str"#;
    let strings = |step: Step| -> Vec<String> {
        let Statement::CreateData(c) = step.statement else {
            panic!("not CREATE data");
        };
        c.rows
            .into_iter()
            .map(|r| match &r[1] {
                Literal::String(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let want = vec!["say \"hi\"\né", "it's", "a\\b"];
    assert_eq!(strings(one(text)), want);
    // Printed again, the data reads back the same.
    let printed = parse(text).unwrap().to_string();
    assert_eq!(strings(one(printed.trim_end_matches(";\n"))), want);
    // What follows the data keeps its place for errors.
    let (_, line, column) = err("CREATE [[\"a\\\"b\"]] SCHEMA s:str LOAD 42");
    assert_eq!((line, column), (1, 37));
}

#[test]
fn display_round_trips() {
    for text in [
        "a = CREATE [[1,\"x\"],[2,null],[3,'it''s']] SCHEMA id:int,name:str",
        "LOAD CSV 'x.csv' (header=true, delimiter='|') COLUMNS a:int,b:[str]",
        "SAVE t HASH PREPARTITION 4 BY a PRESORT b DESC OVERWRITE PARQUET 'p' (x=1)",
        "PRINT 5 ROWS FROM a, b ROWCOUNT TITLE 'T'",
        "TAKE 2 ROWS FROM t PREPARTITION BY a PRESORT c DESC NULLS FIRST",
        "SAMPLE REPLACE 10.5 PERCENT SEED 3",
        "DROP COLUMNS a IF EXISTS; DROP ROWS IF ANY NULLS ON a",
        "FILL NULLS PARAMS a:0, b:'x'; RENAME COLUMNS a:b; ALTER COLUMNS a:{x:int,y:decimal(5,2)}",
        "x = SELECT * FROM t PERSIST YIELD LOCAL DATAFRAME AS y",
        "SELECT a, count(*) FROM t GROUP BY a ORDER BY a NULLS FIRST",
    ] {
        round_trip(text);
    }
}

#[test]
fn fugue_statements_nest_in_from() {
    let st =
        one("SELECT * FROM (TAKE 1 ROW FROM t PRESORT a DESC) AS x JOIN (LOAD 'f.csv') ON x.a = f");
    assert_eq!(st.nested.len(), 2);
    assert!(matches!(st.nested[0].statement, Statement::Take(_)));
    assert!(matches!(st.nested[1].statement, Statement::Load(_)));
    assert_eq!(st.nested[0].span.start.column, 15);
    let Statement::Query(q) = &st.statement else {
        panic!()
    };
    assert!(q.to_string().contains(&st.nested[0].name), "{q}");
    round_trip("SELECT a FROM (DROP ROWS IF ANY NULLS FROM t) WHERE a > 1");
    // A parenthesised subquery and a table named like a keyword stay SQL.
    assert!(
        one("SELECT * FROM (SELECT 1) AS s, sample")
            .nested
            .is_empty()
    );
    let (msg, line, col) = err("SELECT * FROM (TAKE 1 ROW FROM t x)");
    assert!(msg.contains("nested statement"), "{msg}");
    assert_eq!((line, col), (1, 34));
}

#[test]
fn fugue_statements_read_nested_statements() {
    let st = one("TAKE 1 ROW FROM (DROP ROWS IF ANY NULLS FROM (LOAD 'x.csv')) PRESORT a");
    assert_eq!(st.nested.len(), 2);
    // Inner statements come first: they run first.
    assert!(matches!(st.nested[0].statement, Statement::Load(_)));
    assert!(matches!(st.nested[1].statement, Statement::DropRows(_)));
    let Statement::Take(t) = &st.statement else {
        panic!()
    };
    assert_eq!(t.input.as_ref().unwrap().value, st.nested[1].name);
    round_trip("PRINT FROM (TAKE 1 ROW FROM t), u");
    round_trip(r#"CREATE [[1, "say \"hi\" \\ \n é"], [2, 'it''s']] SCHEMA a:int, s:str"#);
    round_trip(
        "LOAD 'x.csv' COLUMNS a:timestamp(ns), b:timestamp(us,UTC), c:timestamp(ms, +05:30)",
    );
    round_trip("SAVE (SAMPLE 2 ROWS SEED 1 FROM t) OVERWRITE 'p.parquet'");
    let (msg, _, _) = err("TAKE 1 ROW FROM (PRINT t)");
    assert!(msg.contains("must produce a dataframe"), "{msg}");
}

#[test]
fn explain_takes_fugue_statements_and_sql() {
    let s = one("EXPLAIN TAKE 2 ROWS FROM t PRESORT x");
    let Statement::Explain(e) = &s.statement else {
        panic!("not an EXPLAIN: {:?}", s.statement)
    };
    assert!(!e.analyze && !e.verbose);
    assert!(matches!(*e.statement, Statement::Take(_)));
    let s = one("explain analyze verbose LOAD 'x.csv'");
    let Statement::Explain(e) = &s.statement else {
        panic!("not an EXPLAIN: {:?}", s.statement)
    };
    assert!(e.analyze && e.verbose);
    assert!(matches!(*e.statement, Statement::Load(_)));
    // SQL keeps DataFusion's own EXPLAIN.
    assert!(matches!(
        one("EXPLAIN SELECT 1").statement,
        Statement::Sql(_)
    ));
    round_trip("EXPLAIN ANALYZE DROP ROWS IF ANY NULLS FROM t");
}
