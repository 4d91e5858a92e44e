//! fsql's machine learning, with no SQL in it: the model classes fsql knows
//! and their hyper-parameters (`class`), turning columns into a feature
//! matrix and back (`features`, `matrix`), the estimators (`linear`,
//! `discriminant`, `naive_bayes`, `neighbors`, `kmeans`, `tree`) and their
//! dispatch (`estimator`), metrics (`metrics`), and the fitted model with its
//! description and on-disk format (`model`). Work that parallelises runs on
//! scoped threads (`par`); small dense algebra is in `linalg`.
//!
//! The engine hands columns in as [`Column`]s and gets predictions back as
//! [`Predictions`]; Arrow and DataFusion stay on the engine's side.

mod class;
pub mod compare;
mod dataset;
mod discriminant;
mod error;
mod estimator;
mod exact;
mod features;
pub mod folds;
pub mod forecast;
pub mod interrupt;
mod kmeans;
mod linalg;
mod linear;
mod matrix;
pub mod metrics;
mod model;
mod naive_bayes;
mod neighbors;
mod order;
mod par;
mod params;
mod tree;

pub use class::{CLASSES, ClassInfo, ModelClass, ParamKind, ParamSpec, Task};
pub use dataset::Dataset;
pub use error::{MlError, Result};
pub use features::{Column, Impute, Label, TargetKind};
pub use model::{FORMAT_VERSION, Model, ModelInfo, Predictions, Target, TrainSpec, Value};
pub use par::with_threads;
pub use params::check_params;
