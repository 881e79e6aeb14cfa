"""Case density on H3 hexagons: points in, a GeoJSON FeatureCollection of counted cells out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import h3
from shapely.geometry import Polygon, mapping

DEFAULT_RESOLUTION = 8  # cells of about 0.74 km²: streets, not single buildings


def cell_counts(points: Iterable[tuple[float, float]], resolution: int) -> Counter[str]:
    """How many of the WGS-84 ``(lon, lat)`` points fall in each H3 cell."""
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution should be 0 to 15, got {resolution}")
    return Counter(h3.latlng_to_cell(lat, lon, resolution) for lon, lat in points)


def hexagons(
    points: Iterable[tuple[float, float]], *, resolution: int = DEFAULT_RESOLUTION
) -> dict[str, Any]:
    """GeoJSON polygons (WGS-84, lon/lat order) of the cells holding points, with counts and
    a share of the busiest cell (0 to 1) for colouring."""
    counts = cell_counts(points, resolution)
    peak = max(counts.values(), default=0)
    features = []
    for cell, count in sorted(counts.items()):
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(Polygon(ring)),
                "properties": {"cell": cell, "count": count, "share": round(count / peak, 4)},
            }
        )
    return {"type": "FeatureCollection", "features": features, "resolution": resolution}
