"""Bad files: every command that reads a file answers a broken one with one clear line.

A corpus of broken inputs is generated here (empty, truncated, wrong encoding, huge, wrong
types, missing columns, binary junk, a folder, a missing file) for each format the platform
reads: CSV, CSV or Parquet, GeoJSON, BPMN, OR-Library, trust lists, backups. Each command
must exit with code 2 (a verifier's offline check: 1, with its JSON verdict), print one line
naming the file, and never a traceback. ``READERS`` lists the commands; the first test walks
the ``twonets`` command tree and fails when a command has a file parameter that is neither
in ``READERS`` nor in ``WRITTEN`` (a file the command writes), so a new command that reads a
file joins by construction. The API's uploads are in tests/test_bad_uploads.py.
"""

from __future__ import annotations

import io
import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from builders import create_staff
from twonets import migrations
from twonets.cli import app
from twonets.core import service as core_service
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.models import DepartmentLevel, Role
from twonets.core.service import ensure_reference_data
from twonets.operations.bikes.trips import SNAPSHOT_COLUMNS, TRIP_COLUMNS
from twonets.operations.rentals.data import HOUSEHOLD_COLUMNS, READING_COLUMNS

HUGE_BYTES = 3 * 1024 * 1024
SIZES = ("--trucks", "1", "--capacity", "10")


@dataclass(frozen=True)
class Reader:
    """A command that reads files: how to call it with ``file`` in each of its inputs."""

    command: str
    params: tuple[str, ...]
    args: Callable[[Path], list[str]]
    fmt: str
    columns: tuple[str, ...] = ()
    exit_code: int = 2


def _opts(*names: str) -> Callable[[Path], list[str]]:
    def args(file: Path) -> list[str]:
        return [part for name in names for part in (f"--{name}", str(file))]

    return args


READERS = [
    Reader("restore", ("src",), lambda f: ["restore", str(f)], "backup"),
    Reader(
        "restore", ("passphrase_file",),
        lambda f: ["restore", str(f.parent / "no-backup"), "--passphrase-file", str(f)],
        "passphrase",
    ),
    Reader(
        "backup", ("passphrase_file",),
        lambda f: ["backup", str(f.parent / "new-backup"), "--passphrase-file", str(f)],
        "passphrase",
    ),
    Reader(
        "licences verify", ("trust_list",),
        lambda f: ["licences", "verify", "SHL1:x", "--trust-list", str(f)], "trust", exit_code=1,
    ),
    Reader(
        "codes verify", ("trust_list",),
        lambda f: ["codes", "verify", "SHC1:x", "--trust-list", str(f)], "trust", exit_code=1,
    ),
    Reader(
        "health alarms", ("input",),
        lambda f: ["health", "alarms", "--method", "ears-c1", "--input", str(f)], "csv",
        ("t", "observed"),
    ),
    Reader("health siting", ("orlib",), lambda f: ["health", "siting", "--orlib", str(f)],
           "orlib"),
    Reader(
        "ops trucks check", ("positions", "permits", "zones"),
        lambda f: ["ops", "trucks", "check", "--positions", str(f), "--permits", str(f),
                   "--zones", str(f)],
        "csv", ("plate", "time", "lat", "lon", "speed_kmh"),
    ),
    Reader(
        "ops trucks import", ("trucks", "zones", "permits"),
        lambda f: ["ops", "trucks", "import", "--trucks", str(f), "--zones", str(f),
                   "--permits", str(f), "--as", "ops.clerk"],
        "geojson",
    ),
    Reader("ops bikes heatmap", ("trips_file",), lambda f: ["ops", "bikes", "heatmap",
           *_opts("trips")(f)], "table", TRIP_COLUMNS),
    Reader("ops bikes forecast", ("trips_file",), lambda f: ["ops", "bikes", "forecast",
           *_opts("trips")(f)], "table", TRIP_COLUMNS),
    Reader("ops bikes plan", ("trips_file", "snapshot"), lambda f: ["ops", "bikes", "plan",
           *_opts("trips", "snapshot")(f), *SIZES], "table", TRIP_COLUMNS),
    Reader("ops bikes import", ("trips_file", "snapshot"), lambda f: ["ops", "bikes", "import",
           *_opts("trips", "snapshot")(f), "--as", "ops.clerk"], "table", SNAPSHOT_COLUMNS),
    Reader("ops bikes replay", ("trips_file",), lambda f: ["ops", "bikes", "replay",
           *_opts("trips")(f), "--day", "2026-01-01", *SIZES], "table", TRIP_COLUMNS),
    Reader("ops rentals detect", ("households", "readings"), lambda f: ["ops", "rentals",
           "detect", *_opts("households", "readings")(f)], "table", READING_COLUMNS),
    Reader("ops rentals import", ("households", "readings"), lambda f: ["ops", "rentals",
           "import", *_opts("households", "readings")(f), "--as", "housing.clerk"], "table",
           HOUSEHOLD_COLUMNS),
    Reader("services deploy", ("file",), lambda f: ["services", "deploy", str(f)], "bpmn"),
    Reader("wallet public-key", ("key",), lambda f: ["wallet", "public-key", "--key", str(f)],
           "pem"),
    Reader("wallet present", ("key",), lambda f: ["wallet", "present", "--key", str(f),
           "--credential", str(f), "--nonce", "n", "--aud", "a"], "pem"),
    Reader("wallet present", ("credential",), lambda f: ["wallet", "present", "--key",
           str(_holder_key(f.parent)), "--credential", str(f), "--nonce", "n", "--aud", "a"],
           "credential"),
    Reader("wallet request", ("key",), lambda f: ["wallet", "request", "--key", str(f),
           "--licence", "1", "--out", str(f.parent / "bound.txt"), "--api",
           "http://127.0.0.1:9", "--token", "t"], "pem"),
    Reader("trust recognise", ("anchor",), lambda f: ["trust", "recognise", "JS", "--url",
           "http://127.0.0.1:9", "--anchor", str(f), "--admin", "admin.clerk"], "pem"),
    Reader("licences issue-batch", ("path",), lambda f: ["licences", "issue-batch", "--as",
           "licence.clerk", str(f)], "jsonl"),
    Reader(
        "services simulate", ("bpmn",),
        lambda f: ["services", "simulate", "--bpmn", str(f), "--process", "p", "--data", "{}"],
        "bpmn",
    ),
]  # fmt: skip
# File parameters a command writes, not reads.
WRITTEN = {
    ("backup", "dest"),
    ("licences export-trust", "out"),
    ("codes export-trust", "out"),
    ("health project", "csv"),
    ("ops bikes heatmap", "out"),
    ("ops rentals detect", "out"),
    ("wallet keygen", "key"),
    ("wallet request", "out"),
    ("trust anchor", "out"),
    # The second region's demo reads the peer's anchor only when it recognises the peer,
    # through the same reading as `trust recognise` (covered above).
    ("demo", "peer_anchor"),
}

# Per format: (kind, file name, bytes) of the broken inputs.
Corpus = list[tuple[str, str, bytes]]


def _common(suffix: str) -> Corpus:
    return [
        ("empty", f"empty{suffix}", b""),
        ("blank", f"blank{suffix}", b" \n\n  \n"),
        ("binary", f"binary{suffix}", bytes(range(256)) * 8),
        ("utf-16", f"utf16{suffix}", "名称,数值\n甲,1\n".encode("utf-16")),
        ("gbk", f"gbk{suffix}", "名称,数值,地址\n甲,1,上海\n".encode("gbk")),
        ("huge", f"huge{suffix}", b"x" * HUGE_BYTES),
    ]


def _csv(columns: tuple[str, ...]) -> Corpus:
    header = ",".join(columns)
    junk = ",".join(["not-a-number"] * len(columns))
    return [
        *_common(".csv"),
        ("missing columns", "missing.csv", b"foo,bar\n1,2\n"),
        ("wrong types", "types.csv", f"{header}\n{junk}\n{junk}\n".encode()),
        ("truncated", "truncated.csv", f'{header}\n"{junk[:7]}'.encode()),
        ("short rows", "short.csv", f"{header}\n1\n".encode()),
    ]


def _table(columns: tuple[str, ...]) -> Corpus:
    return [
        *_csv(columns),
        ("parquet junk", "junk.parquet", b"PAR1" + b"\x00" * 64),
        ("parquet truncated", "cut.parquet", b"PAR1\x15\x04\x15\x10"),
        ("csv named parquet", "csv.parquet", ",".join(columns).encode() + b"\n"),
    ]


def _json(suffix: str, wrong: list[object]) -> Corpus:
    return [
        *_common(suffix),
        ("truncated", f"truncated{suffix}", b'{"type": "FeatureCollection", "features": [{"ty'),
        ("not json", f"text{suffix}", b"hello, world\n"),
        *[(f"wrong types {i}", f"wrong{i}{suffix}", json.dumps(w).encode()) for i, w in
          enumerate(wrong)],
    ]  # fmt: skip


def corpus(reader: Reader) -> Corpus:
    """The broken inputs for one reader's format."""
    if reader.fmt == "csv":
        return _csv(reader.columns)
    if reader.fmt == "table":
        return _table(reader.columns)
    if reader.fmt == "geojson":
        return _json(
            ".geojson",
            [
                [],
                {"type": "FeatureCollection", "features": "x"},
                {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": 5}]},
                {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [],
                 "geometry": {"type": "Polygon", "coordinates": [["a", "b"]]}}]},
            ],
        )  # fmt: skip
    if reader.fmt == "trust":
        return [
            *_json(
                ".json",
                [
                    [],
                    {"format": "twonets-trust-bundle", "regions": "x"},
                    {"format": "twonets-trust-bundle", "regions": [{"anchor": 5}]},
                    {"anchor": "x", "trust_list": 5},
                ],
            ),
            ("pem junk", "junk.pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n"),
        ]
    if reader.fmt == "bpmn":
        ns = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        return [
            *_common(".bpmn"),
            ("truncated", "truncated.bpmn", f"<definitions {ns}><process id=".encode()),
            ("not bpmn", "other.bpmn", b"<html><body>hi</body></html>"),
            ("wrong types", "types.bpmn",
             f'<definitions {ns}><process id="p"><startEvent/><sequenceFlow sourceRef="x" '
             f'targetRef="y"/></process></definitions>'.encode()),
            ("entity bomb", "bomb.bpmn",
             b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;'
             b'&a;&a;&a;&a;&a;&a;&a;">]><definitions>&b;</definitions>'),
        ]  # fmt: skip
    if reader.fmt == "orlib":
        return [
            *_common(".txt"),
            ("truncated", "truncated.txt", b"5 10 2\n1 2 3\n1 3"),
            ("wrong types", "types.txt", b"five ten two\n1 2 x\n"),
            ("out of range", "range.txt", b"3 2 5\n1 9 4\n2 3 -1\n"),
        ]
    if reader.fmt == "pem":
        return [
            *_common(".pem"),
            ("not pem", "text.pem", b"hello, world\n"),
            ("truncated pem", "cut.pem", b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n"),
            (
                "bad base64",
                "junk.pem",
                b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            ),
        ]
    if reader.fmt == "credential":
        return [
            *_common(".txt"),
            ("not a credential", "text.txt", b"hello~world~\n"),
            ("truncated", "cut.txt", b"eyJhbGciOiJFUzI1NiJ9.eyJpc3Mi"),
        ]
    if reader.fmt == "jsonl":
        item = b'{"type": "ID", "claims": {}, "valid_from": "2026-01-01"}'
        return [
            *_common(".jsonl"),
            ("truncated", "truncated.jsonl", item + b'\n{"type": "ID", "cla'),
            ("not json", "text.jsonl", b"hello, world\n"),
            ("wrong types", "types.jsonl", b'[1, 2]\n{"type": 5, "claims": []}\n'),
            ("bad date", "date.jsonl", item.replace(b"2026-01-01", b"01/01/2026") + b"\n"),
        ]
    if reader.fmt == "passphrase":
        return [("empty", "empty.txt", b""), ("blank", "blank.txt", b" \n \n")]
    if reader.fmt == "backup":
        return [
            ("empty folder", "empty-backup/", b""),
            ("truncated manifest", "cut-backup/manifest.json", b'{"format": "twonets-ba'),
            ("wrong types", "types-backup/manifest.json", b'{"files": 5, "database": []}'),
            ("binary manifest", "junk-backup/manifest.json", bytes(range(256))),
        ]
    raise AssertionError(f"no corpus for {reader.fmt}")


def _file_params(typer_app: typer.Typer, prefix: str = "") -> Iterator[tuple[str, str]]:
    for command in typer_app.registered_commands:
        callback = command.callback
        assert callback is not None
        name = command.name or callback.__name__.replace("_", "-")
        for param, hint in typing.get_type_hints(callback, include_extras=True).items():
            if "Path" in str(hint):
                yield f"{prefix}{name}", param
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        yield from _file_params(group.typer_instance, f"{prefix}{group.name} ")


def test_every_command_that_reads_a_file_has_a_corpus() -> None:
    found = set(_file_params(app))
    listed = {(r.command, p) for r in READERS for p in r.params} | WRITTEN
    assert found - listed == set(), "commands reading files without a bad-file corpus"
    assert listed - found == set(), "corpus entries for file parameters that do not exist"


@pytest.fixture(scope="module")
def database_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("bad-files")
    url = f"sqlite:///{folder / 'twonets.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        ensure_reference_data(session)
        for function, username in (("housing", "housing.clerk"), ("operations", "ops.clerk")):
            department = core_service.create_department(
                session, code=f"sh.{function}", name=function, name_en=function,
                function=function, level=DepartmentLevel.CITY, region_code="SH",
            )  # fmt: skip
            create_staff(session, username=username, department=department)
        create_staff(session, username="admin.clerk", roles=(Role.ADMIN,))
    engine.dispose()
    return {
        "TWONETS_DATABASE_URL": url,
        "TWONETS_VAR_DIR": str(folder / "var"),
        "TWONETS_EVENTS_URL": "",
    }


CASES = [
    pytest.param(reader, kind, name, data, id=f"{reader.command} {','.join(reader.params)}: {kind}")
    for reader in READERS
    for kind, name, data in [
        *corpus(reader),
        ("missing", "absent.csv", b""),
        ("folder", "a-folder/", b""),
    ]
]


@pytest.mark.parametrize(("reader", "kind", "name", "data"), CASES)
def test_a_broken_file_is_one_clear_line(
    reader: Reader, kind: str, name: str, data: bytes, database_env: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    path = tmp_path / name.rstrip("/")
    if name.endswith("/"):
        path.mkdir(parents=True)
    elif kind != "missing":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o600)  # a key file others may read is refused before it is read
    if reader.fmt == "backup" and path.name == "manifest.json":
        path = path.parent
    result = CliRunner().invoke(app, reader.args(path), env=database_env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    expected = reader.exit_code if kind not in ("missing", "folder") else (reader.exit_code, 2)
    assert result.exit_code in (expected if isinstance(expected, tuple) else (expected,)), output
    if kind in ("missing", "folder"):  # may be refused by the command line's own checks
        # typer's own box wraps long paths: compare without its frame and line breaks
        assert path.name in re.sub(r"[\s│]", "", output), output
        return
    said = (result.stderr if reader.exit_code == 2 else result.stdout).strip().splitlines()
    assert len(said) == 1, output
    assert path.name in said[0] or str(path) in said[0], f"does not name the file: {said[0]}"


def _holder_key(folder: Path) -> Path:
    """A good holder key file (0600) beside a broken credential."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = folder / "holder.pem"
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    return path


def photo_corpus() -> Corpus:
    """Broken photos for the pages that read a QR code from a picture."""
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(png, format="PNG")
    whole = png.getvalue()
    return [
        *_common(".png"),
        ("truncated image", "cut.png", whole[: len(whole) // 2]),
        ("no qr code", "blank.png", whole),
        ("text named jpeg", "notes.jpg", b"not a picture\n"),
    ]
