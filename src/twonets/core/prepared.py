"""Statements asked on every request of a hot path, compiled once per dialect and run on the driver.

SQLAlchemy's execution around a statement (parameters, the execution context, result
objects) costs several times SQLite's own work on a small statement, and as much again on
PostgreSQL. Here a Core statement is compiled once per dialect, its parameters go through
the types' own bind processing (so a ``date`` is stored as SQLAlchemy stores it), and the
driver's cursor of the session's connection runs it, in the session's transaction.

``rows`` gives the rows as the driver returns them (callers compare them or read plain
columns); ``records`` applies each column's result processing first (a timestamp read back
as the aware ``datetime`` SQLAlchemy would give, a boolean as ``bool``) and names the
columns, for the few selects whose values are used as such.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Dialect, Select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Parameter names in the order a positional driver takes them; None for named ones.
    order: tuple[str, ...] | None
    defaults: dict[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]
    # For ``records``: the row type naming the selected columns, and each column's result
    # processing by position (None where the driver's value is already the one to use).
    record: type[tuple[Any, ...]] | None
    results: tuple[Callable[[Any], Any] | None, ...]


class Prepared:
    """A Core statement run on the driver's cursor of the session's connection.

    An insert names the ``columns`` it is given values of (each a parameter of that name,
    processed as its column's type).
    """

    __slots__ = ("_columns", "_compiled", "_statement")

    def __init__(self, statement: ClauseElement, *, columns: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._columns = list(columns) if columns is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        compiled = cast(
            SQLCompiler, self._statement.compile(dialect=dialect, column_keys=self._columns)
        )
        processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        record: type[tuple[Any, ...]] | None = None
        results: tuple[Callable[[Any], Any] | None, ...] = ()
        if isinstance(self._statement, Select):
            columns = list(self._statement.selected_columns)
            record = _row_type([str(c.key) for c in columns])
            results = tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            )
        found = _Compiled(
            compiled.string,
            order,
            dict(compiled.construct_params(dict(params)) or {}),
            processors,
            record,
            results,
        )
        self._compiled[dialect.name] = found
        return found

    def _run(self, session: Session, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        connection = session.connection()
        compiled = self._compile(connection.dialect, params)
        values = compiled.defaults | dict(params)
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        cursor = connection.connection.cursor()
        if compiled.order is None:
            cursor.execute(compiled.sql, values)
        else:
            cursor.execute(compiled.sql, tuple(values[name] for name in compiled.order))
        return compiled, cursor

    def rows(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """The rows of a select (or of an insert's ``RETURNING``), as the driver returns them."""
        _, cursor = self._run(session, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def records(self, session: Session, **params: Any) -> list[Any]:
        """The rows of a select with SQLAlchemy's result processing, columns by name."""
        compiled, cursor = self._run(session, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        record = compiled.record
        if record is None:
            raise TypeError("records() reads the rows of a select")
        results = compiled.results
        return [
            record(*[_processed(f, v) for f, v in zip(results, row, strict=True)])
            for row in fetched
        ]

    def execute(self, session: Session, params: Mapping[str, Any]) -> None:
        """Run an insert, update or delete whose result is not read."""
        _, cursor = self._run(session, params)
        cursor.close()

    def rowcount(self, session: Session, **params: Any) -> int:
        """How many rows an update or delete touched."""
        _, cursor = self._run(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


def _processed(process: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if process is None or value is None else process(value)


def _row_type(names: list[str]) -> type[tuple[Any, ...]]:
    """A named tuple type of these column names (made at run time, so typed loosely)."""
    make: Any = namedtuple
    row_type: type[tuple[Any, ...]] = make("Record", names)
    return row_type
