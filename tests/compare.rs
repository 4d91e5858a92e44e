//! COMPARE MODELS as a user gets it: the same leaderboard on `local`,
//! `threads` and the embedded `cluster` (every column but the time), the
//! best models stored and usable by PREDICT, failing and skipped models as
//! rows with their error, live progress as units finish, and bad input
//! refused before any training. `tests/cluster_processes.rs` runs a
//! comparison on `fsql cluster` executor processes.

use std::sync::{Arc, Mutex};

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use fsql_engine::{ClusterOptions, Printed, Progress, Session, Sink};
use fsql_tests::Target;

/// Progress events, as the CLI's bar would get them.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl Progress for Events {
    fn start(&self, title: &str, total: u64) {
        self.0
            .lock()
            .unwrap()
            .push(format!("start {total} {title}"));
    }
    fn update(&self, done: u64, message: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("update {done} {message}"));
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finish".to_string());
    }
}

struct Recording(Arc<Events>);

impl Sink for Recording {
    fn print(&mut self, _: Printed) -> std::io::Result<()> {
        Ok(())
    }
    fn progress(&self) -> Option<Arc<dyn Progress>> {
        Some(self.0.clone())
    }
}

fn root() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/..")
}

async fn session(target: &Target, models: &std::path::Path, events: Arc<Events>) -> Session {
    let mut s = Session::open(
        target.engine,
        target.cluster.clone(),
        Box::new(Recording(events)),
    )
    .await
    .unwrap();
    s.set_model_dir(models);
    s
}

/// The last dataframe as text rows (header first), without `TT (Sec)`.
async fn rows(s: &Session) -> Vec<Vec<String>> {
    let df = s.last().unwrap().clone();
    let batches = df.collect().await.unwrap();
    let mut out = Vec::new();
    let options = FormatOptions::default().with_null("NULL");
    for b in &batches {
        let schema = b.schema();
        if out.is_empty() {
            out.push(
                schema
                    .fields()
                    .iter()
                    .filter(|f| f.name() != "TT (Sec)")
                    .map(|f| f.name().clone())
                    .collect(),
            );
        }
        let keep: Vec<usize> = (0..b.num_columns())
            .filter(|i| schema.field(*i).name() != "TT (Sec)")
            .collect();
        let formatters: Vec<ArrayFormatter> = keep
            .iter()
            .map(|i| ArrayFormatter::try_new(b.column(*i), &options).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}

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
    let target = Target {
        engine: fsql_engine::Engine::Threads,
        cluster: ClusterOptions::default(),
    };
    let mut s = session(&target, models.path(), Arc::new(Events::default())).await;
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
    let target = Target {
        engine: fsql_engine::Engine::Threads,
        cluster: ClusterOptions::default(),
    };
    let events = Arc::new(Events::default());
    let mut s = session(&target, models.path(), events.clone()).await;
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
    let target = Target {
        engine: fsql_engine::Engine::Threads,
        cluster: ClusterOptions::default(),
    };
    let models = tempfile::tempdir().unwrap();
    let events = Arc::new(Events::default());
    let mut s = session(&target, models.path(), events.clone()).await;
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

const AIRLINE: &str = "air = LOAD 'tests/data/ml/airline.csv' (header=true, infer_schema=true)";

/// PyCaret 3.3.2's time-series `compare_models` on the airline series
/// (`setup(fh=12, fold=3, seasonal_period=12)`, sktime 0.26), columns
/// MASE, RMSSE, MAE, RMSE, MAPE, SMAPE, R2, for the models whose fit has
/// one answer.
const PYCARET_AIRLINE: [(&str, [f64; 7]); 5] = [
    (
        "Seasonal Naive Forecaster",
        [1.1479, 1.0945, 33.3611, 35.9139, 0.0832, 0.0879, 0.6072],
    ),
    (
        "Polynomial Trend Forecaster",
        [1.6523, 1.9202, 48.6301, 63.4299, 0.117, 0.1216, -0.0784],
    ),
    (
        "Naive Forecaster",
        [2.3599, 2.7612, 69.0278, 91.0322, 0.1569, 0.1792, -1.2216],
    ),
    (
        "Grand Means Forecaster",
        [5.5306, 5.2596, 162.4117, 173.6492, 0.4, 0.5075, -7.0462],
    ),
    // Exact maximum likelihood by another optimiser: equal to 1e-3.
    (
        "ARIMA",
        [0.683, 0.6735, 20.0069, 22.2199, 0.0501, 0.0507, 0.8677],
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn forecasts_match_pycaret_on_every_engine() {
    std::env::set_current_dir(root()).unwrap();
    let mut boards = Vec::new();
    for target in Target::all_defaults() {
        let models = tempfile::tempdir().unwrap();
        let events = Arc::new(Events::default());
        let mut s = session(&target, models.path(), events.clone()).await;
        // No sp: the season (12) is found from the series.
        s.run(&format!(
            "{AIRLINE}\nCOMPARE MODELS FROM air WITH (target = 'passengers', task = 'forecast', \
             time_column = 'month', fh = 12)"
        ))
        .await
        .unwrap();
        let board = rows(&s).await;
        let ev = events.0.lock().unwrap().clone();
        assert!(ev[0].starts_with("start 21 COMPARE MODELS"), "{ev:?}");
        // One series, split by key: the key column comes first, and the
        // doubled series has the same scaled errors and twice the MAE.
        s.run(&format!(
            "{AIRLINE}\ntwo = SELECT 'a' AS series, month, passengers FROM air \
             UNION ALL SELECT 'b', month, passengers * 2 FROM air\n\
             COMPARE MODELS FROM two PREPARTITION BY series WITH (target = 'passengers', \
             task = 'forecast', time_column = 'month', fh = 12, sp = 12, \
             models = ('naive', 'snaive', 'arima'), round = 6)"
        ))
        .await
        .unwrap();
        let split = rows(&s).await;
        assert_eq!(split[0][..3], ["series", "model", "MASE"]);
        assert_eq!(split.len(), 7, "{split:?}");
        for i in 1..4 {
            let (a, b) = (&split[i], &split[i + 3]);
            assert_eq!((a[0].as_str(), b[0].as_str()), ("a", "b"));
            assert_eq!(a[1], b[1]);
            let num = |r: &Vec<String>, c: usize| r[c].parse::<f64>().unwrap();
            assert!((num(a, 2) - num(b, 2)).abs() < 1e-4, "{a:?} {b:?}");
            assert!((2.0 * num(a, 4) - num(b, 4)).abs() < 1e-3, "{a:?} {b:?}");
        }
        boards.push((target.engine.name(), board, split));
    }
    let (first, board, split) = &boards[0];
    assert_eq!(
        board[0][..9],
        [
            "model", "MASE", "RMSSE", "MAE", "RMSE", "MAPE", "SMAPE", "R2", "MASE SD"
        ]
    );
    assert_eq!(board.len(), 8, "{board:?}");
    let mase: Vec<f64> = board[1..].iter().map(|r| r[1].parse().unwrap()).collect();
    assert!(mase.windows(2).all(|w| w[0] <= w[1]), "{mase:?}");
    for (model, want) in PYCARET_AIRLINE {
        let row = board.iter().find(|r| r[0] == model).expect(model);
        for (c, w) in want.iter().enumerate() {
            let got: f64 = row[c + 1].parse().unwrap();
            let tolerance = if model == "ARIMA" {
                1e-3 * w.abs().max(1.0)
            } else {
                1e-9
            };
            assert!(
                (got - w).abs() <= tolerance,
                "{model} column {c}: {got} vs {w}"
            );
        }
    }
    // The smoothing models beat the naive ones, as in PyCaret's ranking.
    for model in ["ETS", "Exponential Smoothing"] {
        let row = board.iter().find(|r| r[0] == model).expect(model);
        assert!(row[1].parse::<f64>().unwrap() < 1.0, "{row:?}");
    }
    for (engine, b, sp) in &boards[1..] {
        assert_eq!(b, board, "{engine} vs {first}");
        assert_eq!(sp, split, "{engine} vs {first}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_forecasts_are_refused_before_training() {
    std::env::set_current_dir(root()).unwrap();
    let models = tempfile::tempdir().unwrap();
    let target = Target {
        engine: fsql_engine::Engine::Threads,
        cluster: ClusterOptions::default(),
    };
    let events = Arc::new(Events::default());
    let mut s = session(&target, models.path(), events.clone()).await;
    s.run(AIRLINE).await.unwrap();
    for (statement, message) in [
        (
            "COMPARE MODELS FROM air WITH (target = 'passengers', task = 'forecast')",
            "needs WITH (time_column",
        ),
        (
            "COMPARE MODELS FROM (SELECT * FROM air LIMIT 30) WITH (target = 'passengers', \
             task = 'forecast', time_column = 'month', fh = 12)",
            "the series has 30",
        ),
        (
            "COMPARE MODELS FROM (SELECT month, NULLIF(passengers, 112) AS passengers FROM air) \
             WITH (target = 'passengers', task = 'forecast', time_column = 'month')",
            "has NULL values",
        ),
        (
            "COMPARE MODELS FROM air PREPARTITION BY month WITH (target = 'passengers')",
            "it needs task = 'forecast'",
        ),
        (
            "COMPARE MODELS FROM air WITH (target = 'passengers', task = 'forecast', \
             time_column = 'month', models = ('naive', 'lr'))",
            "'lr'",
        ),
        (
            "COMPARE MODELS FROM air WITH (target = 'passengers', task = 'forecast', \
             time_column = 'month', top = 8)",
            "top = 8 but only 7 models are compared",
        ),
    ] {
        let e = s.run(statement).await.unwrap_err().to_string();
        assert!(e.contains(message), "{statement}: {e}");
    }
    assert!(events.0.lock().unwrap().is_empty());
}

/// Two series: A is a line (2t + 1), B repeats 1, 5, 3, 7.
const TWO_SERIES: &str = "pts = SELECT CASE WHEN k = 1 THEN 'A' ELSE 'B' END AS s, t, \
     CASE WHEN k = 1 THEN 2.0 * t + 1 ELSE CASE (t - 1) % 4 WHEN 0 THEN 1.0 WHEN 1 THEN 5.0 WHEN 2 THEN 3.0 ELSE 7.0 END END AS y \
     FROM UNNEST(range(1, 31)) AS a(t) CROSS JOIN UNNEST(make_array(1, 2)) AS b(k)";

#[tokio::test(flavor = "multi_thread")]
async fn forecast_models_are_stored_and_predict_the_next_points() {
    std::env::set_current_dir(root()).unwrap();
    let mut results = Vec::new();
    for target in Target::all_defaults() {
        let models = tempfile::tempdir().unwrap();
        let events = Arc::new(Events::default());
        let mut s = session(&target, models.path(), events).await;
        s.run(&format!(
            "{TWO_SERIES}\nCOMPARE MODELS FROM pts PREPARTITION BY s WITH (target = 'y', \
             task = 'forecast', time_column = 't', fh = 4, folds = 2, sp = 4, \
             models = ('naive', 'snaive', 'polytrend'), top = 2, into = 'fc')"
        ))
        .await
        .unwrap();
        let board = rows(&s).await;
        assert_eq!(
            board[1][..2],
            ["A", "Polynomial Trend Forecaster"],
            "{board:?}"
        );
        assert_eq!(board[2][..2], ["A", "Naive Forecaster"], "{board:?}");
        assert_eq!(
            board[4][..2],
            ["B", "Seasonal Naive Forecaster"],
            "{board:?}"
        );
        s.run("SHOW MODELS").await.unwrap();
        let shown = rows(&s).await;
        for name in ["fc_1", "fc_2"] {
            assert!(shown.iter().any(|r| r[0] == name), "{shown:?}");
        }
        // Each series' best: the line for A, the last season for B. The
        // times of a series are its next points in order, whatever their
        // spacing; the rows keep their order.
        s.run(
            "SELECT * FROM PREDICT(MODEL fc_1, SELECT * FROM (VALUES ('A', 33), ('B', 35), \
             ('A', 31), ('B', 31), ('A', 32), ('B', 32)) AS f(s, t))",
        )
        .await
        .unwrap();
        let p = rows(&s).await;
        assert_eq!(p[0], ["s", "t", "target"]);
        let got: Vec<(String, String, f64)> = p[1..]
            .iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap()))
            .collect();
        let want = [
            ("A", "33", 67.0),
            ("B", "35", 1.0),
            ("A", "31", 63.0),
            ("B", "31", 3.0),
            ("A", "32", 65.0),
            ("B", "32", 7.0),
        ];
        for ((s_, t, v), (ws, wt, wv)) in got.iter().zip(want) {
            assert_eq!((s_.as_str(), t.as_str()), (ws, wt));
            assert!((v - wv).abs() < 1e-9, "{got:?}");
        }
        // The second best of A is the naive forecast: the last value; the
        // same after a round trip through the JSON export.
        let exported = models.path().join("fc_2.json");
        s.run(&format!(
            "EXPORT MODEL fc_2 WITH (location = '{}', format = 'json')\n\
             IMPORT MODEL fc_copy WITH (location = '{}')\n\
             SELECT * FROM PREDICT(MODEL fc_copy, SELECT 'A' AS s, 40 AS t)",
            exported.display(),
            exported.display()
        ))
        .await
        .unwrap();
        assert_eq!(rows(&s).await[1], ["A", "40", "61.0"]);
        s.run("DESCRIBE MODEL fc_1").await.unwrap();
        let described = format!("{:?}", rows(&s).await);
        for part in ["forecast", "series B", "snaive (sp 4), 30 points up to 30"] {
            assert!(described.contains(part), "{part}: {described}");
        }
        for (statement, message) in [
            (
                "SELECT * FROM PREDICT(MODEL fc_1, SELECT 'A' AS s, 30 AS t)",
                "t = 30 is not after the last point of series A of forecast model 'fc_1' (30)",
            ),
            (
                "SELECT * FROM PREDICT(MODEL fc_1, SELECT 'C' AS s, 31 AS t)",
                "has no series s = C (its series: A, B)",
            ),
            (
                "SELECT * FROM PREDICT(MODEL fc_1, SELECT 31 AS t)",
                "the input has no column 's'; forecast model 'fc_1' needs s, t",
            ),
        ] {
            let e = s.run(statement).await.unwrap_err().to_string();
            assert!(e.contains(message), "{statement}: {e}");
        }
        // A forecaster trained by CREATE MODEL on one series, with text
        // times ('1949-01'): the seasonal naive repeats 1960.
        s.run(&format!(
            "{AIRLINE}\nCREATE MODEL air_snaive WITH (model_class = 'snaive', \
             target_column = 'passengers', time_column = 'month', sp = 12) AS (SELECT * FROM air)\n\
             SELECT * FROM PREDICT(MODEL air_snaive, SELECT * FROM (VALUES ('1961-02'), ('1961-01')) AS f(month))"
        ))
        .await
        .unwrap();
        let p = rows(&s).await;
        assert_eq!(p[1..], [["1961-02", "391.0"], ["1961-01", "417.0"]]);
        for (statement, message) in [
            (
                "CREATE MODEL bad WITH (model_class = 'ets', target_column = 'passengers') AS (SELECT * FROM air)",
                "a forecaster needs WITH (time_column",
            ),
            (
                "CREATE MODEL bad WITH (model_class = 'Ridge', target_column = 'passengers', \
                 time_column = 'month') AS (SELECT * FROM air)",
                "time_column is an option of forecasters",
            ),
            (
                "SELECT * FROM PREDICT(MODEL air_snaive, SELECT 5 AS passengers)",
                "needs month",
            ),
        ] {
            let e = s.run(statement).await.unwrap_err().to_string();
            assert!(e.contains(message), "{statement}: {e}");
        }
        results.push((target.engine.name(), board, got));
    }
    let (first, board, got) = &results[0];
    for (engine, b, g) in &results[1..] {
        assert_eq!(b, board, "{engine} vs {first}");
        assert_eq!(g, got, "{engine} vs {first}");
    }
}
