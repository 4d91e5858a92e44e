//! The leaderboard metrics against scikit-learn's (and PyCaret's own RMSLE
//! and MAPE) on the fixed cases `tests/data/ml/make_metrics_reference.py`
//! wrote (scikit-learn 1.9.1): binary and weighted averaging, ties in the
//! scores, classes never predicted, a perfect classifier, targets of 0.

use fsql_ml::compare::{
    Averaging, CLASSIFICATION_METRICS, REGRESSION_METRICS, classification_scores, regression_scores,
};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/ml/metrics_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the reference file")).unwrap()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn check(case: &str, names: &[&str], got: &[f64], want: &[f64], failures: &mut Vec<String>) {
    assert_eq!(got.len(), names.len());
    for ((name, g), w) in names.iter().zip(got).zip(want) {
        if (g - w).abs() > 1e-12 * w.abs().max(1.0) {
            failures.push(format!("{case}: {name} fsql {g} scikit-learn {w}"));
        }
    }
}

#[test]
fn leaderboard_metrics_equal_scikit_learn() {
    let r = reference();
    let mut failures = Vec::new();
    let cases = r["classification"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let truth: Vec<u32> = numbers(&case["truth"]).iter().map(|x| *x as u32).collect();
        let pred: Vec<u32> = numbers(&case["pred"]).iter().map(|x| *x as u32).collect();
        let proba: Vec<Vec<f64>> = case["proba"]
            .as_array()
            .unwrap()
            .iter()
            .map(numbers)
            .collect();
        let averaging = match case["averaging"].as_str().unwrap() {
            "binary" => Averaging::Binary,
            _ => Averaging::Weighted,
        };
        let k = case["classes"].as_u64().unwrap() as usize;
        let got = classification_scores(&truth, &pred, Some(&proba), k, averaging);
        check(
            name,
            CLASSIFICATION_METRICS,
            &got,
            &numbers(&case["expected"]),
            &mut failures,
        );
        // Without probabilities, AUC is 0 (as PyCaret shows it).
        let none = classification_scores(&truth, &pred, None, k, averaging);
        assert_eq!(none[1], 0.0);
    }
    let cases = r["regression"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let got = regression_scores(&numbers(&case["truth"]), &numbers(&case["pred"]));
        check(
            name,
            REGRESSION_METRICS,
            &got,
            &numbers(&case["expected"]),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn binary_targets_are_averaged_as_pycaret_does() {
    use fsql_ml::Label;
    assert_eq!(
        Averaging::of(&[Label::Int(0), Label::Int(1)]),
        Averaging::Binary
    );
    assert_eq!(
        Averaging::of(&[Label::Bool(false), Label::Bool(true)]),
        Averaging::Binary
    );
    assert_eq!(
        Averaging::of(&[Label::Text("no".into()), Label::Text("yes".into())]),
        Averaging::Weighted
    );
    assert_eq!(
        Averaging::of(&[Label::Int(1), Label::Int(2)]),
        Averaging::Weighted
    );
}
