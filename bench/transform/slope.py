"""Per-group least-squares slope in pandas (the TRANSFORM benchmark's user
code): one row per group."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "transform"))

import pandas as pd  # noqa: E402

from fsql_transform import run  # noqa: E402


def slope(df: pd.DataFrame) -> pd.DataFrame:
    x, y = df["x"], df["y"]
    dx = x - x.mean()
    s = (dx * (y - y.mean())).sum() / (dx * dx).sum()
    return pd.DataFrame({"g": [df["g"].iloc[0]], "n": [len(df)], "slope": [s]})


if __name__ == "__main__":
    run(slope)
