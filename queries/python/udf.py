"""Plain Python functions, as a FugueSQL user writes them (no fsql import):
the golden files in this folder run them with `--udf queries/python/udf.py`
on every engine, and `tests/python_functions.rs` runs the same script on
real fugue to compare."""

import os
import time
from typing import Any, Dict, Iterable, List

import pandas as pd
import pyarrow as pa


# schema: *, running_qty:long
def add_running_qty(df: pd.DataFrame) -> pd.DataFrame:
    """pandas in, pandas out; the schema from the comment above."""
    df = df.copy()
    df["running_qty"] = df["qty"].cumsum()
    return df


def dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """The pandas dtypes a group arrives with (nullable integers stay integers)."""
    return pd.DataFrame({"column": list(df.columns), "dtype": [str(t) for t in df.dtypes]})


def scaled(df: List[Dict[str, Any]], scale: int = 1) -> List[Dict[str, Any]]:
    """Rows as dicts; a PARAMS value with a default."""
    return [{"product": r["product"], "qty": None if r["qty"] is None else r["qty"] * scale} for r in df]


def first_rows(df: Iterable[Dict[str, Any]]) -> Iterable[Dict[str, Any]]:
    """A generator of dicts: only the first row of each group."""
    for r in df:
        yield r
        return


def as_lists(df: List[List[Any]]) -> List[List[Any]]:
    """Rows as lists, in the input's column order."""
    return [[r[0], len(df)] for r in df[:1]]


def iter_lists(df: Iterable[List[Any]], n: int) -> Iterable[List[Any]]:
    for i, r in enumerate(df):
        if i < n:
            yield [r[0], r[1]]


def pandas_chunks(df: Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    for part in df:
        yield part[["product"]].assign(rows=len(part))


def arrow_count(df: pa.Table) -> pa.Table:
    return pa.table({"product": [df.column("product")[0].as_py()], "n": [df.num_rows]})


def arrow_chunks(df: Iterable[pa.Table]) -> Iterable[pa.Table]:
    for t in df:
        yield t.select(["product", "id"])


def both(sales: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """A co-transform: one key's rows of both dataframes."""
    price = prices["price"].iloc[0] if len(prices) else None
    return pd.DataFrame(
        {"product": [sales["product"].iloc[0] if len(sales) else prices["product"].iloc[0]],
         "sold": [int(sales["qty"].fillna(0).sum())],
         "price": [price]}
    )


def make(n: int, start: int = 0) -> pd.DataFrame:
    """A creator: a dataframe from PARAMS alone (the schema is inferred)."""
    return pd.DataFrame({"i": list(range(start, start + n)), "s": [f"s{i}" for i in range(n)]})


# schema: i:int, s:str
def make_rows(n: int) -> List[List[Any]]:
    return [[i, f"r{i}"] for i in range(n)]


def summary(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """A processor: the whole dataframe at once, any output."""
    return pd.DataFrame({"rows": [len(df)], "total": [df[column].sum()]})


def merge_counts(a: pa.Table, b: pa.Table) -> pa.Table:
    return pa.table({"a": [a.num_rows], "b": [b.num_rows]})


def save_csv(df: pd.DataFrame, path: str) -> None:
    """An outputter: side effects only."""
    df.sort_values(list(df.columns)).to_csv(path, index=False)


def append_group(df: pd.DataFrame, folder: str) -> None:
    """Per group (OUTTRANSFORM): one file per key."""
    key = df["product"].iloc[0]
    df.to_csv(os.path.join(folder, f"{key}.csv"), index=False)


# Functions that fail, for the error records.
def boom(df: pd.DataFrame) -> pd.DataFrame:
    raise ValueError(f"boom on {df['product'].iloc[0]}")


def crash(df: pd.DataFrame) -> pd.DataFrame:
    os._exit(3)


def slow(df: pd.DataFrame) -> pd.DataFrame:
    time.sleep(60)
    return df


def no_annotations(df):
    return df


def returns_int(df: pd.DataFrame) -> int:
    return 1


def wrong_columns(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"other": [1]})
