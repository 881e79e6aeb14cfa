"""Metric geometry for truck checks, without a projection library.

Terminals report WGS-84 degrees; corridor widths and stop diameters are metres. A
``LocalFrame`` maps degrees to metres east and north of a reference point with the
ellipsoid's metres per degree at the reference latitude (an equirectangular projection).
Inside a city the error is small: 50 km north or south of the reference the scale is off by
about 0.5 %, 10 km away by about 0.1 % — well below GPS noise for corridor widths of tens of
metres. A frame is chosen per run (the centre of the shapes checked), so all geometry of one
check shares it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

G = TypeVar("G", bound=BaseGeometry)
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LocalFrame:
    """Metres east (x) and north (y) of ``(lon0, lat0)``."""

    lon0: float
    lat0: float

    @property
    def m_per_deg_lat(self) -> float:
        phi = math.radians(self.lat0)
        return 111_132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)

    @property
    def m_per_deg_lon(self) -> float:
        phi = math.radians(self.lat0)
        return 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)

    def xy(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Metres of arrays of degrees."""
        return (lon - self.lon0) * self.m_per_deg_lon, (lat - self.lat0) * self.m_per_deg_lat

    def lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Degrees of arrays of metres."""
        return x / self.m_per_deg_lon + self.lon0, y / self.m_per_deg_lat + self.lat0

    def to_metres(self, geom: G) -> G:
        """A WGS-84 geometry in this frame's metres."""
        kx, ky = self.m_per_deg_lon, self.m_per_deg_lat
        offset = np.array([self.lon0, self.lat0])
        scale = np.array([kx, ky])
        out: G = shapely.transform(geom, lambda c: (c - offset) * scale)
        return out

    def to_degrees(self, geom: G) -> G:
        """A geometry in this frame's metres back in WGS-84 degrees."""
        offset = np.array([self.lon0, self.lat0])
        scale = np.array([self.m_per_deg_lon, self.m_per_deg_lat])
        out: G = shapely.transform(geom, lambda c: c / scale + offset)
        return out

    @classmethod
    def around(cls, geoms: Iterable[BaseGeometry]) -> LocalFrame:
        """A frame at the centre of the bounds of ``geoms`` (WGS-84)."""
        bounds = [g.bounds for g in geoms if not g.is_empty]
        if not bounds:
            return cls(0.0, 0.0)
        minx = min(b[0] for b in bounds)
        miny = min(b[1] for b in bounds)
        maxx = max(b[2] for b in bounds)
        maxy = max(b[3] for b in bounds)
        return cls((minx + maxx) / 2, (miny + maxy) / 2)
