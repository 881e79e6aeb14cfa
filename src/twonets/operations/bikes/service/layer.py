"""The shared bikes' layer of the operations centre's map: the latest hour's cells as hexagons."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import h3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.operations.bikes.models import BikeSnapshot, BikeTrip
from twonets.operations.bikes.service.authority import check_may_see
from twonets.operations.bikes.service.data import counted_cells

# The layer looks back this far for the latest hour that has counts.
LAYER_LOOKBACK = timedelta(days=2)


def imbalance_layer(
    session: Session, caller: Principal, *, now: datetime, resolution: int
) -> dict[str, Any]:
    """The cells of the latest hour with counts (before ``now``) as GeoJSON hexagons (WGS-84).

    Each cell carries its starts, arrivals, parked bikes, net flow and imbalance, the counts
    departments see on the bikes page: aggregates only, never a trip or a bike. Empty when
    nothing was counted in the last two days.
    """
    check_may_see(caller)
    since = now - LAYER_LOOKBACK
    latest = max(
        (
            hour
            for hour in (
                session.scalar(
                    select(func.max(BikeTrip.start_hour)).where(
                        BikeTrip.resolution == resolution,
                        BikeTrip.start_hour >= since,
                        BikeTrip.start_hour < now,
                    )
                ),
                session.scalar(
                    select(func.max(BikeSnapshot.hour)).where(
                        BikeSnapshot.resolution == resolution,
                        BikeSnapshot.hour >= since,
                        BikeSnapshot.hour < now,
                    )
                ),
            )
            if hour is not None
        ),
        default=None,
    )
    features: list[dict[str, Any]] = []
    if latest is not None:
        table = counted_cells(
            session, since=latest, until=latest + timedelta(hours=1), resolution=resolution
        )
        for r in table.itertuples(index=False):
            ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(r.cell)]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                    "properties": {
                        "cell": r.cell,
                        "starts": int(r.starts),
                        "arrivals": int(r.arrivals),
                        "supply": int(r.supply),
                        "net": int(r.net),
                        "imbalance": round(float(r.imbalance), 4),
                    },
                }
            )
    return {
        "type": "FeatureCollection",
        "hour": latest.isoformat() if latest is not None else None,
        "features": features,
    }
