"""Run a pandas function on every group fsql hands to a TRANSFORM.

fsql starts the program once per physical partition and writes, for each
group in order, one Arrow IPC stream per input dataframe to its stdin (one
for TRANSFORM, one per zipped dataframe after ZIP). The program answers each
group with one Arrow IPC stream on stdout. See docs/transform.md.

    from fsql_transform import run

    def per_group(df, **params):      # a pandas DataFrame in, one out
        ...

    run(per_group)

PARAMS of the statement arrive as keyword arguments (fsql's own `timeout`
excepted); `keys()` gives the PREPARTITION BY columns. Columns of the answer
are matched to the SCHEMA by name and cast to its types by fsql.
"""

import json
import os
import sys

import pyarrow as pa


def keys():
    """The partition key columns (PREPARTITION BY / ZIP BY)."""
    return json.loads(os.environ.get("FSQL_KEYS", "[]"))


def params():
    """The statement's PARAMS."""
    return json.loads(os.environ.get("FSQL_PARAMS", "{}"))


def groups():
    """Yields each group as a list of pyarrow Tables (one per input)."""
    source = sys.stdin.buffer
    inputs = int(os.environ.get("FSQL_INPUTS", "1"))
    while source.peek(1):
        yield [pa.ipc.open_stream(source).read_all() for _ in range(inputs)]


def answer(table, sink=None):
    """Writes one group's answer (a pyarrow Table) to stdout."""
    sink = sink or sys.stdout.buffer
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    sink.flush()


def run(fn):
    """Calls fn(df, ..., **params) with pandas DataFrames for every group
    and answers with the DataFrame it returns."""
    kwargs = params()
    for tables in groups():
        result = fn(*[t.to_pandas() for t in tables], **kwargs)
        answer(pa.Table.from_pandas(result, preserve_index=False))
