"""Camera and drone sightings matched to the truck that was there."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.geo import haversine_m
from twonets.operations.trucks.models import (
    Truck,
    TruckPosition,
)


@dataclass(frozen=True)
class Sighting:
    """The truck a camera or drone event is matched to: its fix nearest in space and time."""

    plate: str
    time: datetime
    lon: float
    lat: float
    distance_m: float
    seconds: float


def match_sighting(
    session: Session,
    *,
    lon: float,
    lat: float,
    at: datetime,
    radius_m: float = 150.0,
    window_seconds: float = 120.0,
) -> Sighting | None:
    """The truck that was at ``(lon, lat)`` (WGS-84) at ``at``: of the fixes within
    ``radius_m`` and ``window_seconds``, the one nearest when a second counts as much as a
    metre at 36 km/h (10 m). None when no truck was there. (The intake of camera and drone
    events over MQTT that will call this is not built yet.)"""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    window = timedelta(seconds=window_seconds)
    best: tuple[float, Sighting] | None = None
    for plate, when, x, y in session.execute(
        select(Truck.plate, TruckPosition.time, TruckPosition.lon, TruckPosition.lat)
        .join(Truck, Truck.id == TruckPosition.truck_id)
        .where(
            TruckPosition.time.between(at - window, at + window),
            TruckPosition.lat.between(lat - dlat, lat + dlat),
            TruckPosition.lon.between(lon - dlon, lon + dlon),
        )
    ):
        metres = haversine_m(lon, lat, x, y)
        if metres > radius_m:
            continue
        seconds = abs((when - at).total_seconds())
        score = metres + 10.0 * seconds
        if best is None or score < best[0]:
            best = (score, Sighting(plate, when, x, y, round(metres, 1), seconds))
    return None if best is None else best[1]
