//! The engine choice and the DataFusion context it builds. Every engine gets
//! the same state — fsql's SQL semantics (NULL ordering, true division),
//! functions and settings — and differs only in parallelism.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;

use crate::division::TrueDivision;
use crate::udf;

/// Where statements run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// DataFusion with one partition: no parallelism, smallest footprint.
    Local,
    /// DataFusion on all cores (the default).
    #[default]
    Threads,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Local, Engine::Threads];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Local => "local",
            Engine::Threads => "threads",
        }
    }

    /// Number of partitions plans are split into.
    pub fn target_partitions(self) -> usize {
        match self {
            Engine::Local => 1,
            Engine::Threads => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }

    /// The DataFusion configuration every fsql engine shares.
    pub fn config(self) -> SessionConfig {
        let mut config = SessionConfig::new()
            .with_target_partitions(self.target_partitions())
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(true);
        let opts = config.options_mut();
        // FugueSQL (Spark) order: NULL is the smallest value.
        opts.sql_parser.default_null_ordering = "nulls_min".to_string();
        // Names keep the case they are written in (FugueSQL on DuckDB/Spark);
        // lower/case.rs matches unquoted names case-insensitively.
        opts.sql_parser.enable_ident_normalization = false;
        // Keep source spans in plans so planning errors point into the script.
        opts.sql_parser.collect_spans = true;
        config
    }

    /// A new DataFusion context for this engine with all fsql extensions.
    pub fn context(self) -> SessionContext {
        // No file-listing cache: scripts write files (SAVE) and read them back
        // in the same session, and a stale listing would return old data.
        let runtime = RuntimeEnvBuilder::new()
            .with_object_list_cache_limit(0)
            .build_arc()
            .expect("the default runtime environment builds");
        let state = SessionStateBuilder::new()
            .with_config(self.config())
            .with_runtime_env(runtime)
            .with_expr_planners(vec![Arc::new(TrueDivision)])
            .with_default_features()
            .build();
        let ctx = SessionContext::new_with_state(state);
        udf::register_all(&ctx);
        ctx
    }
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
            other => Err(format!(
                "unknown engine '{other}': expected local or threads"
            )),
        }
    }
}
