//! Errors of model fitting, prediction and the model format.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum MlError {
    /// The statement asked for something invalid (unknown class or
    /// hyper-parameter, wrong type, NULLs): the user fixes the statement.
    #[error("{0}")]
    Invalid(String),
    /// The estimator failed while fitting or predicting.
    #[error("{0}")]
    Estimator(String),
    /// A stored or exported model could not be read.
    #[error("cannot read the model: {0}")]
    Format(String),
}

pub type Result<T> = std::result::Result<T, MlError>;

pub(crate) fn invalid(msg: impl Into<String>) -> MlError {
    MlError::Invalid(msg.into())
}
