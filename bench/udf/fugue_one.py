"""Runs one FugueSQL script with fugue on one engine, in this process, and
prints the seconds `fsql(...).run()` took (imports and a Dask cluster's
start-up excluded) and the yielded result as JSON. Functions come from the
files given, as `--udf` gives them to fsql.

    python fugue_one.py ENGINE SCRIPT OUT_DIR UDF_FILE...
"""

import importlib.util
import json
import os
import sys
import time


def main():
    engine_name, script, out = sys.argv[1], sys.argv[2], sys.argv[3]
    names = {}
    for path in sys.argv[4:]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names.update({k: v for k, v in vars(module).items() if callable(v)})
    globals().update(names)
    from fugue import fsql

    engine = None
    client = None
    if engine_name == "dask":
        from dask.distributed import Client, LocalCluster

        client = Client(LocalCluster(processes=True))
        engine = client
    elif engine_name != "native":
        engine = engine_name
    os.makedirs(out, exist_ok=True)
    text = open(script).read()
    start = time.perf_counter()
    res = fsql(text, out=out).run(engine)
    elapsed = time.perf_counter() - start
    result = None
    if "result" in res:
        df = res["result"].as_pandas()
        # The summary fsql's script computes in SQL.
        result = f"{len(df)},{int(df['n'].sum())}"
        if "slope" in df:
            result += f",{round(float(df['slope'].mean()), 4)}"
    print(json.dumps({"seconds": elapsed, "result": result}, default=str))
    if client is not None:
        client.close()


if __name__ == "__main__":
    main()
