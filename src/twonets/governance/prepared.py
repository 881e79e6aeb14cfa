"""Statements the door runs on every read, compiled once per dialect and run on the driver.

A governed read asks the database two small things besides its rows: the grant stamp (with
the datasets' key versions when the transaction has not read them yet), and the insert of
its pending ledger record. SQLAlchemy's execution around such a statement (the ORM's
execution path, parameters, the execution context, result objects) costs several times
SQLite's own work on it. Here a Core statement is compiled once per dialect, its parameters
go through the types' own bind processing (JSON is written and a datetime stored exactly
as SQLAlchemy would write them), and the driver's cursor of the session's connection runs
it, in the session's transaction. Rows come back as the driver gives them, without result
processing: only plain text and integer columns are read this way.

The same pattern as ``twonets.trust.prepared`` (domains do not import each other).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Parameter names in the order a positional driver takes them; None for named ones.
    order: tuple[str, ...] | None
    processors: Mapping[str, Callable[[Any], Any]]


class Prepared:
    """A Core statement run on the driver's cursor of the session's connection.

    Every parameter of the statement is given at each run (there are no defaults to fill
    in). ``rows`` flushes the session first when it autoflushes, as the ORM does before a
    query, so that what the session holds unflushed is seen (a policy written, its new
    stamp); ``execute`` does not, like a Core insert through the session.
    """

    __slots__ = ("_column_keys", "_compiled", "_statement")

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        # An insert of a table names the columns it sets (the rest take their defaults).
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Any) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        compiled = cast(
            SQLCompiler, self._statement.compile(dialect=dialect, column_keys=self._column_keys)
        )
        processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _Compiled(compiled.string, order, processors)
        self._compiled[dialect.name] = found
        return found

    def _run(self, session: Session, params: Mapping[str, Any]) -> Any:
        connection = session.connection()
        compiled = self._compile(connection.dialect)
        values = dict(params)
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        cursor = connection.connection.cursor()
        if compiled.order is None:
            cursor.execute(compiled.sql, values)
        else:
            cursor.execute(compiled.sql, tuple(values[name] for name in compiled.order))
        return cursor

    def rows(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """The rows of a select, as the driver returns them."""
        if session.autoflush:
            session.flush()  # what the ORM does before it queries (a no-op when clean)
        cursor = self._run(session, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def execute(self, session: Session, params: Mapping[str, Any]) -> None:
        """Run an insert (or any statement whose result is not read)."""
        self._run(session, params).close()
