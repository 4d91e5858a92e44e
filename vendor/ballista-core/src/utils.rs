// Licensed to the Apache Software Foundation (ASF) under one
// or more contributor license agreements.  See the NOTICE file
// distributed with this work for additional information
// regarding copyright ownership.  The ASF licenses this file
// to you under the Apache License, Version 2.0 (the
// "License"); you may not use this file except in compliance
// with the License.  You may obtain a copy of the License at
//
//   http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing,
// software distributed under the License is distributed on an
// "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
// KIND, either express or implied.  See the License for the
// specific language governing permissions and limitations
// under the License.

use crate::config::BallistaConfig;
use crate::error::{BallistaError, Result};
use crate::extension::SessionConfigExt;
use crate::serde::scheduler::PartitionStats;

use datafusion::arrow::ipc::CompressionType;
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SessionConfig, SessionState};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::{ExecutionPlan, RecordBatchStream, metrics};
use futures::StreamExt;
use log::error;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fs::File, pin::Pin};
use tonic::codegen::StdError;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Error, Server};

/// Configuration for gRPC client connections.
///
/// This struct holds timeout and keep-alive settings that are applied
/// when establishing gRPC connections from executors to schedulers or
/// between distributed components.
///
/// # Examples
///
/// ```
/// use ballista_core::config::BallistaConfig;
/// use ballista_core::utils::GrpcClientConfig;
///
/// let ballista_config = BallistaConfig::default();
/// let grpc_config = GrpcClientConfig::from(&ballista_config);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrpcClientConfig {
    /// Connection timeout in seconds
    pub connect_timeout_seconds: u64,
    /// Request timeout in seconds
    pub timeout_seconds: u64,
    /// TCP keep-alive interval in seconds
    pub tcp_keepalive_seconds: u64,
    /// HTTP/2 keep-alive ping interval in seconds
    pub http2_keepalive_interval_seconds: u64,
    /// Should client use tls
    pub use_tls: bool,
    /// Returns the maximum message size for gRPC clients in bytes.
    pub max_message_size: usize,
    /// Number of retries for IO operations.
    pub io_retries_times: u8,
    /// Wait time in milliseconds between IO retries.
    pub io_retry_wait_time_ms: u64,
    /// HTTP/2 initial connection-level flow-control window in bytes. 0 = tonic default.
    pub initial_connection_window_size: u32,
    /// HTTP/2 initial stream-level flow-control window in bytes. 0 = tonic default.
    pub initial_stream_window_size: u32,
}

impl From<&BallistaConfig> for GrpcClientConfig {
    fn from(config: &BallistaConfig) -> Self {
        Self {
            connect_timeout_seconds: config.grpc_client_connect_timeout_seconds() as u64,
            timeout_seconds: config.grpc_client_timeout_seconds() as u64,
            tcp_keepalive_seconds: config.grpc_client_tcp_keepalive_seconds() as u64,
            http2_keepalive_interval_seconds: config
                .grpc_client_http2_keepalive_interval_seconds()
                as u64,
            use_tls: config.use_tls(),
            max_message_size: config.grpc_client_max_message_size(),
            io_retries_times: config.io_retries_times() as u8,
            io_retry_wait_time_ms: config.io_retry_wait_time_ms() as u64,
            initial_connection_window_size: config
                .grpc_client_initial_connection_window_size(),
            initial_stream_window_size: config.grpc_client_initial_stream_window_size(),
        }
    }
}

impl Default for GrpcClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout_seconds: 20,
            timeout_seconds: 20,
            tcp_keepalive_seconds: 3600,
            http2_keepalive_interval_seconds: 300,
            use_tls: false,
            max_message_size: 16 * 1024 * 1024,
            io_retries_times: 3,
            io_retry_wait_time_ms: 3000,
            initial_connection_window_size: 67108864,
            initial_stream_window_size: 16777216,
        }
    }
}

/// Configuration for gRPC server.
///
/// This struct holds timeout and keep-alive settings that are applied
/// when creating gRPC servers in executors and schedulers.
///
/// # Examples
///
/// ```
/// use ballista_core::utils::GrpcServerConfig;
///
/// let server_config = GrpcServerConfig::default();
/// let server = ballista_core::utils::create_grpc_server(&server_config);
/// ```
#[derive(Debug, Clone)]
pub struct GrpcServerConfig {
    /// Request timeout in seconds
    pub timeout_seconds: u64,
    /// TCP keep-alive interval in seconds
    pub tcp_keepalive_seconds: u64,
    /// HTTP/2 keep-alive ping interval in seconds
    pub http2_keepalive_interval_seconds: u64,
    /// HTTP/2 keep-alive ping timeout in seconds
    pub http2_keepalive_timeout_seconds: u64,
}

impl Default for GrpcServerConfig {
    fn default() -> Self {
        Self {
            timeout_seconds: 20,
            tcp_keepalive_seconds: 3600,
            http2_keepalive_interval_seconds: 300,
            http2_keepalive_timeout_seconds: 20,
        }
    }
}

/// Default session builder using the provided configuration
pub fn default_session_builder(
    config: SessionConfig,
) -> datafusion::common::Result<SessionState> {
    use crate::extension::{
        ballista_aggregate_functions, ballista_scalar_functions,
        ballista_window_functions,
    };

    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(Arc::new(RuntimeEnvBuilder::new().build()?))
        .with_optimizer_rules(crate::optimizer::ballista_default_optimizer_rules())
        .with_scalar_functions(ballista_scalar_functions())
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build();

    Ok(state)
}

/// Creates a default session configuration with Ballista extensions.
pub fn default_config_producer() -> SessionConfig {
    SessionConfig::new_with_ballista()
}

/// Creates [IpcWriteOptions] using the compression codec configured in the BallistaConfig
pub fn create_write_options(
    compression_type: Option<CompressionType>,
) -> std::result::Result<IpcWriteOptions, DataFusionError> {
    IpcWriteOptions::default()
        .try_with_compression(compression_type)
        .map_err(|err| {
            DataFusionError::Internal(format!("Failed to set compression codec: {err}"))
        })
}

/// Stream data to disk in Arrow IPC format.
///
/// Batches are read from the async stream and forwarded through a bounded
/// channel to a `spawn_blocking` task that performs all synchronous file I/O,
/// keeping the tokio worker thread unblocked.
pub async fn write_stream_to_disk(
    stream: &mut Pin<Box<dyn RecordBatchStream + Send>>,
    path: &Path,
    disk_write_metric: &metrics::Time,
    channel_capacity: usize,
    compression_type: Option<CompressionType>,
) -> Result<PartitionStats> {
    let schema = stream.schema();
    let path_owned = path.to_owned();
    let write_metric = disk_write_metric.clone();

    let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(channel_capacity);

    let handle = tokio::task::spawn_blocking(move || -> Result<u64> {
        let file = BufWriter::new(File::create(&path_owned).map_err(|e| {
            error!("Failed to create partition file at {:?}: {e:?}", path_owned);
            BallistaError::IoError(e)
        })?);

        let options = create_write_options(compression_type)?;

        let mut writer =
            StreamWriter::try_new_with_options(file, schema.as_ref(), options)?;

        while let Some(batch) = rx.blocking_recv() {
            let timer = write_metric.timer();
            writer.write(&batch)?;
            timer.done();
        }
        let timer = write_metric.timer();
        writer.finish()?;
        timer.done();
        Ok(std::fs::metadata(&path_owned).map(|m| m.len()).unwrap_or(0))
    });

    let mut num_rows = 0;
    let mut num_batches = 0;

    let stream_err = loop {
        match stream.next().await {
            Some(Ok(batch)) => {
                num_batches += 1;
                num_rows += batch.num_rows();
                if tx.send(batch).await.is_err() {
                    break None;
                }
            }
            Some(Err(e)) => break Some(e),
            None => break None,
        }
    };
    drop(tx);

    let write_result = handle
        .await
        .map_err(|e| BallistaError::General(format!("Disk writer task failed: {e}")))?;

    if let Some(e) = stream_err {
        if let Err(write_err) = &write_result {
            error!("Disk writer also failed: {write_err}");
        }
        return Err(e.into());
    }
    let num_bytes = write_result?;

    Ok(PartitionStats::new(
        Some(num_rows as u64),
        Some(num_batches),
        Some(num_bytes),
    ))
}

/// Collects all record batches from a stream into a vector.
pub async fn collect_stream(
    stream: &mut Pin<Box<dyn RecordBatchStream + Send>>,
) -> Result<Vec<RecordBatch>> {
    let mut batches = vec![];
    while let Some(batch) = stream.next().await {
        batches.push(batch?);
    }
    Ok(batches)
}

/// Creates a gRPC client connection with the specified configuration.
pub async fn create_grpc_client_connection<D>(
    dst: D,
    config: &GrpcClientConfig,
) -> std::result::Result<Channel, Error>
where
    D: std::convert::TryInto<tonic::transport::Endpoint>,
    D::Error: Into<StdError>,
{
    let endpoint = tonic::transport::Endpoint::new(dst)?
        .connect_timeout(Duration::from_secs(config.connect_timeout_seconds))
        .timeout(Duration::from_secs(config.timeout_seconds))
        // Disable Nagle's Algorithm since we don't want packets to wait
        .tcp_nodelay(true)
        .tcp_keepalive(Some(Duration::from_secs(config.tcp_keepalive_seconds)))
        .http2_keep_alive_interval(Duration::from_secs(
            config.http2_keepalive_interval_seconds,
        ))
        // Use a fixed timeout for keep-alive pings to keep configuration simple
        // since this is a standalone configuration
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true);
    endpoint.connect().await
}

/// Creates a gRPC client endpoint (without connecting) for customization.
/// This is typically used when TLS or other custom configuration is needed.
/// If `config` is provided, standard timeout and keepalive settings are applied.
pub fn create_grpc_client_endpoint<D>(
    dst: D,
    config: Option<&GrpcClientConfig>,
) -> std::result::Result<Endpoint, Error>
where
    D: std::convert::TryInto<tonic::transport::Endpoint>,
    D::Error: Into<StdError>,
{
    let endpoint = tonic::transport::Endpoint::new(dst)?;
    if let Some(config) = config {
        let mut endpoint = endpoint
            .connect_timeout(Duration::from_secs(config.connect_timeout_seconds))
            .timeout(Duration::from_secs(config.timeout_seconds))
            .tcp_nodelay(true)
            .tcp_keepalive(Some(Duration::from_secs(config.tcp_keepalive_seconds)))
            .http2_keep_alive_interval(Duration::from_secs(
                config.http2_keepalive_interval_seconds,
            ))
            .keep_alive_timeout(Duration::from_secs(20))
            .keep_alive_while_idle(true);
        if config.initial_connection_window_size > 0 {
            endpoint = endpoint.initial_connection_window_size(Some(
                config.initial_connection_window_size,
            ));
        }
        if config.initial_stream_window_size > 0 {
            endpoint = endpoint
                .initial_stream_window_size(Some(config.initial_stream_window_size));
        }
        Ok(endpoint)
    } else {
        Ok(endpoint)
    }
}

/// Creates a gRPC server builder with the specified configuration.
pub fn create_grpc_server(config: &GrpcServerConfig) -> Server {
    Server::builder()
        .timeout(Duration::from_secs(config.timeout_seconds))
        // Disable Nagle's Algorithm since we don't want packets to wait
        .tcp_nodelay(true)
        .tcp_keepalive(Some(Duration::from_secs(config.tcp_keepalive_seconds)))
        .http2_keepalive_interval(Some(Duration::from_secs(
            config.http2_keepalive_interval_seconds,
        )))
        .http2_keepalive_timeout(Some(Duration::from_secs(
            config.http2_keepalive_timeout_seconds,
        )))
}

/// Binds a gRPC server's listening socket, for use with tonic's
/// `serve_with_incoming` / `serve_with_incoming_shutdown`. Unlike tonic's
/// `serve`, which binds lazily inside the future it returns, the socket is
/// listening by the time this returns — so use this whenever a peer may be
/// told to connect as soon as the server is started.
///
/// tonic ignores the builder's `tcp_nodelay` and `tcp_keepalive` when serving
/// from a pre-bound listener, so this applies the same values that
/// [`create_grpc_server`] sets, for the same reasons. The remaining settings
/// still come from the builder.
///
/// # Panics
///
/// The listener is registered with the Tokio reactor, so this must be called
/// from within a Tokio runtime.
pub fn create_grpc_server_incoming(
    addr: SocketAddr,
    config: &GrpcServerConfig,
) -> Result<TcpIncoming> {
    Ok(TcpIncoming::bind(addr)?
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(config.tcp_keepalive_seconds))))
}

/// Recursively collects metrics from an execution plan and all its children.
pub fn collect_plan_metrics(plan: &dyn ExecutionPlan) -> Vec<MetricsSet> {
    let mut metrics_array = Vec::<MetricsSet>::new();
    if let Some(metrics) = plan.metrics() {
        metrics_array.push(metrics);
    }
    plan.children().iter().for_each(|c| {
        collect_plan_metrics(c.as_ref())
            .into_iter()
            .for_each(|e| metrics_array.push(e))
    });
    metrics_array
}

/// Given an interval in seconds, get the time in seconds before now
pub fn get_time_before(interval_seconds: u64) -> u64 {
    let now_epoch_ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("Time went backwards");
    now_epoch_ts
        .checked_sub(Duration::from_secs(interval_seconds))
        .unwrap_or_else(|| Duration::from_secs(0))
        .as_secs()
}

/// Current time since UNIX EPOCH. In milliseconds.
pub fn get_current_time() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("system clock is before UNIX epoch")
        .as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_grpc_client_config_from_ballista_config() {
        let ballista_config = BallistaConfig::default();
        let grpc_config = GrpcClientConfig::from(&ballista_config);

        // Verify the conversion picks up the right values
        assert_eq!(
            grpc_config.connect_timeout_seconds,
            ballista_config.grpc_client_connect_timeout_seconds() as u64
        );
        assert_eq!(
            grpc_config.timeout_seconds,
            ballista_config.grpc_client_timeout_seconds() as u64
        );
        assert_eq!(
            grpc_config.tcp_keepalive_seconds,
            ballista_config.grpc_client_tcp_keepalive_seconds() as u64
        );
        assert_eq!(
            grpc_config.http2_keepalive_interval_seconds,
            ballista_config.grpc_client_http2_keepalive_interval_seconds() as u64
        );
    }

    #[test]
    fn test_create_grpc_client_endpoint_with_config() {
        let config = GrpcClientConfig {
            connect_timeout_seconds: 10,
            timeout_seconds: 30,
            tcp_keepalive_seconds: 1800,
            http2_keepalive_interval_seconds: 150,
            use_tls: false,
            max_message_size: 16 * 1024 * 1024,
            io_retries_times: 3,
            io_retry_wait_time_ms: 3000,
            initial_connection_window_size: 67108864,
            initial_stream_window_size: 16777216,
        };
        let result = create_grpc_client_endpoint("http://localhost:50051", Some(&config));
        assert!(result.is_ok());
    }

    #[test]
    fn test_create_grpc_client_endpoint_invalid_url() {
        let result = create_grpc_client_endpoint("not a valid url", None);
        assert!(result.is_err());
    }

    /// The point of binding up front is that the port is reachable before
    /// anything is served on it, so a peer told to connect back cannot arrive
    /// too early.
    #[tokio::test]
    async fn test_create_grpc_server_incoming_binds_eagerly() {
        let incoming = create_grpc_server_incoming(
            "127.0.0.1:0".parse().unwrap(),
            &GrpcServerConfig::default(),
        )
        .expect("bind");
        let addr = incoming.local_addr().expect("local addr");

        // `incoming` is never handed to a server, and yet:
        tokio::net::TcpStream::connect(addr)
            .await
            .expect("port is already listening");
    }

    /// Binding eagerly means a port conflict surfaces here, as an error, rather
    /// than later inside the spawned server task.
    #[tokio::test]
    async fn test_create_grpc_server_incoming_port_in_use() {
        let first = create_grpc_server_incoming(
            "127.0.0.1:0".parse().unwrap(),
            &GrpcServerConfig::default(),
        )
        .expect("bind");
        let addr = first.local_addr().expect("local addr");

        let result = create_grpc_server_incoming(addr, &GrpcServerConfig::default());
        assert!(result.is_err());
    }
}
