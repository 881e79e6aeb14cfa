"""The learned forecast beats the hour-of-week baseline on the last week of the Citi Bike month."""

from __future__ import annotations

import pandas as pd
import pytest

from twonets.operations.bikes import forecast, heat


@pytest.fixture(scope="module")
def table(citibike: pd.DataFrame) -> pd.DataFrame:
    return heat.heat_table(citibike, resolution=8)


def test_learned_beats_the_seasonal_baseline_on_held_out_days(table: pd.DataFrame) -> None:
    result = forecast.evaluate(table, timezone="America/New_York", holdout_days=7)
    assert (result.train_days, result.holdout_days) == (23, 7)
    assert result.cells >= 20
    assert 0 < result.learned_mae < result.baseline_mae
    assert result.as_json()["learned_mae"] == round(result.learned_mae, 4)


def test_next_day_forecasts_each_cell_for_24_hours(table: pd.DataFrame) -> None:
    ahead = forecast.next_day(table, timezone="America/New_York")
    assert len(ahead) == ahead["cell"].nunique() * 24
    assert (ahead["demand"] >= 0).all()
    # 1 May 2017, New York midnight is 04:00 UTC.
    assert ahead["hour"].min() == pd.Timestamp("2017-05-01 04:00", tz="UTC")


def test_too_few_days_are_refused(table: pd.DataFrame) -> None:
    first_week = table[table["hour"] < pd.Timestamp("2017-04-10", tz="UTC")]
    with pytest.raises(ValueError, match="at least 21 are needed"):
        forecast.evaluate(first_week, timezone="America/New_York", holdout_days=7)
