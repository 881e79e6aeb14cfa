"""Detection's bulk rows: an Arrow table written and read back is the same table, on both databases.

On PostgreSQL the write is Arrow's CSV through ``COPY ... FROM STDIN``, so the text forms
of every float (shortest digits, subnormals, NaN, infinities), of NULL against the empty
text, and of texts with commas, quotes and line breaks must all come back as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from twonets.core.db import make_engine
from twonets.operations.rentals import cursor

METADATA = MetaData()
ROWS = Table(
    "bulk_rows",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("household_pk", Integer, nullable=True),
    Column("label", String(64), nullable=True),
    Column("value", Float, nullable=True),
)
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("household_pk", pa.int64()),
        ("label", pa.string()),
        ("value", pa.float64()),
    ]
)
# Texts as CSV meets them: separators, quotes, line breaks, the empty text, words that other
# readers take for NULL or NaN. PostgreSQL's text holds no NUL.
LABELS = st.one_of(
    st.none(),
    st.sampled_from(["", "NULL", "NA", "nan", "NaN", "\\N", '""', " "]),
    st.text(
        st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=20
    ).filter(lambda text: len(text.encode()) <= 64),
)
VALUES = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    made = make_engine(empty_url)
    METADATA.create_all(made)
    try:
        yield made
    finally:
        made.dispose()


def _same(dialect: str, wrote: Any, read: Any) -> bool:
    if isinstance(wrote, float) and math.isnan(wrote):
        # SQLite stores a NaN as NULL (its documented behaviour), PostgreSQL keeps it.
        return read is None if dialect == "sqlite" else isinstance(read, float) and math.isnan(read)
    return bool(wrote == read) and type(wrote) is type(read)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)), LABELS, VALUES),
        max_size=30,
    )
)
def test_a_table_written_reads_back_value_for_value(
    engine: Engine, rows: list[tuple[int | None, str | None, float | None]]
) -> None:
    table = pa.table(
        {
            "id": pa.array(range(1, len(rows) + 1), pa.int64()),
            "household_pk": pa.array([r[0] for r in rows], pa.int64()),
            "label": pa.array([r[1] for r in rows], pa.string()),
            "value": pa.array([r[2] for r in rows], pa.float64()),
        }
    )
    with Session(engine) as session:
        cursor.write_table(session, ROWS, table)
        back = cursor.read(session, select(*ROWS.c).order_by(ROWS.c.id), SCHEMA)
        session.rollback()
    assert back.num_rows == len(rows)
    dialect = engine.dialect.name
    for wrote, read in zip(table.to_pylist(), back.to_pylist(), strict=True):
        for name in SCHEMA.names:
            assert _same(dialect, wrote[name], read[name]), (name, wrote[name], read[name])


def test_a_value_the_column_refuses_writes_nothing(engine: Engine) -> None:
    """One bad row fails the whole write: no half of the rows is left behind."""
    too_long = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "label": pa.array(["fits", "x" * 65]),
        }
    )
    with Session(engine) as session:
        if engine.dialect.name == "sqlite":
            pytest.skip("SQLite does not enforce a text column's length")
        with pytest.raises(Exception, match="too long"):
            cursor.write_table(session, ROWS, too_long)
        session.rollback()
        assert cursor.rows(session, select(ROWS.c.id)) == []


def test_an_empty_table_writes_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        cursor.write_table(session, ROWS, SCHEMA.empty_table())
        assert cursor.read(session, select(*ROWS.c), SCHEMA).num_rows == 0
