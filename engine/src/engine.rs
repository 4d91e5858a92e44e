//! The engine choice and the DataFusion context it builds. Every engine gets
//! the same state — fsql's SQL semantics (NULL ordering, true division),
//! functions and settings — and differs only in parallelism and in where
//! plans run (this process, or a Ballista cluster: see `cluster`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::execution::context::SessionContext;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;

use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;

use crate::division::TrueDivision;
use crate::float_stats::InexactFloatStats;
use crate::udf;

/// Where statements run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// DataFusion with one partition: no parallelism, smallest footprint.
    Local,
    /// DataFusion on all cores (the default).
    #[default]
    Threads,
    /// Apache Ballista: an embedded cluster in this process, or a running
    /// scheduler (see [`crate::cluster::ClusterOptions`]).
    Cluster,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Local, Engine::Threads, Engine::Cluster];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Local => "local",
            Engine::Threads => "threads",
            Engine::Cluster => "cluster",
        }
    }

    /// The DataFusion configuration every fsql engine shares, with plans
    /// split into `partitions`.
    pub fn config(partitions: usize) -> SessionConfig {
        let mut config = SessionConfig::new()
            .with_target_partitions(partitions.max(1))
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(true)
            // Statements' object-store options (crate::storage), which
            // travel with the settings to a cluster.
            .with_option_extension(crate::storage::StoreOptions::default());
        let opts = config.options_mut();
        // FugueSQL (Spark) order: NULL is the smallest value.
        opts.sql_parser.default_null_ordering = "nulls_min".to_string();
        // Names keep the case they are written in (FugueSQL on DuckDB/Spark);
        // lower/case.rs matches unquoted names case-insensitively.
        opts.sql_parser.enable_ident_normalization = false;
        // Keep source spans in plans so planning errors point into the script.
        opts.sql_parser.collect_spans = true;
        // DataFusion 55's top-k aggregation (GROUP BY x ORDER BY x LIMIT n)
        // panics on float keys holding -0.0, NaN and NULL ("entered
        // unreachable code" in its hash table; found by the differential
        // fuzzer): the plain aggregation and sort answer instead.
        opts.optimizer.enable_topk_aggregation = false;
        // DataFusion 55 plans some aggregates over a CASE (`SELECT DISTINCT
        // CASE ... END`) with a nullable physical field where the logical
        // one is not, and its schema check then fails the query ("Physical
        // input schema should be the same as the one converted from logical
        // input schema ... nullability"; found by the differential fuzzer).
        // The check exists to catch such planner bugs; nullability alone
        // changes no value, so fsql runs the query.
        opts.execution.skip_physical_aggregate_schema_check = true;
        config
    }
}

/// Cores of this machine.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A DataFusion state with every fsql extension: SQL semantics, functions
/// and runtime settings. The local engines run on it; the cluster's client,
/// embedded scheduler and executors, and `fsql cluster` processes are built
/// from it too, so a plan that runs on one runs on all.
pub(crate) fn state(config: SessionConfig) -> SessionState {
    build(state_builder(config))
}

/// The builder behind [`state`], for engines that add to it.
pub(crate) fn state_builder(config: SessionConfig) -> SessionStateBuilder {
    // No file-listing cache: scripts write files (SAVE) and read them back
    // in the same session, and a stale listing would return old data.
    let runtime = crate::limits::runtime_builder(&config)
        .with_object_list_cache_limit(0)
        .build_arc()
        .expect("the default runtime environment builds");
    SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_expr_planners(vec![
            Arc::new(TrueDivision),
            Arc::new(crate::functions::SubstringPlanner),
        ])
        .with_default_features()
        .with_query_planner(Arc::new(crate::planner::FsqlQueryPlanner))
        .with_optimizer_rule(Arc::new(crate::topn::rewrite::RowNumberToTopN))
        .with_analyzer_rule(Arc::new(crate::float_in::FloatInList))
        .with_analyzer_rule(Arc::new(crate::in_subquery::NullAwareInSubquery))
        .with_physical_optimizer_rules(physical_rules())
}

/// DataFusion's physical rules, after [`InexactFloatStats`] (which must
/// run before any rule that trusts statistics) and before
/// `FloatPredicatePruning` (after the rules that push filters into scans).
pub(crate) fn physical_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> =
        vec![Arc::new(InexactFloatStats)];
    rules.extend(
        PhysicalOptimizer::new()
            .rules
            .into_iter()
            .map(crate::tolerant::wrap),
    );
    rules.push(Arc::new(crate::float_pruning::FloatPredicatePruning));
    rules.push(Arc::new(crate::window_sort::SortWindowPartitions));
    rules
}

/// Builds `builder` and adds fsql's functions.
pub(crate) fn build(builder: SessionStateBuilder) -> SessionState {
    let mut state = builder.build();
    register_functions(&mut state);
    state
}

/// Adds fsql's own functions to `state` (they must be known wherever a plan
/// is planned, serialized or executed).
pub(crate) fn register_functions(state: &mut SessionState) {
    use datafusion::execution::FunctionRegistry;
    for f in udf::all() {
        state
            .register_udf(f)
            .expect("registering a scalar function cannot fail");
    }
    for f in crate::functions::scalar() {
        state
            .register_udf(f)
            .expect("registering a scalar function cannot fail");
    }
    for f in crate::minmax::functions()
        .into_iter()
        .chain(crate::functions::aggregate())
    {
        state
            .register_udaf(Arc::new(f))
            .expect("registering an aggregate function cannot fail");
    }
}

/// A context for the single-process engines.
pub(crate) fn local_context(engine: Engine) -> SessionContext {
    let partitions = match engine {
        Engine::Local => 1,
        _ => cores(),
    };
    SessionContext::new_with_state(state(Engine::config(partitions)))
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "local" => Ok(Engine::Local),
            "threads" => Ok(Engine::Threads),
            "cluster" => Ok(Engine::Cluster),
            other => Err(format!(
                "unknown engine '{other}': expected local, threads or cluster"
            )),
        }
    }
}
