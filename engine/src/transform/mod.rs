//! Partition-wise user code: TRANSFORM, OUTTRANSFORM, OUTPUT and ZIP
//! (PROCESS, CREATE USING and a Python OUTPUT run whole, in
//! `crate::lower::process`).
//!
//! A TRANSFORM is a logical plan node ([`node::TransformNode`]) over its
//! input(s), planned (`crate::planner`) into [`exec::TransformExec`],
//! which DataFusion feeds partitioned by the keys and sorted by keys and
//! presort. Every engine runs the same node: `local` in one partition,
//! `threads` one partition per core, `cluster` on the executors (both
//! Ballista codecs carry the node; see `cluster/codec.rs`).
//!
//! - `spec`: what to run, serializable; output conformance.
//! - `builtin`: the built-in transformers.
//! - `process`: the external-program protocol (Arrow IPC over pipes);
//!   Python functions run in `crate::python`'s pooled workers.
//! - `node`, `exec`: the logical and physical nodes.
//! - `group`: a partition's rows as key groups; matching zipped groups.

pub(crate) mod builtin;
pub(crate) mod exec;
pub(crate) mod group;
pub(crate) mod node;
pub(crate) mod process;
pub(crate) mod spec;
