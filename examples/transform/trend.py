"""Per-store linear sales trend: the pandas code a team already has, run
per store by fsql unchanged (examples/03_transform.fsql), exactly as
FugueSQL runs it:

    fsql run examples/03_transform.fsql --udf examples/transform/trend.py
"""

import pandas as pd


# schema: store:int, days:long, slope:double, intercept:double
def trend(df: pd.DataFrame, min_days: int = 2) -> pd.DataFrame:
    """Least-squares line amount = intercept + slope * day for one store."""
    df = df.dropna(subset=["amount"])
    if len(df) < min_days:
        return pd.DataFrame({"store": [], "days": [], "slope": [], "intercept": []})
    x, y = df["day"].astype(float), df["amount"].astype(float)
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return pd.DataFrame(
        {
            "store": [df["store"].iloc[0]],
            "days": [len(df)],
            "slope": [round(slope, 6)],
            "intercept": [round(y.mean() - slope * x.mean(), 6)],
        }
    )
