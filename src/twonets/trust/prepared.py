"""Statements asked on every verification, compiled once per dialect and run on the driver.

An online verification asks the database two small things: whether the trust it holds is
still the trust recorded, with the licence's status, and one more to its count. SQLAlchemy's
execution around a statement (parameters, the execution context, result objects) costs
several times SQLite's own work on such statements, and as much again on PostgreSQL. Here a
Core statement is compiled once per dialect, its parameters go through the types' own bind
processing (so a ``date`` is stored as SQLAlchemy stores it), and the driver's cursor of the
session's connection runs it, in the session's transaction. Rows come back as the driver
gives them, without result processing: callers compare them or read plain text columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    defaults: dict[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]


class Prepared:
    """A Core statement run on the driver's cursor of the session's connection."""

    __slots__ = ("_compiled", "_statement")

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, session: Session, params: Mapping[str, Any]) -> _Compiled:
        dialect = session.connection().dialect
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        compiled = cast(SQLCompiler, self._statement.compile(dialect=dialect))
        processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _Compiled(
            compiled.string, order, dict(compiled.construct_params(dict(params)) or {}), processors
        )
        self._compiled[dialect.name] = found
        return found

    def _run(self, session: Session, params: Mapping[str, Any]) -> Any:
        compiled = self._compile(session, params)
        values = compiled.defaults | dict(params)
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        cursor = session.connection().connection.cursor()
        if compiled.order is None:
            cursor.execute(compiled.sql, values)
        else:
            cursor.execute(compiled.sql, tuple(values[name] for name in compiled.order))
        return cursor

    def rows(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """The rows of a select, as the driver returns them."""
        cursor = self._run(session, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def rowcount(self, session: Session, **params: Any) -> int:
        """How many rows an update or delete touched."""
        cursor = self._run(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()
