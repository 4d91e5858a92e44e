//! `fsql cluster scheduler` and `fsql cluster executor`: Ballista's scheduler
//! and executor started from the fsql binary through their library APIs,
//! with fsql's functions, settings and codecs on both sides. Both stop
//! cleanly on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use super::codec::{FsqlLogicalCodec, FsqlPhysicalCodec};
use super::{server_config, server_state};
use crate::error::{Error, Result};

/// Settings of `fsql cluster scheduler`.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address to listen on (port 0: any free port, printed at start).
    pub bind: SocketAddr,
    /// An executor silent for this long is considered lost and its tasks
    /// are scheduled elsewhere.
    pub executor_timeout: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], super::DEFAULT_SCHEDULER_PORT)),
            executor_timeout: Duration::from_secs(20),
        }
    }
}

/// Settings of `fsql cluster executor`.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// `host:port` of the scheduler.
    pub scheduler: String,
    /// Address other executors and clients fetch results from (port 0: a
    /// free port).
    pub bind: SocketAddr,
    /// Host name advertised to the scheduler (default: the bind address).
    pub external_host: Option<String>,
    /// Tasks run at once (0: the cores).
    pub slots: usize,
    /// Where shuffle files go (default: a temporary folder).
    pub work_dir: Option<String>,
    /// How long to wait for the scheduler at start.
    pub connect_timeout: Duration,
}

/// Runs a scheduler until SIGTERM or Ctrl-C. `ready` is called with the
/// bound address once it accepts connections.
pub async fn run_scheduler(opts: SchedulerOptions, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let failed = |e: &dyn std::fmt::Display| Error::Cluster(format!("scheduler: {e}"));
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .map_err(|e| Error::Cluster(format!("cannot listen on {}: {e}", opts.bind)))?;
    let addr = listener.local_addr().map_err(|e| failed(&e))?;
    let timeout = opts.executor_timeout.as_secs().max(1);
    let config = SchedulerConfig {
        bind_host: addr.ip().to_string(),
        bind_port: addr.port(),
        external_host: addr.ip().to_string(),
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 4).max(1),
        no_executors_grace_period_seconds: timeout,
        override_session_builder: Some(Arc::new(|config| Ok(server_state(config)))),
        override_config_producer: Some(Arc::new(server_config)),
        override_logical_codec: Some(Arc::new(FsqlLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(FsqlPhysicalCodec::default())),
        ..SchedulerConfig::default()
    };
    config.validate().map_err(|e| failed(&e))?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| failed(&e))?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(|e| failed(&e))?;
    ready(addr);
    tokio::select! {
        served = start_grpc_service_with_listener(listener, scheduler) => served.map_err(|e| failed(&e)),
        () = shutdown_signal() => Ok(()),
    }
}

/// Runs an executor until SIGTERM or Ctrl-C (Ballista's executor process
/// handles both signals itself: it stops taking tasks and tells the
/// scheduler it is leaving).
pub async fn run_executor(opts: ExecutorOptions, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let url = super::scheduler_url(&opts.scheduler)?;
    let (scheduler_host, scheduler_port) = url
        .trim_start_matches("http://")
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error::Cluster(format!("bad scheduler address '{}'", opts.scheduler)))?;
    let port = match opts.bind.port() {
        0 => free_port(opts.bind)?,
        p => p,
    };
    let bind = SocketAddr::new(opts.bind.ip(), port);
    let state = server_state(server_config());
    // Each task's runtime reads and writes object stores through one
    // registry (stores built once, from this executor's environment).
    let registry = Arc::new(crate::storage::StoreRegistry::default());
    // Without --work-dir, a folder of this process's own, removed when it
    // stops (and by the next executor if this one is killed).
    let own_dir = match &opts.work_dir {
        Some(_) => None,
        None => Some(super::work_dir::create().map_err(|e| {
            Error::Cluster(format!("cannot create the executor's work directory: {e}"))
        })?),
    };
    let work_dir = match &own_dir {
        Some(dir) => dir.path().to_string_lossy().into_owned(),
        None => opts.work_dir.clone().unwrap_or_default(),
    };
    let spill_dir = work_dir.clone();
    let runtime_producer: ballista_core::RuntimeProducer = Arc::new(move |_| {
        let env = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_temp_file_path(spill_dir.clone())
            .with_object_store_registry(registry.clone())
            .build()?;
        Ok(Arc::new(env))
    });
    let config = ExecutorProcessConfig {
        bind_host: bind.ip().to_string(),
        external_host: Some(
            opts.external_host
                .clone()
                .unwrap_or_else(|| bind.ip().to_string()),
        ),
        port,
        // Only used by push scheduling; fsql's scheduler pulls.
        grpc_port: port,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: opts.connect_timeout.as_secs().clamp(1, u16::MAX as u64)
            as u16,
        vcores: opts.slots,
        // --memory-limit: Ballista gives each task a fair-spill pool of
        // this over the slots (without it, a share of the host's memory).
        memory_pool_size: crate::limits::current().memory,
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        work_dir: Some(work_dir),
        print_thread_info: false,
        job_data_clean_up_interval_seconds: 600,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_config_producer: Some(Arc::new(server_config)),
        override_logical_codec: Some(Arc::new(FsqlLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(FsqlPhysicalCodec::default())),
        override_execution_engine: Some(super::executor_engine()),
        override_runtime_producer: Some(runtime_producer),
        ..ExecutorProcessConfig::default()
    };
    ready(bind);
    let result = start_executor_process(Arc::new(config))
        .await
        .map_err(|e| Error::Cluster(format!("executor: {e}")));
    drop(own_dir);
    result
}

/// A port that was free a moment ago on `addr`'s interface.
fn free_port(addr: SocketAddr) -> Result<u16> {
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Cluster(format!("cannot find a free port on {}: {e}", addr.ip())))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
