"""Writes scikit-learn's (and PyCaret's) values of the leaderboard metrics
on fixed cases, for tests/ml_metrics.rs.

Run from the repository root (the bench venv has scikit-learn 1.9.1):
     python3 -m venv .venv-ml && .venv-ml/bin/pip install scikit-learn==1.9.1 numpy
     .venv-ml/bin/python tests/data/ml/make_metrics_reference.py

Classification cases: truth and predicted class indices, class
probabilities (rows sum to 1; some scores tied on purpose), and the
averaging PyCaret uses (binary: the class 1 of a 0/1 target; weighted:
any other target). Metrics as PyCaret 3.3.2's compare_models computes them:
accuracy_score, roc_auc_score (binary: the probability of class 1;
multiclass: multi_class='ovr', average='weighted'), recall / precision /
f1 (average='binary' or 'weighted', zero_division=0), cohen_kappa_score,
matthews_corrcoef. Regression: mean_absolute_error, mean_squared_error, its
root, r2_score, and PyCaret's own RMSLE (of absolute values) and MAPE (a
fraction, over rows whose truth is not 0).
"""
import json
import os

import numpy as np
from sklearn import metrics as m

rng = np.random.default_rng(20261130)


def proba(n, k, truth, skill):
    p = rng.random((n, k))
    p[np.arange(n), truth] += skill
    # Tied scores: round to one decimal.
    p = np.round(p / p.sum(axis=1, keepdims=True), 1)
    p[:, -1] = 1.0 - p[:, :-1].sum(axis=1)
    return p


def classification_case(name, n, k, averaging, skill, flip):
    truth = rng.integers(0, k, n)
    pred = truth.copy()
    wrong = rng.random(n) < flip
    pred[wrong] = rng.integers(0, k, wrong.sum())
    p = proba(n, k, truth, skill)
    if averaging == "binary":
        auc = m.roc_auc_score(truth, p[:, 1])
        avg = dict(average="binary", pos_label=1, zero_division=0)
    else:
        auc = (
            m.roc_auc_score(truth, p[:, 1])
            if k == 2
            else m.roc_auc_score(truth, p, multi_class="ovr", average="weighted", labels=list(range(k)))
        )
        avg = dict(average="weighted", zero_division=0)
    return {
        "name": name,
        "classes": k,
        "averaging": averaging,
        "truth": truth.tolist(),
        "pred": pred.tolist(),
        "proba": p.tolist(),
        "expected": [
            m.accuracy_score(truth, pred),
            auc,
            m.recall_score(truth, pred, **avg),
            m.precision_score(truth, pred, **avg),
            m.f1_score(truth, pred, **avg),
            m.cohen_kappa_score(truth, pred),
            m.matthews_corrcoef(truth, pred),
        ],
    }


def regression_case(name, truth, pred):
    truth = np.asarray(truth, dtype=float)
    pred = np.asarray(pred, dtype=float)
    mse = m.mean_squared_error(truth, pred)
    rmsle = np.sqrt(np.mean(np.power(np.log(np.abs(pred) + 1) - np.log(np.abs(truth) + 1), 2)))
    mask = truth != 0
    mape = float(np.mean(np.abs((truth[mask] - pred[mask]) / truth[mask]))) if mask.any() else 0.0
    return {
        "name": name,
        "truth": truth.tolist(),
        "pred": pred.tolist(),
        "expected": [
            m.mean_absolute_error(truth, pred),
            mse,
            float(np.sqrt(mse)),
            m.r2_score(truth, pred),
            float(rmsle),
            mape,
        ],
    }


cases = {
    "classification": [
        classification_case("binary 0/1", 200, 2, "binary", 0.6, 0.25),
        classification_case("binary, weighted (a string target)", 150, 2, "weighted", 0.3, 0.4),
        classification_case("three classes", 300, 3, "weighted", 0.5, 0.3),
        classification_case("five classes, weak", 250, 5, "weighted", 0.1, 0.7),
        classification_case("binary, perfect", 60, 2, "binary", 5.0, 0.0),
    ],
    "regression": [],
}
t = rng.normal(3.0, 2.0, 300)
cases["regression"].append(regression_case("normal", t, t + rng.normal(0, 0.7, 300)))
t = rng.normal(0.0, 1.0, 200)
t[::17] = 0.0
cases["regression"].append(regression_case("zeros and negatives", t, 0.8 * t + rng.normal(0, 0.3, 200)))
t = rng.exponential(100.0, 120)
cases["regression"].append(regression_case("skewed", t, t * rng.uniform(0.5, 1.5, 120)))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_reference.json")
with open(out, "w") as f:
    json.dump(cases, f)
print("wrote", out)
