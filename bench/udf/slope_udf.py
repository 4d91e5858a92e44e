"""The per-group pandas function of the Python-function benchmark: a plain
function, run unchanged by fsql (--udf) and by fugue."""

import pandas as pd


# schema: g:int, n:long, slope:double
def slope(df: pd.DataFrame) -> pd.DataFrame:
    x, y = df["x"], df["y"]
    dx = x - x.mean()
    s = (dx * (y - y.mean())).sum() / (dx * dx).sum()
    return pd.DataFrame({"g": [df["g"].iloc[0]], "n": [len(df)], "slope": [s]})


# schema: g:int, n:long
def count(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"g": [df["g"].iloc[0]], "n": [len(df)]})
