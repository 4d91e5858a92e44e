//! Machine learning in the engine: the on-disk model store, conversion
//! between Arrow columns and the `fsql-ml` crate's columns, and PREDICT as a
//! scalar function that carries its model inside the plan (so `threads`
//! scores partitions in parallel and `cluster` scores on the executors; the
//! codecs ship the model's bytes with the function). Forecast models
//! predict by time instead (`forecast.rs`, from the series of `series.rs`).

pub(crate) mod compare;
pub(crate) mod convert;
pub(crate) mod forecast;
pub(crate) mod predict;
pub(crate) mod series;
pub mod store;

pub use store::ModelStore;
