"""Backups round-trip: after a restore into another database the ledger verifies and a
licence issued before the backup still verifies; broken backups are refused whole."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import NOW, create_citizen, create_staff, next_id_number
from twonets import migrations
from twonets.cli import app as cli
from twonets.core import backup
from twonets.core import service as core_service
from twonets.core.auth import principal_of
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.errors import Conflict
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel
from twonets.governance import ledger
from twonets.licences import service as licences
from twonets.trust import service as trust


@dataclass(frozen=True)
class Before:
    """What the platform held when it was backed up."""

    qr: str
    entries: int


def _populate(settings: Settings, factory: sessionmaker[Session]) -> Before:
    secret = resolve_secret_key(settings)
    ctx = licences.Licensing(secret)
    with unit_of_work(factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=secret, now=NOW)
        core_service.create_department(
            session, code="sh.police", name="公安", name_en="police", function="police",
            level=DepartmentLevel.CITY, region_code="SH",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body="00240001"
            ),
        )  # fmt: skip
        clerk = principal_of(
            create_staff(session, department=core_service.get_department(session, "sh.police"))
        )
        number = next_id_number(birth=date(1985, 3, 4))
        resident = principal_of(create_citizen(session, id_number=number, name="张三"))
        licence = licences.issue_licence(
            session, ctx, clerk, type_code="ID",
            claims={"name": "张三", "id_number": number,
                    "sex": "female" if int(number[16]) % 2 == 0 else "male",
                    "birth_date": "1985-03-04", "address": "上海市黄浦区人民大道200号",
                    "photo_hash": hashlib.sha256(b"photo").hexdigest()},
            valid_from=date(2024, 1, 1), now=NOW,
        )  # fmt: skip
        qr = licences.qr_code(session, ctx, resident, licence_id=licence.id, now=NOW)
        ledger.record_reads(
            session,
            [
                {"read_at": NOW, "actor": clerk.username, "department_code": "sh.police",
                 "purpose_code": "licence.issue", "dataset": "core.citizen",
                 "subject_kind": "citizen", "subject_ids": [resident.account_id],
                 "fields": ["name"], "request_id": str(uuid.uuid4()), "kind": "read"},
            ],
        )  # fmt: skip
        signer = ledger.LedgerSigner(secret)
        entries = ledger.sequence_pending(session, signer, now=NOW + timedelta(seconds=1))
    assert entries >= 1
    return Before(qr, entries)


def _check(settings: Settings, before: Before) -> None:
    secret = resolve_secret_key(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            report = ledger.verify_ledger(session, ledger.LedgerSigner(secret).public_key)
            verdict = licences.verify(
                session, licences.Licensing(secret), text=before.qr, verifier="hotel", now=NOW
            ).to_json()
    finally:
        engine.dispose()
    assert report.ok, report.problems
    assert report.entries == before.entries
    assert verdict["valid"] is True, verdict


@pytest.fixture
def other_database(
    migrated_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """An empty database of the same kind to restore into."""
    if migrated_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    yield request.getfixturevalue("fresh_postgres_url")


def test_a_backup_restores_into_another_database_and_everything_still_verifies(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    other_database: str,
    tmp_path: Path,
) -> None:
    before = _populate(settings, session_factory)
    made = backup.backup(settings, tmp_path / "backup", now=NOW)
    assert made.revision == migrations.head_revision()
    assert set(made.files) in ({"database.sqlite", "secret.key"}, {"database.pgdump", "secret.key"})
    assert (tmp_path / "backup" / "secret.key").stat().st_mode & 0o077 == 0

    elsewhere = Settings(var_dir=tmp_path / "var2", database_url=other_database, events_url=None)
    backup.restore(elsewhere, tmp_path / "backup")

    assert resolve_secret_key(elsewhere) == resolve_secret_key(settings)
    _check(elsewhere, before)


def test_a_sealed_secret_needs_its_passphrase(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session],
    other_database: str, tmp_path: Path,
) -> None:  # fmt: skip
    before = _populate(settings, session_factory)
    backup.backup(settings, tmp_path / "b", now=NOW, passphrase=b"a long passphrase")
    assert not (tmp_path / "b" / "secret.key").exists()
    assert resolve_secret_key(settings) not in (tmp_path / "b" / "secret.key.enc").read_bytes()
    elsewhere = Settings(var_dir=tmp_path / "v", database_url=other_database, events_url=None)

    with pytest.raises(backup.BackupError, match=r"^passphrase: this backup's secret is sealed"):
        backup.restore(elsewhere, tmp_path / "b")
    with pytest.raises(backup.BackupError, match=r"^passphrase: it does not open"):
        backup.restore(elsewhere, tmp_path / "b", passphrase=b"another passphrase")
    backup.restore(elsewhere, tmp_path / "b", passphrase=b"a long passphrase")
    _check(elsewhere, before)


def test_an_altered_backup_is_refused_before_anything_is_written(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session],
    other_database: str, tmp_path: Path,
) -> None:  # fmt: skip
    _populate(settings, session_factory)
    made = backup.backup(settings, tmp_path / "b", now=NOW)
    name = next(n for n in made.files if n.startswith("database"))
    with (tmp_path / "b" / name).open("r+b") as handle:
        handle.truncate(made.files[name]["bytes"] // 2)
    elsewhere = Settings(var_dir=tmp_path / "v", database_url=other_database, events_url=None)

    with pytest.raises(backup.BackupError, match="does not match the manifest"):
        backup.restore(elsewhere, tmp_path / "b")
    assert not (tmp_path / "v" / "secret.key").exists()


def test_restoring_over_data_needs_replace(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    before = _populate(settings, session_factory)
    backup.backup(settings, tmp_path / "b", now=NOW)
    with pytest.raises(Conflict, match=r"^database: it holds tables already"):
        backup.restore(settings, tmp_path / "b")
    backup.restore(settings, tmp_path / "b", replace=True)
    _check(settings, before)


def test_the_commands_back_up_and_refuse_a_manifest_of_another_kind(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _populate(settings, session_factory)
    monkeypatch.setenv("TWONETS_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("TWONETS_DATABASE_URL", settings.effective_database_url)
    runner = CliRunner()

    made = runner.invoke(cli, ["backup", str(tmp_path / "b")])
    assert made.exit_code == 0, made.output
    assert "it holds the root secret" in made.output
    again = runner.invoke(cli, ["backup", str(tmp_path / "b")])
    assert again.exit_code == 2
    assert "exists and is not empty" in again.output

    manifest = tmp_path / "b" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(data | {"format": "something-else"}))
    refused = runner.invoke(cli, ["restore", str(tmp_path / "b"), "--replace"])
    assert refused.exit_code == 2
    assert "not a twonets-backup manifest" in refused.output
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM licence")).scalar_one() == 1
    finally:
        engine.dispose()
