//! What the server keeps between requests. Per connection (a client's
//! gRPC channel, told apart by its address): an fsql session forked from
//! the server's base session, so its named dataframes, previous dataframe
//! and template variables are its own, while catalog tables and the model
//! store are everyone's (`docs/serve.md`). Per query: the planned result
//! a ticket names, until it is fetched; per prepared statement: its text,
//! plan and bound parameters. Unused entries expire.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::dataframe::DataFrame;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::scalar::ScalarValue;
use fsql_engine::{Printed, Session, Sink};
use rand::RngCore;

use super::auth::Caller;

/// A connection's session is dropped after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// A result nobody fetched, a prepared statement nobody used: dropped after.
pub const HANDLE_IDLE: Duration = Duration::from_secs(30 * 60);

/// A connection's session.
pub struct Connection {
    pub session: tokio::sync::Mutex<Session>,
    pub caller: Caller,
    used: Mutex<Instant>,
}

/// A planned result, waiting for its DoGet.
pub struct Pending {
    pub plan: Arc<dyn ExecutionPlan>,
    pub task: Arc<TaskContext>,
    pub caller: Caller,
    pub query: String,
    pub peer: String,
    pub started: Instant,
}

/// A prepared statement.
pub struct Prepared {
    pub query: String,
    pub caller: Caller,
    /// Its plan, when it is one query (planned at creation; other scripts
    /// run when executed).
    pub frame: Option<DataFrame>,
    /// Values bound by DoPut, for `$1`, `$2`, ...
    pub params: Option<Vec<ScalarValue>>,
    used: Instant,
}

impl Prepared {
    pub fn new(query: String, caller: Caller, frame: Option<DataFrame>) -> Self {
        Self {
            query,
            caller,
            frame,
            params: None,
            used: Instant::now(),
        }
    }
}

/// PRINT in a served script: logged, not sent (a client gets the last
/// dataframe).
struct LogSink;

impl Sink for LogSink {
    fn print(&mut self, printed: Printed) -> std::io::Result<()> {
        tracing::debug!(
            title = printed.title.as_deref().unwrap_or(""),
            rows = printed.shown,
            "PRINT in a served script (not sent to the client)"
        );
        Ok(())
    }
}

pub struct State {
    base: Session,
    connections: Mutex<HashMap<SocketAddr, Arc<Connection>>>,
    pending: Mutex<HashMap<String, Pending>>,
    prepared: Mutex<HashMap<String, Prepared>>,
}

impl State {
    pub fn new(base: Session) -> Self {
        Self {
            base,
            connections: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
        }
    }

    /// The base session (what every connection's session is forked from).
    pub fn base(&self) -> &Session {
        &self.base
    }

    /// The session of the connection at `peer` (a new one for a new
    /// connection, or a caller other than the one that opened it); without
    /// an address, a session for this request alone.
    pub fn connection(&self, peer: Option<SocketAddr>, caller: &Caller) -> Arc<Connection> {
        let fresh = || {
            Arc::new(Connection {
                session: tokio::sync::Mutex::new(self.base.fork(Box::new(LogSink))),
                caller: caller.clone(),
                used: Mutex::new(Instant::now()),
            })
        };
        let Some(peer) = peer else {
            return fresh();
        };
        let mut map = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&peer)
            && c.caller == *caller
        {
            *c.used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            return c.clone();
        }
        let c = fresh();
        map.insert(peer, c.clone());
        c
    }

    /// Keeps `p` until its DoGet; returns its handle.
    pub fn hold(&self, p: Pending) -> String {
        let handle = new_handle();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handle.clone(), p);
        handle
    }

    /// The result `handle` names, once.
    pub fn take(&self, handle: &str) -> Option<Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(handle)
    }

    /// Puts back a result taken by a caller it does not belong to.
    pub fn put_back(&self, handle: String, p: Pending) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handle, p);
    }

    pub fn prepare(&self, p: Prepared) -> String {
        let handle = new_handle();
        self.prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handle.clone(), p);
        handle
    }

    /// Runs `f` on prepared statement `handle` of `caller` (None: unknown).
    pub fn with_prepared<T>(
        &self,
        handle: &str,
        caller: &Caller,
        f: impl FnOnce(&mut Prepared) -> T,
    ) -> Option<T> {
        let mut map = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        let p = map.get_mut(handle).filter(|p| p.caller == *caller)?;
        p.used = Instant::now();
        Some(f(p))
    }

    pub fn close_prepared(&self, handle: &str, caller: &Caller) -> bool {
        let mut map = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(handle).is_some_and(|p| p.caller == *caller) {
            map.remove(handle);
            return true;
        }
        false
    }

    /// Drops idle sessions, unfetched results and unused statements.
    pub fn expire(&self) {
        let now = Instant::now();
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, c| {
                now.duration_since(*c.used.lock().unwrap_or_else(|e| e.into_inner())) < SESSION_IDLE
            });
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, p| now.duration_since(p.started) < HANDLE_IDLE);
        self.prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, p| now.duration_since(p.used) < HANDLE_IDLE);
    }

    /// Open sessions, results waiting and prepared statements.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.connections.lock().map(|m| m.len()).unwrap_or(0),
            self.pending.lock().map(|m| m.len()).unwrap_or(0),
            self.prepared.lock().map(|m| m.len()).unwrap_or(0),
        )
    }
}

/// An unguessable handle (128 random bits, hex).
fn new_handle() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
