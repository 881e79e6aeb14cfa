"""Backups: a consistent snapshot of the database with the root secret, and its restore.

A backup is a directory:

- ``database.sqlite`` (SQLite's online backup API: a consistent copy while the platform
  runs) or ``database.pgdump`` (``pg_dump --format=custom``: one MVCC snapshot);
- the root secret, which every sealed field, every issuing key and the ledger's signing key
  are derived from or encrypted under: ``secret.key`` (owner-only permissions) or, with a
  passphrase, ``secret.key.enc`` (scrypt and AES-256-GCM);
- ``manifest.json``: the format, when, the database kind, its schema revision, and each
  file's size and SHA-256, checked before anything is restored.

Restoring refuses a target database that holds data unless told to replace it, refuses a
manifest whose files do not match, and refuses a secret that differs from the one the
platform is configured with (data sealed under one secret cannot be opened with another).
The keys live in the database (encrypted under the secret), so the two together are the
whole platform: after a restore the access ledger verifies and licences issued before the
backup still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from alembic.runtime.migration import MigrationContext
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine
from twonets.core.errors import Conflict, Invalid

FORMAT: Final = "twonets-backup"
VERSION: Final = 1
MANIFEST: Final = "manifest.json"
SQLITE_FILE: Final = "database.sqlite"
POSTGRES_FILE: Final = "database.pgdump"
SECRET_FILE: Final = "secret.key"
SEALED_SECRET_FILE: Final = "secret.key.enc"
_SCRYPT_N: Final = 2**15


class BackupError(Invalid):
    """A backup cannot be made or restored; the detail says why and what to do."""

    slug = "backup"
    title = "Backup refused"


@dataclass(frozen=True)
class Manifest:
    """What a backup holds."""

    created_at: str
    database: str
    revision: str | None
    files: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "created_at": self.created_at,
            "database": self.database,
            "revision": self.revision,
            "files": self.files,
        }


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"database: backups cover SQLite and PostgreSQL, not {name}")
    return name


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it (no driver name)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("database: an in-memory SQLite database has nothing to back up")
    return Path(database)


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return {"bytes": path.stat().st_size, "sha256": sha.hexdigest()}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: PostgreSQL backups use the server's own client tools "
            "(Debian: apt-get install postgresql-client)"
        )
    return found


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _seal_secret(secret: bytes, passphrase: bytes) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    key = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase)
    sealed = AESGCM(key).encrypt(nonce, secret, FORMAT.encode())
    record = {"kdf": "scrypt", "n": _SCRYPT_N, "r": 8, "p": 1, "cipher": "AES-256-GCM"}
    for name, value in (("salt", salt), ("nonce", nonce), ("ciphertext", sealed)):
        record[name] = base64.b64encode(value).decode()
    return json.dumps(record).encode()


def _open_secret(data: bytes, passphrase: bytes) -> bytes:
    try:
        record = json.loads(data)
        salt, nonce, sealed = (base64.b64decode(record[k]) for k in ("salt", "nonce", "ciphertext"))
        kdf = Scrypt(
            salt=salt, length=32, n=int(record["n"]), r=int(record["r"]), p=int(record["p"])
        )
        return AESGCM(kdf.derive(passphrase)).decrypt(nonce, sealed, FORMAT.encode())
    except InvalidTag:
        raise BackupError("passphrase: it does not open this backup's secret") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{SEALED_SECRET_FILE}: unreadable ({exc})") from None


def backup(
    settings: Settings, dest: Path, *, now: datetime, passphrase: bytes | None = None
) -> Manifest:
    """Write a backup of the platform ``settings`` names into the new directory ``dest``."""
    url = settings.effective_database_url
    kind = _kind(url)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest}: exists and is not empty; give a new directory")
    secret = resolve_secret_key(settings)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "sqlite":
            target = dest / SQLITE_FILE
            source = sqlite3.connect(_sqlite_path(url))
            try:
                copy = sqlite3.connect(target)
                with copy:
                    source.backup(copy)
                copy.close()
            finally:
                source.close()
        else:
            target = dest / POSTGRES_FILE
            _run(
                [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}",
                 f"--dbname={_libpq_url(url)}"],
                "pg_dump",
            )  # fmt: skip
        if passphrase:
            secret_path = dest / SEALED_SECRET_FILE
            secret_path.write_bytes(_seal_secret(secret, passphrase))
        else:
            secret_path = dest / SECRET_FILE
            secret_path.touch(mode=0o600)
            secret_path.write_bytes(secret)
        files = {p.name: _digest(p) for p in (target, secret_path)}
        manifest = Manifest(now.isoformat(), kind, revision, files)
        (dest / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return manifest


def read_manifest(src: Path) -> Manifest:
    """The manifest of the backup at ``src``, its files checked against it."""
    path = src / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{src}: no {MANIFEST}; not a backup") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{path}: not a {FORMAT} manifest")
    if data.get("version") != VERSION:
        raise BackupError(f"{path}: version {data.get('version')!r}, this platform reads {VERSION}")
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        raise BackupError(f"{path}: lists no files")
    for name, expected in files.items():
        file = src / name
        if not file.is_file():
            raise BackupError(f"{src}: {name} is missing")
        if _digest(file) != expected:
            raise BackupError(f"{src}: {name} does not match the manifest (altered or truncated)")
    return Manifest(str(data["created_at"]), str(data["database"]), data.get("revision"), files)


def _holds_data(url: str) -> bool:
    engine = make_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    except Exception:
        return False
    finally:
        engine.dispose()


def _empty_postgres(url: str) -> None:
    """Drop every schema of the database's own and recreate ``public`` empty.

    ``pg_restore --clean`` drops object by object and cannot drop the constraints a
    partitioned table's partitions inherit; dropping whole schemas can.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            names = connection.execute(
                text(
                    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                    "AND nspname <> 'information_schema'"
                )
            ).scalars()
            for name in list(names):
                connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def restore(
    settings: Settings, src: Path, *, passphrase: bytes | None = None, replace: bool = False
) -> Manifest:
    """Restore the backup at ``src`` into the database and secret ``settings`` name."""
    manifest = read_manifest(src)
    url = settings.effective_database_url
    kind = _kind(url)
    if manifest.database != kind:
        raise BackupError(f"{src}: a {manifest.database} backup cannot restore into {kind}")
    if SEALED_SECRET_FILE in manifest.files:
        if not passphrase:
            raise BackupError("passphrase: this backup's secret is sealed; give its passphrase")
        secret = _open_secret((src / SEALED_SECRET_FILE).read_bytes(), passphrase)
    else:
        secret = (src / SECRET_FILE).read_bytes().strip()
    if settings.secret_key is not None:
        if settings.secret_key.get_secret_value().encode() != secret:
            raise BackupError(
                "secret: the configured TWONETS_SECRET_KEY differs from the backup's; data "
                "sealed under one cannot be opened with the other (configure the backup's)"
            )
    elif (settings.var_dir / SECRET_FILE).exists() and not replace:
        current = (settings.var_dir / SECRET_FILE).read_bytes().strip()
        if current != secret:
            raise Conflict(f"{settings.var_dir / SECRET_FILE}: holds another secret; use --replace")
    if _holds_data(url) and not replace:
        raise Conflict("database: it holds tables already; use --replace to overwrite it")
    if kind == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(src / SQLITE_FILE)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
    else:
        if replace:
            _empty_postgres(url)
        _run(
            [_tool("pg_restore"), "--no-owner", "--single-transaction",
             f"--dbname={_libpq_url(url)}", str(src / POSTGRES_FILE)],
            "pg_restore",
        )  # fmt: skip
    if settings.secret_key is None:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        path = settings.var_dir / SECRET_FILE
        path.touch(mode=0o600)
        path.write_bytes(secret)
    return manifest
