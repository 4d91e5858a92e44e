//! How much memory and spill space this process's engines may use: one
//! memory pool per engine runtime (sorts, aggregations and joins spill to
//! disk when it is full; an operator that cannot spill fails with an error
//! naming the limit), the spill folder and its size limit. Set once by the
//! binary (`--memory-limit`, `--disk-limit`, `--temp-dir`); every runtime
//! built afterwards (local, threads, the embedded cluster's executors,
//! `fsql cluster executor` processes) uses them.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;

/// The limits; None: DataFusion's default (no memory limit, spill files in
/// the system's temporary folder, its own disk limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<u64>,
    pub disk: Option<u64>,
    pub temp_dir: Option<PathBuf>,
    /// `--scratch`: a local folder or an object-store URL (see
    /// `crate::scratch`).
    pub scratch: Option<String>,
}

static LIMITS: RwLock<Option<Limits>> = RwLock::new(None);

/// Sets the limits of the runtimes built from now on.
pub fn set(limits: Limits) {
    *LIMITS.write().unwrap_or_else(|e| e.into_inner()) = Some(limits);
}

/// The limits set, if any.
pub fn current() -> Limits {
    LIMITS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// The share of this machine's memory fsql uses when no limit is given:
/// 80%, as DuckDB's default (None where the total is unknown).
pub fn default_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024 / 5 * 4)
}

/// `builder` with a pool of `bytes`: a fair share per spilling operator (a
/// sort's merge is not starved by the operators that took memory first),
/// the largest consumers named when the pool is exhausted.
pub(crate) fn with_pool(builder: RuntimeEnvBuilder, bytes: u64) -> RuntimeEnvBuilder {
    let size = usize::try_from(bytes).unwrap_or(usize::MAX);
    builder.with_memory_pool(Arc::new(TrackConsumersPool::new(
        FairSpillPool::new(size),
        NonZeroUsize::new(5).expect("5 is not 0"),
    )))
}

/// A runtime builder with the limits applied.
/// Object stores take the store options in `config`.
pub(crate) fn runtime_builder(config: &SessionConfig) -> RuntimeEnvBuilder {
    let limits = current();
    let mut builder = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(crate::storage::StoreRegistry::from_config(config)));
    if let Some(bytes) = limits.memory {
        builder = with_pool(builder, bytes);
    }
    if limits.temp_dir.is_some() || limits.disk.is_some() {
        let mut disk = DiskManagerBuilder::default();
        if let Some(dir) = limits.temp_dir {
            disk = disk.with_mode(DiskManagerMode::Directories(vec![dir]));
        }
        if let Some(bytes) = limits.disk {
            disk = disk.with_max_temp_directory_size(bytes);
        }
        builder = builder.with_disk_manager_builder(disk);
    }
    builder
}

/// Parses a size: a number with an optional unit, K, M, G or T (powers of
/// 1024; `KB`, `KiB` and lower case too), e.g. `2G`, `512MiB`, `1.5g`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 2G, 512M, 1.5GiB)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let scale: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(format!("'{text}': unknown unit (K, M, G or T)")),
    };
    Ok((number * scale as f64) as u64)
}

/// A size for messages: `2 GiB`, `64 MiB`, `1.5 GiB`.
pub fn show_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `ctx` with a new memory pool of `bytes` (None: unbounded) and the rest
/// of its runtime (spill folder, object stores) and state unchanged; None
/// when the runtime cannot be built.
pub(crate) fn with_session_pool(
    ctx: &datafusion::prelude::SessionContext,
    bytes: Option<u64>,
) -> Option<datafusion::prelude::SessionContext> {
    use datafusion::execution::memory_pool::UnboundedMemoryPool;
    use datafusion::execution::session_state::SessionStateBuilder;
    let state = ctx.state();
    let builder = RuntimeEnvBuilder::from_runtime_env(state.runtime_env());
    let builder = match bytes {
        Some(b) => with_pool(builder, b),
        None => builder.with_memory_pool(Arc::new(UnboundedMemoryPool::default())),
    };
    let runtime = builder.build_arc().ok()?;
    let state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .build();
    Some(datafusion::prelude::SessionContext::new_with_state(state))
}

/// A memory-limit error rewritten to name a session's own limit (SET
/// fsql.memory_limit; None: no limit) instead of the process's.
pub(crate) fn name_session_limit(e: crate::Error, limit: Option<u64>) -> crate::Error {
    let crate::Error::Statement { message, span } = &e else {
        return e;
    };
    let Some(rest) = message
        .strip_prefix("memory limit")
        .and_then(|m| m.split_once(" exceeded by "))
        .map(|(_, r)| r)
    else {
        return e;
    };
    let shown = match limit {
        Some(b) => format!("memory limit of {}", show_size(b)),
        None => "memory".to_string(),
    };
    crate::Error::at(
        *span,
        format!("{shown} (SET fsql.memory_limit) exceeded by {rest}").replace(
            "raise --memory-limit (FSQL_MEMORY_LIMIT)",
            "raise the limit",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_show() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("64 MB"), Ok(64 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3X").is_err());
        assert_eq!(show_size(2 << 30), "2 GiB");
        assert_eq!(show_size(3 << 29), "1.5 GiB");
        assert_eq!(show_size(100), "100 B");
    }
}
