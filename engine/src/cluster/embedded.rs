//! An embedded Ballista cluster: one scheduler and N executors in this
//! process, on a tokio runtime of their own. They talk gRPC and Arrow Flight
//! over loopback, as a real cluster does, so the distributed path (stages,
//! shuffles, plan serialization) is the one that runs. Dropping the handle
//! stops the runtime and everything on it.
//!
//! Executors learn of work by polling the scheduler; Ballista's standalone
//! executor sleeps 50 ms between idle polls, so every stage of a job waited
//! up to that long to be picked up, and its finished tasks as long to be
//! reported. fsql starts the executors itself with a wake-up wired to their
//! poll loops and pulses it every [`BUSY_PULSE`] for a while after each job
//! is submitted (the scheduler builds a session per job), and every
//! [`IDLE_PULSE`] otherwise, so an idle cluster polls no more than before.
//! The scheduler and executors also serve with TCP_NODELAY (see [`listen`]).
//! Together these took a 3-stage query on SF 0.1 from about 280 ms to 40 ms.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow_flight::flight_service_server::FlightServiceServer;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::BallistaCodec;
use ballista_core::serde::protobuf::ExecutorRegistration;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_core::serde::scheduler::{
    ExecutorOperatingSystemSpecification, ExecutorSpecification,
};
use ballista_core::utils::{GrpcServerConfig, create_grpc_server, create_grpc_server_incoming};
use ballista_core::{BALLISTA_PROTOCOL_VERSION, ConfigProducer, RuntimeProducer};
use ballista_executor::execution_loop::poll_loop;
use ballista_executor::executor::Executor;
use ballista_executor::flight_service::BallistaFlightService;
use ballista_executor::health::ExecutorHealth;
use ballista_executor::metrics::LoggingMetricsCollector;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::metrics::default_metrics_collector;
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion::execution::SessionState;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::sync::Notify;
use tonic::transport::server::TcpIncoming;

use super::codec::{FsqlLogicalCodec, FsqlPhysicalCodec};
use super::server_state;
use crate::error::{Error, Result};

/// Where the scheduler and executors listen.
const HOST: &str = "127.0.0.1";

/// How long the embedded scheduler may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Executors' poll interval while jobs may be running.
const BUSY_PULSE: Duration = Duration::from_millis(4);
/// How long after a job's submission the executors poll at [`BUSY_PULSE`].
const BUSY_FOR: Duration = Duration::from_secs(30);
/// Executors' poll interval when no job was submitted lately (Ballista's own).
const IDLE_PULSE: Duration = Duration::from_millis(50);

pub struct EmbeddedCluster {
    runtime: Option<tokio::runtime::Runtime>,
    url: String,
    /// The executors' work directories (shuffle files), removed on drop.
    _work_dirs: Vec<tempfile::TempDir>,
}

impl EmbeddedCluster {
    /// Starts a scheduler and `executors` executors with `slots` task slots
    /// each, all built from `state`.
    pub async fn start(state: &SessionState, executors: usize, slots: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(crate::engine::cores().max(2))
            .thread_name("fsql-cluster")
            // Deep expressions recurse once per level (see the CLI's stacks).
            .thread_stack_size(64 << 20)
            .enable_all()
            .build()
            .map_err(|e| Error::Cluster(format!("cannot start the embedded cluster: {e}")))?;
        let state = state.clone();
        let started = runtime.spawn(async move { boot(state, executors, slots).await });
        let (url, work_dirs) = match started.await {
            Ok(result) => result?,
            Err(e) => {
                return Err(Error::Cluster(format!(
                    "the embedded cluster failed to start: {e}"
                )));
            }
        };
        Ok(Self {
            runtime: Some(runtime),
            url,
            _work_dirs: work_dirs,
        })
    }

    /// The scheduler's gRPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Safe inside async code, unlike dropping the runtime.
            rt.shutdown_background();
        }
    }
}

/// When the last job was submitted, and the executors' wake-up.
struct Pulse {
    start: Instant,
    last_job_ms: AtomicU64,
    notify: Arc<Notify>,
}

impl Pulse {
    fn job_submitted(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_job_ms.store(now.max(1), Ordering::Relaxed);
    }

    /// Wakes the idle poll loops, often while jobs may be running.
    async fn run(self: Arc<Self>) {
        loop {
            let last = self.last_job_ms.load(Ordering::Relaxed);
            let since = Duration::from_millis(self.start.elapsed().as_millis() as u64 - last);
            let busy = last > 0 && since < BUSY_FOR;
            tokio::time::sleep(if busy { BUSY_PULSE } else { IDLE_PULSE }).await;
            self.notify.notify_waiters();
        }
    }
}

async fn boot(
    state: SessionState,
    executors: usize,
    slots: usize,
) -> Result<(String, Vec<tempfile::TempDir>)> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::Cluster(format!("cannot start the embedded {what}: {e}"))
    };
    // Like `fsql cluster scheduler`: each session is built from the settings
    // the client sends (so `SET` reaches the scheduler), with fsql's codec.
    // The scheduler builds a session for every job it is given.
    let config = state.config().clone();
    let codec = BallistaCodec::new(
        Arc::new(FsqlLogicalCodec::default()),
        Arc::new(FsqlPhysicalCodec::default()),
    );
    let pulse = Arc::new(Pulse {
        start: Instant::now(),
        last_job_ms: AtomicU64::new(0),
        notify: Arc::new(Notify::new()),
    });
    let on_job = Arc::clone(&pulse);
    let cluster = BallistaCluster::new_memory(
        "localhost:50050",
        Arc::new(move |config| {
            on_job.job_submitted();
            Ok(server_state(config))
        }),
        Arc::new(move || config.clone()),
    );
    let mut scheduler: SchedulerServer<LogicalPlanNode, PhysicalPlanNode> = SchedulerServer::new(
        "localhost:50050".to_owned(),
        cluster,
        codec,
        Arc::new(
            SchedulerConfig::default().with_scheduler_policy(TaskSchedulingPolicy::PullStaged),
        ),
        default_metrics_collector().map_err(|e| failed("scheduler", &e))?,
    );
    scheduler
        .init()
        .await
        .map_err(|e| failed("scheduler", &e))?;
    let max_message = state.config().ballista_grpc_client_max_message_size();
    let service = SchedulerGrpcServer::new(scheduler)
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let (incoming, port) = listen().map_err(|e| failed("scheduler", &e))?;
    tokio::spawn(
        create_grpc_server(&GrpcServerConfig::default())
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    let url = format!("http://{HOST}:{port}");
    let mut work_dirs = Vec::with_capacity(executors);
    for _ in 0..executors {
        let scheduler = connect(&url).await?;
        let dir = start_executor(scheduler, slots, &state, Arc::clone(&pulse))
            .await
            .map_err(|e| failed("executor", &e))?;
        work_dirs.push(dir);
    }
    tokio::spawn(pulse.run());
    Ok((url, work_dirs))
}

/// An executor as Ballista's `new_standalone_executor_from_state` starts
/// one, with its idle polls woken by `pulse` instead of a fixed 50 ms sleep.
async fn start_executor(
    scheduler: SchedulerGrpcClient<tonic::transport::Channel>,
    slots: usize,
    state: &SessionState,
    pulse: Arc<Pulse>,
) -> std::result::Result<tempfile::TempDir, Box<dyn std::error::Error + Send + Sync>> {
    let codec: BallistaCodec = BallistaCodec::new(
        state.config().ballista_logical_extension_codec(),
        state.config().ballista_physical_extension_codec(),
    );
    let config = state.config().clone().upgrade_for_ballista();
    let max_message_size = config.ballista_grpc_client_max_message_size();
    let runtime = state.runtime_env().clone();
    let config_producer: ConfigProducer = Arc::new(move || config.clone());
    let runtime_producer: RuntimeProducer = Arc::new(move |_| Ok(runtime.clone()));

    let mut metadata = ExecutorRegistration {
        id: ballista_core::ids::new_instance_id(),
        host: Some(HOST.to_string()),
        port: 0,
        grpc_port: 50020, // unused: executors are polled, not pushed to
        specification: Some(
            ExecutorSpecification::default()
                .with_vcores(slots as u32)
                .into(),
        ),
        os_info: Some(ExecutorOperatingSystemSpecification::default().into()),
        ballista_protocol_version: BALLISTA_PROTOCOL_VERSION,
    };
    let work_dir = super::work_dir::create()?;
    let path = work_dir.path().to_string_lossy().into_owned();
    let flight = FlightServiceServer::new(BallistaFlightService::new(path.clone()))
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size);
    let (incoming, port) = listen()?;
    metadata.port = port as u32;
    tokio::spawn(
        create_grpc_server(&GrpcServerConfig::default())
            .add_service(flight)
            .serve_with_incoming(incoming),
    );
    let executor = Arc::new(Executor::new(
        metadata,
        &path,
        runtime_producer,
        config_producer,
        Arc::new(state.into()),
        Arc::new(LoggingMetricsCollector::default()),
        slots,
        super::executor_engine(),
    ));
    tokio::spawn(poll_loop(
        scheduler,
        executor,
        codec,
        Some(Arc::clone(&pulse.notify)),
        None,
        ExecutorHealth::new(),
    ));
    Ok(work_dir)
}

/// A client of the scheduler at `url`, retried until it accepts connections.
async fn connect(url: &str) -> Result<SchedulerGrpcClient<tonic::transport::Channel>> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        match SchedulerGrpcClient::connect(url.to_string()).await {
            Ok(client) => return Ok(client),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(Error::Cluster(format!(
                    "the embedded scheduler at {url} did not accept connections: {e}"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A free loopback port to serve gRPC on, with TCP_NODELAY. (Ballista's
/// standalone servers serve a plain listener, where tonic does not set
/// TCP_NODELAY: each small reply then waited on the peer's delayed ACK,
/// about 40 ms per call.)
fn listen() -> std::io::Result<(TcpIncoming, u16)> {
    let incoming = create_grpc_server_incoming(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &GrpcServerConfig::default(),
    )
    .map_err(std::io::Error::other)?;
    let port = incoming.local_addr()?.port();
    Ok((incoming, port))
}
