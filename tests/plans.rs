//! The plans fsql chooses for itself, where a golden file cannot tell: the
//! rows would be the same with a slower plan.

use datafusion::physical_plan::displayable;
use fsql_engine::{ClusterOptions, CollectSink, Engine, Session};

const SCRIPT: &str = "
t = SELECT value % 10 AS k, value AS v FROM range(0, 1000)
TAKE 2 ROWS FROM t PREPARTITION BY k PRESORT v DESC
";

async fn plans(engine: Engine, script: &str) -> (String, String) {
    let mut session = Session::open(
        engine,
        ClusterOptions::default(),
        Box::new(CollectSink::default()),
    )
    .await
    .expect("session");
    session.run(script).await.expect("script");
    let df = session.last().expect("a dataframe").clone();
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
