"""GBFS free-bike and station feeds read as parked-bike snapshots."""

from __future__ import annotations

import pandas as pd
import pytest

from twonets.operations.bikes import gbfs
from twonets.operations.bikes.trips import BikeDataError

UPDATED = 1_796_601_600  # 2026-12-07T00:00:00Z


def test_free_bikes_skip_reserved_and_disabled() -> None:
    document = {
        "last_updated": UPDATED,
        "ttl": 60,
        "data": {
            "bikes": [
                {"bike_id": "a1", "lat": 31.2304, "lon": 121.4737, "is_reserved": False},
                {"bike_id": "a2", "lat": 31.24, "lon": 121.48, "is_reserved": True},
                {"bike_id": "a3", "lat": 31.25, "lon": 121.49, "is_disabled": True},
            ]
        },
    }
    parked = gbfs.free_bikes(document, "hello")
    assert parked["bike_id"].tolist() == ["a1"]
    assert parked["seen_at"].iloc[0] == pd.Timestamp("2026-12-07T00:00:00Z")


def test_station_feeds_give_one_row_per_available_bike() -> None:
    information = {
        "last_updated": UPDATED,
        "data": {"stations": [{"station_id": "s1", "lat": 31.23, "lon": 121.47}]},
    }
    status = {
        "last_updated": UPDATED,
        "data": {"stations": [{"station_id": "s1", "num_bikes_available": 3}]},
    }
    parked = gbfs.station_bikes(information, status, "citibike")
    assert parked["bike_id"].tolist() == ["s1#1", "s1#2", "s1#3"]


def test_bad_entries_are_named() -> None:
    document = {"last_updated": UPDATED, "data": {"bikes": [{"bike_id": "a", "lat": 95, "lon": 1}]}}
    with pytest.raises(BikeDataError, match=r"free_bike_status, row 1, column lat"):
        gbfs.free_bikes(document, "hello")
    with pytest.raises(BikeDataError, match=r"row 1, column lon: missing"):
        gbfs.free_bikes(
            {"last_updated": UPDATED, "data": {"bikes": [{"bike_id": "a", "lat": 1}]}}, "x"
        )
    with pytest.raises(BikeDataError, match="last_updated"):
        gbfs.free_bikes({"data": {"bikes": []}}, "x")
    information = {"last_updated": UPDATED, "data": {"stations": []}}
    status = {
        "last_updated": UPDATED,
        "data": {"stations": [{"station_id": "s9", "num_bikes_available": 1}]},
    }
    with pytest.raises(BikeDataError, match="not in station_information"):
        gbfs.station_bikes(information, status, "x")
