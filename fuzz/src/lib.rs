//! fsql's fuzzers (see `docs/testing.md`):
//!
//! - [`differential`]: random tables and queries on fsql's three engines,
//!   against DuckDB, and by ternary logic partitioning;
//! - [`scripts`]: random FugueSQL scripts (TAKE, SAMPLE with SEED, FILL NULLS,
//!   DROP ROWS, ALTER COLUMNS, anonymous chaining) on the three engines;
//! - [`mutate`]: mutated scripts, random bytes, huge inputs and corrupted
//!   files through parse, plan and run: no panic, no hang, every failure a
//!   spanned error;
//! - [`shrink`]: a finding made small and written as a golden file.
//!
//! Everything is seeded: a seed names a case, and a case replays exactly.

pub mod data;
pub mod differential;
pub mod duck;
pub mod engines;
pub mod known;
pub mod mutate;
pub mod query;
pub mod rows;
pub mod scripts;
pub mod shrink;
