//! fsql's machine learning, with no SQL in it: the model classes fsql knows
//! and their hyper-parameters (`class`), turning columns into a feature
//! matrix and back (`features`), fitting and predicting with smartcore
//! (`estimator`), metrics (`metrics`), and the fitted model with its
//! description and on-disk format (`model`).
//!
//! The engine hands columns in as [`Column`]s and gets predictions back as
//! [`Predictions`]; Arrow and DataFusion stay on the engine's side.

mod class;
mod error;
mod estimator;
mod features;
pub mod metrics;
mod model;
mod naive_bayes;
mod params;

pub use class::{ModelClass, ParamKind, ParamSpec, Task};
pub use error::{MlError, Result};
pub use features::{Column, Impute, Label, TargetKind};
pub use model::{FORMAT_VERSION, Model, ModelInfo, Predictions, Target, TrainSpec, Value};
pub use params::check_params;
