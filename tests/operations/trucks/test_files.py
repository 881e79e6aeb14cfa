"""The batch formats and ``twonets ops trucks check``: errors name the file and the row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twonets.cli import app
from twonets.operations.trucks import files

ROUTE = [[121.540, 31.220], [121.580, 31.220]]


def _permits(tmp_path: Path, **props: object) -> Path:
    base: dict[str, object] = {
        "plate": "沪D12345",
        "origin": "site A",
        "destination": "disposal B",
        "corridor_m": 50,
        "valid_from": "2026-11-01",
        "valid_to": "2026-12-31",
        "hours": "22:00-05:00",
    }
    base.update(props)
    path = tmp_path / "permits.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": ROUTE},
        "properties": base,
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def _zones(tmp_path: Path) -> Path:
    def box(lon: float) -> list[list[list[float]]]:
        return [
            [
                [lon - 0.0015, 31.2187],
                [lon + 0.0015, 31.2187],
                [lon + 0.0015, 31.2213],
                [lon - 0.0015, 31.2213],
                [lon - 0.0015, 31.2187],
            ]
        ]

    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": box(lon)},
            "properties": {"name": name, "kind": kind},
        }
        for name, kind, lon in (
            ("site A", "construction_site", 121.540),
            ("disposal B", "disposal_site", 121.580),
        )
    ]
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _positions(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text("plate,time,lat,lon,speed_kmh\n" + "\n".join(rows) + "\n")
    return path


def _trip(north: float = 0.0) -> list[str]:
    rows = []
    for i in range(41):
        lon = 121.540 + 0.001 * i
        lat = 31.220 + (north if 15 <= i < 25 else 0.0)
        rows.append(f"沪D12345,2026-11-30T23:{i // 2:02d}:{30 * (i % 2):02d}+08:00,{lat},{lon},30")
    return rows


def test_the_command_prints_one_line_per_episode(tmp_path: Path) -> None:
    positions = _positions(tmp_path, _trip(north=0.005))  # ~550 m off for five minutes
    result = CliRunner().invoke(
        app,
        [
            "ops",
            "trucks",
            "check",
            "--positions",
            str(positions),
            "--permits",
            str(_permits(tmp_path)),
            "--zones",
            str(_zones(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.output.splitlines()]
    assert line["plate"] == "沪D12345"
    assert line["kind"] == "off_route"
    assert line["start"] == "2026-11-30T23:07:30+08:00"  # as the file gave it
    assert {"end", "lat", "lon", "evidence"} <= set(line)


def test_zones_are_optional(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "ops",
            "trucks",
            "check",
            "--positions",
            str(_positions(tmp_path, _trip())),
            "--permits",
            str(_permits(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "沪D1,2026-11-30T23:00:00,31.2,121.5,0",
            "row 2: time '2026-11-30T23:00:00' has no offset (e.g. +08:00)",
        ),
        ("沪D1,yesterday,31.2,121.5,0", "row 2: time 'yesterday' is not ISO 8601"),
        ("沪D1,2026-11-30T23:00:00+08:00,north,121.5,0", "row 2: lat 'north' is not a number"),
        ("沪D1,2026-11-30T23:00:00+08:00,95,121.5,0", "row 2: lat 95 is outside -90..90"),
        ("沪D1,2026-11-30T23:00:00+08:00,31.2", "row 2: 3 columns, expected 5"),
    ],
)
def test_a_bad_position_row_is_named(tmp_path: Path, row: str, message: str) -> None:
    path = _positions(tmp_path, [row])
    with pytest.raises(files.FormatError) as caught:
        files.read_positions(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_wrong_header_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("plate,when,lat,lon\n")
    with pytest.raises(files.FormatError, match=r"p\.csv: row 1: the header must be"):
        files.read_positions(path)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"corridor_m": "wide"}, "feature 0 (沪D12345): corridor_m must be a number of metres"),
        ({"hours": "late"}, "feature 0 (沪D12345): hours 'late' are not HH:MM-HH:MM"),
        ({"valid_to": "2026-10-01"}, "feature 0 (沪D12345): valid_to 2026-10-01 is before"),
        ({"origin": ""}, "feature 0 (沪D12345): property origin is missing or empty"),
    ],
)
def test_a_bad_permit_is_named(tmp_path: Path, props: dict[str, object], message: str) -> None:
    path = _permits(tmp_path, **props)
    with pytest.raises(files.FormatError) as caught:
        files.read_permits(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_bad_zone_geometry_is_named(tmp_path: Path) -> None:
    path = tmp_path / "zones.geojson"
    bowtie = [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": bowtie},
            "properties": {"name": "school", "kind": "no_go"},
        },
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(files.FormatError, match=r"feature 0 \(school\): geometry is not valid"):
        files.read_zones(path)
    features[0]["geometry"] = {"type": "LineString", "coordinates": ROUTE}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(files.FormatError, match="is a LineString, expected a Polygon"):
        files.read_zones(path)


def test_the_command_reports_a_bad_file_and_fails(tmp_path: Path) -> None:
    positions = _positions(tmp_path, ["沪D1,2026-11-30T23:00:00,31.2,121.5,0"])
    result = CliRunner().invoke(
        app,
        [
            "ops",
            "trucks",
            "check",
            "--positions",
            str(positions),
            "--permits",
            str(_permits(tmp_path)),
        ],
    )
    assert result.exit_code == 2
    assert f"error: {positions}: row 2: time" in result.output
