//! Every model class against scikit-learn, through SQL: LOAD the committed
//! dataset, CREATE MODEL on its train rows, PREDICT its test rows and compute
//! the metric in SQL. Data, split and reference metrics come from
//! `tests/data/ml/make_reference.py` (scikit-learn 1.9.1, same split and
//! hyper-parameters); the tolerance per class and why is below.

use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use fsql_engine::{Engine, Session};
use fsql_ml::ModelClass;

/// The largest gap to scikit-learn's test metric each class may have.
fn tolerance(class: ModelClass) -> f64 {
    use ModelClass::*;
    match class {
        // The same convex objective solved to convergence by both: the
        // models agree up to one test row near the boundary (1 row of 45 =
        // 0.022; of 54 = 0.019).
        LogisticRegression
        | GaussianNb
        | RidgeClassifier
        | LinearDiscriminantAnalysis
        | QuadraticDiscriminantAnalysis => 0.025,
        // Deterministic; only ties between equally distant neighbours differ.
        KnnClassifier => 0.025,
        KnnRegressor => 0.01,
        // The same least-squares objectives (intercept unpenalised): R²
        // agrees to 3 digits.
        LinearRegression | Ridge | Lasso | ElasticNet | BayesianRidge => 0.005,
        // Huber's objective is not strictly convex in the scale at the
        // optimum's neighbourhood; L-BFGS stops a little apart.
        HuberRegressor => 0.01,
        // Greedy trees: splits of equal gain are broken differently
        // (scikit-learn shuffles the features with its seed), so the trees
        // differ in shape; unpruned trees overfit, which magnifies it.
        DecisionTreeClassifier => 0.06,
        DecisionTreeRegressor => 0.15,
        // Other random number generators: other bootstrap samples and
        // random thresholds.
        RandomForestClassifier | ExtraTreesClassifier => 0.05,
        RandomForestRegressor | ExtraTreesRegressor => 0.06,
        // Deterministic boosting on the same bins; ties between equal gains
        // are broken in another feature order.
        HistGradientBoostingClassifier | AdaBoostClassifier => 0.05,
        HistGradientBoostingRegressor => 0.05,
        // AdaBoost.R2 fits each tree on a random weighted bootstrap.
        AdaBoostRegressor => 0.08,
        // liblinear's own problem (squared hinge, penalised intercept), solved
        // in the primal here and in the dual by liblinear.
        LinearSvc => 0.03,
        // The class priors / the training mean: exact (the reference has 6
        // decimals).
        DummyClassifier | DummyRegressor => 1e-6,
        // Relative gap of the inertia: k-means++ with another RNG may end
        // in another local optimum.
        KMeans => 0.05,
        // Not scikit-learn's: checked against PyCaret in tests/compare.rs.
        Forecast(_) => unreachable!("forecasters have no scikit-learn reference"),
    }
}

fn target_of(dataset: &str) -> &'static str {
    match dataset {
        "iris" => "species",
        "wine" => "cultivar",
        "breast_cancer" => "benign",
        "diabetes" => "progression",
        other => panic!("unknown dataset {other}"),
    }
}

/// The single value of the last dataframe, as f64.
async fn scalar(s: &Session) -> f64 {
    let batches = s.last().unwrap().clone().collect().await.unwrap();
    let col = cast(batches[0].column(0), &DataType::Float64).unwrap();
    col.as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .value(0)
}

async fn metric(s: &mut Session, dataset: &str, class: &str, params: &str, metric: &str) -> f64 {
    let target = target_of(dataset);
    let params = if params.is_empty() {
        String::new()
    } else {
        format!(", {params}")
    };
    let with = format!("model_class = '{class}', target_column = '{target}'{params}");
    let train = format!(
        "d = LOAD 'tests/data/ml/{dataset}.csv' (header=true, infer_schema=true)\n\
         train = SELECT * FROM d WHERE split = 'train'\n"
    );
    match metric {
        "accuracy" => {
            s.run(&format!(
                "{train}CREATE OR REPLACE MODEL m WITH ({with}) AS (DROP COLUMNS split FROM train)\n\
                 SELECT AVG(CASE WHEN target = {target} THEN 1.0 ELSE 0.0 END) FROM PREDICT(MODEL m, SELECT * FROM d WHERE split = 'test')"
            ))
            .await
            .unwrap();
        }
        "r2" => {
            s.run(&format!(
                "{train}CREATE OR REPLACE MODEL m WITH ({with}) AS (DROP COLUMNS split FROM train)\n\
                 SELECT 1 - SUM((target - {target}) * (target - {target})) / (COUNT(*) * VAR_POP({target})) FROM PREDICT(MODEL m, SELECT * FROM d WHERE split = 'test')"
            ))
            .await
            .unwrap();
        }
        "inertia" => {
            // Clustering: all rows, features only.
            let with = with.replace(&format!(", target_column = '{target}'"), "");
            s.run(&format!(
                "d = LOAD 'tests/data/ml/{dataset}.csv' (header=true, infer_schema=true)\n\
                 CREATE OR REPLACE MODEL m WITH ({with}) AS (DROP COLUMNS split, {target} FROM d)\n\
                 DESCRIBE MODEL m\n\
                 SELECT CAST(value AS DOUBLE) WHERE property = 'metric.inertia'"
            ))
            .await
            .unwrap();
        }
        other => panic!("unknown metric {other}"),
    }
    scalar(s).await
}

#[tokio::test]
async fn every_class_is_within_tolerance_of_scikit_learn() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::env::set_current_dir(root).unwrap();
    let models = tempfile::tempdir().unwrap();
    let mut s = Session::new(Engine::Local).await.unwrap();
    s.set_model_dir(models.path());
    let reference = std::fs::read_to_string("tests/data/ml/reference.csv").unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in reference.lines().skip(1) {
        // dataset,model_class,params (quoted when it has commas),metric,sklearn
        let (dataset, rest) = line.split_once(',').unwrap();
        let (class, rest) = rest.split_once(',').unwrap();
        let (params, rest) = match rest.strip_prefix('"') {
            Some(r) => {
                let (p, r) = r.split_once('"').unwrap();
                (p, r.trim_start_matches(','))
            }
            None => rest.split_once(',').unwrap(),
        };
        let (name, expected) = rest.split_once(',').unwrap();
        let expected: f64 = expected.parse().unwrap();
        let got = metric(&mut s, dataset, class, params, name).await;
        let model_class = ModelClass::parse(class).unwrap();
        let tol = tolerance(model_class);
        let gap = if name == "inertia" {
            (got - expected).abs() / expected
        } else {
            (got - expected).abs()
        };
        let ok = gap <= tol;
        println!(
            "{} {dataset:14} {class:24} {name:8} fsql {got:.4} scikit-learn {expected:.4} gap {gap:.4} (tolerance {tol})",
            if ok { "ok  " } else { "FAIL" }
        );
        if !ok {
            failures.push(format!(
                "{dataset} {class} {name}: fsql {got:.4}, scikit-learn {expected:.4}"
            ));
        }
        checked += 1;
    }
    // 3 classification sets x 13 classifiers, 13 regressors, 1 clustering:
    // every class.
    assert_eq!(checked, 53);
    // 27 scikit-learn classes and PyCaret's 7 forecasters.
    assert_eq!(ModelClass::all().count(), 34);
    assert!(
        failures.is_empty(),
        "outside tolerance:\n{}",
        failures.join("\n")
    );
}
