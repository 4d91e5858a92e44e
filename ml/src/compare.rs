//! Model comparison, PyCaret's `compare_models`: which classes race
//! (fsql's and scikit-learn's names, PyCaret's ids), one fold of one
//! candidate fitted and scored with PyCaret's leaderboard metrics, and the
//! leaderboard those scores make. Where the (candidate, fold) tasks run is
//! the engine's business; everything here is deterministic given the
//! dataset and the folds.

use serde::{Deserialize, Serialize};

use crate::class::{ModelClass, Task};
use crate::dataset::Dataset;
use crate::error::{Result, invalid};
use crate::features::Label;
use crate::folds::Folds;
use crate::metrics;
use crate::model::fit_guarded;
use crate::params::{Params, Value};

/// PyCaret's classification leaderboard metrics, in its column order.
pub const CLASSIFICATION_METRICS: &[&str] =
    &["Accuracy", "AUC", "Recall", "Prec.", "F1", "Kappa", "MCC"];
/// PyCaret's regression leaderboard metrics, in its column order.
pub const REGRESSION_METRICS: &[&str] = &["MAE", "MSE", "RMSE", "R2", "RMSLE", "MAPE"];
/// The training-time column (mean seconds per fold fit).
pub const TIME_COLUMN: &str = "TT (Sec)";

/// The metric columns of a task's leaderboard.
pub fn metric_names(task: Task) -> &'static [&'static str] {
    match task {
        Task::Classification => CLASSIFICATION_METRICS,
        _ => REGRESSION_METRICS,
    }
}

/// Whether a larger value of `metric` is better (scores) or worse (errors,
/// time).
pub fn higher_is_better(metric: &str) -> bool {
    !matches!(
        metric,
        "MAE" | "MSE" | "RMSE" | "RMSLE" | "MAPE" | "MASE" | "RMSSE" | "SMAPE" | TIME_COLUMN
    )
}

/// The leaderboard column `name` names (any case; `precision` for `Prec.`,
/// `TT` for the time), or an error listing the task's metrics.
pub fn resolve_metric(task: Task, name: &str) -> Result<&'static str> {
    resolve_metric_in(metric_names(task), &task.to_string(), name)
}

/// As [`resolve_metric`], among `metrics` (of a `what` leaderboard).
pub fn resolve_metric_in(
    metrics: &'static [&'static str],
    what: &str,
    name: &str,
) -> Result<&'static str> {
    let key = name.trim().to_ascii_lowercase();
    let key = match key.as_str() {
        "precision" | "prec" => "prec.",
        "tt" | "time" | "tt (sec)" => return Ok(TIME_COLUMN),
        "r²" => "r2",
        k => k,
    };
    metrics
        .iter()
        .find(|m| m.to_ascii_lowercase() == key)
        .copied()
        .ok_or_else(|| {
            invalid(format!(
                "unknown metric '{name}' for {what}; the leaderboard has {}, {TIME_COLUMN}",
                metrics.join(", ")
            ))
        })
}

/// The classes a comparison races by default: every class of the task.
pub fn default_models(task: Task) -> Vec<ModelClass> {
    ModelClass::all().filter(|c| c.task() == task).collect()
}

/// A model named in `models = (...)`: fsql's or scikit-learn's class name,
/// a dotted path, or PyCaret's id (`lr`, `rf`, `lightgbm`, ...) for `task`.
pub fn parse_model(name: &str, task: Task) -> Result<ModelClass> {
    use ModelClass::*;
    let id = name.trim().to_ascii_lowercase();
    let by_id = match (task, id.as_str()) {
        (Task::Classification, "lr") => Some(LogisticRegression),
        (Task::Classification, "knn") => Some(KnnClassifier),
        (Task::Classification, "nb") => Some(GaussianNb),
        (Task::Classification, "dt") => Some(DecisionTreeClassifier),
        (Task::Classification, "svm") => Some(LinearSvc),
        (Task::Classification, "ridge") => Some(RidgeClassifier),
        (Task::Classification, "rf") => Some(RandomForestClassifier),
        (Task::Classification, "qda") => Some(QuadraticDiscriminantAnalysis),
        (Task::Classification, "ada") => Some(AdaBoostClassifier),
        (Task::Classification, "lda") => Some(LinearDiscriminantAnalysis),
        (Task::Classification, "et") => Some(ExtraTreesClassifier),
        (Task::Classification, "lightgbm" | "hgb") => Some(HistGradientBoostingClassifier),
        (Task::Classification, "dummy") => Some(DummyClassifier),
        (Task::Regression, "lr") => Some(LinearRegression),
        (Task::Regression, "lasso") => Some(Lasso),
        (Task::Regression, "ridge") => Some(Ridge),
        (Task::Regression, "en") => Some(ElasticNet),
        (Task::Regression, "br") => Some(BayesianRidge),
        (Task::Regression, "huber") => Some(HuberRegressor),
        (Task::Regression, "knn") => Some(KnnRegressor),
        (Task::Regression, "dt") => Some(DecisionTreeRegressor),
        (Task::Regression, "rf") => Some(RandomForestRegressor),
        (Task::Regression, "et") => Some(ExtraTreesRegressor),
        (Task::Regression, "ada") => Some(AdaBoostRegressor),
        (Task::Regression, "lightgbm" | "hgb") => Some(HistGradientBoostingRegressor),
        (Task::Regression, "dummy") => Some(DummyRegressor),
        _ => None,
    };
    if let Some(c) = by_id {
        return Ok(c);
    }
    let pycaret_only = [
        "gbc", "gbr", "xgboost", "catboost", "rbfsvm", "gpc", "mlp", "lar", "llar", "omp", "ard",
        "par", "ransac", "tr", "kr",
    ];
    if pycaret_only.contains(&id.as_str()) {
        return Err(invalid(format!(
            "PyCaret's '{name}' is not in fsql; fsql races {}",
            default_models(task)
                .iter()
                .map(|c| c.sklearn_name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let class = ModelClass::parse(name)?;
    if class.task() != task {
        return Err(invalid(format!(
            "{} is a {} model; this comparison is a {task}",
            class.sklearn_name(),
            class.task()
        )));
    }
    Ok(class)
}

/// How a classifier's Recall, Prec. and F1 average over classes: PyCaret
/// reports a 0/1 (or false/true) target's class 1, any other target's
/// support-weighted average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Averaging {
    /// Of the class with index 1 (the label 1 or true).
    Binary,
    Weighted,
}

impl Averaging {
    pub fn of(labels: &[Label]) -> Averaging {
        match labels {
            [Label::Int(0), Label::Int(1)] | [Label::Bool(false), Label::Bool(true)] => {
                Averaging::Binary
            }
            _ => Averaging::Weighted,
        }
    }
}

/// One candidate of a comparison: a class and its hyper-parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub class: ModelClass,
    pub params: Vec<(String, Value)>,
}

/// What one (candidate, fold) fit gave: the metric values in
/// [`metric_names`] order and the seconds the fit took, or the error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FoldScore {
    pub metrics: Vec<f64>,
    pub seconds: f64,
}

/// Fits `candidate` on fold `fold`'s training rows and scores it on its
/// test rows.
pub fn score_fold(
    data: &Dataset,
    folds: &Folds,
    candidate: &Candidate,
    fold: usize,
    threads: usize,
) -> Result<FoldScore> {
    let class = candidate.class;
    let task = class.task();
    let params = Params::resolve(class, &candidate.params)?;
    let train = folds.train(fold);
    let test = &folds.test[fold];
    let (x, classes, numbers) = data.subset(Some(&train))?;
    let (estimator, _, seconds) = fit_guarded(
        class,
        &params,
        x,
        &classes,
        data.labels.len(),
        &numbers,
        task,
    )?;
    let (x_test, truth_classes, truth_numbers) = data.subset(Some(test))?;
    let metrics = match task {
        Task::Classification => {
            let k = data.labels.len();
            let (pred, proba) = estimator.classify(&x_test, k, class.has_probability(), threads)?;
            classification_scores(
                &truth_classes,
                &pred,
                proba.as_deref(),
                k,
                Averaging::of(&data.labels),
            )
        }
        _ => {
            let pred = match estimator.predict(&x_test, 0, threads)? {
                crate::estimator::Prediction::Numbers(v) => v,
                crate::estimator::Prediction::Classes(_) => {
                    return Err(invalid("a regressor predicted classes"));
                }
            };
            regression_scores(&truth_numbers, &pred)
        }
    };
    Ok(FoldScore { metrics, seconds })
}

/// Accuracy, AUC, Recall, Prec., F1, Kappa, MCC. AUC is 0 for a classifier
/// without probabilities (as PyCaret shows it) and for a fold whose test
/// rows hold a single class.
pub fn classification_scores(
    truth: &[u32],
    pred: &[u32],
    proba: Option<&[Vec<f64>]>,
    classes: usize,
    averaging: Averaging,
) -> Vec<f64> {
    let auc = proba
        .and_then(|p| metrics::auc(truth, p, classes))
        .unwrap_or(0.0);
    let (p, r, f1) = match averaging {
        Averaging::Binary => metrics::binary_prf(truth, pred, 1),
        Averaging::Weighted => metrics::weighted_prf(truth, pred),
    };
    vec![
        metrics::accuracy(truth, pred),
        auc,
        r,
        p,
        f1,
        metrics::kappa(truth, pred),
        metrics::mcc(truth, pred),
    ]
}

/// MAE, MSE, RMSE, R2, RMSLE, MAPE.
pub fn regression_scores(truth: &[f64], pred: &[f64]) -> Vec<f64> {
    vec![
        metrics::mae(truth, pred),
        metrics::mse(truth, pred),
        metrics::rmse(truth, pred),
        metrics::r2(truth, pred),
        metrics::rmsle(truth, pred),
        metrics::mape(truth, pred),
    ]
}

/// One row of the leaderboard.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub model: String,
    /// Mean over the folds of each metric (None when the model failed).
    pub means: Vec<Option<f64>>,
    /// Standard deviation over the folds (numpy's, ddof = 0).
    pub stds: Vec<Option<f64>>,
    /// Mean fit seconds per fold.
    pub seconds: Option<f64>,
    pub error: Option<String>,
}

/// The leaderboard: one row per candidate from its folds' scores (an
/// error for any fold makes the row an error row), sorted by `sort`
/// (descending for scores, ascending for errors and time; ties keep the
/// candidates' order), error rows last.
pub fn leaderboard(
    metrics: &[&str],
    names: &[String],
    scores: &[Vec<std::result::Result<FoldScore, String>>],
    sort: &str,
) -> Vec<BoardRow> {
    let metric_count = metrics.len();
    let mut rows: Vec<BoardRow> = names
        .iter()
        .zip(scores)
        .map(|(name, folds)| {
            let failed = folds.iter().find_map(|f| f.as_ref().err());
            if folds.is_empty() || failed.is_some() {
                return BoardRow {
                    model: name.clone(),
                    means: vec![None; metric_count],
                    stds: vec![None; metric_count],
                    seconds: None,
                    error: Some(failed.cloned().unwrap_or_else(|| "no folds ran".into())),
                };
            }
            let ok: Vec<&FoldScore> = folds.iter().filter_map(|f| f.as_ref().ok()).collect();
            let n = ok.len() as f64;
            let mean_std = |values: Vec<f64>| {
                let mean = values.iter().sum::<f64>() / n;
                let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                (mean, var.sqrt())
            };
            let (means, stds): (Vec<_>, Vec<_>) = (0..metric_count)
                .map(|m| {
                    let (mean, std) = mean_std(ok.iter().map(|f| f.metrics[m]).collect());
                    (Some(mean), Some(std))
                })
                .unzip();
            BoardRow {
                model: name.clone(),
                means,
                stds,
                seconds: Some(mean_std(ok.iter().map(|f| f.seconds).collect()).0),
                error: None,
            }
        })
        .collect();
    let key = |r: &BoardRow| -> Option<f64> {
        if sort == TIME_COLUMN {
            return r.seconds;
        }
        let at = metrics.iter().position(|m| *m == sort)?;
        r.means[at]
    };
    let descending = higher_is_better(sort);
    rows.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => {
            let o = x.total_cmp(&y);
            if descending { o.reverse() } else { o }
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_metrics() {
        assert_eq!(
            parse_model("lr", Task::Classification).unwrap(),
            ModelClass::LogisticRegression
        );
        assert_eq!(
            parse_model("lr", Task::Regression).unwrap(),
            ModelClass::LinearRegression
        );
        assert_eq!(
            parse_model(
                "sklearn.ensemble.RandomForestClassifier",
                Task::Classification
            )
            .unwrap(),
            ModelClass::RandomForestClassifier
        );
        // PyCaret's id 'ridge' is RidgeClassifier in a classification.
        assert_eq!(
            parse_model("Ridge", Task::Classification).unwrap(),
            ModelClass::RidgeClassifier
        );
        let e = parse_model("Lasso", Task::Classification).unwrap_err();
        assert!(e.to_string().contains("regression model"), "{e}");
        let e = parse_model("xgboost", Task::Classification).unwrap_err();
        assert!(e.to_string().contains("not in fsql"), "{e}");
        assert_eq!(
            resolve_metric(Task::Classification, "precision").unwrap(),
            "Prec."
        );
        assert_eq!(resolve_metric(Task::Regression, "r2").unwrap(), "R2");
        assert!(resolve_metric(Task::Regression, "Accuracy").is_err());
        assert_eq!(default_models(Task::Classification).len(), 13);
        assert_eq!(default_models(Task::Regression).len(), 13);
    }

    #[test]
    fn leaderboard_sorts_and_keeps_errors_last() {
        let ok = |acc: f64| {
            Ok(FoldScore {
                metrics: vec![acc, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0],
                seconds: 0.1,
            })
        };
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let scores = vec![
            vec![ok(0.5), ok(0.7)],
            vec![ok(0.9), Err("boom".to_string())],
            vec![ok(0.8), ok(0.8)],
        ];
        let board = leaderboard(CLASSIFICATION_METRICS, &names, &scores, "Accuracy");
        let order: Vec<&str> = board.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
        assert_eq!(board[1].means[0], Some(0.6));
        assert!((board[1].stds[0].unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(board[2].error.as_deref(), Some("boom"));
        assert!(higher_is_better("Accuracy") && !higher_is_better("MAE"));
    }
}
