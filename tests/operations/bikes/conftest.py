"""The Citi Bike Jersey City month, read once per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shared_data import shared_data
from twonets.operations.bikes import trips


@pytest.fixture(scope="session")
def citibike_file() -> Path:
    """The untouched Citi Bike CSV of April 2017 (21,186 trips)."""
    return shared_data("citibike_jc_201704", "JC-201704-citibike-tripdata.csv")


@pytest.fixture(scope="session")
def citibike(citibike_file: Path) -> pd.DataFrame:
    """Its trips, read by our reader."""
    return trips.read_trips(citibike_file)
