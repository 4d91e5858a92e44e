"""bench/serve.sh's measurements; see that script. Prints a Markdown table
and writes bench/results/serve-<date>.{json,md}."""
import argparse
import concurrent.futures as cf
import datetime
import json
import os
import socket
import subprocess
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.flight as fl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def query(rows):
    return (
        "SELECT value AS a, value * 2 AS b, CAST(value AS DOUBLE) / 3 AS c, "
        "value % 1000 AS d, CAST(value % 97 AS DOUBLE) AS e "
        f"FROM generate_series(1, {rows})"
    )


def best(runs):
    return min(runs, key=lambda r: r["seconds"])


def inproc(anchor, rows, repeat):
    runs = []
    for _ in range(repeat):
        out = subprocess.run([anchor, query(rows)], check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout))
    return best(runs)


def adbc_fetch(uri, sql):
    with flight_sql.connect(uri, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 AS warm")
            cur.fetchall()
            started = time.perf_counter()
            cur.execute(sql)
            table = cur.fetch_arrow_table()
            seconds = time.perf_counter() - started
    return {"rows": table.num_rows, "bytes": table.nbytes, "seconds": seconds}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOOPBACK_SERVER = r"""
import sys
import numpy as np, pyarrow as pa, pyarrow.flight as fl
rows, port = int(sys.argv[1]), int(sys.argv[2])
v = np.arange(1, rows + 1, dtype=np.int64)
table = pa.table({"a": v, "b": v * 2, "c": v / 3.0, "d": v % 1000, "e": (v % 97).astype(np.float64)})
batches = table.to_batches(max_chunksize=8192)
class Server(fl.FlightServerBase):
    def do_get(self, context, ticket):
        return fl.RecordBatchStream(pa.Table.from_batches(batches))
server = Server(f"grpc://127.0.0.1:{port}")
print("ready", flush=True)
server.serve()
"""


def loopback(rows, repeat):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LOOPBACK_SERVER, str(rows), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        client = fl.connect(f"grpc://127.0.0.1:{port}")
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            table = client.do_get(fl.Ticket(b"all")).read_all()
            seconds = time.perf_counter() - started
            runs.append({"rows": table.num_rows, "bytes": table.nbytes, "seconds": seconds})
        return best(runs)
    finally:
        proc.kill()
        proc.wait()


def concurrent(uri, rows, clients, repeat):
    """`clients` connections made and warmed first; then each fetches a
    `clients`-th of the rows at the same moment; the wall time of that."""
    import threading

    part = rows // clients
    conns = [flight_sql.connect(uri, autocommit=True) for _ in range(clients)]
    try:
        for c in conns:
            with c.cursor() as cur:
                cur.execute("SELECT 1 AS warm")
                cur.fetchall()
        runs = []
        for _ in range(repeat):
            barrier = threading.Barrier(clients + 1)

            def fetch(conn):
                with conn.cursor() as cur:
                    barrier.wait()
                    cur.execute(query(part))
                    t = cur.fetch_arrow_table()
                return t.num_rows, t.nbytes

            with cf.ThreadPoolExecutor(clients) as pool:
                futures = [pool.submit(fetch, c) for c in conns]
                barrier.wait()
                started = time.perf_counter()
                results = [f.result() for f in futures]
                seconds = time.perf_counter() - started
            runs.append(
                {
                    "rows": sum(r[0] for r in results),
                    "bytes": sum(r[1] for r in results),
                    "seconds": seconds,
                }
            )
        return best(runs)
    finally:
        for c in conns:
            c.close()


def flight_via_serve(uri, sql, repeat):
    """fsql serve fetched by pyarrow's C++ Flight client (no ADBC): a
    CommandStatementQuery by hand, then DoGet."""
    q = sql.encode()

    def varint(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    command = b"\x0a" + varint(len(q)) + q
    type_url = b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"
    any_msg = b"\x0a" + varint(len(type_url)) + type_url + b"\x12" + varint(len(command)) + command
    client = fl.connect(uri)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        info = client.get_flight_info(fl.FlightDescriptor.for_command(any_msg))
        table = client.do_get(info.endpoints[0].ticket).read_all()
        seconds = time.perf_counter() - started
        runs.append({"rows": table.num_rows, "bytes": table.nbytes, "seconds": seconds})
    return best(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql")
    ap.add_argument("anchor")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", type=int, default=32)
    a = ap.parse_args()

    results = {"rows": a.rows, "clients": a.clients, "cpus": os.cpu_count()}
    results["in-process"] = inproc(a.anchor, a.rows, a.repeat)
    port = free_port()
    server = subprocess.Popen(
        [a.fsql, "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        server.stdout.readline()
        uri = f"grpc://127.0.0.1:{port}"
        results["adbc"] = best([adbc_fetch(uri, query(a.rows)) for _ in range(a.repeat)])
        results["adbc-concurrent"] = concurrent(uri, a.rows, a.clients, a.repeat)
        results["flight-via-serve"] = flight_via_serve(uri, query(a.rows), a.repeat)
    finally:
        server.terminate()
        server.wait()
    results["loopback-flight"] = loopback(a.rows, a.repeat)

    def rate(r):
        return r["rows"] / r["seconds"], r["bytes"] / r["seconds"] / 1e6

    lines = [
        f"# fsql serve fetch throughput, {datetime.date.today()}",
        "",
        f"{a.rows:,} rows x 5 columns (int64/float64), best of {a.repeat}; {os.cpu_count()} CPUs; "
        "server and clients on this machine.",
        "",
        "| path | seconds | rows/s | MB/s | vs in-process |",
        "|---|---:|---:|---:|---:|",
    ]
    base = rate(results["in-process"])[0]
    for key, label in [
        ("in-process", "fsql in-process (anchor)"),
        ("adbc", "ADBC via fsql serve, 1 client"),
        ("adbc-concurrent", f"ADBC via fsql serve, {a.clients} clients at once (total)"),
        ("flight-via-serve", "pyarrow's Flight client via fsql serve (no ADBC)"),
        ("loopback-flight", "plain Flight DoGet of pre-built batches (loopback limit)"),
    ]:
        r = results[key]
        rows_s, mb_s = rate(r)
        lines.append(
            f"| {label} | {r['seconds']:.2f} | {rows_s:,.0f} | {mb_s:,.0f} | {rows_s / base:.2f} |"
        )
    single = rate(results["adbc"])[0]
    many = rate(results["adbc-concurrent"])[0]
    lines += [
        "",
        f"ADBC fetch / in-process: {single / base:.2f} (goal >= 0.80); "
        f"{a.clients} clients / 1 client: {many / single:.2f} (goal >= 0.90); "
        f"ADBC / loopback limit: {single / rate(results['loopback-flight'])[0]:.2f}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    stamp = datetime.date.today().isoformat()
    out = os.path.join(ROOT, "bench", "results", f"serve-{stamp}")
    with open(out + ".json", "w") as f:
        json.dump(results, f, indent=2)
    with open(out + ".md", "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
