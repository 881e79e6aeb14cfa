"""Demand per cell and hour for the next 24 hours: a seasonal baseline and a learned model.

Both work on the full grid of cells × hours (an hour with no trip start is a 0, not a gap),
with hours in the city's local time for the calendar features.

- **Baseline**: the mean of the same hour of the week in the training days, per cell.
- **Learned**: scikit-learn's ``HistGradientBoostingRegressor`` (Poisson loss: counts; shallow
  trees, large leaves) on the cell's mean hourly demand, its mean at that hour on working days
  or at weekends, the hour of day and whether it is a weekend. Pooling the cells and the days
  of a kind is what beats the baseline: an hour of the week is seen only 3–4 times a month,
  an hour of a working day 15–20 times. (Richer features — the hour-of-week mean itself,
  yesterday's demand, the city's total yesterday — made it worse on the Citi Bike month.)

``evaluate`` holds out the last ``holdout_days`` whole days, fits on the days before and
reports the mean absolute error of both over the held-out cells × hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

FEATURES = ("cell_mean", "hod_mean", "hour", "weekend")


@dataclass(frozen=True)
class Evaluation:
    """Mean absolute errors over the held-out days, and what they were computed on."""

    baseline_mae: float
    learned_mae: float
    cells: int
    train_days: int
    holdout_days: int

    def as_json(self) -> dict[str, float | int]:
        """The figures as the ``forecast`` command prints them."""
        return {
            "baseline_mae": round(self.baseline_mae, 4),
            "learned_mae": round(self.learned_mae, 4),
            "cells": self.cells,
            "train_days": self.train_days,
            "holdout_days": self.holdout_days,
        }


def demand_grid(starts: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Trip starts per cell on every local hour of the whole days covered, zeros included.

    ``starts`` has ``cell`` and ``hour`` (UTC) and ``starts`` columns (a heat table will do);
    only rows with starts count, so late arrivals do not stretch the days.
    """
    starts = starts[starts["starts"] > 0]
    local = starts["hour"].dt.tz_convert(timezone).dt.tz_localize(None)
    first = local.min().normalize()
    last = local.max().normalize() + pd.Timedelta(days=1)
    hours = pd.date_range(first, last, freq="h", inclusive="left")
    cell_names = sorted(starts["cell"].unique())
    index = pd.MultiIndex.from_product([cell_names, hours], names=["cell", "local_hour"])
    counts = (
        pd.DataFrame({"cell": starts["cell"], "local_hour": local, "starts": starts["starts"]})
        .groupby(["cell", "local_hour"])["starts"]
        .sum()
    )
    grid = counts.reindex(index, fill_value=0).reset_index()
    grid["starts"] = grid["starts"].astype(float)
    grid["day"] = grid["local_hour"].dt.normalize()
    grid["hour"] = grid["local_hour"].dt.hour
    grid["weekday"] = grid["local_hour"].dt.day_of_week
    grid["how"] = grid["weekday"] * 24 + grid["hour"]
    return grid


def _features(grid: pd.DataFrame, train: pd.Series) -> pd.DataFrame:
    fitted = grid[train]
    how_mean = fitted.groupby(["cell", "how"])["starts"].mean().rename("how_mean")
    cell_mean = fitted.groupby("cell")["starts"].mean().rename("cell_mean")
    out = grid.join(how_mean, on=["cell", "how"]).join(cell_mean, on="cell")
    out["how_mean"] = out["how_mean"].fillna(out["cell_mean"]).fillna(0.0)
    out["cell_mean"] = out["cell_mean"].fillna(0.0)
    out["weekend"] = (out["weekday"] >= 5).astype(int)
    hod_mean = out[train].groupby(["cell", "hour", "weekend"])["starts"].mean().rename("hod_mean")
    out = out.join(hod_mean, on=["cell", "hour", "weekend"])
    out["hod_mean"] = out["hod_mean"].fillna(out["how_mean"])
    return out


def _fitted(features: pd.DataFrame, target: pd.Series) -> HistGradientBoostingRegressor:
    # One thread: on a busy shared machine the trees' OpenMP threads wait on each other
    # (a month of 481 cells fitted in 30 s with two threads, 1.5 s with one).
    with threadpool_limits(limits=1, user_api="openmp"):
        return _model().fit(features, target)


def _predicted(model: HistGradientBoostingRegressor, features: pd.DataFrame) -> np.ndarray:
    with threadpool_limits(limits=1, user_api="openmp"):
        out: np.ndarray = np.clip(model.predict(features), 0.0, None)
    return out


def _model() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss="poisson",
        max_iter=150,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=50,
        random_state=0,
    )


def evaluate(starts: pd.DataFrame, *, timezone: str, holdout_days: int = 7) -> Evaluation:
    """Fit on all but the last ``holdout_days`` days; MAE of both forecasts on those days."""
    grid = demand_grid(starts, timezone)
    days = sorted(grid["day"].unique())
    if len(days) < holdout_days + 14:
        raise ValueError(
            f"the data covers {len(days)} days: at least {holdout_days + 14} are needed"
        )
    cut = days[-holdout_days]
    train = grid["day"] < cut
    frame = _features(grid, train)
    model = _fitted(frame.loc[train, list(FEATURES)], frame.loc[train, "starts"])
    test = frame[~train]
    learned = _predicted(model, test[list(FEATURES)])
    truth = test["starts"].to_numpy()
    return Evaluation(
        baseline_mae=float(np.mean(np.abs(test["how_mean"].to_numpy() - truth))),
        learned_mae=float(np.mean(np.abs(learned - truth))),
        cells=int(grid["cell"].nunique()),
        train_days=len(days) - holdout_days,
        holdout_days=holdout_days,
    )


def next_day(
    starts: pd.DataFrame, *, timezone: str, start: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Forecast demand per cell for 24 hours (``cell``, ``hour`` in UTC, ``demand``), by the
    learned model fitted on all days: the day after the data, or the 24 hours from ``start``
    (an aware time, floored to the hour; it should not fall inside the data's days)."""
    grid = demand_grid(starts, timezone)
    if start is None:
        first_hour = grid["day"].max() + pd.Timedelta(days=1)
    else:
        first_hour = start.tz_convert(timezone).tz_localize(None).floor("h")
    future_hours = pd.date_range(first_hour, periods=24, freq="h")
    future = pd.MultiIndex.from_product(
        [sorted(grid["cell"].unique()), future_hours], names=["cell", "local_hour"]
    ).to_frame(index=False)
    future["starts"] = np.nan
    future["day"] = future["local_hour"].dt.normalize()
    future["hour"] = future["local_hour"].dt.hour
    future["weekday"] = future["local_hour"].dt.day_of_week
    future["how"] = future["weekday"] * 24 + future["hour"]
    both = pd.concat([grid, future], ignore_index=True).sort_values(["cell", "local_hour"])
    train = both["starts"].notna()
    frame = _features(both, train)
    model = _fitted(frame.loc[train, list(FEATURES)], frame.loc[train, "starts"])
    ahead = frame[~train]
    demand = _predicted(model, ahead[list(FEATURES)])
    hours_utc = ahead["local_hour"].dt.tz_localize(timezone, nonexistent="shift_forward")
    return pd.DataFrame(
        {
            "cell": ahead["cell"].to_numpy(),
            "hour": hours_utc.dt.tz_convert("UTC").to_numpy(),
            "demand": demand.round(3),
        }
    )
