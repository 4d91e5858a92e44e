//! An embedded Ballista cluster: one scheduler and N executors in this
//! process, on a tokio runtime of their own. They talk gRPC and Arrow Flight
//! over loopback, as a real cluster does, so the distributed path (stages,
//! shuffles, plan serialization) is the one that runs. Dropping the handle
//! stops the runtime and everything on it.

use std::sync::Arc;
use std::time::Duration;

use ballista_core::serde::BallistaCodec;

use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::execution::SessionState;

use super::codec::{FsqlLogicalCodec, FsqlPhysicalCodec};
use super::server_state;
use crate::error::{Error, Result};

/// How long the embedded scheduler may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct EmbeddedCluster {
    runtime: Option<tokio::runtime::Runtime>,
    url: String,
}

impl EmbeddedCluster {
    /// Starts a scheduler and `executors` executors with `slots` task slots
    /// each, all built from `state`.
    pub async fn start(state: &SessionState, executors: usize, slots: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(crate::engine::cores().max(2))
            .thread_name("fsql-cluster")
            .enable_all()
            .build()
            .map_err(|e| Error::Cluster(format!("cannot start the embedded cluster: {e}")))?;
        let state = state.clone();
        let started = runtime.spawn(async move { boot(state, executors, slots).await });
        let url = match started.await {
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

async fn boot(state: SessionState, executors: usize, slots: usize) -> Result<String> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::Cluster(format!("cannot start the embedded {what}: {e}"))
    };
    // Like `fsql cluster scheduler`: each session is built from the settings
    // the client sends (so `SET` reaches the scheduler), with fsql's codec.
    let config = state.config().clone();
    let codec = BallistaCodec::new(
        Arc::new(FsqlLogicalCodec::default()),
        Arc::new(FsqlPhysicalCodec::default()),
    );
    let addr = ballista_scheduler::standalone::new_standalone_scheduler_with_builder(
        Arc::new(|config| Ok(server_state(config))),
        Arc::new(move || config.clone()),
        codec,
    )
    .await
    .map_err(|e| failed("scheduler", &e))?;
    let url = format!("http://localhost:{}", addr.port());
    for _ in 0..executors {
        let scheduler = connect(&url).await?;
        ballista_executor::new_standalone_executor_from_state(scheduler, slots, &state)
            .await
            .map_err(|e| failed("executor", &e))?;
    }
    Ok(url)
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
