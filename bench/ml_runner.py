"""Times fit and predict of every fsql model class against scikit-learn.

Called by bench/ml.sh: ml_runner.py FSQL [--rows N] [--only A,B] [--timeout S].
"""
import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn import cluster, ensemble, linear_model, naive_bayes, neighbors, svm, tree
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.metrics import accuracy_score, r2_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# fsql class name, task, scikit-learn estimator (defaults; seeds fixed)
CLASSES = [
    ("LogisticRegression", "clf", lambda: linear_model.LogisticRegression(max_iter=1000)),
    ("DecisionTreeClassifier", "clf", lambda: tree.DecisionTreeClassifier(random_state=0)),
    ("RandomForestClassifier", "clf", lambda: ensemble.RandomForestClassifier(random_state=0)),
    ("GaussianNB", "clf", lambda: naive_bayes.GaussianNB()),
    ("KNeighborsClassifier", "clf", lambda: neighbors.KNeighborsClassifier()),
    ("LinearSVC", "clf", lambda: svm.LinearSVC(random_state=0)),
    ("LinearRegression", "reg", lambda: linear_model.LinearRegression()),
    ("Ridge", "reg", lambda: linear_model.Ridge()),
    ("Lasso", "reg", lambda: linear_model.Lasso()),
    ("ElasticNet", "reg", lambda: linear_model.ElasticNet()),
    ("DecisionTreeRegressor", "reg", lambda: tree.DecisionTreeRegressor(random_state=0)),
    ("RandomForestRegressor", "reg", lambda: ensemble.RandomForestRegressor(random_state=0)),
    ("KNeighborsRegressor", "reg", lambda: neighbors.KNeighborsRegressor()),
    ("KMeans", "blobs", lambda: cluster.KMeans(n_clusters=8, random_state=0, n_init=1)),
]
SEED_PARAM = {
    "DecisionTreeClassifier": ", random_state = 0",
    "RandomForestClassifier": ", random_state = 0",
    "LinearSVC": ", random_state = 0",
    "DecisionTreeRegressor": ", random_state = 0",
    "RandomForestRegressor": ", random_state = 0",
    "KMeans": ", n_clusters = 8, random_state = 0",
}


def data(kind, rows, features, folder):
    path = os.path.join(folder, f"{kind}-{rows}x{features}.parquet")
    if os.path.exists(path):
        return path
    if kind == "clf":
        x, y = make_classification(rows, features, n_informative=10, n_classes=3, random_state=0)
    elif kind == "reg":
        x, y = make_regression(rows, features, n_informative=10, noise=10.0, random_state=0)
    else:
        x, y = make_blobs(rows, features, centers=8, random_state=0)
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)])
    if kind != "blobs":
        df["y"] = y
    os.makedirs(folder, exist_ok=True)
    df.to_parquet(path, index=False)
    return path


def run_fsql(fsql, script, models, timeout):
    start = time.perf_counter()
    p = subprocess.run(
        [fsql, "run", "-", "--engine", "threads", "--model-dir", models, "--format", "csv"],
        input=script, text=True, capture_output=True, timeout=timeout,
    )
    took = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip())
    return took, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--only", default="")
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    only = [c for c in a.only.split(",") if c]
    folder = os.path.join(ROOT, "bench", "data", "ml")
    rows = []
    for name, kind, make in CLASSES:
        if only and name not in only:
            continue
        path = data(kind, a.rows, a.features, folder)
        # scikit-learn: read + fit, read + predict.
        t0 = time.perf_counter()
        df = pd.read_parquet(path)
        x = df[[c for c in df.columns if c != "y"]].to_numpy()
        est = make()
        if kind == "blobs":
            est.fit(x)
        else:
            est.fit(x, df["y"].to_numpy())
        sk_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = pd.read_parquet(path)
        pred = est.predict(df[[c for c in df.columns if c != "y"]].to_numpy())
        sk_pred = time.perf_counter() - t0
        if kind == "clf":
            sk_score = accuracy_score(df["y"], pred)
        elif kind == "reg":
            sk_score = r2_score(df["y"], pred)
        else:
            sk_score = float("nan")
        # fsql: one process to train, one to score.
        target = "" if kind == "blobs" else ", target_column = 'y'"
        with tempfile.TemporaryDirectory() as models:
            train = (
                f"d = LOAD '{path}'\n"
                f"CREATE MODEL m WITH (model_class = '{name}'{target}{SEED_PARAM.get(name, '')}) AS (SELECT * FROM d)\n"
            )
            if kind == "clf":
                score = "AVG(CASE WHEN target = y THEN 1.0 ELSE 0.0 END)"
            elif kind == "reg":
                score = "1 - SUM((target - y) * (target - y)) / (COUNT(*) * VAR_POP(y))"
            else:
                score = "COUNT(DISTINCT target)"
            predict = f"d = LOAD '{path}'\nSELECT {score} AS score FROM PREDICT(MODEL m, d)\nPRINT\n"
            try:
                fs_fit, _ = run_fsql(a.fsql, train, models, a.timeout)
                fs_pred, out = run_fsql(a.fsql, predict, models, a.timeout)
                fs_score = float(out.strip().splitlines()[-1])
                note = ""
            except subprocess.TimeoutExpired:
                fs_fit = fs_pred = fs_score = float("nan")
                note = f"timeout after {a.timeout:.0f} s"
            except RuntimeError as e:
                fs_fit = fs_pred = fs_score = float("nan")
                note = str(e).splitlines()[0][:80]
        row = dict(
            model_class=name, rows=a.rows, features=a.features,
            sklearn_fit_s=sk_fit, sklearn_predict_s=sk_pred, sklearn_score=sk_score,
            fsql_fit_s=fs_fit, fsql_predict_s=fs_pred, fsql_score=fs_score,
            fit_ratio=fs_fit / sk_fit, predict_ratio=fs_pred / sk_pred, note=note,
        )
        print(
            f"{name:24} fit fsql {fs_fit:8.2f}s sklearn {sk_fit:8.2f}s ({row['fit_ratio']:.2f}x)  "
            f"predict fsql {fs_pred:6.2f}s sklearn {sk_pred:6.2f}s ({row['predict_ratio']:.2f}x)  "
            f"score {fs_score:.4f} / {sk_score:.4f} {note}",
            file=sys.stderr, flush=True,
        )
        rows.append(row)
    out = pd.DataFrame(rows)
    stamp = datetime.date.today().isoformat()
    base = os.path.join(ROOT, "bench", "results", f"ml-{stamp}")
    out.to_csv(base + ".csv", index=False)
    with open(base + ".md", "w") as f:
        f.write(f"# fsql vs scikit-learn: fit and predict, {a.rows:,} rows x {a.features} features\n\n")
        f.write("Times in seconds (fsql: whole `fsql run` processes, LOAD included; scikit-learn: "
                "read Parquet + fit / predict in one process). Ratio = fsql / scikit-learn "
                "(below 1: fsql is faster). Score: training-set accuracy (classifiers), R² "
                "(regressors), clusters found (k-means).\n\n")
        f.write("| model_class | fit fsql | fit sklearn | fit ratio | predict fsql | predict sklearn | predict ratio | score fsql | score sklearn | note |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
        for r in rows:
            f.write(
                f"| {r['model_class']} | {r['fsql_fit_s']:.2f} | {r['sklearn_fit_s']:.2f} | {r['fit_ratio']:.2f} | "
                f"{r['fsql_predict_s']:.2f} | {r['sklearn_predict_s']:.2f} | {r['predict_ratio']:.2f} | "
                f"{r['fsql_score']:.4f} | {r['sklearn_score']:.4f} | {r['note']} |\n"
            )
    print(f"wrote {base}.csv and {base}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
