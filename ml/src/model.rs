//! A trained model: what DESCRIBE MODEL shows ([`ModelInfo`]), the fitted
//! preprocessing and estimator, training and prediction, and the versioned
//! on-disk format (binary MessagePack, or JSON for EXPORT ... format='json').

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::class::{ModelClass, Task};
use crate::error::{MlError, Result, invalid};
use crate::estimator::{Fitted, Prediction, Y};
use crate::features::{Column, Encoder, Impute, Label, TargetKind};
use crate::matrix::Matrix;
use crate::metrics;
use crate::par;
use crate::params::Params;
pub use crate::params::Value;

/// Stack of the training thread (virtual; committed only as used).
const TRAIN_STACK: usize = 1 << 30;

/// Seed of the row hash that orders the training rows.
const ROW_ORDER_SEED: u64 = 0x5eed_f5a1;

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
        let rows = features.first().map_or(0, |(_, c)| c.len());
        match (task, &target) {
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
        // Training sees the rows in one canonical order, so the model does not
        // depend on how the engine partitioned and returned them. Only
        // indices move: the matrix is built in this order from the collected
        // columns, the one copy of the data.
        // The dummies' fits do not depend on the order of the rows (counts,
        // an exact sum, a median): they skip the sort.
        let order_free = matches!(
            class,
            ModelClass::DummyClassifier | ModelClass::DummyRegressor
        );
        let mut order = if order_free {
            (0..rows).collect()
        } else {
            canonical_order(features, target.as_ref(), rows)
        };
        // The dummies never read the features: scikit-learn does not check
        // their values either.
        let mut encoder = Encoder::fit(features, spec.impute, !order_free)?;
        let aligned = encoder.align(features)?;
        // Rows kept for training: with impute = 'drop', those without NULLs.
        let mut keep = vec![true; rows];
        if spec.impute == Impute::Drop {
            for (k, null) in keep.iter_mut().zip(Encoder::null_rows(features, rows)) {
                *k = !null;
            }
        }
        let target_name = spec.target.clone().unwrap_or_default();
        let target_null = || {
            invalid(format!(
                "target column '{target_name}' has NULL values; filter them out or add WITH (impute = 'drop')"
            ))
        };
        let mut labels: Vec<Label> = Vec::new();
        let mut target_kind = None;
        match &target {
            Some(Target::Labels(kind, values)) => {
                target_kind = Some(*kind);
                labels = distinct_sorted(values);
                for (i, v) in values.iter().enumerate() {
                    match v {
                        None if spec.impute == Impute::Drop => keep[i] = false,
                        None => return Err(target_null()),
                        Some(_) => {}
                    }
                }
            }
            Some(Target::Numbers(values)) => {
                target_kind = Some(TargetKind::Float);
                for (i, v) in values.iter().enumerate() {
                    match v {
                        None if spec.impute == Impute::Drop => keep[i] = false,
                        None => return Err(target_null()),
                        Some(x) if !x.is_finite() => {
                            return Err(invalid(format!(
                                "target column '{target_name}' holds NaN or infinity ({x})"
                            )));
                        }
                        Some(_) => {}
                    }
                }
            }
            None => {}
        }
        order.retain(|i| keep[*i]);
        let training_rows = order.len();
        if training_rows == 0 {
            return Err(invalid("the training query returned no rows"));
        }
        let mut class_index: Vec<u32> = Vec::new();
        let mut numbers: Vec<f64> = Vec::new();
        match &target {
            Some(Target::Labels(_, values)) => {
                class_index = order
                    .iter()
                    .map(|&i| {
                        let l = values[i].as_ref().expect("NULL rows are dropped");
                        labels.binary_search(l).expect("label is known") as u32
                    })
                    .collect();
            }
            Some(Target::Numbers(values)) => {
                numbers = order
                    .iter()
                    .map(|&i| values[i].expect("NULL rows are dropped"))
                    .collect();
            }
            None => {}
        }
        let x = if order_free {
            // The dummies never read the features.
            crate::matrix::Matrix::from_columns(order.len(), 0, Vec::new())
        } else {
            encoder.encode_training(&aligned, &order)?
        };
        drop(order);
        let y = match &target {
            Some(Target::Labels(..)) => Y::Classes {
                index: &class_index,
                count: labels.len(),
            },
            Some(Target::Numbers(_)) => Y::Numbers(&numbers),
            None => Y::None,
        };
        // A panic inside an estimator becomes an error instead of ending the
        // process; the thread's large stack is only committed as used.
        let started = std::time::Instant::now();
        let estimator = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("fsql-train".into())
                .stack_size(TRAIN_STACK)
                .spawn_scoped(scope, || Fitted::fit(class, &params, x, y))
                .map_err(|e| MlError::Estimator(format!("cannot start training: {e}")))?
                .join()
                .map_err(|p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    MlError::Estimator(format!("the estimator failed: {msg}"))
                })?
        })?;
        let (estimator, x) = estimator;
        let fit_seconds = started.elapsed().as_secs_f64();
        // Metrics on (at most) the first METRIC_ROWS rows of the canonical
        // order, a sample of the training rows. kNN keeps its training rows
        // (it is handed the matrix): predicting there costs what PREDICT
        // costs, which its fit (storing the rows) does not; no metrics.
        let metrics = match x {
            None => Vec::new(),
            Some(x) => {
                let sample = x.rows().min(METRIC_ROWS);
                let xs = if sample < x.rows() {
                    x.select_rows(&(0..sample).collect::<Vec<_>>())?
                } else {
                    x
                };
                let class_index = &class_index[..class_index.len().min(sample)];
                let numbers = &numbers[..numbers.len().min(sample)];
                training_metrics(&estimator, &xs, task, class_index, numbers, labels.len())?
            }
        };
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(Model {
            info: ModelInfo {
                name: name.to_string(),
                class,
                task,
                target: spec.target.clone(),
                target_kind,
                features: encoder.describe(),
                params: params.values.clone(),
                impute: spec.impute,
                training_rows,
                metrics,
                labels,
                created_at,
                fit_seconds,
                facts: estimator.facts(),
                fsql_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            encoder,
            estimator,
        })
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
        let aligned = self.encoder.align(features)?;
        let rows = aligned.first().map_or(0, |c| c.len());
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
            vec![true; rows]
        };
        let kept_rows: Vec<usize> = (0..rows).filter(|i| keep[*i]).collect();
        // Spreads the kept rows' values back over all rows (NULL for dropped).
        fn spread<T: Clone>(keep: &[bool], values: Vec<T>) -> Vec<Option<T>> {
            let mut it = values.into_iter();
            keep.iter()
                .map(|k| if *k { it.next() } else { None })
                .collect()
        }
        if kept_rows.is_empty() {
            return Ok(self.empty(rows));
        }
        // Blocks of rows, each encoded and predicted on its own core.
        let classes = self.info.labels.len();
        let blocks = par::blocks(kept_rows.len(), PREDICT_BLOCK);
        let threads = par::threads(None);
        let parts = par::map(blocks.len(), threads, |b| -> Result<Part> {
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
            Ok(match self.info.task {
                Task::Classification => {
                    let (c, p) = self.estimator.classify(&x, classes, with_probability, 1)?;
                    let best = p.map(|p| {
                        p.iter()
                            .zip(&c)
                            .map(|(row, k)| <[f64]>::get(row, *k as usize).copied().unwrap_or(0.0))
                            .collect()
                    });
                    Part::Classes(c, best)
                }
                _ => match self.estimator.predict(&x, classes, 1)? {
                    Prediction::Classes(c) => Part::Classes(c, None),
                    Prediction::Numbers(v) => Part::Numbers(v),
                },
            })
        });
        let mut classes_out: Vec<u32> = Vec::with_capacity(kept_rows.len());
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
            Task::Clustering => Predictions::Clusters(spread(
                &keep,
                classes_out.into_iter().map(i64::from).collect(),
            )),
            Task::Regression => Predictions::Numbers(spread(&keep, numbers)),
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

    fn empty(&self, rows: usize) -> Predictions {
        match self.info.task {
            Task::Clustering => Predictions::Clusters(vec![None; rows]),
            Task::Regression => Predictions::Numbers(vec![None; rows]),
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

/// Row indices in an order that depends only on the rows' values: sorted
/// by a hash of each row (target and features), rows with equal hashes by
/// their values. Equal rows are interchangeable, so any engine's partitions
/// give the same order, and the order is as mixed as a shuffle (rows sorted
/// by target would be an unusual order for order-dependent solvers).
fn canonical_order(
    features: &[(String, Column)],
    target: Option<&Target>,
    rows: usize,
) -> Vec<usize> {
    use std::cmp::Ordering;
    let number = |v: Option<f64>| v.map_or(0x9e37_79b9, |x| x.to_bits());
    let text = |v: Option<&str>| {
        v.map_or(0x7f4a_7c15, |s| {
            s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
        })
    };
    // Row hashes, blocks of rows on the cores.
    let blocks = par::blocks(rows, 16_384);
    let parts = par::map(blocks.len(), par::threads(None), |b| {
        let range = blocks[b].clone();
        let mut hash = vec![ROW_ORDER_SEED; range.len()];
        // One multiply per value; each row's hash is finished by `mix`.
        let mut mix_in = |f: &dyn Fn(usize) -> u64| {
            for (h, i) in hash.iter_mut().zip(range.clone()) {
                *h = (h.rotate_left(23) ^ f(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
        };
        match target {
            Some(Target::Labels(_, v)) => mix_in(&|i| match &v[i] {
                None => 1,
                Some(Label::Bool(b)) => 2 + u64::from(*b),
                Some(Label::Int(n)) => *n as u64,
                Some(Label::Text(t)) => text(Some(t)),
            }),
            Some(Target::Numbers(v)) => mix_in(&|i| number(v[i])),
            None => {}
        }
        for (_, c) in features {
            match c {
                Column::Numeric(v, None) => mix_in(&|i| v[i].to_bits()),
                Column::Numeric(..) => mix_in(&|i| number(c.number(i))),
                Column::Text(v) => mix_in(&|i| text(v[i].as_deref())),
            }
        }
        hash.iter_mut().for_each(|h| *h = mix(*h));
        hash
    });
    let hash: Vec<u64> = parts.concat();
    let by_column = |c: &Column, a: usize, b: usize| -> Ordering {
        match c {
            Column::Numeric(..) => match (c.number(a), c.number(b)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
            Column::Text(v) => v[a].cmp(&v[b]),
        }
    };
    let by_values = |&a: &usize, &b: &usize| {
        let first = match target {
            Some(Target::Labels(_, v)) => v[a].cmp(&v[b]),
            Some(Target::Numbers(v)) => match (v[a], v[b]) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
            None => Ordering::Equal,
        };
        features
            .iter()
            .fold(first, |acc, (_, c)| acc.then_with(|| by_column(c, a, b)))
    };
    let mut order: Vec<usize> = if rows <= u32::MAX as usize {
        // The hash's high half and the row number in one word, sorted by
        // the high half (four counting passes).
        let keyed = radix_sort_high(
            hash.iter()
                .enumerate()
                .map(|(i, h)| (h & !0xffff_ffff) | i as u64)
                .collect(),
        );
        keyed.iter().map(|k| (k & 0xffff_ffff) as usize).collect()
    } else {
        let mut order: Vec<usize> = (0..rows).collect();
        order.sort_unstable_by_key(|&i| hash[i] >> 32);
        order
    };
    // Rows whose hashes' high halves are equal (equal rows, or rare
    // collisions) by the whole hash, then by value.
    let mut start = 0;
    while start < rows {
        let high = hash[order[start]] >> 32;
        let mut end = start + 1;
        while end < rows && hash[order[end]] >> 32 == high {
            end += 1;
        }
        if end - start > 1 {
            order[start..end]
                .sort_unstable_by(|a, b| hash[*a].cmp(&hash[*b]).then_with(|| by_values(a, b)));
        }
        start = end;
    }
    order
}

/// Words sorted by their high 32 bits (least significant byte first, four
/// counting passes; the order of equal high halves is kept).
fn radix_sort_high(mut v: Vec<u64>) -> Vec<u64> {
    let mut tmp = v.clone();
    for pass in 4..8 {
        let shift = pass * 8;
        let mut count = [0usize; 257];
        for k in &v {
            count[((k >> shift) & 0xff) as usize + 1] += 1;
        }
        for b in 0..256 {
            count[b + 1] += count[b];
        }
        for &k in &v {
            let b = ((k >> shift) & 0xff) as usize;
            tmp[count[b]] = k;
            count[b] += 1;
        }
        std::mem::swap(&mut v, &mut tmp);
    }
    v
}

/// The distinct labels, sorted: a binary search per row into the few seen
/// so far (classification targets have few), a sort when there are many.
fn distinct_sorted(values: &[Option<Label>]) -> Vec<Label> {
    const FEW: usize = 256;
    let mut seen: Vec<&Label> = Vec::new();
    for v in values.iter().flatten() {
        if let Err(at) = seen.binary_search(&v) {
            if seen.len() == FEW {
                let mut all: Vec<&Label> = values.iter().flatten().collect();
                all.sort_unstable();
                all.dedup();
                return all.into_iter().cloned().collect();
            }
            seen.insert(at, v);
        }
    }
    seen.into_iter().cloned().collect()
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
