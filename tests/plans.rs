//! The plans fsql chooses for itself, where a golden file cannot tell: the
//! rows would be the same with a slower plan.

use datafusion::dataframe::DataFrame;
use datafusion::physical_plan::displayable;
use fsql_engine::{Engine, Session};

const SCRIPT: &str = "
t = SELECT value % 10 AS k, value AS v FROM range(0, 1000)
TAKE 2 ROWS FROM t PREPARTITION BY k PRESORT v DESC
";

/// The last dataframe of `script` run on `engine`.
async fn last_frame(engine: Engine, script: &str) -> DataFrame {
    let mut session = Session::new(engine).await.expect("session");
    session.run(script).await.expect("script");
    session.last().expect("a dataframe").clone()
}

async fn plans(engine: Engine, script: &str) -> (String, String) {
    let df = last_frame(engine, script).await;
    let logical = format!("{}", df.logical_plan().display_indent());
    let physical = df.create_physical_plan().await.expect("physical plan");
    (
        logical,
        displayable(physical.as_ref()).indent(false).to_string(),
    )
}

/// TAKE per group is the top-n operator, never a window over a full sort:
/// one final phase on `local`, partial phases, a repartition by the keys
/// and a final phase on `threads`.
#[tokio::test(flavor = "multi_thread")]
async fn take_per_group_is_the_top_n_operator() {
    let (logical, physical) = plans(Engine::Local, SCRIPT).await;
    assert!(
        logical.contains("TopNPerGroup: 2 rows by [k] presort [v DESC]"),
        "{logical}"
    );
    assert!(!logical.contains("row_number"), "{logical}");
    assert_eq!(
        physical.matches("TopNPerGroupExec: Final").count(),
        1,
        "{physical}"
    );
    assert!(!physical.contains("Partial"), "{physical}");
    assert!(
        !physical.contains("SortExec") && !physical.contains("WindowAggExec"),
        "{physical}"
    );

    let (_, physical) = plans(Engine::Threads, SCRIPT).await;
    let final_at = physical.find("TopNPerGroupExec: Final").expect(&physical);
    let repartition_at = physical
        .find("RepartitionExec: partitioning=Hash([k@0]")
        .expect(&physical);
    let partial_at = physical.find("TopNPerGroupExec: Partial").expect(&physical);
    assert!(
        final_at < repartition_at && repartition_at < partial_at,
        "{physical}"
    );
    assert!(
        !physical.contains("SortExec") && !physical.contains("WindowAggExec"),
        "{physical}"
    );
}

/// Beyond 1000 rows per group, a sort is cheaper than the operator's
/// sorted lists: the window plan.
#[tokio::test(flavor = "multi_thread")]
async fn take_many_rows_per_group_is_a_window() {
    let script = SCRIPT.replace("TAKE 2 ROWS", "TAKE 1001 ROWS");
    let (logical, _) = plans(Engine::Threads, &script).await;
    assert!(!logical.contains("TopNPerGroup"), "{logical}");
    assert!(logical.contains("row_number"), "{logical}");
}

const SQL_TOP: &str = "
t = SELECT value % 10 AS k, value AS v FROM range(0, 1000)
SELECT k, v FROM (
  SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t
) s WHERE rn <= 2
";

async fn optimized(engine: Engine, script: &str) -> (String, String) {
    let df = last_frame(engine, script).await;
    let logical = df.clone().into_optimized_plan().expect("optimized plan");
    let physical = df.create_physical_plan().await.expect("physical plan");
    (
        format!("{}", logical.display_indent()),
        displayable(physical.as_ref()).indent(false).to_string(),
    )
}

/// SQL's top-n-per-group (a row number per partition, filtered) runs the
/// top-n operator under the window, so the window sorts n rows per group,
/// not every row.
#[tokio::test(flavor = "multi_thread")]
async fn sql_row_number_filter_uses_the_top_n_operator() {
    for (filter, n) in [
        ("rn <= 2", 2),
        ("rn < 3", 2),
        ("2 >= rn", 2),
        ("rn = 1", 1),
        ("v > 5 AND rn <= 3", 3),
    ] {
        let script = SQL_TOP.replace("rn <= 2", filter);
        let (logical, physical) = optimized(Engine::Threads, &script).await;
        let expected = format!("TopNPerGroup: {n} rows by [k] presort [v DESC]");
        assert!(logical.contains(&expected), "{filter}: {logical}");
        let window_at = physical.find("WindowAggExec").expect(&physical);
        let final_at = physical.find("TopNPerGroupExec: Final").expect(&physical);
        let partial_at = physical.find("TopNPerGroupExec: Partial").expect(&physical);
        assert!(window_at < final_at && final_at < partial_at, "{physical}");
    }
    let (logical, _) = optimized(Engine::Local, SQL_TOP).await;
    assert_eq!(logical.matches("TopNPerGroup").count(), 1, "{logical}");
}

/// Where the operator would give other rows (rank, other window functions
/// over the same rows, lower bounds) or be slower (many rows), the window
/// runs over every row.
#[tokio::test(flavor = "multi_thread")]
async fn other_window_filters_keep_the_window_plan() {
    let cases: [&[(&str, &str)]; 5] = [
        &[("row_number()", "rank()")],
        &[
            (
                "AS rn FROM",
                "AS rn, sum(v) OVER (PARTITION BY k ORDER BY v DESC) AS s FROM",
            ),
            ("SELECT k, v FROM", "SELECT k, v, s FROM"),
        ],
        &[("rn <= 2", "rn >= 2")],
        &[("rn <= 2", "rn <= 1001")],
        &[("rn <= 2", "rn <= 2 OR v = 3")],
    ];
    for case in cases {
        let mut script = SQL_TOP.to_string();
        for (from, to) in case {
            assert!(script.contains(from));
            script = script.replace(from, to);
        }
        let (logical, _) = optimized(Engine::Threads, &script).await;
        assert!(!logical.contains("TopNPerGroup"), "{case:?}: {logical}");
    }
}

/// The distributed plan of the last statement of `script` (an EXPLAIN),
/// as the cluster's scheduler cut it into stages.
async fn distributed_plan(script: &str) -> String {
    // The session owns the embedded cluster: it must outlive the collect.
    let mut session = Session::new(Engine::Cluster).await.expect("session");
    session.run(script).await.expect("script");
    let frame = session.last().expect("a dataframe").clone();
    let batches = frame.collect().await.expect("explain");
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .expect("format")
        .to_string()
}

const JOIN_SIDES: &str = "
small = SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(k, name)
big = SELECT value AS k, value * 2 AS v FROM range(0, 100000)
";

/// On the cluster a small inner-join side is broadcast and the big side is
/// joined in the stage that reads it: neither side is shuffled by the join
/// key. A left join that must keep the small side's unmatched rows cannot
/// broadcast it and shuffles both sides instead.
#[tokio::test(flavor = "multi_thread")]
async fn cluster_broadcasts_small_join_sides_without_shuffles() {
    let inner = format!(
        "{JOIN_SIDES}EXPLAIN SELECT name, SUM(v) AS s FROM big JOIN small ON big.k = small.k GROUP BY name"
    );
    let plan = distributed_plan(&inner).await;
    assert!(plan.contains("HashJoinExec: mode=CollectLeft"), "{plan}");
    assert!(plan.contains("broadcast=true"), "{plan}");
    assert!(!plan.contains("Hash([k@"), "{plan}");

    let left = format!(
        "{JOIN_SIDES}EXPLAIN SELECT name, COUNT(v) AS n FROM small LEFT JOIN big ON big.k = small.k GROUP BY name"
    );
    let plan = distributed_plan(&left).await;
    assert!(plan.contains("HashJoinExec: mode=Partitioned"), "{plan}");
    assert!(!plan.contains("broadcast=true"), "{plan}");
    assert!(plan.contains("Hash([k@"), "{plan}");
}
