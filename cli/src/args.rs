//! Command-line arguments.

use std::net::SocketAddr;

use clap::{Parser, Subcommand, ValueEnum};
use fsql_engine::Engine;

#[derive(Debug, Parser)]
#[command(
    name = "fsql",
    version,
    about = "FugueSQL scripts and SQL on DataFusion",
    after_help = "Examples:\n  fsql run examples/01_basics.fsql\n  fsql run examples/01_basics.fsql --engine cluster\n  fsql cluster scheduler --bind 127.0.0.1:50050\n  fsql cluster executor --scheduler 127.0.0.1:50050\n  fsql -c \"SELECT 1 AS x\"\n  fsql serve --bind 127.0.0.1:31337\n  fsql run report.fsql --define day=2026-11-24 --format csv > out.csv"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Run this script (SQL or FugueSQL) and show the final result.
    #[arg(short = 'c', long = "command", value_name = "SCRIPT")]
    pub command_text: Option<String>,

    /// Where statements run: local (1 partition), threads (all cores) or
    /// cluster (Apache Ballista: embedded, or the scheduler given by --scheduler).
    #[arg(long, global = true, env = "FSQL_ENGINE", default_value = "threads", value_parser = parse_engine)]
    pub engine: Engine,

    /// The scheduler (host:port) the cluster engine runs on; without it,
    /// --engine cluster starts an embedded cluster in this process.
    #[arg(long, global = true, env = "FSQL_SCHEDULER", value_name = "HOST:PORT")]
    pub scheduler: Option<String>,

    /// Executors of the embedded cluster.
    #[arg(long, global = true, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub executors: u16,

    /// Where CREATE MODEL stores models and PREDICT finds them.
    #[arg(
        long,
        global = true,
        env = "FSQL_MODEL_DIR",
        value_name = "DIR",
        default_value = ".fsql/models"
    )]
    pub model_dir: std::path::PathBuf,

    /// Template variable for {{ name }} in the script (repeatable).
    #[arg(short = 'D', long = "define", global = true, value_name = "NAME=VALUE", value_parser = parse_define)]
    pub defines: Vec<(String, String)>,

    /// Memory the engines may use (e.g. 2G, 512M); sorts, aggregations and
    /// joins spill to disk beyond it; 0: no limit. Default: 80% of this
    /// machine's memory.
    #[arg(long, global = true, env = "FSQL_MEMORY_LIMIT", value_name = "SIZE", value_parser = fsql_engine::limits::parse_size)]
    pub memory_limit: Option<u64>,

    /// Disk space spill files may take (e.g. 100G). Default: DataFusion's.
    #[arg(long, global = true, env = "FSQL_DISK_LIMIT", value_name = "SIZE", value_parser = fsql_engine::limits::parse_size)]
    pub disk_limit: Option<u64>,

    /// Where spill files go. Default: the system's temporary folder.
    #[arg(long, global = true, env = "FSQL_TEMP_DIR", value_name = "DIR")]
    pub temp_dir: Option<std::path::PathBuf>,

    /// Where PERSIST/BROADCAST on the cluster, CHECKPOINT and YIELD FILE
    /// write their data: a local folder, or an object store (s3://bucket/scratch/)
    /// for a cluster whose machines share no disk. Default: the system's
    /// temporary folder.
    #[arg(long, global = true, env = "FSQL_SCRATCH", value_name = "DIR|URL")]
    pub scratch: Option<String>,

    /// A Python file whose top-level functions USING finds by bare name
    /// (`TRANSFORM ... USING add_qty`), as in FugueSQL (repeatable;
    /// FSQL_UDF takes a ':'-separated list).
    #[arg(
        long = "udf",
        global = true,
        env = "FSQL_UDF",
        value_name = "FILE",
        value_delimiter = ':'
    )]
    pub udf: Vec<std::path::PathBuf>,

    /// The Python interpreter that runs Python functions (it needs pandas and pyarrow).
    #[arg(
        long,
        global = true,
        env = "FSQL_PYTHON",
        value_name = "PATH",
        default_value = "python3"
    )]
    pub python: String,

    /// How PRINT output is written to stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a script file ('-' reads it from stdin).
    Run {
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// Serve Arrow Flight SQL (ADBC, JDBC, ...) on the chosen engine.
    Serve(crate::serve::ServeArgs),
    /// Start a process of a Ballista cluster (scheduler or executor).
    Cluster {
        #[command(subcommand)]
        role: ClusterRole,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterRole {
    /// Run a scheduler; clients connect with --engine cluster --scheduler HOST:PORT.
    Scheduler {
        /// Address to listen on (port 0: any free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
        /// Seconds without a heartbeat after which an executor counts as
        /// lost and its tasks run elsewhere.
        #[arg(long, default_value_t = 20, value_name = "SECS")]
        executor_timeout: u64,
    },
    /// Run an executor for the scheduler given by --scheduler HOST:PORT.
    Executor {
        /// Address to serve results on (port 0: a free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        /// Host name to advertise to the scheduler (default: the bind address).
        #[arg(long)]
        external_host: Option<String>,
        /// Tasks to run at once (default: the cores).
        #[arg(long, default_value_t = 0)]
        slots: usize,
        /// Folder for shuffle files (default: a temporary folder).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<String>,
        /// Seconds to wait for the scheduler at start.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        connect_timeout: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Boxed tables with row counts.
    Table,
    /// A header line, then the rows; titles and notes go to stderr.
    Csv,
    /// Like csv, separated by tabs.
    Tsv,
    /// Markdown tables.
    Markdown,
    /// One JSON array of row objects per PRINT.
    Json,
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse()
}

fn parse_define(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got '{s}'")),
    }
}
