"""muck trucks: alerts pushed to inspectors and companies, camera and drone sightings; on
PostgreSQL, positions partitioned by day

Revision ID: 0019_trucks_live
Revises: 0018_requests_loop
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0019_trucks_live"
down_revision: str | None = "0018_requests_loop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partitions live in a schema of their own, so that the application's schema holds only the
# tables the models declare (one partition a day would otherwise be a table each).
PARTITIONS = "truck_partitions"
DAYS_AHEAD = 7

_COLUMNS = """
    truck_id INTEGER NOT NULL,
    time TIMESTAMP WITH TIME ZONE NOT NULL,
    lon FLOAT NOT NULL,
    lat FLOAT NOT NULL,
    speed_kmh FLOAT NOT NULL,
"""


def _partition(day: date) -> str:
    following = day + timedelta(days=1)
    return (
        f"CREATE TABLE IF NOT EXISTS {PARTITIONS}.truck_position_p{day:%Y%m%d} "
        f"PARTITION OF truck_position FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
        f"TO ('{following.isoformat()} 00:00:00+00')"
    )


def _partition_positions() -> None:
    """truck_position becomes partitioned by range of time, a partition per UTC day: the
    days it holds and the next week (the scheduled job keeps a week ahead), a default
    partition for anything else; retention then drops whole days."""
    bind = op.get_bind()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {PARTITIONS}")
    op.execute("ALTER TABLE truck_position RENAME TO truck_position_plain")
    op.execute("ALTER INDEX ix_truck_position_time RENAME TO ix_truck_position_plain_time")
    op.execute("ALTER INDEX ix_truck_position_truck_time RENAME TO ix_truck_position_plain_tt")
    op.execute(
        "ALTER TABLE truck_position_plain RENAME CONSTRAINT pk_truck_position "
        "TO pk_truck_position_plain"
    )
    op.execute(
        "ALTER TABLE truck_position_plain RENAME CONSTRAINT fk_truck_position_truck_id_truck "
        "TO fk_truck_position_plain_truck"
    )
    op.execute("ALTER SEQUENCE truck_position_id_seq OWNED BY NONE")
    op.execute(
        "CREATE TABLE truck_position ("
        " id BIGINT NOT NULL DEFAULT nextval('truck_position_id_seq'::regclass),"
        f"{_COLUMNS}"
        " CONSTRAINT pk_truck_position PRIMARY KEY (id, time),"
        " CONSTRAINT fk_truck_position_truck_id_truck FOREIGN KEY (truck_id)"
        " REFERENCES truck (id) ON DELETE CASCADE"
        ") PARTITION BY RANGE (time)"
    )
    op.execute("CREATE INDEX ix_truck_position_time ON truck_position (time)")
    op.execute("CREATE INDEX ix_truck_position_truck_time ON truck_position (truck_id, time)")
    op.execute(
        f"CREATE TABLE {PARTITIONS}.truck_position_default PARTITION OF truck_position DEFAULT"
    )
    today = datetime.now(UTC).date()
    days = {today + timedelta(days=n) for n in range(-1, DAYS_AHEAD + 1)}
    days |= set(
        bind.execute(
            sa.text("SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM truck_position_plain")
        ).scalars()
    )
    for day in sorted(days):
        op.execute(_partition(day))
    op.execute(
        "INSERT INTO truck_position (id, truck_id, time, lon, lat, speed_kmh) "
        "SELECT id, truck_id, time, lon, lat, speed_kmh FROM truck_position_plain"
    )
    op.execute("DROP TABLE truck_position_plain")
    op.execute("ALTER SEQUENCE truck_position_id_seq OWNED BY truck_position.id")


def _unpartition_positions() -> None:
    op.execute("ALTER SEQUENCE truck_position_id_seq OWNED BY NONE")
    op.execute(
        "CREATE TABLE truck_position_plain ("
        " id BIGINT NOT NULL DEFAULT nextval('truck_position_id_seq'::regclass),"
        f"{_COLUMNS}"
        " CONSTRAINT pk_truck_position_plain PRIMARY KEY (id),"
        " CONSTRAINT fk_truck_position_plain_truck FOREIGN KEY (truck_id)"
        " REFERENCES truck (id) ON DELETE CASCADE)"
    )
    op.execute(
        "INSERT INTO truck_position_plain (id, truck_id, time, lon, lat, speed_kmh) "
        "SELECT id, truck_id, time, lon, lat, speed_kmh FROM truck_position"
    )
    op.execute("DROP TABLE truck_position")
    op.execute(f"DROP SCHEMA IF EXISTS {PARTITIONS} CASCADE")
    op.execute("ALTER TABLE truck_position_plain RENAME TO truck_position")
    op.execute(
        "ALTER TABLE truck_position RENAME CONSTRAINT pk_truck_position_plain TO pk_truck_position"
    )
    op.execute(
        "ALTER TABLE truck_position RENAME CONSTRAINT fk_truck_position_plain_truck "
        "TO fk_truck_position_truck_id_truck"
    )
    op.execute("CREATE INDEX ix_truck_position_time ON truck_position (time)")
    op.execute("CREATE INDEX ix_truck_position_truck_time ON truck_position (truck_id, time)")
    op.execute("ALTER SEQUENCE truck_position_id_seq OWNED BY truck_position.id")


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        _partition_positions()
    op.create_table(
        "truck_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("prior_violations", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=256), nullable=False),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["truck_company.id"],
            name=op.f("fk_truck_alert_company_id_truck_company"),
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["truck_violation.id"],
            name=op.f("fk_truck_alert_violation_id_truck_violation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_alert")),
        info={"data_class_default": "public"},
    )
    op.create_index(
        "ix_truck_alert_department", "truck_alert", ["department_code", "created_at"], unique=False
    )
    op.create_index(
        "ix_truck_alert_company", "truck_alert", ["company_id", "created_at"], unique=False
    )
    op.create_index(
        op.f("ix_truck_alert_violation_id"), "truck_alert", ["violation_id"], unique=False
    )
    op.create_table(
        "truck_sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("time", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("image_ref", sa.String(length=512), nullable=False),
        sa.Column("truck_id", sa.Integer(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("trip_start_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["truck_id"], ["truck.id"], name=op.f("fk_truck_sighting_truck_id_truck")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_sighting")),
        sa.UniqueConstraint("source", "device", "event_id", name="uq_truck_sighting_event"),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_truck_sighting_time"), "truck_sighting", ["time"], unique=False)
    op.create_index(
        op.f("ix_truck_sighting_truck_id"), "truck_sighting", ["truck_id"], unique=False
    )


def downgrade() -> None:
    """Undo this revision."""
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_positions()
    op.drop_index(op.f("ix_truck_sighting_truck_id"), table_name="truck_sighting")
    op.drop_index(op.f("ix_truck_sighting_time"), table_name="truck_sighting")
    op.drop_table("truck_sighting")
    op.drop_index(op.f("ix_truck_alert_violation_id"), table_name="truck_alert")
    op.drop_index("ix_truck_alert_company", table_name="truck_alert")
    op.drop_index("ix_truck_alert_department", table_name="truck_alert")
    op.drop_table("truck_alert")
