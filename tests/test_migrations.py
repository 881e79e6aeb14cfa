"""The same Alembic history builds the models' schema on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from twonets import migrations
from twonets.core.db import make_engine


def test_upgrade_matches_the_models_and_downgrade_removes_everything(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        assert migrations.current_revision(engine) == migrations.head_revision()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), migrations.metadata())
        assert diff == []
        migrations.downgrade(empty_url, "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        migrations.upgrade(empty_url)
        assert "citizen" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_codes_admitted_twice_before_the_index_keep_the_earliest(empty_url: str) -> None:
    """Two first scans of one code that both got in before the admit-once index: the
    earliest stays admitted, the later one becomes a replay, and the index is built."""
    migrations.upgrade(empty_url, "0031_governed_grant_stamp")
    engine = make_engine(empty_url)
    try:
        columns = (
            "scenario_code, purpose_code, holder_token, holder_region, verifier_code, place, "
            "place_key, code_id, result, scanned_at, day, minute, keep_until"
        )
        rows = [("C1", "admitted"), ("C1", "admitted"), ("C1", "admitted"), ("C2", "admitted")]
        with engine.begin() as connection:
            for code_id, result in rows:
                connection.execute(
                    text(
                        f"INSERT INTO code_scan ({columns}) VALUES ('s', 'p', 't', 'SH', 'v', "
                        f"'x', 'k', :code, :result, '2026-12-01 08:00:00', '2026-12-01', 1, "
                        f"'2027-01-01 08:00:00')"
                    ),
                    {"code": code_id, "result": result},
                )
        migrations.upgrade(empty_url)
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT code_id, result FROM code_scan ORDER BY id")
            ).all()
        assert [tuple(r) for r in found] == [
            ("C1", "admitted"),
            ("C1", "replay"),
            ("C1", "replay"),
            ("C2", "admitted"),
        ]
        assert "uq_code_scan_admitted" in {
            i["name"] for i in inspect(engine).get_indexes("code_scan")
        }
    finally:
        engine.dispose()
