"""The batch formats: positions CSV, permits and zones GeoJSON (all WGS-84).

- Positions: CSV with header ``plate,time,lat,lon,speed_kmh``; time ISO 8601 with an offset.
- Permits: a FeatureCollection of LineString routes with properties ``plate``, ``origin``,
  ``destination`` (zone names), ``corridor_m``, ``valid_from``, ``valid_to`` (ISO dates) and
  ``hours`` (``"22:00-05:00"``, may cross midnight).
- Zones: a FeatureCollection of Polygons with properties ``name``, ``kind``
  (``construction_site``, ``disposal_site``, ``no_go``) and optional ``hours``.

A malformed row or feature is a ``FormatError`` naming the file and the row (counted from 1
after the header, as a spreadsheet shows it: row 2 is the first data row) or the feature
(counted from 0, as in the file's ``features`` array, with its name when it has one).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, Polygon, shape
from shapely.geometry.base import BaseGeometry

from twonets.operations.trucks.checks import Fix, Hours, Permit, Zone, ZoneKind

POSITION_HEADER = ("plate", "time", "lat", "lon", "speed_kmh")


class FormatError(ValueError):
    """A file that cannot be read as its format says, naming the file and where."""


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn an undecodable or unparsable file into a ``FormatError`` naming it."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: byte {exc.start}: not UTF-8 text") from None
    except csv.Error as exc:
        raise FormatError(f"{path}: not a readable CSV file: {exc}") from None


def read_positions(path: Path) -> list[Fix]:
    """Fixes from a positions CSV."""
    with _reading(path), path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != POSITION_HEADER:
            raise FormatError(
                f"{path}: row 1: the header must be {','.join(POSITION_HEADER)}, "
                f"not {','.join(header or [])}"
            )
        fixes = []
        for number, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            fixes.append(_fix(path, number, row))
    return fixes


def _fix(path: Path, number: int, row: list[str]) -> Fix:
    where = f"{path}: row {number}"
    if len(row) != len(POSITION_HEADER):
        raise FormatError(f"{where}: {len(row)} columns, expected {len(POSITION_HEADER)}")
    plate, when, lat_text, lon_text, speed_text = (cell.strip() for cell in row)
    if not plate:
        raise FormatError(f"{where}: plate is empty")
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise FormatError(f"{where}: time {when!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise FormatError(f"{where}: time {when!r} has no offset (e.g. +08:00)")
    lat = _number(where, "lat", lat_text)
    lon = _number(where, "lon", lon_text)
    if not -90 <= lat <= 90:
        raise FormatError(f"{where}: lat {lat_text} is outside -90..90")
    if not -180 <= lon <= 180:
        raise FormatError(f"{where}: lon {lon_text} is outside -180..180")
    speed = _number(where, "speed_kmh", speed_text) if speed_text else 0.0
    if speed < 0:
        raise FormatError(f"{where}: speed_kmh {speed_text} is negative")
    return Fix(plate, moment, lon, lat, speed)


def _number(where: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(f"{where}: {name} {text!r} is not a finite number")
    return value


def _features(path: Path) -> list[dict[str, Any]]:
    try:
        with _reading(path):
            data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FormatError(f"{path}: not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise FormatError(f"{path}: the FeatureCollection has no features array")
    return features


def _where(path: Path, index: int, feature: Any) -> str:
    props = feature.get("properties") if isinstance(feature, dict) else None
    name = None
    if isinstance(props, dict):
        name = props.get("name") or props.get("plate")
    return f"{path}: feature {index}" + (f" ({name})" if name else "")


def _geometry(where: str, feature: Any, kind: str) -> BaseGeometry:
    if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
        raise FormatError(f"{where}: has no geometry")
    try:
        geom = shape(feature["geometry"])
    except Exception as exc:  # shapely raises several kinds for bad GeoJSON
        raise FormatError(f"{where}: geometry cannot be read: {exc}") from None
    if geom.geom_type != kind:
        raise FormatError(f"{where}: geometry is a {geom.geom_type}, expected a {kind}")
    if geom.is_empty:
        raise FormatError(f"{where}: geometry is empty")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FormatError(f"{where}: coordinates are not WGS-84 longitude and latitude")
    if not geom.is_valid:
        raise FormatError(f"{where}: geometry is not valid (self-intersecting?)")
    return geom


def _text(where: str, props: dict[str, Any], name: str) -> str:
    value = props.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"{where}: property {name} is missing or empty")
    return value.strip()


def _hours(where: str, text: str) -> Hours:
    try:
        return Hours.parse(text)
    except ValueError as exc:
        raise FormatError(f"{where}: {exc}") from None


def _date(where: str, props: dict[str, Any], name: str) -> date:
    text = _text(where, props, name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormatError(f"{where}: {name} {text!r} is not an ISO date") from None


def _props(where: str, feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise FormatError(f"{where}: has no properties")
    return props


def read_permits(path: Path) -> list[Permit]:
    """Permits from a GeoJSON FeatureCollection of LineString routes."""
    return [permit for permit, _, _ in _permits(path, fleet=False)]


def read_registry_permits(path: Path) -> list[tuple[Permit, str | None, str | None]]:
    """Permits to register, each with its fleet's ``company`` credit code (a feature may
    name one instead of a ``plate``) and its ``number`` when the file gives them."""
    return _permits(path, fleet=True)


def _permits(path: Path, *, fleet: bool) -> list[tuple[Permit, str | None, str | None]]:
    permits = []
    for index, feature in enumerate(_features(path)):
        where = _where(path, index, feature)
        route = _geometry(where, feature, "LineString")
        assert isinstance(route, LineString)
        props = _props(where, feature)
        corridor = props.get("corridor_m")
        if isinstance(corridor, bool) or not isinstance(corridor, int | float):
            raise FormatError(f"{where}: corridor_m must be a number of metres")
        if not 0 < corridor <= 5000:
            raise FormatError(f"{where}: corridor_m {corridor} must lie in 0..5000")
        valid_from = _date(where, props, "valid_from")
        valid_to = _date(where, props, "valid_to")
        if valid_to < valid_from:
            raise FormatError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
        company = None
        if fleet and props.get("company") and not props.get("plate"):
            company = _text(where, props, "company")
            plate = ""
        else:
            plate = _text(where, props, "plate")
        number = props.get("number") if fleet else None
        if number is not None and (not isinstance(number, str) or not 0 < len(number) <= 32):
            raise FormatError(f"{where}: number must be text of up to 32 characters")
        permit = Permit(
            plate=plate,
            origin=_text(where, props, "origin"),
            destination=_text(where, props, "destination"),
            route=route,
            corridor_m=float(corridor),
            valid_from=valid_from,
            valid_to=valid_to,
            hours=_hours(where, _text(where, props, "hours")),
        )
        permits.append((permit, company, number))
    return permits


def read_zones(path: Path) -> list[Zone]:
    """Zones from a GeoJSON FeatureCollection of Polygons."""
    zones = []
    seen: set[str] = set()
    kinds = ", ".join(k.value for k in ZoneKind)
    for index, feature in enumerate(_features(path)):
        where = _where(path, index, feature)
        polygon = _geometry(where, feature, "Polygon")
        assert isinstance(polygon, Polygon)
        props = _props(where, feature)
        name = _text(where, props, "name")
        if name in seen:
            raise FormatError(f"{where}: another zone is already named {name!r}")
        seen.add(name)
        kind_text = _text(where, props, "kind")
        try:
            kind = ZoneKind(kind_text)
        except ValueError:
            raise FormatError(f"{where}: kind {kind_text!r} is not one of {kinds}") from None
        hours_text = props.get("hours")
        if hours_text is not None and not isinstance(hours_text, str):
            raise FormatError(f"{where}: hours must be text like 22:00-05:00")
        hours = _hours(where, hours_text) if hours_text else None
        zones.append(Zone(name, kind, polygon, hours))
    return zones


TRUCK_HEADER = ("credit_code", "company", "plate", "terminal_phone")


@dataclass(frozen=True)
class TruckRow:
    """One row of a trucks CSV."""

    credit_code: str
    company: str
    plate: str
    terminal_phone: str


def read_trucks(path: Path) -> list[tuple[int, TruckRow]]:
    """Rows of a trucks CSV (header ``credit_code,company,plate,terminal_phone``), each with
    its row number; the values are checked when registered."""
    with _reading(path), path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != TRUCK_HEADER:
            raise FormatError(f"{path}: row 1: the header must be {','.join(TRUCK_HEADER)}")
        out = []
        for number, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(TRUCK_HEADER):
                raise FormatError(
                    f"{path}: row {number}: {len(row)} columns, expected {len(TRUCK_HEADER)}"
                )
            out.append((number, TruckRow(*(cell.strip() for cell in row))))
    return out
