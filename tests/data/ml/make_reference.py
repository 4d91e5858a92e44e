"""Writes the ML test data and scikit-learn's reference metrics.

Run from the repository root:
     python3 -m venv .venv-ml && .venv-ml/bin/pip install scikit-learn==1.9.1 pandas
     .venv-ml/bin/python tests/data/ml/make_reference.py

For each dataset (iris, wine, breast_cancer, diabetes from sklearn.datasets)
it writes <name>.csv: the feature columns (names made SQL-friendly), the
target and a `split` column. The split is train_test_split(test_size=0.3,
random_state=0), stratified by the target for the classification sets; it
is written into the file so fsql trains and scores on exactly the same rows.
iris's target is the species name (a string label), the others keep
scikit-learn's integer / float targets, named as in TARGETS below.

Then, for each model class fsql supports, it fits scikit-learn's estimator
on the train rows with the hyper-parameters listed below (the same ones the
fsql test passes in WITH (...), otherwise scikit-learn's defaults), scores
the test rows (accuracy for classifiers, R^2 for regressors; for KMeans the
inertia on all iris rows) and writes reference.csv. The tolerances the fsql
test allows are in tests/ml_sklearn.rs, with the reason for each.
"""
import csv
import os
import re

import numpy as np
from sklearn import datasets
from sklearn.cluster import KMeans
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import (
    BayesianRidge,
    ElasticNet,
    HuberRegressor,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = os.path.dirname(os.path.abspath(__file__))


def sql_name(name):
    name = re.sub(r"\(.*?\)", "", name).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


# Target column names; not "target", which is the column PREDICT adds.
TARGETS = {
    "iris": "species",
    "wine": "cultivar",
    "breast_cancer": "benign",
    "diabetes": "progression",
}


def load(name):
    loader = getattr(datasets, "load_" + name)
    d = loader()
    cols = [sql_name(c) for c in d.feature_names]
    x = d.data
    if name == "iris":
        y = np.array([d.target_names[t] for t in d.target])
    else:
        y = d.target
    classify = name != "diabetes"
    idx = np.arange(len(y))
    train, test = train_test_split(
        idx, test_size=0.3, random_state=0, stratify=y if classify else None
    )
    split = np.array(["train"] * len(y), dtype=object)
    split[test] = "test"
    target = TARGETS[name]
    with open(os.path.join(HERE, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols + [target, "split"])
        for i in range(len(y)):
            w.writerow([repr(float(v)) for v in x[i]] + [y[i], split[i]])
    return x, y, train, test


# (model_class as fsql is given it, WITH hyper-parameters, sklearn estimator)
CLASSIFIERS = [
    (
        "LogisticRegression",
        "C = 1.0, max_iter = 10000",
        LogisticRegression(C=1.0, max_iter=10000),
    ),
    ("DecisionTreeClassifier", "random_state = 0", DecisionTreeClassifier(random_state=0)),
    (
        "RandomForestClassifier",
        "n_estimators = 100, random_state = 0",
        RandomForestClassifier(n_estimators=100, random_state=0),
    ),
    ("GaussianNB", "", GaussianNB()),
    ("KNeighborsClassifier", "n_neighbors = 5", KNeighborsClassifier(n_neighbors=5)),
    ("LinearSVC", "C = 1.0, max_iter = 100000", LinearSVC(C=1.0, max_iter=100000, random_state=0)),
    (
        "ExtraTreesClassifier",
        "n_estimators = 100, random_state = 0",
        ExtraTreesClassifier(n_estimators=100, random_state=0),
    ),
    (
        "HistGradientBoostingClassifier",
        "random_state = 0",
        HistGradientBoostingClassifier(random_state=0),
    ),
    ("AdaBoostClassifier", "random_state = 0", AdaBoostClassifier(random_state=0)),
    ("RidgeClassifier", "alpha = 1.0", RidgeClassifier(alpha=1.0)),
    ("LinearDiscriminantAnalysis", "", LinearDiscriminantAnalysis()),
    (
        "QuadraticDiscriminantAnalysis",
        "reg_param = 0.1",
        QuadraticDiscriminantAnalysis(reg_param=0.1),
    ),
    ("DummyClassifier", "", DummyClassifier()),
]
REGRESSORS = [
    ("LinearRegression", "", LinearRegression()),
    ("Ridge", "alpha = 1.0", Ridge(alpha=1.0)),
    ("Lasso", "alpha = 0.1", Lasso(alpha=0.1)),
    ("ElasticNet", "alpha = 0.01, l1_ratio = 0.5", ElasticNet(alpha=0.01, l1_ratio=0.5)),
    ("DecisionTreeRegressor", "random_state = 0", DecisionTreeRegressor(random_state=0)),
    (
        "RandomForestRegressor",
        "n_estimators = 100, random_state = 0",
        RandomForestRegressor(n_estimators=100, random_state=0),
    ),
    ("KNeighborsRegressor", "n_neighbors = 5", KNeighborsRegressor(n_neighbors=5)),
    (
        "ExtraTreesRegressor",
        "n_estimators = 100, random_state = 0",
        ExtraTreesRegressor(n_estimators=100, random_state=0),
    ),
    (
        "HistGradientBoostingRegressor",
        "random_state = 0",
        HistGradientBoostingRegressor(random_state=0),
    ),
    ("AdaBoostRegressor", "random_state = 0", AdaBoostRegressor(random_state=0)),
    ("HuberRegressor", "max_iter = 1000", HuberRegressor(max_iter=1000)),
    ("BayesianRidge", "", BayesianRidge()),
    ("DummyRegressor", "", DummyRegressor()),
]

rows = []
for name in ["iris", "wine", "breast_cancer"]:
    x, y, train, test = load(name)
    for cls, params, est in CLASSIFIERS:
        est.fit(x[train], y[train])
        acc = accuracy_score(y[test], est.predict(x[test]))
        rows.append([name, cls, params, "accuracy", f"{acc:.6f}"])
x, y, train, test = load("diabetes")
for cls, params, est in REGRESSORS:
    est.fit(x[train], y[train])
    r2 = r2_score(y[test], est.predict(x[test]))
    rows.append(["diabetes", cls, params, "r2", f"{r2:.6f}"])
x, y, _, _ = load("iris")
km = KMeans(n_clusters=3, random_state=0, n_init=10).fit(x)
rows.append(["iris", "KMeans", "n_clusters = 3, random_state = 0", "inertia", f"{km.inertia_:.6f}"])

with open(os.path.join(HERE, "reference.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["dataset", "model_class", "params", "metric", "sklearn"])
    w.writerows(rows)
for r in rows:
    print(*r, sep="\t")
