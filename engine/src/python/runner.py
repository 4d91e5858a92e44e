"""fsql's Python worker: runs a user's plain function the way FugueSQL does.

fsql starts this once per worker (`python -c <this file>`) and keeps it for
many jobs. Frames both ways: 4-byte little-endian length, 1-byte tag, payload
(engine/src/python/worker.rs has the other side).

fsql -> worker
  L {"code"}                        list the functions a file defines
  D {"code", "function", "op"}      describe a function's signature
  J {"code", "function", "op", "params", "inputs", "schema"}
    then S <Arrow IPC schema> when "schema" is true,
    then per group B and `inputs` G <Arrow IPC stream> frames, then Z
worker -> fsql
  H {"python", "pandas", "pyarrow"} once, at start (or E when an import fails)
  J {...}                           the answer to L and D
  per group: R <Arrow IPC stream> (an answer) or K (no answer), or E
  {"message", "traceback"}; after an E the rest of the job's groups are read
  and dropped (so the worker stays usable); Z at the end.

The user's prints go to stderr (fd 1 is pointed at it), never into the frames.
"""

import collections.abc
import hashlib
import inspect
import json
import linecache
import os
import struct
import sys
import threading
import time
import traceback
import types
import typing

PROTO_IN = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
PROTO_OUT = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
os.dup2(2, 1)
sys.stdout = sys.stderr
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)


def send(tag, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    PROTO_OUT.write(struct.pack("<I", len(payload) + 1))
    PROTO_OUT.write(tag)
    PROTO_OUT.write(payload)


def send_json(tag, value):
    send(tag, json.dumps(value, default=str))


def receive():
    head = PROTO_IN.read(4)
    if len(head) < 4:
        return None, None
    (n,) = struct.unpack("<I", head)
    body = PROTO_IN.read(n)
    if len(body) < n or n < 1:
        return None, None
    return body[:1], memoryview(body)[1:]


def watch_parent():
    """Exits when fsql is gone (its pipes may be held by a grandchild)."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(3)


threading.Thread(target=watch_parent, daemon=True).start()

try:
    import pyarrow as pa
    import pandas as pd
except ImportError as e:
    send_json(
        b"E",
        {
            "message": f"{sys.executable} cannot import {e.name or e}: fsql runs Python "
            f"functions with pandas and pyarrow. Install them with: "
            f"{sys.executable} -m pip install pandas pyarrow"
        },
    )
    PROTO_OUT.flush()
    sys.exit(0)

# fugue's pandas types for Arrow columns (ArrowDataFrame.as_pandas): nullable
# extension dtypes, so integers with NULLs stay integers.
PANDAS_TYPES = {
    pa.int8(): pd.Int8Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.float32(): pd.Float32Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.bool_(): pd.BooleanDtype(),
}

# ---------------------------------------------------------------- user code

MODULES = {}


def load(code):
    """The user's module: a shipped file (cached by content) or an import."""
    if code["kind"] == "module":
        import importlib

        return importlib.import_module(code["name"])
    key = code["hash"]
    if key in MODULES:
        return MODULES[key]
    path = code["path"]
    source = code["source"]
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.insert(0, folder)
    # Tracebacks and schema-hint comments read the source through linecache,
    # also where the file does not exist (a cluster executor).
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    name = os.path.splitext(os.path.basename(path))[0] or "udf"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    exec(compile(source, path, "exec"), module.__dict__)
    MODULES[key] = module
    return module


def functions_of(module):
    return sorted(
        n
        for n, v in vars(module).items()
        if inspect.isfunction(v) and v.__module__ == module.__name__ and not n.startswith("_")
    )


# ------------------------------------------------------- fugue's interfaces

KINDS = {
    "pandas": "pd.DataFrame",
    "arrow": "pa.Table",
    "list_list": "List[List[Any]]",
    "list_dict": "List[Dict[str, Any]]",
    "iter_list": "Iterable[List[Any]]",
    "iter_dict": "Iterable[Dict[str, Any]]",
    "iter_pandas": "Iterable[pd.DataFrame]",
    "iter_arrow": "Iterable[pa.Table]",
}
ITERABLES = (
    collections.abc.Iterable,
    collections.abc.Iterator,
    collections.abc.Generator,
)


def _is_any(t):
    return t is typing.Any


def _row_kind(t):
    """list / dict rows: List[Any], Dict[str, Any] (typing or builtin)."""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list and len(args) == 1 and _is_any(args[0]):
        return "list"
    if origin is dict and len(args) == 2 and args[0] is str and _is_any(args[1]):
        return "dict"
    return None


def kind_of(t):
    """The fugue interface an annotation names, or None."""
    if t is inspect.Parameter.empty:
        return None
    if t is pd.DataFrame:
        return "pandas"
    if t is pa.Table:
        return "arrow"
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list and len(args) == 1:
        row = _row_kind(args[0])
        return f"list_{row}" if row else None
    if origin in ITERABLES and len(args) >= 1:
        inner = args[0]
        if inner is pd.DataFrame:
            return "iter_pandas"
        if inner is pa.Table:
            return "iter_arrow"
        row = _row_kind(inner)
        return f"iter_{row}" if row else None
    return None


def describe(module, name, op):
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        raise LookupError(f"no function '{name}' in {module.__name__}")
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = getattr(fn, "__annotations__", {})
    sig = inspect.signature(fn)
    frames, params, required, var_kw = [], [], [], False
    for p in sig.parameters.values():
        if p.kind == p.VAR_KEYWORD:
            var_kw = True
            continue
        if p.kind == p.VAR_POSITIONAL:
            raise TypeError(f"*{p.name}: fugue's interfaces take no *args")
        k = kind_of(hints.get(p.name, inspect.Parameter.empty))
        if k is not None and not params:
            frames.append(k)
            continue
        if k is not None:
            raise TypeError(
                f"dataframe parameter '{p.name}' comes after other parameters; "
                "dataframes come first"
            )
        params.append(p.name)
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
    ret = hints.get("return", inspect.Parameter.empty)
    out = "none" if ret is None or ret is type(None) else kind_of(ret)
    hint = None
    for line in reversed((inspect.getcomments(fn) or "").splitlines()):
        start = line.find(":")
        if start <= 0 or line[:start].replace("#", "", 1).strip() != "schema":
            continue
        end = line.find("#", start)
        hint = line[start + 1 : (end if end > 0 else len(line))].strip()
        break
    return {
        "frames": frames,
        "params": params,
        "required": required,
        "var_kw": var_kw,
        "output": out,
        "output_annotation": None if ret is inspect.Parameter.empty else repr(ret),
        "schema_hint": hint,
        "doc": (inspect.getdoc(fn) or "").split("\n")[0],
    }


def to_input(table, kind):
    if kind == "arrow":
        return table
    if kind == "pandas":
        return table.to_pandas(
            types_mapper=PANDAS_TYPES.get, use_threads=False, date_as_object=False
        )
    if kind == "list_dict":
        return table.to_pylist()
    if kind == "list_list":
        return [list(r) for r in zip(*(c.to_pylist() for c in table.columns))]
    if kind == "iter_dict":
        return iter(table.to_pylist())
    if kind == "iter_list":
        return (list(r) for r in zip(*(c.to_pylist() for c in table.columns)))
    if kind == "iter_pandas":
        return iter([to_input(table, "pandas")])
    if kind == "iter_arrow":
        return iter([table])
    raise AssertionError(kind)


class AnswerError(Exception):
    """The function's answer does not fit the declared schema."""


def _select(names, present, what):
    missing = [n for n in names if n not in present]
    if missing:
        raise AnswerError(
            f"the {what} it returned has no column {', '.join(map(repr, missing))} "
            f"(SCHEMA: {', '.join(names)}; it returned: {', '.join(map(str, present))})"
        )


def from_pandas(df, schema):
    if not isinstance(df, pd.DataFrame):
        raise AnswerError(f"it returned {type(df).__name__}, not a pandas DataFrame")
    if schema is None:
        return pa.Table.from_pandas(df, preserve_index=False)
    _select(schema.names, list(df.columns), "DataFrame")
    return conformed(pa.Table.from_pandas(df[schema.names], preserve_index=False), schema)


def conformed(table, schema):
    """`table` in `schema`'s types where pyarrow casts safely; otherwise as it
    is (fsql casts it, or says which column does not fit)."""
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError):
        return table


def from_arrow(t, schema):
    if not isinstance(t, pa.Table):
        raise AnswerError(f"it returned {type(t).__name__}, not a pyarrow Table")
    if schema is None:
        return t
    _select(schema.names, t.column_names, "table")
    return conformed(t.select(schema.names), schema)


def from_rows(rows, schema, dicts):
    if schema is None:
        raise AnswerError("a function returning rows needs a SCHEMA (or a # schema: hint)")
    names = schema.names
    columns = [[] for _ in names]
    for row in rows:
        values = [row[n] for n in names] if dicts else row
        if len(values) != len(names):
            raise AnswerError(f"a row has {len(values)} values; SCHEMA has {len(names)} columns")
        for c, v in zip(columns, values):
            c.append(v)
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, schema)], schema=schema
    )


def to_output(value, kind, schema):
    if kind == "pandas":
        return [from_pandas(value, schema)]
    if kind == "arrow":
        return [from_arrow(value, schema)]
    if kind in ("list_list", "iter_list"):
        return [from_rows(value, schema, False)]
    if kind in ("list_dict", "iter_dict"):
        return [from_rows(value, schema, True)]
    if kind == "iter_pandas":
        return [from_pandas(d, schema) for d in value]
    if kind == "iter_arrow":
        return [from_arrow(t, schema) for t in value]
    raise AssertionError(kind)


def ipc(tables, schema):
    """One Arrow IPC stream of the answer's tables (in the first one's types)."""
    if tables:
        schema = tables[0].schema
    elif schema is None:
        raise AnswerError("it returned no dataframe, so its columns are unknown: give a SCHEMA")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as w:
        for t in tables:
            w.write_table(t if t.schema == schema else t.cast(schema))
    return sink.getvalue()


# ------------------------------------------------------------------- jobs


def user_traceback(e):
    """The traceback without this file's frames nor the import machinery's
    (the user's code and what it called)."""
    te = traceback.TracebackException.from_exception(e)
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if f.filename != "<string>" and "importlib" not in f.filename]
    )
    return "".join(te.format())


def run_job(header):
    """One job: the function over each group fsql sends (B, then one G per input)."""
    try:
        module = load(header["code"])
        fn = getattr(module, header["function"])
        d = describe(module, header["function"], header["op"])
        failure = None
    except BaseException as e:
        failure = {"message": f"{type(e).__name__}: {e}", "traceback": user_traceback(e)}
    schema = None
    if header["schema"]:
        tag, body = receive()
        if tag != b"S":
            raise EOFError("expected the output schema")
        schema = pa.ipc.open_stream(pa.py_buffer(body)).schema
    if failure is not None:
        send_json(b"E", failure)
    params = header["params"]
    answers = header["op"] in ("transform", "process", "create")
    while True:
        tag, body = receive()
        if tag is None:
            raise EOFError("fsql closed the pipe")
        if tag == b"Z":
            send(b"Z")
            return
        if tag != b"B":
            raise EOFError(f"expected a group, got {tag!r}")
        frames = []
        for _ in range(header["inputs"]):
            tag, body = receive()
            if tag != b"G":
                raise EOFError(f"expected a dataframe, got {tag!r}")
            frames.append(body)
        if failure is not None:
            continue
        try:
            tables = [pa.ipc.open_stream(pa.py_buffer(f)).read_all() for f in frames]
            args = [to_input(t, k) for t, k in zip(tables, d["frames"])]
            value = fn(*args, **params)
            if answers:
                send(b"R", ipc(to_output(value, d["output"], schema), schema))
            else:
                if isinstance(value, collections.abc.Iterator):
                    for _ in value:  # a generator runs only when consumed
                        pass
                send(b"K")
        except AnswerError as e:
            failure = {"message": str(e), "traceback": ""}
            send_json(b"E", failure)
        except BaseException as e:  # the user's exception, with its traceback
            failure = {"message": f"{type(e).__name__}: {e}", "traceback": user_traceback(e)}
            send_json(b"E", failure)
        PROTO_OUT.flush()


def main():
    send_json(
        b"H",
        {
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
        },
    )
    PROTO_OUT.flush()
    while True:
        tag, body = receive()
        if tag is None:
            return
        try:
            request = json.loads(bytes(body))
            if tag == b"L":
                send_json(b"J", {"functions": functions_of(load(request["code"]))})
            elif tag == b"D":
                module = load(request["code"])
                send_json(b"J", describe(module, request["function"], request["op"]))
            elif tag == b"J":
                run_job(request)
            else:
                raise ValueError(f"unknown request {tag!r}")
        except EOFError:
            return
        except BaseException as e:
            send_json(b"E", {"message": f"{type(e).__name__}: {e}", "traceback": user_traceback(e)})
        PROTO_OUT.flush()


main()
