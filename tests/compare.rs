//! COMPARE MODELS as a user gets it: the same leaderboard on `local`,
//! `threads` and the embedded `cluster` (every column but the time), the
//! best models stored and usable by PREDICT, failing and skipped models as
//! rows with their error, live progress as units finish, and bad input
//! refused before any training. `tests/cluster_processes.rs` runs a
//! comparison on `fsql cluster` executor processes; `tests/forecast.rs` the
//! forecasts.

use std::sync::Arc;

use fsql_tests::Target;
use fsql_tests::ml_session::{Events, root, rows, session, threads_session};

const CLASSIFY: &str = "d = LOAD 'tests/data/ml/breast_cancer.csv' (header=true, infer_schema=true)\n\
    COMPARE MODELS FROM (DROP COLUMNS split FROM d) WITH (target = 'benign', folds = 4, \
    models = ('lr', 'dt', 'rf', 'nb', 'ridge', 'knn', 'lightgbm', 'dummy'), top = 2, sort = 'AUC', round = NULL)";

const REGRESS: &str = "d = LOAD 'tests/data/ml/diabetes.csv' (header=true, infer_schema=true)\n\
    COMPARE MODELS FROM (DROP COLUMNS split FROM d) WITH (target = 'progression', folds = 3, \
    exclude = ('rf', 'et', 'ada', 'knn', 'lightgbm', 'huber', 'br'), top = 1, into = 'diab', seed = 7)";

#[tokio::test(flavor = "multi_thread")]
async fn the_leaderboard_is_the_same_on_every_engine() {
    std::env::set_current_dir(root()).unwrap();
    // (engine, classification board, regression board)
    type Boards = Vec<(String, Vec<Vec<String>>, Vec<Vec<String>>)>;
    let mut boards: Boards = Vec::new();
    for target in Target::all_defaults() {
        let models = tempfile::tempdir().unwrap();
        let events = Arc::new(Events::default());
        let mut s = session(&target, models.path(), events.clone()).await;
        s.run(CLASSIFY).await.unwrap();
        let classify = rows(&s).await;
        // Progress: 8 models x 4 folds, all seen by the end, and a leader.
        let ev = events.0.lock().unwrap().clone();
        assert!(ev[0].starts_with("start 32 COMPARE MODELS"), "{ev:?}");
        let last = ev.iter().rev().find(|e| e.starts_with("update")).unwrap();
        assert!(last.starts_with("update 32 leader: "), "{ev:?}");
        // The embedded cluster's executors run in this process too.
        assert!(last.ends_with("[1 worker process]"), "{last}");
        assert_eq!(ev.last().unwrap(), "finish");
        // The two best are stored, fitted on all 569 rows, and predict.
        s.run("SHOW MODELS\nSELECT model, model_class, training_rows ORDER BY model")
            .await
            .unwrap();
        let stored = rows(&s).await;
        assert_eq!(stored.len(), 3, "{stored:?}");
        assert_eq!(stored[1][0], "compare_1");
        assert_eq!(stored[1][1], classify[1][0]);
        assert_eq!(stored[2][1], classify[2][0]);
        assert_eq!(stored[1][2], "569");
        s.run(
            "SELECT COUNT(*) FROM PREDICT(MODEL compare_1, SELECT * FROM d) WHERE target = benign",
        )
        .await
        .unwrap();
        let hits: f64 = rows(&s).await[1][0].parse().unwrap();
        assert!(hits > 500.0, "{hits}");
        s.run(REGRESS).await.unwrap();
        let regress = rows(&s).await;
        assert!(s.models().exists("diab_1"));
        boards.push((target.engine.name().to_string(), classify, regress));
    }
    let (first, classify, regress) = &boards[0];
    // Columns and a sensible ranking: by AUC, descending; the dummy (0.5)
    // last but one, RidgeClassifier (no probabilities: AUC 0, as PyCaret
    // shows it) last.
    assert_eq!(
        classify[0],
        [
            "model",
            "Accuracy",
            "AUC",
            "Recall",
            "Prec.",
            "F1",
            "Kappa",
            "MCC",
            "Accuracy SD",
            "AUC SD",
            "Recall SD",
            "Prec. SD",
            "F1 SD",
            "Kappa SD",
            "MCC SD",
            "error"
        ]
    );
    assert_eq!(classify.len(), 9);
    let auc: Vec<f64> = classify[1..]
        .iter()
        .map(|r| r[2].parse().unwrap())
        .collect();
    assert!(auc.windows(2).all(|w| w[0] >= w[1]), "{auc:?}");
    assert_eq!(classify[7][0], "DummyClassifier");
    assert_eq!(classify[8][0], "RidgeClassifier");
    assert!(classify[1][1].parse::<f64>().unwrap() > 0.9);
    assert_eq!(
        regress[0][1..7],
        ["MAE", "MSE", "RMSE", "R2", "RMSLE", "MAPE"]
    );
    assert_eq!(regress.len(), 7, "{regress:?}");
    for (engine, c, r) in &boards[1..] {
        assert_eq!(c, classify, "{engine} vs {first}");
        assert_eq!(r, regress, "{engine} vs {first}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_and_skipped_models_are_rows_with_their_error() {
    std::env::set_current_dir(root()).unwrap();
    let models = tempfile::tempdir().unwrap();
    let (mut s, _) = threads_session(models.path()).await;
    // A copied column makes each class's covariance singular: QDA fails
    // (scikit-learn raises too), the others do not.
    let chart = models.path().join("board.svg");
    s.run(&format!(
        "d = LOAD 'tests/data/ml/iris.csv' (header=true, infer_schema=true)\n\
         COMPARE MODELS FROM (SELECT *, petal_length AS copy FROM (DROP COLUMNS split FROM d)) \
         WITH (target = 'species', folds = 3, models = ('qda', 'lr', 'nb'), top = 1, chart = '{}')",
        chart.display()
    ))
    .await
    .unwrap();
    // The chart: an SVG document naming every model, the failed one too.
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    // The texts drawn, in order: title, axis, the models best first.
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split_once('>'))
        .filter_map(|(_, rest)| rest.split_once("</text>"))
        .map(|(text, _)| text.trim())
        .collect();
    assert_eq!(texts[0], "Accuracy: mean ± SD over 3 folds");
    for name in [
        "LogisticRegression",
        "GaussianNB",
        "QuadraticDiscriminantAnalysis (failed)",
    ] {
        assert!(texts.contains(&name), "{name} not in the chart: {texts:?}");
    }
    let board = rows(&s).await;
    assert_eq!(board.len(), 4);
    assert_eq!(board[3][0], "QuadraticDiscriminantAnalysis");
    assert_eq!(board[3][1], "NULL");
    assert!(
        board[3].last().unwrap().contains("collinear") || board[3].last().unwrap().contains("rank"),
        "{board:?}"
    );
    assert_eq!(board[1].last().unwrap(), "NULL");
    // budget_time: the units that start after it are skipped, and say so.
    s.run(
        "COMPARE MODELS FROM (DROP COLUMNS split FROM d) WITH (target = 'species', folds = 3, \
         models = ('rf', 'et', 'lr'), budget_time = 0.001, top = 0)",
    )
    .await
    .unwrap();
    let board = rows(&s).await;
    let skipped: Vec<&Vec<String>> = board[1..]
        .iter()
        .filter(|r| r.last().unwrap().contains("budget_time"))
        .collect();
    assert!(!skipped.is_empty(), "{board:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_training() {
    std::env::set_current_dir(root()).unwrap();
    let models = tempfile::tempdir().unwrap();
    let (mut s, events) = threads_session(models.path()).await;
    s.run("d = LOAD 'tests/data/ml/iris.csv' (header=true, infer_schema=true)")
        .await
        .unwrap();
    for (with, message) in [
        ("folds = 5", "needs WITH (target = 'column')"),
        ("target = 'nope'", "target 'nope' is not a column"),
        (
            "target = 'species', models = ('lr', 'gbc')",
            "PyCaret's 'gbc' is not in fsql",
        ),
        (
            "target = 'species', models = ('Lasso')",
            "is a regression model",
        ),
        ("target = 'species', sort = 'RMSE'", "unknown metric 'RMSE'"),
        (
            "target = 'species', folds = 1",
            "folds must be a whole number from 2",
        ),
        ("target = 'species', folds = 36", "class 'setosa' has 35"),
        (
            "target = 'species', models = ('lr', 'nb'), top = 3",
            "top = 3 but only 2 models",
        ),
        (
            "target = 'species', task = 'forecast'",
            "needs WITH (time_column",
        ),
        ("target = 'species', wat = 1", "unknown option 'wat'"),
    ] {
        let e = s
            .run(&format!("COMPARE MODELS FROM d WITH ({with})"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{with}: {e}");
    }
    // Nothing was trained or stored.
    assert!(events.0.lock().unwrap().is_empty());
    assert!(s.models().list().unwrap().is_empty());
}

const EXPERIMENT: &str = "d = LOAD 'tests/data/ml/diabetes.csv' (header=true, infer_schema=true)\n\
    trials = CREATE OR REPLACE EXPERIMENT best_tree WITH (model_class = 'DecisionTreeRegressor', \
    tune_parameters = (max_depth = ARRAY[2, 3, 5], min_samples_leaf = ARRAY[1, 10]), \
    target_column = 'progression', folds = 4, sort = 'MAE', random_state = 3) AS (DROP COLUMNS split FROM d)";

#[tokio::test(flavor = "multi_thread")]
async fn experiments_search_the_grid_and_store_the_best() {
    std::env::set_current_dir(root()).unwrap();
    let mut tables = Vec::new();
    for target in Target::all_defaults() {
        let models = tempfile::tempdir().unwrap();
        let events = Arc::new(Events::default());
        let mut s = session(&target, models.path(), events.clone()).await;
        s.run(EXPERIMENT).await.unwrap();
        let trials = rows(&s).await;
        assert!(events.0.lock().unwrap()[0].starts_with("start 24 CREATE EXPERIMENT best_tree"));
        // 3 x 2 settings, parameters first, best (lowest MAE) first.
        assert_eq!(trials.len(), 7, "{trials:?}");
        assert_eq!(trials[0][..3], ["max_depth", "min_samples_leaf", "MAE"]);
        let mae: Vec<f64> = trials[1..].iter().map(|r| r[2].parse().unwrap()).collect();
        assert!(mae.windows(2).all(|w| w[0] <= w[1]), "{mae:?}");
        // The best setting is stored under the experiment's name, with the
        // fixed hyper-parameter, fitted on every row.
        s.run("DESCRIBE MODEL best_tree").await.unwrap();
        let described = rows(&s).await;
        let value = |p: &str| {
            described
                .iter()
                .find(|r| r[0] == p)
                .map(|r| r[1].clone())
                .unwrap_or_default()
        };
        assert_eq!(
            value("param.max_depth"),
            trials[1][0].trim_end_matches(".0")
        );
        assert_eq!(
            value("param.min_samples_leaf"),
            trials[1][1].trim_end_matches(".0")
        );
        assert_eq!(value("param.random_state"), "3");
        assert_eq!(value("training_rows"), "442");
        tables.push(trials);
    }
    assert_eq!(tables[0], tables[1]);
    assert_eq!(tables[0], tables[2]);
    // Bad grids are refused before any training.
    let models = tempfile::tempdir().unwrap();
    let (mut s, events) = threads_session(models.path()).await;
    s.run("d = LOAD 'tests/data/ml/diabetes.csv' (header=true, infer_schema=true)")
        .await
        .unwrap();
    for (with, message) in [
        (
            "model_class = 'Ridge', target_column = 'progression'",
            "needs WITH (tune_parameters",
        ),
        (
            "model_class = 'Ridge', target_column = 'progression', tune_parameters = (alfa = ARRAY[1])",
            "unknown hyper-parameter",
        ),
        (
            "model_class = 'Ridge', target_column = 'progression', tune_parameters = (alpha = ARRAY[1, -1])",
            "alpha",
        ),
        (
            "model_class = 'Ridge', target_column = 'progression', tune_parameters = (alpha = ARRAY[1]), experiment_class = 'RandomizedSearchCV'",
            "not supported",
        ),
        (
            "model_class = 'Ridge', tune_parameters = (alpha = ARRAY[1])",
            "needs WITH (target_column",
        ),
        (
            "model_class = 'Ridge', target_column = 'progression', tune_parameters = (alpha = ARRAY[1]), sort = 'Accuracy'",
            "unknown metric",
        ),
    ] {
        let e = s
            .run(&format!(
                "CREATE EXPERIMENT e WITH ({with}) AS (SELECT * FROM d)"
            ))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{with}: {e}");
    }
    assert!(events.0.lock().unwrap().is_empty());
    s.run("CREATE EXPERIMENT e WITH (model_class = 'Ridge', target_column = 'progression', tune_parameters = (alpha = ARRAY[1, 2]), folds = 2) AS (DROP COLUMNS split FROM d)")
        .await
        .unwrap();
    let e = s
        .run("CREATE EXPERIMENT e WITH (model_class = 'Ridge', target_column = 'progression', tune_parameters = (alpha = ARRAY[1])) AS (SELECT * FROM d)")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
}
