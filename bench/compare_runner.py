"""COMPARE MODELS against PyCaret 3.3.2's compare_models, in one run.

    compare_runner.py FSQL PYCARET_PYTHON [--rows N] [--folds K] [--only clf|reg] [--skip-fugue]

For a classification set (make_classification) and a regression set
(make_regression), both N x 20, it times, each as its own process (wall
time, and peak RSS of the process tree's largest member):
  - fsql `--engine threads` and `--engine cluster` (embedded): LOAD the
    Parquet file, COMPARE MODELS over 6 model classes both have, K folds;
  - PyCaret: setup(fold=K, session_id=42, n_jobs=-1) + compare_models(include
    = the same 6) locally, and with parallel=FugueBackend("dask") on a local
    Dask cluster (one worker per core).
Both hold out 30% (PyCaret's default train_size) and cross-validate the
rest. Writes bench/results/compare-<date>.{md,csv}: the timings, and both
leaderboards side by side with the metric differences per model.
"""
import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {
    # PyCaret id: (fsql's name, PyCaret's display name)
    "clf": ["lr", "nb", "dt", "rf", "et", "lda"],
    "reg": ["lr", "ridge", "lasso", "dt", "br", "et"],
}
SORT = {"clf": "Accuracy", "reg": "R2"}


def make_data(kind, rows, folder):
    from sklearn.datasets import make_classification, make_regression

    if kind == "clf":
        x, y = make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)
    else:
        x, y = make_regression(n_samples=rows, n_features=20, n_informative=10, noise=10.0, random_state=0)
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    df["y"] = y
    path = os.path.join(folder, f"{kind}.parquet")
    df.to_parquet(path, index=False)
    return path


# Runs a command and reports its process tree's peak RSS: a fresh wrapper
# per run, so RUSAGE_CHILDREN holds this run's processes only (the largest
# of them that were waited for, KiB on Linux).
WRAP = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:])\n"
    "print('maxrss', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(p.returncode)\n"
)


def run(cmd, stdin=None, timeout=7200, cwd=None):
    """Wall seconds, the run's peak RSS (MiB), stdout, stderr."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAP] + cmd, input=stdin, capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{p.stderr[-3000:]}")
    lines = p.stderr.splitlines()
    rss = next(int(l.split()[1]) for l in reversed(lines) if l.startswith("maxrss "))
    return wall, rss / 1024, p.stdout, p.stderr


def fsql_board(fsql, engine, kind, path, folds, models):
    ids = ", ".join(f"'{m}'" for m in models)
    with tempfile.TemporaryDirectory() as d:
        script = (
            f"d = LOAD '{path}'\n"
            f"COMPARE MODELS FROM d WITH (target = 'y', folds = {folds}, models = ({ids}), "
            f"sort = '{SORT[kind]}', top = 1)\n"
            "PRINT\n"
        )
        cmd = [fsql, "run", "-", "--engine", engine, "--model-dir", d, "--format", "json"]
        wall, rss, out, _ = run(cmd, stdin=script)
    rows = json.loads(out)
    if isinstance(rows, dict):
        rows = rows.get("rows", [])
    return wall, rss, pd.DataFrame(rows)


PYCARET = r"""
import json, os, sys, time
import pandas as pd


def main():
    kind, path, folds, models, fugue = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","), sys.argv[5] == "1"
    df = pd.read_parquet(path)
    if kind == "clf":
        from pycaret.classification import setup, compare_models, pull
    else:
        from pycaret.regression import setup, compare_models, pull
    t0 = time.perf_counter()
    setup(df, target="y", session_id=42, fold=folds, verbose=False, n_jobs=-1, html=False)
    kw = {}
    if fugue:
        from dask.distributed import Client, LocalCluster
        from pycaret.parallel import FugueBackend
        client = Client(LocalCluster(n_workers=os.cpu_count(), threads_per_worker=1, processes=True))
        kw["parallel"] = FugueBackend("dask")
    compare_models(include=models, n_select=1, verbose=False, **kw)
    board = pull()
    print(json.dumps({"seconds_in_process": time.perf_counter() - t0, "board": board.reset_index().to_dict(orient="records")}))


# Dask's worker processes import this file again: only the parent runs.
if __name__ == "__main__":
    main()
"""


def pycaret_board(python, kind, path, folds, models, fugue):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PYCARET)
        script = f.name
    try:
        # PyCaret writes logs.log into its working directory.
        with tempfile.TemporaryDirectory() as cwd:
            wall, rss, out, _ = run([python, script, kind, path, str(folds), ",".join(models), "1" if fugue else "0"], cwd=cwd)
    finally:
        os.unlink(script)
    last = [l for l in out.splitlines() if l.startswith("{")][-1]
    r = json.loads(last)
    return wall, rss, pd.DataFrame(r["board"])


# PyCaret's display names, by id, for matching rows.
PYCARET_NAMES = {
    "clf": {
        "lr": "Logistic Regression", "nb": "Naive Bayes", "dt": "Decision Tree Classifier",
        "rf": "Random Forest Classifier", "et": "Extra Trees Classifier",
        "lda": "Linear Discriminant Analysis",
    },
    "reg": {
        "lr": "Linear Regression", "ridge": "Ridge Regression", "lasso": "Lasso Regression",
        "dt": "Decision Tree Regressor", "br": "Bayesian Ridge", "et": "Extra Trees Regressor",
    },
}
FSQL_NAMES = {
    "clf": {
        "lr": "LogisticRegression", "nb": "GaussianNB", "dt": "DecisionTreeClassifier",
        "rf": "RandomForestClassifier", "et": "ExtraTreesClassifier", "lda": "LinearDiscriminantAnalysis",
    },
    "reg": {
        "lr": "LinearRegression", "ridge": "Ridge", "lasso": "Lasso", "dt": "DecisionTreeRegressor",
        "br": "BayesianRidge", "et": "ExtraTreesRegressor",
    },
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql")
    ap.add_argument("pycaret_python")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only", choices=["clf", "reg"])
    ap.add_argument("--skip-fugue", action="store_true")
    a = ap.parse_args()
    date = datetime.date.today().isoformat()
    timings = []
    sections = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in ["clf", "reg"]:
            if a.only and a.only != kind:
                continue
            path = make_data(kind, a.rows, folder)
            models = MODELS[kind]
            runs = {}
            for engine in ["threads", "cluster"]:
                wall, rss, board = fsql_board(a.fsql, engine, kind, path, a.folds, models)
                runs[f"fsql {engine}"] = (wall, rss, board)
                print(f"{kind} fsql {engine}: {wall:.1f} s, {rss:.0f} MiB", file=sys.stderr)
            variants = [("PyCaret local", False)] + ([] if a.skip_fugue else [("PyCaret Fugue+Dask", True)])
            for name, fugue in variants:
                try:
                    wall, rss, board = pycaret_board(a.pycaret_python, kind, path, a.folds, models, fugue)
                    runs[name] = (wall, rss, board)
                    print(f"{kind} {name}: {wall:.1f} s, {rss:.0f} MiB", file=sys.stderr)
                except Exception as e:  # noqa: BLE001 - recorded in the table
                    print(f"{kind} {name}: failed: {e}", file=sys.stderr)
                    runs[name] = (float("nan"), float("nan"), None)
            anchor = runs["PyCaret local"][0]
            for name, (wall, rss, _) in runs.items():
                timings.append({
                    "set": kind, "run": name, "seconds": round(wall, 2),
                    "peak_rss_mib": round(rss) if rss == rss else "",
                    "ratio_to_pycaret_local": round(wall / anchor, 3) if anchor == anchor else "",
                })
            # Leaderboards side by side.
            metric = SORT[kind]
            fs = runs["fsql threads"][2].set_index("model")
            pc = runs["PyCaret local"][2]
            rows = []
            if pc is not None:
                pc = pc.set_index("Model")
                for mid in models:
                    f = fs.loc[FSQL_NAMES[kind][mid]]
                    p = pc.loc[PYCARET_NAMES[kind][mid]]
                    row = {"model": mid}
                    metrics = ["Accuracy", "AUC", "Recall", "Prec.", "F1", "Kappa", "MCC"] if kind == "clf" else ["MAE", "MSE", "RMSE", "R2", "RMSLE", "MAPE"]
                    for m in metrics:
                        row[f"{m} fsql"] = f[m]
                        row[f"{m} PyCaret"] = p[m]
                    row["diff " + metric] = round(float(f[metric]) - float(p[metric]), 4)
                    row["TT fsql"] = f["TT (Sec)"]
                    row["TT PyCaret"] = p["TT (Sec)"]
                    rows.append(row)
            sections.append((kind, rows))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    base = os.path.join(ROOT, "bench", "results", f"compare-{date}")
    with open(base + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(timings[0].keys()))
        w.writeheader()
        w.writerows(timings)
    with open(base + ".md", "w") as f:
        f.write(f"# COMPARE MODELS vs PyCaret 3.3.2 compare_models, {a.rows:,} rows x 20 features, {a.folds} folds\n\n")
        f.write("Wall seconds of whole processes (data load included), this machine's cores; peak RSS of the largest process. "
                "Ratio: to PyCaret local (n_jobs=-1). Both hold out 30% and cross-validate the rest.\n\n")
        f.write("| set | run | seconds | peak RSS MiB | ratio to PyCaret local |\n|---|---|---:|---:|---:|\n")
        for t in timings:
            f.write(f"| {t['set']} | {t['run']} | {t['seconds']} | {t['peak_rss_mib']} | {t['ratio_to_pycaret_local']} |\n")
        for kind, rows in sections:
            if not rows:
                continue
            f.write(f"\n## {kind}: leaderboards side by side\n\n")
            keys = list(rows[0].keys())
            f.write("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
            for r in rows:
                f.write("| " + " | ".join(str(r[k]) for k in keys) + " |\n")
    print(f"wrote {base}.md and {base}.csv", file=sys.stderr)


if __name__ == "__main__":
    main()
