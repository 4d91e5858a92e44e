//! Model files through the crate's API: both formats give back a model that
//! predicts the same, and files from a newer fsql are refused. (Accuracy
//! against scikit-learn is tested through SQL in `tests/ml_sklearn.rs`.)

use std::path::PathBuf;

use fsql_ml::{Column, Impute, Label, Model, ModelClass, Target, TargetKind, TrainSpec};

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
            (d.names[j].clone(), Column::numbers(v))
        })
        .collect();
    let target = rows.iter().map(|r| r[n - 2].clone()).collect();
    (features, target)
}

fn label(s: &str) -> Label {
    s.parse::<i64>()
        .map(Label::Int)
        .unwrap_or_else(|_| Label::Text(s.to_string()))
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
