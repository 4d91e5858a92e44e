//! Every model class against scikit-learn on the committed datasets, through
//! the crate's API (the SQL path is tested in `tests/ml_sklearn.rs`). Data
//! and reference metrics come from `tests/data/ml/make_reference.py`.

use std::path::PathBuf;

use fsql_ml::{
    Column, Impute, Label, Model, ModelClass, Predictions, Target, TargetKind, TrainSpec, Value,
};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/ml")
}

struct Data {
    names: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read(name: &str) -> Data {
    let text = std::fs::read_to_string(data_dir().join(format!("{name}.csv"))).unwrap();
    let mut lines = text.lines();
    let names = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    Data { names, rows }
}

/// Features and target of the rows in `split`.
fn columns(d: &Data, split: &str) -> (Vec<(String, Column)>, Vec<String>) {
    let rows: Vec<&Vec<String>> = d
        .rows
        .iter()
        .filter(|r| r.last().unwrap() == split)
        .collect();
    let n = d.names.len();
    let features = (0..n - 2)
        .map(|j| {
            let v = rows
                .iter()
                .map(|r| Some(r[j].parse::<f64>().unwrap()))
                .collect();
            (d.names[j].clone(), Column::Numeric(v))
        })
        .collect();
    let target = rows.iter().map(|r| r[n - 2].clone()).collect();
    (features, target)
}

fn params(text: &str) -> Vec<(String, Value)> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (
                k.trim().to_string(),
                Value::Number(v.trim().parse().unwrap()),
            )
        })
        .collect()
}

/// The largest gap to scikit-learn's test metric each class may have, and why.
fn tolerance(class: ModelClass, metric: &str) -> f64 {
    use ModelClass::*;
    match (class, metric) {
        // Same convex objective, solved to convergence by both: equal up to
        // one or two test rows on the boundary (1 row of 45 = 0.022).
        (LogisticRegression | GaussianNb, _) => 0.025,
        // Deterministic; only ties between equally distant neighbours differ.
        (KnnClassifier, _) => 0.025,
        (KnnRegressor, _) => 0.01,
        // Same objective (closed form / coordinate descent vs interior point).
        (LinearRegression | Ridge | Lasso | ElasticNet, _) => 0.005,
        // Greedy trees: equal-gain splits are broken differently (scikit-learn
        // shuffles the features with its seed), so the tree shape can differ.
        (DecisionTreeClassifier, _) => 0.06,
        (DecisionTreeRegressor, _) => 0.15,
        // Different random number generators: other bootstrap samples.
        (RandomForestClassifier, _) => 0.05,
        (RandomForestRegressor, _) => 0.06,
        // smartcore's SVC minimises the hinge loss (scikit-learn's LinearSVC the
        // squared hinge with a penalised intercept), one-vs-rest over SMO passes.
        (LinearSvc, _) => 0.08,
        // k-means++ with another RNG can end in another local optimum: 5%.
        (KMeans, _) => 0.05,
    }
}

fn label(s: &str) -> Label {
    s.parse::<i64>()
        .map(Label::Int)
        .unwrap_or_else(|_| Label::Text(s.to_string()))
}

#[test]
fn every_class_is_within_tolerance_of_scikit_learn() {
    let reference = std::fs::read_to_string(data_dir().join("reference.csv")).unwrap();
    let mut failures = Vec::new();
    for line in reference.lines().skip(1) {
        // dataset,model_class,"params",metric,sklearn
        let (dataset, rest) = line.split_once(',').unwrap();
        let (class, rest) = rest.split_once(',').unwrap();
        let (params_text, rest) = if let Some(r) = rest.strip_prefix('"') {
            let (p, r) = r.split_once('"').unwrap();
            (p, r.trim_start_matches(','))
        } else {
            rest.split_once(',').unwrap()
        };
        let (metric, expected) = rest.split_once(',').unwrap();
        let expected: f64 = expected.parse().unwrap();
        let class = ModelClass::parse(class).unwrap();
        let data = read(dataset);
        let spec = TrainSpec {
            class,
            params: params(params_text),
            target: Some("target".into()),
            impute: Impute::None,
        };
        let got = match metric {
            "accuracy" => {
                let (x, y) = columns(&data, "train");
                let kind = if dataset == "iris" {
                    TargetKind::Text
                } else {
                    TargetKind::Int
                };
                let target = Target::Labels(kind, y.iter().map(|s| Some(label(s))).collect());
                let model = Model::train("m", &spec, &x, Some(target)).unwrap();
                let (x, y) = columns(&data, "test");
                let Predictions::Labels { values, .. } = model.predict(&x).unwrap() else {
                    panic!("labels expected")
                };
                let truth: Vec<Option<Label>> = y.iter().map(|s| Some(label(s))).collect();
                fsql_ml::metrics::accuracy(&truth, &values)
            }
            "r2" => {
                let (x, y) = columns(&data, "train");
                let target = Target::Numbers(y.iter().map(|s| s.parse().ok()).collect());
                let model = Model::train("m", &spec, &x, Some(target)).unwrap();
                let (x, y) = columns(&data, "test");
                let Predictions::Numbers(pred) = model.predict(&x).unwrap() else {
                    panic!("numbers expected")
                };
                let truth: Vec<f64> = y.iter().map(|s| s.parse().unwrap()).collect();
                let pred: Vec<f64> = pred.into_iter().map(Option::unwrap).collect();
                fsql_ml::metrics::r2(&truth, &pred)
            }
            "inertia" => {
                let mut all = columns(&data, "train").0;
                let test = columns(&data, "test").0;
                for ((_, a), (_, b)) in all.iter_mut().zip(test) {
                    if let (Column::Numeric(a), Column::Numeric(b)) = (a, b) {
                        a.extend(b);
                    }
                }
                let spec = TrainSpec {
                    target: None,
                    ..spec
                };
                let model = Model::train("m", &spec, &all, None).unwrap();
                model
                    .info
                    .metrics
                    .iter()
                    .find(|(n, _)| n == "inertia")
                    .unwrap()
                    .1
            }
            other => panic!("unknown metric {other}"),
        };
        let tol = tolerance(class, metric);
        let gap = if metric == "inertia" {
            (got - expected).abs() / expected
        } else {
            (got - expected).abs()
        };
        let status = if gap <= tol { "ok" } else { "FAIL" };
        println!(
            "{status:4} {dataset:14} {:24} {metric:8} fsql {got:.4} sklearn {expected:.4} gap {gap:.4} tol {tol}",
            class.sklearn_name()
        );
        if gap > tol {
            failures.push(format!(
                "{dataset} {class} {metric}: fsql {got:.4}, sklearn {expected:.4}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "outside tolerance:\n{}",
        failures.join("\n")
    );
}

#[test]
fn models_round_trip_through_both_formats() {
    let data = read("iris");
    let (x, y) = columns(&data, "train");
    let spec = TrainSpec {
        class: ModelClass::GaussianNb,
        params: vec![],
        target: Some("species".into()),
        impute: Impute::None,
    };
    let target = Target::Labels(TargetKind::Text, y.iter().map(|s| Some(label(s))).collect());
    let model = Model::train("nb", &spec, &x, Some(target)).unwrap();
    let (tx, _) = columns(&data, "test");
    let before = format!("{:?}", model.predict(&tx).unwrap());
    for bytes in [
        model.to_bytes().unwrap(),
        model.to_json().unwrap().into_bytes(),
    ] {
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(format!("{:?}", back.predict(&tx).unwrap()), before);
        assert_eq!(back.info.name, "nb");
    }
    let mut bytes = model.to_bytes().unwrap();
    bytes[8] = 9; // a format version from the future
    let err = Model::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("format version 9 is not supported"), "{err}");
    assert!(Model::from_bytes(b"garbage").is_err());
}
