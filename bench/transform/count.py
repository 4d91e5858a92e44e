"""The cheapest answer a program can give (pyarrow only, no pandas): each
group's row count. Measures fsql's protocol and process costs."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "transform"))

import pyarrow as pa  # noqa: E402

from fsql_transform import answer, groups  # noqa: E402

for (table,) in groups():
    answer(pa.table({"n": pa.array([table.num_rows], pa.int64())}))
