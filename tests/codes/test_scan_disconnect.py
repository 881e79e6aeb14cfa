"""A scan whose database connection was lost is a 503 to retry, and the next scan is answered.

The scan's statements run on the driver's cursor (core/prepared.py), outside SQLAlchemy's
execution, so the driver's own error is what they raise on a connection the server dropped.
The unit of work then rolls back through SQLAlchemy, which sees the disconnect: it discards
that connection and every pooled one opened before it, and raises its ``OperationalError``,
which the web answers with 503 and ``Retry-After`` rather than "internal error". Nothing of
the failed scan is written, so the retry admits the code. With the web app's pool taking a
connection just returned without a ping (core/db.py), this is the path such a break takes.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from codes.test_api import _auth, _code
from codes.world import World
from twonets.codes.models import ScanRecord
from twonets.core.config import Settings
from twonets.core.prepared import Prepared


def _end_the_apps_connections(admin: Engine, url: str) -> int:
    """End every server process connected to the app's database; how many there were."""
    database = url.rsplit("/", 1)[-1]
    with admin.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = :database AND pid <> pg_backend_pid()"
            ),
            {"database": database},
        ).scalar_one()
    return int(ended)


def test_a_scan_on_a_dropped_connection_is_503_and_the_retry_is_admitted(
    world: World, settings: Settings, postgres_admin: Engine
) -> None:
    from twonets.web import create_app

    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("a connection the server drops is PostgreSQL's (SQLite is in the process)")
    # Never pinged on checkout: the scan itself meets the dropped connection.
    app = create_app(
        settings.model_copy(update={"database_ping_after_idle_seconds": 3600}), relay=False
    )
    app.state.coding = world.ctx
    headers = {"Origin": "http://testserver", "Accept-Language": "en"}
    with TestClient(app, headers=headers) as client:
        gate = _auth(client, world.library.username)
        first, second = (_code(client, world.resident.username) for _ in range(2))
        scan = {"code": first, "place": "east gate"}
        assert client.post("/api/v1/codes/scans", json=scan, headers=gate).status_code == 200
        assert _end_the_apps_connections(postgres_admin, settings.effective_database_url) >= 1

        scan = {"code": second, "place": "east gate"}
        refused = client.post("/api/v1/codes/scans", json=scan, headers=gate)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["Retry-After"]
        assert "database" in refused.json()["detail"]

        again = client.post("/api/v1/codes/scans", json=scan, headers=gate)
        assert again.status_code == 200, again.text
        assert again.json()["admit"] is True  # the refused scan wrote nothing
    app.state.engine.dispose()
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(ScanRecord)) == 2


def test_other_driver_errors_pass_through_unchanged(world: World) -> None:
    statement = Prepared(text("SELECT * FROM no_such_table"))
    with world.factory() as session:
        dbapi = session.connection().dialect.loaded_dbapi
        with pytest.raises(dbapi.Error) as raised:
            statement.rows(session)
        assert "no_such_table" in str(raised.value)
        session.rollback()
        assert session.execute(text("SELECT 1")).scalar_one() == 1  # still usable
