//! A trained model: what DESCRIBE MODEL shows ([`ModelInfo`]), the fitted
//! preprocessing and estimator, training and prediction, and the versioned
//! on-disk format (binary MessagePack, or JSON for EXPORT ... format='json').

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::class::{ModelClass, Task};
use crate::dataset::Dataset;
use crate::error::{MlError, Result, invalid};
use crate::estimator::{Fitted, Prediction, Y};
use crate::features::{Column, Encoder, Impute, Label, TargetKind};
use crate::forecast::ForecastFit;
use crate::matrix::Matrix;
use crate::metrics;
use crate::par;
use crate::params::Params;
pub use crate::params::Value;

/// Stack of the training thread (virtual; committed only as used).
const TRAIN_STACK: usize = 1 << 30;

/// Training metrics (DESCRIBE MODEL) are computed on at most this many of
/// the training rows.
const METRIC_ROWS: usize = 10_000;

/// Version of the model format this build writes; it reads this one.
/// Version 1 held smartcore's estimators, which fsql no longer has.
pub const FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"FSQLMDL\0";

/// What to train: the class, the hyper-parameters as written, the target
/// column (None: clustering) and the NULL policy.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    pub class: ModelClass,
    pub params: Vec<(String, Value)>,
    pub target: Option<String>,
    pub impute: Impute,
}

/// The target column handed to training.
#[derive(Debug, Clone)]
pub enum Target {
    /// A classifier's labels, with the column's type.
    Labels(TargetKind, Vec<Option<Label>>),
    /// A regressor's numbers.
    Numbers(Vec<Option<f64>>),
}

/// Everything about a model except its fitted state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub class: ModelClass,
    pub task: Task,
    pub target: Option<String>,
    pub target_kind: Option<TargetKind>,
    /// `(name, kind)` of each feature column, in training order.
    pub features: Vec<(String, String)>,
    /// All hyper-parameters, given and defaulted.
    pub params: Vec<(String, Value)>,
    pub impute: Impute,
    pub training_rows: usize,
    /// Metrics on the training rows (accuracy, F1 / R², RMSE, MAE / inertia).
    pub metrics: Vec<(String, f64)>,
    /// Class labels of a classifier, in index order.
    pub labels: Vec<Label>,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Seconds the estimator took to fit (the query that gave the rows
    /// and the encoding not included).
    pub fit_seconds: f64,
    /// Facts of the fit: iterations run, fitted scale, precisions.
    pub facts: Vec<(String, String)>,
    /// The fsql version that trained it.
    pub fsql_version: String,
}

/// A trained model.
#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    pub info: ModelInfo,
    encoder: Encoder,
    estimator: Fitted,
}

/// Metrics of the estimator on (a sample of) its training rows.
fn training_metrics(
    estimator: &Fitted,
    x: &Matrix,
    task: Task,
    class_index: &[u32],
    numbers: &[f64],
    classes: usize,
) -> Result<Vec<(String, f64)>> {
    Ok(match estimator.predict(x, classes, par::threads(None))? {
        Prediction::Classes(pred) if task == Task::Classification => {
            let (p, r, f1) = metrics::weighted_prf(class_index, &pred);
            vec![
                (
                    "accuracy".to_string(),
                    metrics::accuracy(class_index, &pred),
                ),
                ("precision".to_string(), p),
                ("recall".to_string(), r),
                ("f1".to_string(), f1),
            ]
        }
        Prediction::Classes(_) => vec![(
            "inertia".to_string(),
            estimator.inertia().unwrap_or(f64::NAN),
        )],
        Prediction::Numbers(pred) => vec![
            ("r2".to_string(), metrics::r2(numbers, &pred)),
            ("rmse".to_string(), metrics::rmse(numbers, &pred)),
            ("mae".to_string(), metrics::mae(numbers, &pred)),
        ],
    })
}

/// Rows per block of a prediction.
const PREDICT_BLOCK: usize = 16_384;

/// A block's predictions.
enum Part {
    Classes(Vec<u32>, Option<Vec<f64>>),
    Numbers(Vec<f64>),
}

/// PREDICT's output for a batch of rows.
#[derive(Debug, Clone)]
pub enum Predictions {
    Labels {
        kind: TargetKind,
        values: Vec<Option<Label>>,
        /// The probability of the predicted label.
        probability: Option<Vec<Option<f64>>>,
    },
    Numbers(Vec<Option<f64>>),
    Clusters(Vec<Option<i64>>),
}

#[derive(Serialize)]
struct JsonOut<'a> {
    fsql_model_format: u32,
    model: &'a Model,
}

#[derive(Deserialize)]
struct JsonFile {
    model: Model,
}

impl Model {
    /// Trains a model named `name` on `features` (and `target`).
    pub fn train(
        name: &str,
        spec: &TrainSpec,
        features: &[(String, Column)],
        target: Option<Target>,
    ) -> Result<Model> {
        let class = spec.class;
        let params = Params::resolve(class, &spec.params)?;
        let task = class.task();
        match (task, &target) {
            (Task::Forecast, _) => {
                return Err(invalid(format!(
                    "{} is a forecaster: it is trained on a series, with time_column",
                    class.name()
                )));
            }
            (Task::Clustering, Some(_)) => {
                return Err(invalid(format!(
                    "{} is a clustering model and takes no target_column",
                    class.sklearn_name()
                )));
            }
            (Task::Classification | Task::Regression, None) => {
                return Err(invalid(format!(
                    "{} needs WITH (target_column = '...')",
                    class.sklearn_name()
                )));
            }
            (Task::Regression, Some(Target::Labels(..))) => {
                return Err(invalid(format!(
                    "{} is a regression model and needs a numeric target column; '{}' is not numeric",
                    class.sklearn_name(),
                    spec.target.as_deref().unwrap_or_default()
                )));
            }
            _ => {}
        }
        let order_free = matches!(
            class,
            ModelClass::DummyClassifier | ModelClass::DummyRegressor
        );
        let target_name = spec.target.clone().unwrap_or_default();
        let data = Dataset::prepare(features, target, spec.impute, &target_name, !order_free)?;
        let training_rows = data.rows();
        let Dataset {
            encoder,
            x,
            classes,
            labels,
            target_kind,
            numbers,
        } = data;
        let (estimator, x, fit_seconds) =
            fit_guarded(class, &params, x, &classes, labels.len(), &numbers, task)?;
        let metrics = sample_metrics(&estimator, x, task, &classes, &numbers, labels.len())?;
        Ok(Model::assemble(
            name,
            class,
            params,
            spec.target.clone(),
            spec.impute,
            training_rows,
            metrics,
            Fit {
                encoder,
                estimator,
                labels,
                target_kind,
                fit_seconds,
            },
        ))
    }

    /// Fits `class` with `params` on the rows `rows` of a prepared dataset
    /// (all of them when None), as [`Model::train`] would on those rows.
    pub fn train_on(
        name: &str,
        class: ModelClass,
        params: &[(String, Value)],
        target: Option<String>,
        data: &Dataset,
        rows: Option<&[usize]>,
    ) -> Result<Model> {
        let params = Params::resolve(class, params)?;
        let task = class.task();
        let (x, classes, numbers) = data.subset(rows)?;
        let n = x.rows();
        let (estimator, x, fit_seconds) = fit_guarded(
            class,
            &params,
            x,
            &classes,
            data.labels.len(),
            &numbers,
            task,
        )?;
        let metrics = sample_metrics(&estimator, x, task, &classes, &numbers, data.labels.len())?;
        Ok(Model::assemble(
            name,
            class,
            params,
            target,
            data.encoder.impute(),
            n,
            metrics,
            Fit {
                encoder: data.encoder.clone(),
                estimator,
                labels: data.labels.clone(),
                target_kind: data.target_kind,
                fit_seconds,
            },
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        name: &str,
        class: ModelClass,
        params: Params,
        target: Option<String>,
        impute: Impute,
        training_rows: usize,
        metrics: Vec<(String, f64)>,
        fit: Fit,
    ) -> Model {
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Model {
            info: ModelInfo {
                name: name.to_string(),
                class,
                task: class.task(),
                target,
                target_kind: fit.target_kind,
                features: fit.encoder.describe(),
                params: params.values.clone(),
                impute,
                training_rows,
                metrics,
                labels: fit.labels,
                created_at,
                fit_seconds: fit.fit_seconds,
                facts: fit.estimator.facts(),
                fsql_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            encoder: fit.encoder,
            estimator: fit.estimator,
        }
    }

    /// A forecast model named `name`: `class` is the forecaster most of
    /// its series use (each series keeps its own in `fit`); `params` as
    /// given (`sp`).
    pub fn forecaster(
        name: &str,
        class: ModelClass,
        params: &[(String, Value)],
        target: &str,
        fit: ForecastFit,
    ) -> Result<Model> {
        let params = Params::resolve(class, params)?;
        let training_rows = fit.series.iter().map(|s| s.history.len()).sum();
        let encoder = Encoder::empty();
        let mut model = Model::assemble(
            name,
            class,
            params,
            Some(target.to_string()),
            Impute::None,
            training_rows,
            Vec::new(),
            Fit {
                encoder,
                estimator: Fitted::Forecast(fit),
                labels: Vec::new(),
                target_kind: None,
                fit_seconds: 0.0,
            },
        );
        if let Fitted::Forecast(f) = &model.estimator {
            let mut features: Vec<(String, String)> = f
                .keys
                .iter()
                .map(|k| (k.clone(), "series key".to_string()))
                .collect();
            features.push((f.time_column.clone(), format!("time ({})", f.time_type)));
            model.info.features = features;
        }
        Ok(model)
    }

    /// A forecast model's series; None for other models.
    pub fn forecast_fit(&self) -> Option<&ForecastFit> {
        match &self.estimator {
            Fitted::Forecast(f) => Some(f),
            _ => None,
        }
    }

    /// The feature column names, in training order.
    pub fn feature_names(&self) -> Vec<String> {
        self.encoder.names().into_iter().map(String::from).collect()
    }

    /// Predicts for the rows of `features` (found by name; other columns are
    /// ignored), with the probability of each predicted class where the
    /// class has one. With impute = 'drop', rows with a NULL feature get NULL.
    pub fn predict(&self, features: &[(String, Column)]) -> Result<Predictions> {
        self.predict_with(features, true)
    }

    /// As [`Model::predict`]; probabilities only when `with_probability`.
    pub fn predict_with(
        &self,
        features: &[(String, Column)],
        with_probability: bool,
    ) -> Result<Predictions> {
        if self.forecast_fit().is_some() {
            return Err(invalid(
                "a forecast model predicts the points after its series, by time",
            ));
        }
        let aligned = self.encoder.align(features)?;
        let rows = aligned.first().map_or(0, |c| c.len());
        let classes = self.info.labels.len();
        // Which rows are predicted: empty when all are.
        let keep: Vec<bool> = if self.encoder.impute() == Impute::Drop {
            let named: Vec<(String, Column)> = self
                .feature_names()
                .into_iter()
                .zip(aligned.iter().map(|c| (*c).clone()))
                .collect();
            Encoder::null_rows(&named, rows)
                .iter()
                .map(|n| !n)
                .collect()
        } else {
            Vec::new()
        };
        // Spreads the kept rows' values back over all rows (NULL for dropped).
        fn spread<T: Clone>(keep: &[bool], values: Vec<T>) -> Vec<Option<T>> {
            if keep.is_empty() {
                return values.into_iter().map(Some).collect();
            }
            let mut it = values.into_iter();
            keep.iter()
                .map(|k| if *k { it.next() } else { None })
                .collect()
        }
        let parts: Vec<Result<Part>> = if !self.estimator.reads_features() && keep.is_empty() {
            // The dummies read no feature: one part for all rows.
            let x = Matrix::from_columns(rows, 0, Vec::new());
            vec![self.predict_matrix(&x, classes, with_probability)]
        } else {
            let kept_rows: Vec<usize> = if keep.is_empty() {
                (0..rows).collect()
            } else {
                (0..rows).filter(|i| keep[*i]).collect()
            };
            if kept_rows.is_empty() {
                return Ok(self.empty(rows));
            }
            // Blocks of rows, each encoded and predicted on its own core.
            let blocks = par::blocks(kept_rows.len(), PREDICT_BLOCK);
            let threads = par::threads(None);
            par::map(blocks.len(), threads, |b| -> Result<Part> {
                let block = &kept_rows[blocks[b].clone()];
                if let Some(linear) = self.estimator.linear_outputs(with_probability) {
                    let scores = self.encoder.decision(&aligned, block, linear)?;
                    return Ok(match self.info.task {
                        Task::Classification => {
                            Part::Classes(crate::linear::argmax_scores(&scores, block.len()), None)
                        }
                        _ => Part::Numbers(scores.into_iter().next().unwrap_or_default()),
                    });
                }
                let x = if self.estimator.reads_features() {
                    self.encoder.encode(&aligned, block)?
                } else {
                    Matrix::from_columns(block.len(), 0, Vec::new())
                };
                self.predict_matrix(&x, classes, with_probability)
            })
        };
        let mut classes_out: Vec<u32> = Vec::with_capacity(rows);
        let mut best: Option<Vec<f64>> = None;
        let mut numbers: Vec<f64> = Vec::new();
        for part in parts {
            match part? {
                Part::Classes(c, p) => {
                    classes_out.extend(c);
                    if let Some(p) = p {
                        best.get_or_insert_with(Vec::new).extend(p);
                    }
                }
                Part::Numbers(v) => numbers.extend(v),
            }
        }
        Ok(match self.info.task {
            Task::Regression | Task::Forecast => Predictions::Numbers(spread(&keep, numbers)),
            Task::Clustering => Predictions::Clusters(spread(
                &keep,
                classes_out.into_iter().map(i64::from).collect(),
            )),
            Task::Classification => Predictions::Labels {
                kind: self.info.target_kind.unwrap_or(TargetKind::Text),
                values: spread(
                    &keep,
                    classes_out
                        .iter()
                        .map(|k| self.info.labels[*k as usize].clone())
                        .collect(),
                ),
                probability: best.map(|b| spread(&keep, b)),
            },
        })
    }

    /// Predictions for the encoded rows `x`.
    fn predict_matrix(&self, x: &Matrix, classes: usize, with_probability: bool) -> Result<Part> {
        Ok(match self.info.task {
            Task::Classification => {
                let (c, p) = self.estimator.classify(x, classes, with_probability, 1)?;
                let best = p.map(|p| {
                    p.iter()
                        .zip(&c)
                        .map(|(row, k)| <[f64]>::get(row, *k as usize).copied().unwrap_or(0.0))
                        .collect()
                });
                Part::Classes(c, best)
            }
            _ => match self.estimator.predict(x, classes, 1)? {
                Prediction::Classes(c) => Part::Classes(c, None),
                Prediction::Numbers(v) => Part::Numbers(v),
            },
        })
    }

    fn empty(&self, rows: usize) -> Predictions {
        match self.info.task {
            Task::Clustering => Predictions::Clusters(vec![None; rows]),
            Task::Regression | Task::Forecast => Predictions::Numbers(vec![None; rows]),
            Task::Classification => Predictions::Labels {
                kind: self.info.target_kind.unwrap_or(TargetKind::Text),
                values: vec![None; rows],
                probability: self.info.class.has_probability().then(|| vec![None; rows]),
            },
        }
    }

    /// The binary format: magic, format version, MessagePack body.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        rmp_serde::encode::write_named(&mut out, self)
            .map_err(|e| MlError::Format(e.to_string()))?;
        Ok(out)
    }

    /// The JSON format (EXPORT MODEL ... format = 'json').
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&JsonOut {
            fsql_model_format: FORMAT_VERSION,
            model: self,
        })
        .map_err(|e| MlError::Format(e.to_string()))
    }

    /// Reads either format.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        if let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) {
            let (version, body) = rest
                .split_at_checked(4)
                .ok_or_else(|| MlError::Format("the file ends inside its header".to_string()))?;
            let version = u32::from_le_bytes(version.try_into().expect("4 bytes"));
            check_version(version)?;
            return rmp_serde::from_slice(body).map_err(|e| MlError::Format(e.to_string()));
        }
        if bytes.first().is_some_and(|b| *b == b'{') {
            #[derive(Deserialize)]
            struct Header {
                fsql_model_format: u32,
            }
            let header: Header =
                serde_json::from_slice(bytes).map_err(|e| MlError::Format(e.to_string()))?;
            check_version(header.fsql_model_format)?;
            let file: JsonFile =
                serde_json::from_slice(bytes).map_err(|e| MlError::Format(e.to_string()))?;
            return Ok(file.model);
        }
        Err(MlError::Format(
            "not an fsql model (neither the binary nor the JSON format)".to_string(),
        ))
    }

    /// The model under another name (IMPORT MODEL ... AS another name).
    pub fn renamed(mut self, name: &str) -> Model {
        self.info.name = name.to_string();
        self
    }
}

/// What a fit produced, besides the information given to it.
struct Fit {
    encoder: Encoder,
    estimator: Fitted,
    labels: Vec<Label>,
    target_kind: Option<TargetKind>,
    fit_seconds: f64,
}

/// Fits on a thread of its own with a large stack: a panic inside an
/// estimator becomes an error instead of ending the process (the stack is
/// only committed as used). Returns the estimator, the matrix unless the
/// estimator kept it (kNN), and the seconds the fit took.
pub(crate) fn fit_guarded(
    class: ModelClass,
    params: &Params,
    x: Matrix,
    classes: &[u32],
    class_count: usize,
    numbers: &[f64],
    task: Task,
) -> Result<(Fitted, Option<Matrix>, f64)> {
    let y = match task {
        Task::Classification => Y::Classes {
            index: classes,
            count: class_count,
        },
        Task::Regression => Y::Numbers(numbers),
        Task::Clustering | Task::Forecast => Y::None,
    };
    let started = std::time::Instant::now();
    if matches!(
        class,
        ModelClass::DummyClassifier | ModelClass::DummyRegressor
    ) {
        // A count or a mean: no deep stack, no thread to start.
        let (estimator, x) = Fitted::fit(class, params, x, y)?;
        return Ok((estimator, x, started.elapsed().as_secs_f64()));
    }
    // The fit runs on a thread of its own (a deep stack): the caller's
    // interrupt check and thread budget go with it, and an interruption
    // unwinds on to the caller.
    let check = crate::interrupt::current();
    let budget = crate::par::threads(None);
    let (estimator, x) = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("fsql-train".into())
            .stack_size(TRAIN_STACK)
            .spawn_scoped(scope, || {
                crate::interrupt::with(check, || {
                    crate::par::with_threads(budget, || Fitted::fit(class, params, x, y))
                })
            })
            .map_err(|e| MlError::Estimator(format!("cannot start training: {e}")))?
            .join()
            .map_err(|p| {
                if p.is::<crate::interrupt::Interrupted>() {
                    std::panic::resume_unwind(p);
                }
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                MlError::Estimator(format!("the estimator failed: {msg}"))
            })?
    })?;
    Ok((estimator, x, started.elapsed().as_secs_f64()))
}

/// Metrics on (at most) the first METRIC_ROWS rows of the canonical order,
/// a sample of the training rows. kNN keeps its training rows (no matrix
/// comes back): predicting there costs what PREDICT costs, which its fit
/// (storing the rows) does not; no metrics.
fn sample_metrics(
    estimator: &Fitted,
    x: Option<Matrix>,
    task: Task,
    classes: &[u32],
    numbers: &[f64],
    class_count: usize,
) -> Result<Vec<(String, f64)>> {
    let Some(x) = x else {
        return Ok(Vec::new());
    };
    let sample = x.rows().min(METRIC_ROWS);
    let xs = if sample < x.rows() {
        x.select_rows(&(0..sample).collect::<Vec<_>>())?
    } else {
        x
    };
    let classes = &classes[..classes.len().min(sample)];
    let numbers = &numbers[..numbers.len().min(sample)];
    training_metrics(estimator, &xs, task, classes, numbers, class_count)
}

fn check_version(version: u32) -> Result<()> {
    if version == 1 {
        return Err(MlError::Format(
            "this model was trained by an older fsql (model format 1, smartcore's estimators); train it again with CREATE OR REPLACE MODEL".to_string(),
        ));
    }
    if version == 0 || version > FORMAT_VERSION {
        return Err(MlError::Format(format!(
            "model format version {version} is not supported by this fsql (it reads version {FORMAT_VERSION})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(order: &[usize]) -> (Vec<(String, Column)>, Target) {
        let x = [0.1, 0.4, 0.35, 0.8, 0.9, 0.05, 0.6, 0.7];
        let c = ["a", "b", "a", "b", "b", "a", "a", "b"];
        let y = [0, 0, 0, 1, 1, 0, 1, 1];
        let features = vec![
            (
                "x".to_string(),
                Column::numbers(order.iter().map(|i| Some(x[*i])).collect()),
            ),
            (
                "c".to_string(),
                Column::Text(order.iter().map(|i| Some(c[*i].to_string())).collect()),
            ),
        ];
        let target = Target::Labels(
            TargetKind::Int,
            order.iter().map(|i| Some(Label::Int(y[*i]))).collect(),
        );
        (features, target)
    }

    #[test]
    fn nan_and_infinite_features_are_refused_by_name() {
        let spec = TrainSpec {
            class: ModelClass::LinearRegression,
            params: vec![],
            target: Some("y".into()),
            impute: Impute::Mean,
        };
        let n = 40_000; // more than one block of the order's pass
        let y = || Target::Numbers((0..n).map(|i| Some(i as f64)).collect());
        let clean = || Column::numbers((0..n).map(|i| Some((i % 7) as f64)).collect());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            // Dense, and beside NULLs: the bad value is in the last block.
            for with_null in [false, true] {
                let mut v: Vec<Option<f64>> = (0..n).map(|i| Some(i as f64)).collect();
                v[n - 3] = Some(bad);
                if with_null {
                    v[5] = None;
                }
                let features = [
                    ("a".to_string(), clean()),
                    ("b".to_string(), Column::numbers(v)),
                ];
                let err = Model::train("m", &spec, &features, Some(y()))
                    .unwrap_err()
                    .to_string();
                assert!(
                    err.contains("feature column 'b' holds NaN or infinite values"),
                    "{err}"
                );
            }
        }
        // A NaN under a NULL is no value: imputed, not refused.
        let mut dense: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut valid = vec![true; n];
        dense[7] = f64::NAN;
        valid[7] = false;
        let features = [
            ("a".to_string(), clean()),
            ("b".to_string(), Column::Numeric(dense, Some(valid))),
        ];
        let m = Model::train("m", &spec, &features, Some(y())).unwrap();
        assert_eq!(m.info.training_rows, n);
    }

    #[test]
    fn many_rows_per_class_train() {
        // smartcore's GaussianNB fit recurses once per row of a class; on
        // the default 2 MiB stack this overflowed and aborted the process.
        let n = 30_000;
        let x = Column::numbers((0..n).map(|i| Some((i % 97) as f64)).collect());
        let y = Target::Labels(
            TargetKind::Int,
            (0..n)
                .map(|i| Some(Label::Int(i as i64 * 3 / n as i64)))
                .collect(),
        );
        let spec = TrainSpec {
            class: ModelClass::GaussianNb,
            params: vec![],
            target: Some("y".into()),
            impute: Impute::None,
        };
        let model = Model::train("m", &spec, &[("x".into(), x)], Some(y)).unwrap();
        assert_eq!(model.info.training_rows, n);
    }

    #[test]
    fn dummies_predict_every_row_and_null_for_dropped_ones() {
        let x = Column::numbers(vec![Some(1.0), None, Some(3.0), Some(4.0)]);
        let y = || Target::Numbers(vec![Some(2.0), Some(100.0), Some(4.0), Some(6.0)]);
        let labels = || {
            Target::Labels(
                TargetKind::Text,
                ["a", "b", "b", "a"]
                    .iter()
                    .map(|l| Some(Label::Text(l.to_string())))
                    .collect(),
            )
        };
        let features = [("x".to_string(), x)];
        let spec = |class, impute| TrainSpec {
            class,
            params: vec![],
            target: Some("y".into()),
            impute,
        };
        let regress = |impute| {
            let m = Model::train(
                "m",
                &spec(ModelClass::DummyRegressor, impute),
                &features,
                Some(y()),
            )
            .unwrap();
            match m.predict(&features).unwrap() {
                Predictions::Numbers(v) => v,
                other => panic!("numbers, not {other:?}"),
            }
        };
        // Every row, NULL features and all: the mean of every target.
        assert_eq!(regress(Impute::Mean), vec![Some(28.0); 4]);
        // impute = 'drop': the row with a NULL is left out of the fit and
        // predicted as NULL.
        assert_eq!(
            regress(Impute::Drop),
            vec![Some(4.0), None, Some(4.0), Some(4.0)]
        );
        let clf = Model::train(
            "m",
            &spec(ModelClass::DummyClassifier, Impute::Drop),
            &features,
            Some(labels()),
        )
        .unwrap();
        let Predictions::Labels { values, .. } = clf.predict(&features).unwrap() else {
            panic!("labels")
        };
        let a = Some(Label::Text("a".into()));
        assert_eq!(values, vec![a.clone(), None, a.clone(), a]);
    }

    #[test]
    fn row_order_does_not_change_the_model() {
        for class in [
            ModelClass::RandomForestClassifier,
            ModelClass::LinearSvc,
            ModelClass::DecisionTreeClassifier,
        ] {
            let spec = TrainSpec {
                class,
                params: vec![],
                target: Some("y".into()),
                impute: Impute::None,
            };
            let (f1, t1) = data(&[0, 1, 2, 3, 4, 5, 6, 7]);
            let (f2, t2) = data(&[7, 3, 5, 1, 0, 6, 2, 4]);
            let a = Model::train("m", &spec, &f1, Some(t1)).unwrap();
            let b = Model::train("m", &spec, &f2, Some(t2)).unwrap();
            assert_eq!(
                format!("{:?}", a.predict(&f1).unwrap()),
                format!("{:?}", b.predict(&f1).unwrap()),
                "{class}"
            );
            assert_eq!(a.info.metrics, b.info.metrics, "{class}");
        }
    }

    #[test]
    fn linear_predictions_from_columns_equal_the_matrix_path() {
        // 40 rows: a numeric column with NULLs (imputed), a text column.
        let n = 40;
        let x = Column::numbers(
            (0..n)
                .map(|i| (i % 7 != 3).then_some((i as f64 * 0.37).sin() * 3.0))
                .collect(),
        );
        let levels = ["a", "b", "c"];
        let c = Column::Text(
            (0..n)
                .map(|i| (i % 11 != 5).then(|| levels[i % 3].to_string()))
                .collect(),
        );
        let features = vec![("x".to_string(), x), ("c".to_string(), c)];
        let numbers = Target::Numbers((0..n).map(|i| Some((i % 5) as f64 + 0.5)).collect());
        let labels = Target::Labels(
            TargetKind::Int,
            (0..n).map(|i| Some(Label::Int((i % 3) as i64))).collect(),
        );
        for (class, target) in [
            (ModelClass::Ridge, &numbers),
            (ModelClass::HuberRegressor, &numbers),
            (ModelClass::BayesianRidge, &numbers),
            (ModelClass::LogisticRegression, &labels),
            (ModelClass::RidgeClassifier, &labels),
            (ModelClass::LinearDiscriminantAnalysis, &labels),
        ] {
            let spec = TrainSpec {
                class,
                params: vec![],
                target: Some("y".into()),
                impute: Impute::Mean,
            };
            let model = Model::train("m", &spec, &features, Some(target.clone())).unwrap();
            assert!(model.estimator.linear_outputs(false).is_some(), "{class}");
            let got = model.predict_with(&features, false).unwrap();
            let aligned = model.encoder.align(&features).unwrap();
            let rows: Vec<usize> = (0..n).collect();
            let m = model.encoder.encode(&aligned, &rows).unwrap();
            let want = model
                .estimator
                .predict(&m, model.info.labels.len(), 1)
                .unwrap();
            match (got, want) {
                (Predictions::Numbers(g), Prediction::Numbers(w)) => {
                    let g: Vec<f64> = g.into_iter().map(Option::unwrap).collect();
                    assert_eq!(g, w, "{class}");
                }
                (Predictions::Labels { values, .. }, Prediction::Classes(w)) => {
                    let w: Vec<Option<Label>> = w
                        .iter()
                        .map(|k| Some(model.info.labels[*k as usize].clone()))
                        .collect();
                    assert_eq!(values, w, "{class}");
                }
                _ => panic!("{class}: other kinds of prediction"),
            }
        }
    }
}
