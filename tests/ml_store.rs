//! The model store and model files: models outlive the session, EXPORT /
//! IMPORT move them between stores in both formats, a failed CREATE or
//! IMPORT leaves the old model, and a model does not depend on the engine
//! or on the order of its training rows.

use std::path::Path;

use datafusion::arrow::util::pretty::pretty_format_batches;
use fsql_engine::{Engine, Session};

const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ml/iris.csv");

async fn session(engine: Engine, models: &Path) -> Session {
    let mut s = Session::new(engine).await.unwrap();
    s.set_model_dir(models);
    s
}

/// The last dataframe, printed.
async fn last(s: &Session) -> String {
    let batches = s.last().unwrap().clone().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

fn load_iris() -> String {
    format!("iris = LOAD '{IRIS}' (header=true, infer_schema=true)\n")
}

const TRAIN_FOREST: &str = "CREATE OR REPLACE MODEL forest WITH (model_class = 'RandomForestClassifier', target_column = 'species', n_estimators = 20, random_state = 3) AS (SELECT sepal_length, sepal_width, petal_length, petal_width, species FROM iris WHERE split = 'train')\n";
const SCORE: &str = "SELECT sepal_length, sepal_width, petal_length, petal_width, target FROM PREDICT(MODEL forest, SELECT * FROM iris WHERE split = 'test') ORDER BY 1, 2, 3, 4\n";

#[tokio::test]
async fn models_outlive_the_session_and_move_by_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut s = session(Engine::Local, &a).await;
    s.run(&format!("{}{TRAIN_FOREST}{SCORE}", load_iris()))
        .await
        .unwrap();
    let expected = last(&s).await;
    let json = dir.path().join("forest.json");
    let bin = dir.path().join("exports");
    std::fs::create_dir(&bin).unwrap();
    s.run(&format!(
        "EXPORT MODEL forest WITH (format = 'json', location = '{}')\n\
         EXPORT MODEL forest WITH (location = '{}')",
        json.display(),
        bin.display()
    ))
    .await
    .unwrap();
    assert!(bin.join("forest.fsqlmodel").is_file());
    drop(s);

    // A new session on the same store sees the model.
    let mut s = session(Engine::Threads, &a).await;
    s.run(&format!("{}{SCORE}", load_iris())).await.unwrap();
    assert_eq!(last(&s).await, expected);

    // Another store imports both exports and predicts the same.
    let mut s = session(Engine::Local, &b).await;
    s.run(&format!(
        "{}IMPORT MODEL forest WITH (location = '{}')\n{SCORE}",
        load_iris(),
        json.display()
    ))
    .await
    .unwrap();
    assert_eq!(last(&s).await, expected);
    let err = s
        .run(&format!(
            "IMPORT MODEL forest WITH (location = '{}')",
            bin.join("forest.fsqlmodel").display()
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("model 'forest' already exists; use IMPORT OR REPLACE"),
        "{err}"
    );
    s.run(&format!(
        "{}IMPORT OR REPLACE MODEL forest WITH (location = '{}')\n{SCORE}",
        load_iris(),
        bin.join("forest.fsqlmodel").display()
    ))
    .await
    .unwrap();
    assert_eq!(last(&s).await, expected);
    s.run("SHOW MODELS\nSELECT model, training_rows")
        .await
        .unwrap();
    assert!(
        last(&s).await.contains("| forest | 105           |"),
        "{}",
        last(&s).await
    );

    // Formats fsql does not write, and files that are not models.
    let err = s
        .run(&format!(
            "EXPORT MODEL forest WITH (format = 'pickle', location = '{}')",
            dir.path().join("x.pkl").display()
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("format 'pickle' is not supported; fsql exports 'fsql' (binary) or 'json'"),
        "{err}"
    );
    assert_eq!(err.span().unwrap().start.column, 27);
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a model").unwrap();
    let err = s
        .run(&format!(
            "IMPORT MODEL junk WITH (location = '{}')",
            junk.display()
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not an fsql model"), "{err}");
    let err = s
        .run("EXPORT MODEL forest WITH (place = 'x')")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown option 'place' (valid: format, location)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failed_create_or_import_keeps_the_old_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("models");
    let mut s = session(Engine::Local, &dir).await;
    s.run(&format!("{}{TRAIN_FOREST}", load_iris()))
        .await
        .unwrap();
    let file = dir.join("forest.fsqlmodel");
    let before = std::fs::read(&file).unwrap();
    // Fails while training (one class only), after the query ran.
    let err = s
        .run("CREATE OR REPLACE MODEL forest WITH (model_class = 'RandomForestClassifier', target_column = 'species') AS (SELECT * FROM iris WHERE species = 'setosa')")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only one class"), "{err}");
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, b"{\"fsql_model_format\": 1, \"model\": 3}").unwrap();
    assert!(
        s.run(&format!(
            "IMPORT OR REPLACE MODEL forest WITH (location = '{}')",
            junk.display()
        ))
        .await
        .is_err()
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["forest.fsqlmodel"]);
}

#[tokio::test]
async fn the_model_does_not_depend_on_engine_or_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = session(Engine::Local, &dir.path().join("l")).await;
    local
        .run(&format!("{}{TRAIN_FOREST}{SCORE}", load_iris()))
        .await
        .unwrap();
    let mut threads = session(Engine::Threads, &dir.path().join("t")).await;
    // Same rows, another order, read by a multi-partition engine.
    threads
        .run(&format!(
            "{}iris = SELECT * FROM iris ORDER BY petal_width DESC, sepal_length\n{TRAIN_FOREST}{SCORE}",
            load_iris()
        ))
        .await
        .unwrap();
    assert_eq!(last(&local).await, last(&threads).await);
}
