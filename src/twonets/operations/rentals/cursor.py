"""Detection's rows moved between the database and Arrow on the driver's cursor.

Detection reads and writes a district's kept figures and totals by the hundred thousand.
Through SQLAlchemy's results each row becomes a ``Row`` then a dict, and an insert of dicts
is bound row by row: most of the platform path's time. Here a Core statement is compiled
for the session's dialect and run on the driver's cursor of the session's connection (in
the session's transaction, as :mod:`twonets.core.prepared` does). The columns moved are
text, integers and floats, which neither driver nor SQLAlchemy converts.

- **Reads**: the rows come back as the driver's tuples (psycopg's and sqlite3's fetching is
  compiled) and become Arrow columns in one conversion. Two ways around the tuples were
  measured on PostgreSQL and left: ``COPY (select) TO STDOUT`` is slower (the server sends
  one message per row and psycopg reads each in Python: 1.5 s against 0.9 s for 180,000
  rows); CSV lines built by the server and sent in a few large values cut the client's CPU
  time by a third but add as much to the server's, and the database is the part of a
  deployment that does not grow by adding machines (the platform's new month at 100,000
  households: 9.7-11.0 s either way).
- **Writes** of an Arrow table (:func:`write_table`): on PostgreSQL Arrow's CSV writer fills
  one buffer that ``COPY ... FROM STDIN (FORMAT csv)`` sends, with no Python object per
  value; on SQLite an ``executemany`` of tuples zipped from the Arrow columns. The CSV is
  exact: Arrow writes a double as the shortest text that reads back as the same double,
  NULL is the unquoted empty field and an empty text is quoted, NaN and infinities are
  words PostgreSQL reads (``tests/operations/rentals/test_cursor.py``: written and read
  back value for value).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Table
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


def _cursor(session: Session) -> Any:
    session.flush()  # what the session holds is written first, as its own queries would
    return session.connection().connection.cursor()


def _compiled(session: Session, statement: ClauseElement) -> tuple[str, Any]:
    """The statement's SQL for the session's dialect and its parameters, bind-processed."""
    dialect = session.connection().dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    params = compiled.construct_params() or {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name in params:
            params[name] = process(params[name])
    if compiled.positional:
        return compiled.string, tuple(params[n] for n in compiled.positiontup or ())
    return compiled.string, params


def rows(session: Session, statement: ClauseElement) -> list[tuple[Any, ...]]:
    """The rows of a select, as tuples of what the driver returns."""
    sql, params = _compiled(session, statement)
    cursor = _cursor(session)
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())  # tuples, from either driver
    finally:
        cursor.close()


def table(found: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Rows (in ``schema``'s column order) as an Arrow table of ``schema``."""
    if not found:
        return schema.empty_table()
    # Arrow takes the tuples as one struct array (in C++), then splits it into columns.
    return pa.Table.from_struct_array(pa.array(found, type=pa.struct(list(schema))))


def read(session: Session, statement: ClauseElement, schema: pa.Schema) -> pa.Table:
    """A select's rows (in ``schema``'s column order) as an Arrow table of ``schema``."""
    return table(rows(session, statement), schema)


def write_table(session: Session, target: Table, rows: pa.Table) -> None:
    """Insert an Arrow table's rows into ``target``, its columns named as the target's."""
    if not rows.num_rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        write(session, target, rows.column_names, zip(*rows.to_pydict().values(), strict=True))
        return
    buffer = io.BytesIO()
    pa_csv.write_csv(
        rows, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    )
    cursor = _cursor(session)
    try:
        with cursor.copy(
            f"COPY {_into(connection.dialect, target, rows.column_names)} FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(buffer.getbuffer())
    finally:
        cursor.close()


def _into(dialect: Any, target: Table, names: Sequence[str]) -> str:
    """``table (column, ...)``, quoted for the dialect."""
    quote = dialect.identifier_preparer.quote
    return f"{dialect.identifier_preparer.format_table(target)} ({', '.join(map(quote, names))})"


def write(session: Session, target: Table, names: Sequence[str], values: Iterable[Any]) -> None:
    """Insert rows (tuples in ``names``' order) into ``target``."""
    connection = session.connection()
    dialect = connection.dialect
    into = _into(dialect, target, names)
    cursor = _cursor(session)
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join(_mark(dialect.paramstyle) for _ in names)
            cursor.executemany(f"INSERT INTO {into} VALUES ({marks})", list(values))
    finally:
        cursor.close()


def update(
    session: Session, target: Table, key: str, names: Sequence[str], values: Iterable[Any]
) -> None:
    """Set ``names`` of the rows of ``target`` whose ``key`` is each tuple's last value."""
    dialect = session.connection().dialect
    quote = dialect.identifier_preparer.quote
    mark = _mark(dialect.paramstyle)
    sets = ", ".join(f"{quote(name)} = {mark}" for name in names)
    sql = (
        f"UPDATE {dialect.identifier_preparer.format_table(target)} SET {sets}"
        f" WHERE {quote(key)} = {mark}"
    )
    cursor = _cursor(session)
    try:
        cursor.executemany(sql, list(values))
    finally:
        cursor.close()


def _mark(paramstyle: str | None) -> str:
    return {"qmark": "?", "format": "%s", "pyformat": "%s"}[paramstyle or "qmark"]
