"""Per-store linear sales trend: the pandas code a team already has, run
per store by fsql (examples/03_transform.fsql)."""

import pandas as pd

from fsql_transform import run


def trend(df: pd.DataFrame, min_days: int = 2) -> pd.DataFrame:
    """Least-squares line amount = intercept + slope * day for one store."""
    df = df.dropna(subset=["amount"])
    if len(df) < min_days:
        return pd.DataFrame({"store": [], "days": [], "slope": [], "intercept": []})
    x, y = df["day"].astype(float), df["amount"]
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return pd.DataFrame(
        {
            "store": [df["store"].iloc[0]],
            "days": [len(df)],
            "slope": [round(slope, 6)],
            "intercept": [round(y.mean() - slope * x.mean(), 6)],
        }
    )


if __name__ == "__main__":
    run(trend)
