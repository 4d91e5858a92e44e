//! Command-line arguments.

use clap::{Parser, Subcommand, ValueEnum};
use fsql_engine::Engine;

#[derive(Debug, Parser)]
#[command(
    name = "fsql",
    version,
    about = "FugueSQL scripts and SQL on DataFusion",
    after_help = "Examples:\n  fsql run examples/01_basics.fsql\n  fsql -c \"SELECT 1 AS x\"\n  fsql run report.fsql --define day=2026-11-24 --format csv > out.csv"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Run this script (SQL or FugueSQL) and show the final result.
    #[arg(short = 'c', long = "command", value_name = "SCRIPT")]
    pub command_text: Option<String>,

    /// Where statements run: local (1 partition) or threads (all cores).
    #[arg(long, global = true, env = "FSQL_ENGINE", default_value = "threads", value_parser = parse_engine)]
    pub engine: Engine,

    /// Template variable for {{ name }} in the script (repeatable).
    #[arg(short = 'D', long = "define", global = true, value_name = "NAME=VALUE", value_parser = parse_define)]
    pub defines: Vec<(String, String)>,

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
