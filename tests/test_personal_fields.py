"""The governance rule of DESIGN.md, checked on the real models and the real source tree.

1. Every column of every table declares its data class (``public``, ``personal``,
   ``sensitive``), or the catalogue could not tell what a policy must protect.
2. Personal data leaves the database for a department only through ``governance``: outside
   ``twonets.governance`` (the door), ``twonets.migrations`` (schema, no reads) and
   ``twonets.demo`` (seeding writes synthetic data), no module selects a personal or sensitive
   column (``select(Citizen.name)``) or a whole entity that has one (``select(Citizen)``,
   ``session.get(Citizen, 1)``, ``session.query(Citizen)``). Filters are not selections:
   ``select(Citizen.id).where(Citizen.id_number == x)`` is fine.

A use that is not department-facing (logging in reads the caller's own account) opts out
with a comment that says why: ``# governance: <reason>``, on the flagged line or, where the
formatter wrapped the statement, on any line of it (of its header, for ``if``/``for``/...).
A comment without a reason does not count.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table

from twonets import migrations
from twonets.core.db import Base
from twonets.core.privacy import DataClass, all_public, public
from twonets.governance.catalogue import column_class, undeclared_columns

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "twonets"
# Packages allowed to select personal fields: the door itself, the schema, the seeder.
EXEMPT = ("twonets.governance", "twonets.migrations", "twonets.demo")

# (module, model class) pairs that select personal fields for something other than a
# department's read. Interim: each entry goes once its lines carry a `# governance:` comment
# (test_allowances_are_still_needed says when).
# Whole (module, class) exemptions; prefer a "# governance: <reason>" comment on the line.
ALLOWED: frozenset[tuple[str, str]] = frozenset()

_OPT_OUT = re.compile(r"#\s*governance:(?P<reason>.*)$")
_SQLALCHEMY = "sqlalchemy"
# Methods that add what a statement returns (besides select() itself).
_SELECTING_METHODS = frozenset({"add_columns", "with_only_columns", "add_entity", "returning"})
_GETTERS = frozenset({"get", "get_one"})


# --- the personal attributes of each mapped class ------------------------------------------


@dataclass(frozen=True)
class ModelIndex:
    """Mapped classes that hold personal data: qualified name -> personal attribute names."""

    personal: Mapping[str, frozenset[str]]

    def by_class_name(self, name: str) -> str | None:
        """The qualified name of the one personal class called ``name`` (None if 0 or 2+)."""
        found = [q for q in self.personal if q.rsplit(".", 1)[1] == name]
        return found[0] if len(found) == 1 else None


def model_index() -> ModelIndex:
    """Every mapped class with a personal or sensitive column, read from the declarations."""
    migrations.metadata()  # imports every domain's models
    personal: dict[str, frozenset[str]] = {}
    for mapper in Base.registry.mappers:
        names: set[str] = set()
        for prop in mapper.column_attrs:
            for column in prop.columns:
                if not isinstance(column, Column) or column.table is None:
                    continue
                if column_class(column, column.table) in {DataClass.PERSONAL, DataClass.SENSITIVE}:
                    names.add(prop.key)
        if names:
            cls = mapper.class_
            personal[f"{cls.__module__}.{cls.__qualname__}"] = frozenset(names)
    return ModelIndex(personal)


# --- the checker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Offence:
    """One selection of personal data outside governance."""

    module: str
    line: int
    verb: str  # select, get, query, ...
    target: str  # "Citizen.name" or "Citizen" (whole entity)
    model: str  # class name, for ALLOWED

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.verb} of {self.target} outside governance"


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` of a name or an attribute chain on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _bindings(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name -> the dotted path it stands for, from the module's imports."""
    package = module.rsplit(".", 1)[0] if "." in module else module
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    found[head] = head
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{source}" if source else base
            for alias in node.names:
                found[alias.asname or alias.name] = f"{source}.{alias.name}"
    return found


def _statement_spans(tree: ast.Module) -> list[tuple[int, int, int, int]]:
    """(first, last, opt-out first, opt-out last) lines of every statement.

    The opt-out span is the whole statement for a simple one and the header for a compound
    one (``if``, ``for``, ``with``, ``def``, ...), where a formatter puts a trailing comment.
    """
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        end = node.end_lineno or node.lineno
        body = getattr(node, "body", None)
        header_end = body[0].lineno - 1 if body and isinstance(body[0], ast.stmt) else end
        spans.append((node.lineno, end, node.lineno, max(node.lineno, header_end)))
    return spans


def _opt_outs(source: str) -> set[int]:
    """Lines that carry ``# governance: <reason>`` with a non-empty reason."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            match = _OPT_OUT.search(token.string)
            if match and match.group("reason").strip():
                lines.add(token.start[0])
    return lines


class _Checker:
    def __init__(self, module: str, tree: ast.Module, index: ModelIndex) -> None:
        self.module = module
        self.index = index
        self.bindings = _bindings(tree, module)
        self.local_classes = {
            n.name for n in tree.body if isinstance(n, ast.ClassDef)
        }  # models.py refers to its own classes by bare name

    def model(self, node: ast.AST) -> str | None:
        """The qualified name of the personal class ``node`` names, if it names one."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.bindings:
            full = self.bindings[head] + (f".{rest}" if rest else "")
        elif head in self.local_classes:
            full = f"{self.module}.{dotted}"
        elif not rest:
            # An unresolved bare name: the one personal class of that name, if unambiguous.
            return self.index.by_class_name(dotted)
        else:
            return None
        return full if full in self.index.personal else None

    def is_sqlalchemy_select(self, func: ast.AST) -> bool:
        """Whether ``func`` is SQLAlchemy's ``select`` (bare, aliased or ``sa.select``)."""
        dotted = _dotted(func)
        if dotted is None:
            return False
        head, _, rest = dotted.partition(".")
        bound = self.bindings.get(head)
        if bound is None:
            return dotted == "select"
        full = bound + (f".{rest}" if rest else "")
        return full.startswith(_SQLALCHEMY) and full.rsplit(".", 1)[-1] == "select"

    def selected(self, node: ast.AST) -> Iterator[tuple[str, str]]:
        """(target, class name) of each personal field or entity an expression selects."""
        qualified = self.model(node)
        if qualified is not None:
            yield qualified.rsplit(".", 1)[1], qualified.rsplit(".", 1)[1]
            return
        if isinstance(node, ast.Attribute):
            owner = self.model(node.value)
            if owner is not None:
                name = owner.rsplit(".", 1)[1]
                if node.attr in self.index.personal[owner]:
                    yield f"{name}.{node.attr}", name
                elif node.attr == "__table__":
                    yield name, name
                return  # a public attribute of a personal class: Citizen.id
        for child in ast.iter_child_nodes(node):
            yield from self.selected(child)

    def offences(self, call: ast.Call) -> Iterator[tuple[str, str, str]]:
        """(verb, target, class name) of each selection of personal data by one call."""
        func = call.func
        if self.is_sqlalchemy_select(func):
            for arg in call.args:
                for target, model in self.selected(arg):
                    yield "select", target, model
        elif isinstance(func, ast.Attribute):
            if func.attr in _GETTERS and call.args:
                qualified = self.model(call.args[0])
                if qualified is not None:
                    name = qualified.rsplit(".", 1)[1]
                    yield func.attr, name, name
            elif func.attr in _SELECTING_METHODS or func.attr == "query":
                for arg in call.args:
                    for target, model in self.selected(arg):
                        yield func.attr, target, model
            elif func.attr == "select" and not call.args:
                # Citizen.__table__.select(): every column of the table.
                owner = (
                    self.model(func.value.value)
                    if isinstance(func.value, ast.Attribute) and func.value.attr == "__table__"
                    else None
                )
                if owner is not None:
                    name = owner.rsplit(".", 1)[1]
                    yield "select", name, name


def check_source(module: str, source: str, index: ModelIndex) -> list[Offence]:
    """Every selection of personal data in ``source`` that no ``# governance:`` excuses."""
    tree = ast.parse(source)
    checker = _Checker(module, tree, index)
    spans = _statement_spans(tree)
    excused = _opt_outs(source)
    found: list[Offence] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        hits = list(checker.offences(node))
        if not hits:
            continue
        end = node.end_lineno or node.lineno
        lines = set(range(node.lineno, end + 1))
        containing = [s for s in spans if s[0] <= node.lineno and end <= s[1]]
        if containing:
            innermost = min(containing, key=lambda s: s[1] - s[0])
            lines |= set(range(innermost[2], innermost[3] + 1))
        if lines & excused:
            continue
        found.extend(Offence(module, node.lineno, *hit) for hit in hits)
    return sorted(found, key=lambda o: (o.module, o.line, o.target))


def checked_modules() -> Iterator[tuple[str, Path]]:
    """(module name, path) of every module of the package outside the exempt packages."""
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if any(module == e or module.startswith(e + ".") for e in EXEMPT):
            continue
        yield module, path


def tree_offences(index: ModelIndex) -> list[Offence]:
    """Every unexcused offence in the source tree, ALLOWED or not."""
    found: list[Offence] = []
    for module, path in checked_modules():
        found.extend(check_source(module, path.read_text(encoding="utf-8"), index))
    return found


# --- 1. every column declares its data class -------------------------------------------------


def test_every_column_declares_its_data_class() -> None:
    metadata = migrations.metadata()
    assert {"citizen", "account", "gov_ledger_entry"} <= set(metadata.tables)
    assert undeclared_columns(metadata) == []


def test_an_undeclared_column_is_reported() -> None:
    metadata = MetaData()
    Table(
        "throwaway",
        metadata,
        Column("id", Integer, primary_key=True, info=public()),
        Column("nickname", String(32)),
        Column("note", String(32)),
    )
    Table("reference", metadata, Column("code", String(8)), info=all_public())
    assert undeclared_columns(metadata) == ["throwaway.nickname", "throwaway.note"]


# --- 2. only governance selects personal fields ----------------------------------------------


def test_the_index_knows_the_personal_fields() -> None:
    personal = model_index().personal
    # If the index were empty the tree check below would pass without checking anything.
    assert {"id_number", "name", "phone", "home_lon", "home_lat"} <= personal[
        "twonets.core.models.Citizen"
    ]
    assert "id" not in personal["twonets.core.models.Citizen"]
    assert "district_code" not in personal["twonets.core.models.Citizen"]
    assert "twonets.core.models.Department" not in personal  # all public


def test_only_governance_selects_personal_fields() -> None:
    modules = dict(checked_modules())
    assert "twonets.core.auth" in modules
    assert not any(m.startswith(EXEMPT) for m in modules)
    offences = [o for o in tree_offences(model_index()) if (o.module, o.model) not in ALLOWED]
    assert [str(o) for o in offences] == []


def test_allowances_are_still_needed() -> None:
    used = {(o.module, o.model) for o in tree_offences(model_index())}
    stale = sorted(ALLOWED - used)
    assert stale == [], (
        f"remove {stale} from ALLOWED: their lines carry a `# governance:` comment now, "
        "or no longer select personal fields"
    )


SNIPPET = """\
from sqlalchemy import select
from twonets.core.models import Citizen


def department_view(session, x):
    names = session.scalars(select(Citizen.name)).all()
    one = session.get(Citizen, 1)
    ids = session.scalars(select(Citizen.id).where(Citizen.name == x)).all()
    return names, one, ids
"""


def test_the_checker_reports_selections_and_not_filters() -> None:
    offences = check_source("twonets.somewhere", SNIPPET, model_index())
    assert [str(o) for o in offences] == [
        "twonets.somewhere:6: select of Citizen.name outside governance",
        "twonets.somewhere:7: get of Citizen outside governance",
    ]


def test_the_checker_works_without_imports_too() -> None:
    source = (
        "select(Citizen.name)\n"
        "session.get(Citizen, 1)\n"
        "select(Citizen.id).where(Citizen.name == x)\n"
    )
    offences = check_source("m", source, model_index())
    assert [(o.line, o.verb, o.target) for o in offences] == [
        (1, "select", "Citizen.name"),
        (2, "get", "Citizen"),
    ]


def test_the_checker_sees_through_aliases_and_whole_entities() -> None:
    source = """\
import sqlalchemy as sa
from sqlalchemy import select as pick
from twonets.core import models
from twonets.core.models import Account as A, Citizen, Department

sa.select(models.Citizen.phone.label("p"))
pick(A)
session.query(Citizen)
select(Citizen.__table__)
Citizen.__table__.select()
select(Citizen.id).add_columns(Citizen.address)
select(func.max(Citizen.birth_date))
select(Department, Citizen.id, Citizen.district_code)
"""
    offences = check_source("m", source, model_index())
    assert [(o.line, o.verb, o.target) for o in offences] == [
        (6, "select", "Citizen.phone"),
        (7, "select", "Account"),
        (8, "query", "Citizen"),
        (9, "select", "Citizen"),
        (10, "select", "Citizen"),
        (11, "add_columns", "Citizen.address"),
        (12, "select", "Citizen.birth_date"),
    ]


def test_an_opt_out_needs_a_reason() -> None:
    source = """\
a = select(Citizen.name)  # governance: the resident's own record, for their own page
b = select(Citizen.name)  # governance:
c = select(Citizen.name)  #governance:
d = session.scalar(
    select(Account).where(Account.username == username)
)  # governance: login reads the account being logged into
if session.get(Citizen, 1) is None:  # governance: existence check, nothing leaves
    pass
if session.get(Citizen, 2) is None:
    e = 1  # governance: a comment in the body does not excuse the header
"""
    offences = check_source("m", source, model_index())
    assert [o.line for o in offences] == [2, 3, 9]
