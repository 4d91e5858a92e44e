"""Runs FugueSQL scripts on real fugue and on fsql and compares the results.

    python run.py FSQL_BINARY WORK_DIR [ENGINE]

Each case in cases.py is a script; its last dataframe is the result (fugue:
`fugue.api.fugue_sql`; fsql: the script plus a SAVE of the previous
dataframe to Parquet). Values are compared as text after a light
normalisation (NULL/NaN as empty, numbers to 9 significant digits, pandas'
midnight timestamps for dates as dates), as a multiset unless the case is
ordered. fugue is the reference where it answers: a case fugue rejects is
counted, not compared; a case where fsql fails or answers differently is a
failure unless the case names the known difference. Prints one line per
case and a summary; exits 1 on a failure.
"""
import math
import os
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq

import fugue.api as fa

from cases import CASES

FSQL, WORK = sys.argv[1], sys.argv[2]
ENGINE = sys.argv[3] if len(sys.argv) > 3 else "native"
DATA = os.path.join(WORK, "data")
os.makedirs(DATA, exist_ok=True)
pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "g": ["a", "b", "a", "b", "a", None],
              "v": [1.5, None, 3.0, 4.25, -2.0, 7.0], "n": [10, 20, None, 40, 50, 60]}
             ).to_csv(os.path.join(DATA, "t.csv"), index=False)
pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "g": ["a", "b", "a", "b", "a", None],
              "v": [1.5, None, 3.0, 4.25, -2.0, 7.0],
              "n": pd.array([10, 20, None, 40, 50, 60], dtype="Int64")}
             ).to_parquet(os.path.join(DATA, "t.parquet"), index=False)


def norm(x):
    if x is None or x is pd.NA or x is pd.NaT:
        return ""
    if isinstance(x, float) and math.isnan(x):
        return ""
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(norm(v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {norm(v)}" for k, v in x.items()) + "}"
    s = str(x)
    if s in ("nan", "NaN", "None", "<NA>", "NaT"):
        return ""
    if s.lower() in ("true", "false"):
        return s.lower()
    if len(s) == 19 and s.endswith(" 00:00:00") and s[4] == "-":
        return s[:10]
    try:
        f = float(s)
        if math.isfinite(f):
            return "%.9g" % f
    except ValueError:
        pass
    return s


def rows_of(df):
    return list(df.columns), [tuple(norm(v) for v in r) for r in df.itertuples(index=False, name=None)]


def fugue_result(script):
    df = fa.fugue_sql(script, engine=ENGINE, as_local=True)
    return rows_of(df if isinstance(df, pd.DataFrame) else fa.as_pandas(df))


def fsql_result(name, script):
    out = os.path.join(WORK, name + ".parquet")
    path = os.path.join(WORK, name + ".fsql")
    with open(path, "w") as f:
        f.write(script + f"\nSAVE OVERWRITE SINGLE '{out}'\n")
    p = subprocess.run([FSQL, "run", path], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip().splitlines()[0] if p.stderr.strip() else "failed")
    return rows_of(pq.read_table(out).to_pandas())


failures = compared = fugue_rejects = known = 0
for case in CASES:
    name, script, ordered = case[:3]
    note = case[3] if len(case) > 3 else None
    script = script.replace("$D", DATA).replace("$W", WORK)
    try:
        want = fugue_result(script)
    except Exception as e:  # fugue rejects the script: no reference
        fugue_rejects += 1
        print(f"fugue-rejects {name}: {str(e).strip().splitlines()[0][:100] if str(e).strip() else type(e).__name__}")
        continue
    try:
        got = fsql_result(name, script)
    except Exception as e:
        got = ("error", str(e))
    compared += 1
    same = (isinstance(got[1], list) and got[0] == want[0]
            and (got[1] == want[1] if ordered else sorted(got[1]) == sorted(want[1])))
    if same:
        print(f"ok {name}")
    elif note:
        known += 1
        print(f"known {name}: {note}")
    else:
        failures += 1
        print(f"DIFFERENT {name}\n  fugue: {want}\n  fsql:  {got}")
print(f"{compared} compared, {failures} different, {known} known differences, "
      f"{fugue_rejects} rejected by fugue ({ENGINE} engine)")
sys.exit(1 if failures else 0)
