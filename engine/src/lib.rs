//! fsql's execution: the [`Engine`] choice, the script [`Session`] (named and
//! anonymous dataframes, variables, yields), lowering of every statement to
//! DataFusion plans, LOAD/SAVE file handling, and fsql's SQL semantics
//! (NULL ordering, true division) configured on DataFusion.

mod casts;
pub mod cluster;
mod date_format;
mod division;
pub mod engine;
pub mod error;
mod expr_rewrite;
mod files;
mod float_in;
mod float_pruning;
mod float_stats;
mod functions;
mod guard;
mod in_subquery;
pub mod limits;
mod lower;
mod minmax;
pub mod ml;
pub mod output;
mod overlay;
mod pids;
mod planner;
pub mod policy;
pub mod python;
mod scratch;
pub mod session;
mod sniff;
mod sources;
mod spark_syntax;
pub mod storage;
pub mod template;
mod tolerant;
mod topn;
mod transform;
pub mod types;
mod udf;
mod window_sort;
pub mod write;

pub use cluster::ClusterOptions;
pub use engine::Engine;
pub use error::{Error, Result};
pub use ml::ModelStore;
pub use output::{CollectSink, Printed, Progress, Sink};
pub use policy::Policy;
pub use python::PythonConfig;
pub use session::{Session, Yielded};
