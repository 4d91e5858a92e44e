//! PREDICT as scalar functions over the model's feature columns (in training
//! order): `fsql_predict(f1, f2, ...)` gives the `target` column and
//! `fsql_predict_probability(...)` the `probability` column of classifiers
//! that have one (a column nobody selects is pruned from the plan, so it
//! costs nothing then). Each function value
//! holds its model, so a lazy dataframe keeps the model it was planned with
//! (a later CREATE OR REPLACE does not change it). The Ballista codecs ship
//! the model's bytes with the function to the executors.

use std::any::Any;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use fsql_ml::{Model, Task};

use super::convert;

/// The functions' names in plans (and what the codecs recognise).
pub(crate) const PREDICT: &str = "fsql_predict";
pub(crate) const PREDICT_PROBABILITY: &str = "fsql_predict_probability";

/// Which column a PREDICT function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Output {
    Target,
    Probability,
}

impl Output {
    /// The column's name in PREDICT's result.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Output::Target => "target",
            Output::Probability => "probability",
        }
    }

    fn function(self) -> &'static str {
        match self {
            Output::Target => PREDICT,
            Output::Probability => PREDICT_PROBABILITY,
        }
    }

    /// The output a function name stands for.
    pub(crate) fn of_name(name: &str) -> Option<Output> {
        match name {
            PREDICT => Some(Output::Target),
            PREDICT_PROBABILITY => Some(Output::Probability),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct PredictUdf {
    model: Arc<Model>,
    bytes: Arc<Vec<u8>>,
    digest: u64,
    output: Output,
    signature: Signature,
    return_type: DataType,
}

impl PartialEq for PredictUdf {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.output == other.output && self.bytes == other.bytes
    }
}

impl Eq for PredictUdf {}

impl Hash for PredictUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
        self.output.hash(state);
    }
}

impl PredictUdf {
    pub(crate) fn new(model: Arc<Model>, bytes: Arc<Vec<u8>>, output: Output) -> Self {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let info = &model.info;
        let return_type = match output {
            Output::Target => convert::target_type(info.task, info.target_kind),
            Output::Probability => DataType::Float64,
        };
        Self {
            model,
            bytes,
            digest: h.finish(),
            output,
            signature: Signature::variadic_any(Volatility::Immutable),
            return_type,
        }
    }

    /// The outputs the model has: `target`, and `probability` for
    /// classifiers that give one.
    pub(crate) fn outputs(model: &Model) -> Vec<Output> {
        let mut out = vec![Output::Target];
        if model.info.task == Task::Classification && model.info.class.has_probability() {
            out.push(Output::Probability);
        }
        out
    }

    /// Rebuilds the function from the bytes a codec shipped.
    pub(crate) fn from_bytes(bytes: &[u8], output: Output) -> Result<Self> {
        match Model::from_bytes(bytes) {
            Ok(model) => Ok(Self::new(Arc::new(model), Arc::new(bytes.to_vec()), output)),
            Err(e) => exec_err!("{}: {e}", output.function()),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn into_udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }

    /// The function in `udf`, if it is a PREDICT.
    pub(crate) fn of(udf: &ScalarUDF) -> Option<&PredictUdf> {
        (udf.inner().as_ref() as &dyn Any).downcast_ref::<PredictUdf>()
    }
}

impl ScalarUDFImpl for PredictUdf {
    fn name(&self) -> &str {
        self.output.function()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let names = self.model.feature_names();
        if names.len() != args.args.len() {
            return exec_err!(
                "{}: model '{}' takes {} features, got {}",
                self.output.function(),
                self.model.info.name,
                names.len(),
                args.args.len()
            );
        }
        let mut columns = Vec::with_capacity(names.len());
        for (name, arg) in names.iter().zip(&args.args) {
            let array = arg.to_array(n)?;
            match convert::feature(name, &array) {
                Ok(c) => columns.push((name.clone(), c)),
                Err(e) => return exec_err!("PREDICT with model '{}': {e}", self.model.info.name),
            }
        }
        let with_probability = self.output == Output::Probability;
        let predictions = match self.model.predict_with(&columns, with_probability) {
            Ok(p) => p,
            Err(e) => return exec_err!("PREDICT with model '{}': {e}", self.model.info.name),
        };
        let (target, probability) = convert::predictions(predictions);
        match self.output {
            Output::Target => Ok(ColumnarValue::Array(target)),
            Output::Probability => match probability {
                Some(p) => Ok(ColumnarValue::Array(p)),
                None => exec_err!("{PREDICT_PROBABILITY}: the model gave no probabilities"),
            },
        }
    }
}
