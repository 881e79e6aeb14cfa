"""Detection's rows moved between the database and Arrow on the driver's cursor.

Detection reads and writes a district's kept figures and totals by the hundred thousand.
Through SQLAlchemy's results each row becomes a ``Row`` then a dict, and an insert of dicts
is bound row by row: most of the platform path's time. Here a Core statement is compiled
for the session's dialect and run on the driver's cursor of the session's connection (in
the session's transaction, as :mod:`twonets.core.prepared` does); the rows come back as
the driver gives them (the columns read are text, integers and floats, which neither driver
nor SQLAlchemy converts) and become Arrow columns in one conversion. Rows are written
as tuples zipped from Arrow columns: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import Table
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


def _cursor(session: Session) -> Any:
    session.flush()  # what the session holds is written first, as its own queries would
    return session.connection().connection.cursor()


def rows(session: Session, statement: ClauseElement) -> list[tuple[Any, ...]]:
    """The rows of a select, as tuples of what the driver returns."""
    dialect = session.connection().dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    params = compiled.construct_params() or {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name in params:
            params[name] = process(params[name])
    cursor = _cursor(session)
    try:
        if compiled.positional:
            cursor.execute(compiled.string, tuple(params[n] for n in compiled.positiontup or ()))
        else:
            cursor.execute(compiled.string, params)
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


def write(session: Session, target: Table, names: Sequence[str], values: Iterable[Any]) -> None:
    """Insert rows (tuples in ``names``' order) into ``target``."""
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    into = f"{dialect.identifier_preparer.format_table(target)} ({', '.join(map(quote, names))})"
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
