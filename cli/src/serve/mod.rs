//! `fsql serve`: an Arrow Flight SQL endpoint over fsql's engines, so ADBC
//! drivers, the Flight SQL JDBC driver and anything else that speaks
//! Flight SQL can run fsql scripts and SQL and fetch results as Arrow.
//! Binds to loopback by default and refuses another address without
//! credentials unless told `--insecure-no-auth`. On SIGINT or SIGTERM it
//! stops accepting, lets running requests finish for a grace period, then
//! cancels them and exits 0. See docs/serve.md.

mod auth;
mod ingest;
mod limit;
mod metadata;
mod queries;
mod service;
mod state;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use fsql_engine::{CollectSink, Policy, Session};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::args::Cli;
use auth::Auth;
use service::FsqlFlightSql;
use state::State;

/// The largest message a client may send (a statement, bound parameters).
const MAX_MESSAGE: usize = 64 << 20;

/// `fsql serve`'s options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:31337")]
    pub bind: SocketAddr,
    /// A file holding the bearer token clients must send.
    #[arg(long, value_name = "FILE", env = "FSQL_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// User name for basic authentication (with --password-file).
    #[arg(long, requires = "password_file")]
    pub user: Option<String>,
    /// A file holding the password of --user.
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,
    /// Serve a non-loopback address without authentication.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Serve TLS with this certificate (PEM; with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse everything that writes: SAVE, CREATE/DROP of tables and
    /// models, INSERT, COPY.
    #[arg(long)]
    pub read_only: bool,
    /// Every file path (LOAD, SAVE, FROM 'x.csv', EXPORT/IMPORT MODEL,
    /// locations) must stay inside DIR; relative paths are relative to it.
    #[arg(long, value_name = "DIR", env = "FSQL_DATA_ROOT")]
    pub data_root: Option<PathBuf>,
    /// Let scripts run programs (TRANSFORM ... USING exec(...)).
    #[arg(long)]
    pub allow_exec: bool,
    /// Most client connections open at once (more are closed when they
    /// connect). Default: no limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Seconds running requests get to finish after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub grace: u64,
}

pub fn run(runtime: tokio::runtime::Runtime, cli: &Cli, args: &ServeArgs) -> ExitCode {
    init_logging();
    match runtime.block_on(serve(cli, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_secret(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} file {}: {e}", path.display()))?;
    let secret = text.trim().to_string();
    if secret.is_empty() {
        anyhow::bail!("the {what} file {} is empty", path.display());
    }
    Ok(secret)
}

async fn serve(cli: &Cli, args: &ServeArgs) -> anyhow::Result<()> {
    let token = args
        .token_file
        .as_deref()
        .map(|p| read_secret(p, "token"))
        .transpose()?;
    let user = match (&args.user, &args.password_file) {
        (Some(u), Some(p)) => Some((u.clone(), read_secret(p, "password")?)),
        _ => None,
    };
    let auth = Arc::new(Auth::new(token, user));
    if !auth.required() && !args.bind.ip().is_loopback() && !args.insecure_no_auth {
        anyhow::bail!(
            "refusing to serve {} without authentication: give --token-file or --user with --password-file, or --insecure-no-auth",
            args.bind
        );
    }
    // The --udf files are read before --data-root changes the folder.
    let python = crate::python_config(cli)?;
    let data_root = match &args.data_root {
        Some(dir) => {
            let root = dir
                .canonicalize()
                .map_err(|e| anyhow::anyhow!("--data-root {}: {e}", dir.display()))?;
            std::env::set_current_dir(&root)
                .map_err(|e| anyhow::anyhow!("--data-root {}: {e}", root.display()))?;
            Some(root)
        }
        None => None,
    };
    let mut base = Session::open(
        cli.engine,
        crate::cluster_options(cli),
        Box::new(CollectSink::default()),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    base.set_model_dir(&cli.model_dir);
    base.set_python(python);
    base.set_policy(Policy {
        read_only: args.read_only,
        allow_exec: args.allow_exec,
        data_root,
    });
    for (k, v) in &cli.defines {
        base.set_variable(k.clone(), v.clone());
    }
    let state = Arc::new(State::new(base));
    let service = FsqlFlightSql {
        state: state.clone(),
        auth: auth.clone(),
        read_only: args.read_only,
    };
    let flight = FlightServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let addr = listener.local_addr()?;
    // The first line on stdout is the address (port 0 picks one).
    println!(
        "fsql serve: listening on {addr} (engine {})",
        cli.engine.name()
    );
    tracing::info!(%addr, engine = cli.engine.name(), auth = auth.required(), "serving Flight SQL");

    let expiry = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.expire();
            }
        })
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut builder = Server::builder();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
        };
        let identity = Identity::from_pem(read(cert)?, read(key)?);
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(identity))
            .map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
    }
    let server = builder
        .add_service(InterceptedService::new(flight, auth::interceptor(auth)))
        .serve_with_incoming_shutdown(
            limit::incoming(
                TcpIncoming::from(listener),
                args.max_connections.map(|n| n as usize),
            ),
            async {
                let _ = stop_rx.await;
            },
        );
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r?,
        () = shutdown_signal() => {
            tracing::info!(grace_secs = args.grace, "stopping: no new connections; running requests get the grace period");
            let _ = stop_tx.send(());
            match tokio::time::timeout(Duration::from_secs(args.grace), &mut server).await {
                Ok(r) => r?,
                Err(_) => tracing::warn!("grace period over: cancelling the requests still running"),
            }
        }
    }
    expiry.abort();
    let (sessions, results, prepared) = state.counts();
    tracing::info!(sessions, results, prepared, "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Query logs at info level unless RUST_LOG says otherwise.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    // Ballista's per-task lines would drown the per-query ones.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,ballista_core=warn,ballista_executor=warn,ballista_scheduler=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
