"""Tests of the GCJ-02 transform and the district boundaries."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from twonets.core.geo import (
    district_boundary,
    districts_feature_collection,
    gcj02_to_wgs84,
    gcj02_to_wgs84_arrays,
    gcj02_to_wgs84_geometry,
    haversine_m,
    locate_district,
    random_point_in_district,
    wgs84_to_gcj02,
    wgs84_to_gcj02_arrays,
    wgs84_to_gcj02_geometry,
)
from twonets.core.places import DISTRICTS

# Published reference vectors of the eviltransform project, (lon, lat): WGS-84 -> GCJ-02.
REFERENCE_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]
CODES = [d.code for d in DISTRICTS]
# The forward offset reaches ~0.011 degrees near the rectangle's edges; stay clear of them so
# that a converted point is still "in China" for the inverse.
IN_CHINA_LON = st.floats(72.004 + 0.02, 137.8347 - 0.02)
IN_CHINA_LAT = st.floats(0.8293 + 0.02, 55.8271 - 0.02)


# --- GCJ-02 -----------------------------------------------------------------------------


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE_PAIRS)
def test_reference_vectors(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=1e-7)


def test_shanghai_shift_is_a_few_hundred_metres_south_east() -> None:
    lon, lat = 121.4737, 31.2304  # People's Square, WGS-84
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert 100 < haversine_m(lon, lat, g_lon, g_lat) < 600
    assert g_lon > lon  # east
    assert g_lat < lat  # and a little south, as published for Shanghai
    assert gcj02_to_wgs84(g_lon, g_lat) == pytest.approx((lon, lat), abs=1e-7)


def test_exact_inverse_beats_one_step_approximation() -> None:
    g_lon, g_lat = REFERENCE_PAIRS[0][1]
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert wgs84_to_gcj02(w_lon, w_lat) == pytest.approx((g_lon, g_lat), abs=1e-9)


@given(lon=IN_CHINA_LON, lat=IN_CHINA_LAT)
def test_round_trip_in_china(lon: float, lat: float) -> None:
    assert gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)) == pytest.approx((lon, lat), abs=1e-6)


@given(
    lon=st.floats(-180, 180).filter(lambda x: not 72.004 <= x <= 137.8347),
    lat=st.floats(-90, 90),
)
def test_points_outside_china_unchanged(lon: float, lat: float) -> None:
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


@pytest.mark.parametrize(("lon", "lat"), [(-0.1276, 51.5072), (139.6917, 35.6895), (121.5, 60.0)])
def test_known_foreign_points_unchanged(lon: float, lat: float) -> None:
    # London, Tokyo, and a point north of the rectangle.
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_arrays_match_scalars() -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(60, 150, 1000)
    lat = rng.uniform(-5, 60, 1000)
    g_lon, g_lat = wgs84_to_gcj02_arrays(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84_arrays(g_lon, g_lat)
    for i in range(0, 1000, 97):
        assert (g_lon[i], g_lat[i]) == wgs84_to_gcj02(lon[i], lat[i])
        assert (w_lon[i], w_lat[i]) == pytest.approx(gcj02_to_wgs84(g_lon[i], g_lat[i]), abs=1e-12)


def test_geometry_conversion_round_trips() -> None:
    square = shapely.box(121.4, 31.1, 121.5, 31.2)
    there = wgs84_to_gcj02_geometry(square)
    back = gcj02_to_wgs84_geometry(there)
    assert there.geom_type == "Polygon"
    assert there.centroid.x > square.centroid.x
    assert np.allclose(shapely.get_coordinates(back), shapely.get_coordinates(square), atol=1e-9)


def test_haversine() -> None:
    assert haversine_m(121.47, 31.23, 121.47, 31.23) == 0
    # One degree of latitude is about 111.2 km on the mean sphere.
    assert haversine_m(121.0, 31.0, 121.0, 32.0) == pytest.approx(111_195, rel=1e-4)
    # Shanghai to Beijing, about 1,068 km between the city centres.
    assert haversine_m(121.4737, 31.2304, 116.4074, 39.9042) == pytest.approx(1_068_000, rel=0.01)


# --- boundaries -------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_every_boundary_loads_and_is_valid(code: str, crs: str) -> None:
    boundary = district_boundary(code, crs=crs)  # type: ignore[arg-type]
    assert boundary.geom_type == "MultiPolygon"
    assert boundary.is_valid
    assert not boundary.is_empty
    assert district_boundary(code, crs=crs) is boundary  # type: ignore[arg-type]


def test_unknown_district_and_crs_rejected() -> None:
    with pytest.raises(KeyError):
        district_boundary("../../310000")
    with pytest.raises(ValueError, match="crs"):
        district_boundary("310101", crs="bd09")  # type: ignore[arg-type]


def test_area_ranking_is_plausible() -> None:
    ranking = sorted(CODES, key=lambda code: district_boundary(code).area, reverse=True)
    assert set(ranking[:2]) == {"310151", "310115"}  # Chongming and Pudong
    assert "310101" in ranking[-3:]  # Huangpu


def test_simplified_boundary_is_smaller_and_close() -> None:
    exact = district_boundary("310115")
    simple = district_boundary("310115", tolerance=0.0005)
    assert simple.geom_type == "MultiPolygon"
    assert simple.is_valid
    assert shapely.get_num_coordinates(simple) < shapely.get_num_coordinates(exact)
    assert simple.area == pytest.approx(exact.area, rel=0.01)


def test_gcj_and_wgs_boundaries_differ_by_a_few_hundred_metres() -> None:
    gcj = district_boundary("310101", crs="gcj02").centroid
    wgs = district_boundary("310101", crs="wgs84").centroid
    assert 300 < haversine_m(gcj.x, gcj.y, wgs.x, wgs.y) < 700


def test_union_of_districts_is_shanghai() -> None:
    union = shapely.union_all([district_boundary(code) for code in CODES])
    assert union.centroid.x == pytest.approx(121.4, abs=0.2)
    assert union.centroid.y == pytest.approx(31.1, abs=0.2)
    # Shanghai's land area is about 6,340 km²; one degree² here is about 9,900 km².
    assert union.area * 9_900 == pytest.approx(6_340, rel=0.2)


@pytest.mark.parametrize(
    ("lon", "lat", "code"),
    [
        (121.4737, 31.2304, "310101"),  # People's Square
        (121.5057, 31.2397, "310115"),  # Lujiazui
        (121.4365, 31.1880, "310104"),  # Xujiahui
        (121.1547, 31.1500, "310118"),  # Qingpu
        (120.1551, 30.2741, None),  # Hangzhou
        (-0.1276, 51.5072, None),  # London
    ],
)
def test_locate_district(lon: float, lat: float, code: str | None) -> None:
    assert locate_district(lon, lat) == code


def test_locate_district_in_gcj02() -> None:
    lon, lat = wgs84_to_gcj02(121.4737, 31.2304)
    assert locate_district(lon, lat, crs="gcj02") == "310101"


@pytest.mark.parametrize("code", CODES)
def test_random_points_locate_back(code: str) -> None:
    rng = random.Random(code)
    points = [random_point_in_district(code, rng) for _ in range(20)]
    assert all(locate_district(lon, lat) == code for lon, lat in points)
    again = random.Random(code)
    assert [random_point_in_district(code, again) for _ in range(20)] == points


def test_random_points_in_gcj02() -> None:
    rng = random.Random(1)
    lon, lat = random_point_in_district("310151", rng, crs="gcj02")
    assert locate_district(lon, lat, crs="gcj02") == "310151"


# --- feature collection -----------------------------------------------------------------


def test_feature_collection_is_small_geojson() -> None:
    collection = districts_feature_collection()
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    print(f"districts feature collection: {size} bytes")  # seen with pytest -s
    assert size < 400_000
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert isinstance(features, list)
    assert len(features) == 16
    first = features[0]
    assert first["properties"] == {
        "code": "310101",
        "name": "黄浦区",
        "name_en": "Huangpu",
        "population_2020": 662_030,
        "kind": "central",
    }
    assert first["geometry"]["type"] == "MultiPolygon"
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    assert round(lon, 6) == lon
    assert round(lat, 6) == lat


def test_feature_collection_is_fresh_each_call() -> None:
    first = districts_feature_collection()
    first["type"] = "mutated"
    assert districts_feature_collection()["type"] == "FeatureCollection"


def test_feature_collection_unsimplified_in_gcj02() -> None:
    collection = districts_feature_collection(crs="gcj02", tolerance=None)
    features = collection["features"]
    assert isinstance(features, list)
    huangpu = shapely.geometry.shape(features[0]["geometry"])
    assert huangpu.equals_exact(district_boundary("310101", crs="gcj02"), 1e-6)
