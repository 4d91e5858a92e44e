"""Runs the object-store benchmark (see storage.sh) and writes the results."""

import argparse
import datetime
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_data(folder, mb):
    if os.path.isdir(folder):
        return
    os.makedirs(folder)
    rng = np.random.default_rng(7)
    rows = mb * 1024 * 1024 // 32  # four 8-byte columns
    parts = 8
    for i in range(parts):
        n = rows // parts
        t = pa.table({c: rng.random(n) for c in ["a", "b", "c", "d"]})
        pq.write_table(t, os.path.join(folder, f"part-{i}.parquet"), compression="none")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(fsql, script, env):
    with tempfile.NamedTemporaryFile("w", suffix=".fsql", delete=False) as f:
        f.write(script)
    try:
        start = time.perf_counter()
        out = subprocess.run([fsql, "run", f.name, "--engine", "threads", "--format", "csv"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return elapsed, out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql")
    ap.add_argument("server", help="the S3 server binary (moto_server or s3s-fs)")
    ap.add_argument("--server-kind", choices=["moto", "s3s"], default="s3s")
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    local = os.path.join(ROOT, "bench", "data", f"storage_{a.mb}mb")
    make_data(local, a.mb)
    size = sum(os.path.getsize(os.path.join(local, f)) for f in os.listdir(local))
    port = free_port()
    store_root = tempfile.mkdtemp(prefix="fsql-s3-", dir=os.path.join(ROOT, "bench", "data"))
    if a.server_kind == "moto":
        cmd = [a.server, "-H", "127.0.0.1", "-p", str(port)]
    else:
        # s3s-fs keeps each bucket as a folder of its root.
        os.makedirs(os.path.join(store_root, "bench"))
        cmd = [a.server, "--host", "127.0.0.1", "--port", str(port), "--access-key", "k",
               "--secret-key", "s", store_root]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        if a.server_kind == "moto":
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("PUT", "/bench")
            c.getresponse().read()
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="k",
                   AWS_SECRET_ACCESS_KEY="s", AWS_REGION="us-east-1")
        summed = "SELECT ROUND(SUM(a) + SUM(b) + SUM(c) + SUM(d), 0) AS s FROM x\nPRINT\n"
        cases = [
            ("write: SAVE to local disk", f"x = LOAD '{local}/'\nSAVE x OVERWRITE 'bench/data/storage_copy/'\n"),
            # A fresh folder each time: s3s-fs answers HEAD of a key that is
            # also a folder of keys with an error (S3 says "not found").
            ("write: SAVE to the S3 server", f"x = LOAD '{local}/'\nSAVE x OVERWRITE 's3://bench/w{{n}}/'\n"),
            ("read: LOAD from local disk, every column summed", f"x = LOAD '{local}/'\n" + summed),
            ("read: LOAD from the S3 server, every column summed", "x = LOAD 's3://bench/w0/*.parquet'\n" + summed),
        ]
        rows = {}
        for name, script in cases:
            times, result = [], None
            for n in range(a.repeat):
                t, result = run(a.fsql, script.replace("{n}", str(n)), env)
                times.append(t)
            rows[name] = (statistics.median(times), result)
            print(name, rows[name], file=sys.stderr)
    finally:
        server.kill()
        subprocess.run(["rm", "-rf", store_root])
    date = datetime.date.today().isoformat()
    md = [f"# Object-store benchmark, {date}", "",
          f"{size / 1e6:.0f} MB of Parquet (8 parts, 4 double columns, uncompressed); `fsql run` on "
          f"threads, whole processes; median of {a.repeat}. The S3 server runs on this machine: "
          + ("moto (a Python server: its own speed bounds the store's figures)." if a.server_kind == "moto"
             else "s3s-fs 0.14 (Rust, objects in a local folder; requests signed, over loopback HTTP)."), "",
          "| case | seconds | MB/s | vs local disk | result |", "|---|---:|---:|---:|---|"]
    pairs = {"write: SAVE to the S3 server": "write: SAVE to local disk",
             "read: LOAD from the S3 server, every column summed": "read: LOAD from local disk, every column summed"}
    for name, (t, result) in rows.items():
        base = rows[pairs.get(name, name)][0]
        md.append(f"| {name} | {t:.2f} | {size / 1e6 / t:.0f} | {base / t:.2f} | {result} |")
    out = os.path.join(ROOT, "bench", "results", f"storage-{date}")
    with open(out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    with open(out + ".csv", "w") as f:
        f.write("case,seconds,result\n")
        for name, (t, result) in rows.items():
            f.write(f"\"{name}\",{t:.3f},{result}\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
