//! Differences the fuzzers know about: each is a line of `docs/semantics.md`
//! ("Differences from DuckDB") or `docs/testing.md` ("Found by the
//! fuzzers", with a minimal reproduction), so a finding that matches one is
//! counted, not reported. A new kind of finding is either a bug to fix or a
//! line to add to those pages and here.

use crate::differential::Finding;

/// The known difference a finding is an instance of, if any.
pub fn classify(f: &Finding) -> Option<&'static str> {
    let text = format!("{}\n{}", f.sql, f.detail);
    let sql = f.sql.as_str();
    let has_subquery = sql.contains("(SELECT") || sql.contains("EXISTS (");
    // Ballista 55 cannot ship a plan with a subquery left inside an
    // expression; fsql refuses it with a clear error on `cluster`.
    if f.kind != "duckdb"
        && has_subquery
        && (text.contains("the cluster engine cannot run")
            || text.contains("Proto serialization error")
            || text.contains("does not support logical expression")
            || text.contains("Could not parse plan"))
    {
        return Some("cluster-subquery");
    }
    // An empty relation (a filter never true) reached the scheduler without
    // its columns. Fixed for plans the client optimises itself
    // (cluster/empty.rs); still open after DROP COLUMNS or SAMPLE.
    if f.kind == "engines"
        && (text.contains("Valid fields: []")
            || text.contains("No field named __fsql_previous")
            || text.contains("type_coercion"))
    {
        return Some("cluster-empty-relation");
    }
    // DataFusion: an IN or EXISTS subquery in a SELECT list is not
    // supported (a clear error). (`x IN (subquery)` under NOT / IS NULL was
    // false where it should be NULL; fsql's in_subquery.rs fixed it.)
    if has_subquery
        && (text.contains("does not support logical expression InSubquery")
            || text.contains("does not support logical expression Exists"))
    {
        return Some("subquery-in-select");
    }
    // The same rows in another order: rows that differ only in the sign of
    // a zero are peers on both sides (fsql's float_in.rs makes -0.0 and 0.0
    // equal sort keys), and each engine keeps peers in its own order.
    if f.kind == "duckdb"
        && f.ordered
        && let (Some(ours), Some(theirs)) = (&f.fsql_rows, &f.expected)
        && crate::rows::same(ours, theirs, false)
    {
        return Some("zero-sign-order");
    }
    // DataFusion checks expression types in debug builds only; a CASE mixing
    // a timestamp and an integer trips that check (release builds run).
    if f.kind == "crash" && text.contains("expressions have incompatible types") {
        return Some("debug-type-assertion");
    }
    // DataFusion: a subquery in a join condition ("single expression
    // required").
    if has_subquery && text.contains("single expression required") {
        return Some("subquery-planning");
    }
    // NaN: DataFusion compares, sorts and groups NaNs by their bits (a NaN
    // with the sign bit set sorts first); DuckDB has one NaN, greater than
    // every number. (Grouped MIN/MAX were fixed in engine/src/minmax.rs.)
    if f.kind == "duckdb" && text.contains("NaN") {
        return Some("nan");
    }
    None
}
