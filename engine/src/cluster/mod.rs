//! The `cluster` engine: DataFusion plans run on Apache Ballista.
//!
//! A session connects either to an embedded cluster (scheduler and executors
//! started in this process on their own runtime, talking gRPC and Arrow
//! Flight over loopback like a real cluster) or to a running scheduler
//! started with `fsql cluster scheduler`. Every side — the client, the
//! embedded cluster and the `fsql cluster` processes — is built from the same
//! fsql DataFusion state ([`crate::engine::state`]), so fsql's functions and
//! settings are known wherever a plan is planned, decoded or executed.

mod broadcast;
mod codec;
mod compact;
mod embedded;
mod empty;
mod pool;
mod process;
mod rules;
mod stores;
mod work_dir;

use std::sync::Arc;
use std::time::Duration;

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_executor::execution_engine::{DefaultExecutionEngine, ExecutionEngine};
use datafusion::execution::SessionState;
use datafusion::execution::context::SessionContext;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::join_selection::JoinSelection;
use datafusion::prelude::SessionConfig;

pub use embedded::EmbeddedCluster;
pub use process::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};

use crate::engine::{self, Engine};
use crate::error::{Error, Result};

/// Port a scheduler listens on when none is given (Ballista's default).
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// How long a client waits for a scheduler to answer before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where `--engine cluster` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `host:port` of a running scheduler; `None` starts an embedded cluster.
    pub scheduler: Option<String>,
    /// Executors of the embedded cluster.
    pub executors: usize,
    /// Task slots of each embedded executor (0: the cores, shared out).
    pub slots: usize,
    /// Partitions plans are split into (0: every slot of the embedded
    /// cluster, or this machine's cores for a remote one).
    pub partitions: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            scheduler: None,
            executors: 2,
            slots: 0,
            partitions: 0,
        }
    }
}

impl ClusterOptions {
    /// Slots per embedded executor: the cores shared out, at least one.
    pub fn slots_per_executor(&self) -> usize {
        if self.slots > 0 {
            self.slots
        } else {
            (engine::cores() / self.executors.max(1)).max(1)
        }
    }

    fn partitions(&self) -> usize {
        match (self.partitions, &self.scheduler) {
            (0, None) => (self.executors.max(1) * self.slots_per_executor()).max(2),
            (0, Some(_)) => engine::cores().max(2),
            (n, _) => n,
        }
    }
}

/// fsql's DataFusion configuration for Ballista sessions.
pub(crate) fn config(partitions: usize) -> SessionConfig {
    Engine::config(partitions)
        .upgrade_for_ballista()
        // Ballista 55's adaptive planner (on by default) plans stages itself,
        // past fsql's physical rules (rules.rs): with it, a LIMIT over VALUES
        // returns every row and a window after a filter on its PARTITION BY
        // key fails. The static planner with the rules runs both correctly;
        // the golden files hold both cases.
        .set_bool("ballista.planner.adaptive.enabled", false)
        // Hash joins. DataFusion's own single-partition thresholds are 0, so
        // its join selection plans every join partitioned; fsql's
        // `broadcast::PlanBroadcastJoins` then makes Ballista's broadcast
        // choice (`ballista.optimizer.broadcast_join_threshold_bytes`) before
        // exchanges are placed. With DataFusion's thresholds, Ballista 55
        // turned the CollectLeft joins they choose for semi, anti, left and
        // full joins back into partitioned ones without replanning what is
        // above them: a global COUNT(*) over an IN-subquery join then
        // counted once per partition.
        .set_bool("datafusion.optimizer.prefer_hash_join", true)
        .set_usize(
            "datafusion.optimizer.hash_join_single_partition_threshold",
            0,
        )
        .set_usize(
            "datafusion.optimizer.hash_join_single_partition_threshold_rows",
            0,
        )
        .with_ballista_logical_extension_codec(Arc::new(codec::FsqlLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(codec::FsqlPhysicalCodec::default()))
}

/// A context whose plans run on the cluster `opts` names, and the embedded
/// cluster it started (None for a remote scheduler). The embedded cluster
/// stops when the returned handle is dropped.
pub async fn connect(opts: &ClusterOptions) -> Result<(SessionContext, Option<EmbeddedCluster>)> {
    let state = state(config(opts.partitions()));
    let (url, embedded) = match &opts.scheduler {
        None => {
            let cluster =
                EmbeddedCluster::start(&state, opts.executors.max(1), opts.slots_per_executor())
                    .await?;
            (cluster.url().to_string(), Some(cluster))
        }
        Some(addr) => {
            let url = scheduler_url(addr)?;
            check_reachable(&url).await?;
            (url, None)
        }
    };
    Ok((client_context(state, url)?, embedded))
}

/// The client side: plans go to the scheduler at `url`.
fn client_context(state: SessionState, url: String) -> Result<SessionContext> {
    let mut state = state
        .upgrade_for_ballista(url)
        .map_err(|e| Error::Cluster(e.to_string()))?;
    // Ballista's upgrade resets the function list to its own; fsql's
    // functions must be known to the client's planner too.
    engine::register_functions(&mut state);
    // Last: what the client ships must keep an empty relation's columns.
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_optimizer_rule(Arc::new(empty::KeepEmptySchema))
        .build();
    Ok(SessionContext::new_with_state(state))
}

/// `host:port`, `http://host:port` or `df://host:port` as the gRPC URL
/// Ballista's client uses.
pub(crate) fn scheduler_url(addr: &str) -> Result<String> {
    let rest = addr
        .strip_prefix("http://")
        .or_else(|| addr.strip_prefix("df://"))
        .unwrap_or(addr)
        .trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') {
        return Err(Error::Cluster(format!(
            "'{addr}' is not a scheduler address (expected host:port)"
        )));
    }
    let with_port = if rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        rest.to_string()
    } else {
        format!("{rest}:{DEFAULT_SCHEDULER_PORT}")
    };
    Ok(format!("http://{with_port}"))
}

/// Fails fast, with the address, when no scheduler answers there.
async fn check_reachable(url: &str) -> Result<()> {
    let attempt = SchedulerGrpcClient::connect(url.to_string());
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Cluster(format!(
            "cannot reach the scheduler at {url}: {e} (start one with `fsql cluster scheduler`)"
        ))),
        Err(_) => Err(Error::Cluster(format!(
            "the scheduler at {url} did not answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// The state `fsql cluster` processes build their sessions from, for a
/// session configuration received from a client.
pub(crate) fn server_state(config: SessionConfig) -> SessionState {
    state(config.upgrade_for_ballista())
}

/// fsql's state for every side of a cluster: the shared one plus the
/// physical rules distributed plans need.
fn state(config: SessionConfig) -> SessionState {
    engine::build(
        engine::state_builder(config)
            .with_physical_optimizer_rules(physical_rules())
            .with_physical_optimizer_rule(Arc::new(rules::KeepMemoryLimits)),
    )
}

/// fsql's physical rules with [`broadcast::PlanBroadcastJoins`] right
/// after DataFusion's join selection, before any exchange is placed.
fn physical_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = engine::physical_rules();
    let at = rules
        .iter()
        .position(|r| r.name() == JoinSelection::new().name())
        .map_or(0, |i| i + 1);
    rules.insert(at, Arc::new(broadcast::PlanBroadcastJoins));
    rules
}

/// How every fsql executor, embedded or a process, runs its tasks:
/// Ballista's engine with pooled shuffle connections ([`pool`]), with view
/// columns compacted before pass-through shuffle writes ([`compact`]).
fn executor_engine() -> Arc<dyn ExecutionEngine> {
    let pooled = DefaultExecutionEngine::with_client_pool(Arc::new(pool::ClientPool::default()));
    let compacting = Arc::new(compact::CompactingEngine::new(Arc::new(pooled)));
    Arc::new(stores::StoreOptionsEngine::new(compacting))
}

/// The shared default for sessions created on a server without a client
/// configuration.
pub(crate) fn server_config() -> SessionConfig {
    config(engine::cores())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_addresses() {
        assert_eq!(
            scheduler_url("127.0.0.1:5000").unwrap(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(scheduler_url("df://h:7").unwrap(), "http://h:7");
        assert_eq!(scheduler_url("http://h:7/").unwrap(), "http://h:7");
        assert_eq!(scheduler_url("sched").unwrap(), "http://sched:50050");
        assert!(scheduler_url("").is_err());
        assert!(scheduler_url("h:7/x").is_err());
    }

    #[test]
    fn slots_and_partitions() {
        let o = ClusterOptions {
            executors: 2,
            slots: 3,
            ..Default::default()
        };
        assert_eq!(o.slots_per_executor(), 3);
        assert_eq!(o.partitions(), 6);
        let remote = ClusterOptions {
            scheduler: Some("h:1".into()),
            partitions: 5,
            ..Default::default()
        };
        assert_eq!(remote.partitions(), 5);
    }
}
