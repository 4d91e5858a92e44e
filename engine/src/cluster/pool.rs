//! Reused Flight connections from an executor to the executors it reads
//! shuffle files from.
//!
//! Without a pool every shuffle read opens a new gRPC channel. Ballista's
//! executor process keeps one (its `client_ttl`), but that pool is private
//! to its crate, and fsql replaces the process's execution engine
//! ([`super::compact`]), so it brings its own: idle clients are kept per
//! address and settings, newest first, and dropped after [`IDLE_FOR`] unused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballista_core::client::BallistaClient;
use ballista_core::client_pool::{BallistaClientPool, PooledClient};
use ballista_core::error::Result;
use ballista_core::extension::BallistaConfigGrpcEndpoint;
use ballista_core::utils::GrpcClientConfig;

/// How long an unused connection is kept (Ballista's executor default).
const IDLE_FOR: Duration = Duration::from_secs(30);

type Key = (String, u16, GrpcClientConfig);
type Idle = Arc<Mutex<HashMap<Key, Vec<(BallistaClient, Instant)>>>>;

#[derive(Default)]
pub(crate) struct ClientPool {
    idle: Idle,
}

impl std::fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientPool")
    }
}

/// Drops the clients idle for [`IDLE_FOR`] or longer.
fn evict(idle: &mut HashMap<Key, Vec<(BallistaClient, Instant)>>) {
    let now = Instant::now();
    idle.retain(|_, clients| {
        clients.retain(|(_, since)| now.duration_since(*since) < IDLE_FOR);
        !clients.is_empty()
    });
}

impl ClientPool {
    /// The newest idle client for `key` that is not too old; older ones are
    /// dropped on the way.
    fn take_idle(&self, key: &Key) -> Option<BallistaClient> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        evict(&mut idle);
        idle.get_mut(key)
            .and_then(|clients| clients.pop())
            .map(|(c, _)| c)
    }
}

#[async_trait::async_trait]
impl BallistaClientPool for ClientPool {
    async fn acquire(
        &self,
        host: &str,
        port: u16,
        config: &GrpcClientConfig,
        customize_endpoint: Option<Arc<BallistaConfigGrpcEndpoint>>,
    ) -> Result<PooledClient> {
        let key = (host.to_string(), port, config.clone());
        let client = match self.take_idle(&key) {
            Some(client) => client,
            None => {
                BallistaClient::try_new(
                    host,
                    port,
                    config.max_message_size,
                    config.use_tls,
                    customize_endpoint,
                    config.io_retries_times,
                    config.io_retry_wait_time_ms,
                    config.initial_connection_window_size,
                    config.initial_stream_window_size,
                )
                .await?
            }
        };
        let idle = Arc::clone(&self.idle);
        Ok(PooledClient::new(
            client,
            Box::new(move |client| {
                let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.entry(key).or_default().push((client, Instant::now()));
            }),
        ))
    }

    async fn evict_idle(&self) {
        evict(&mut self.idle.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
