"""The restricted evaluator that runs the conditions and scripts of process files.

A process file is data a designer deploys, not code the platform trusts; so its expressions
and scripts never reach plain ``eval``/``exec`` with Python's builtins. Each is parsed first
and refused when it imports, defines functions or classes, names anything that starts with
an underscore (``__class__``, ``__import__``, ``_private``) or calls ``format`` (whose
mini-language reaches attributes by name). What runs sees only the task's data and the
allow-listed pure builtins, and stops at a time bound.
"""

from __future__ import annotations

import ast
import builtins
import sys
import time
from collections.abc import Mapping
from types import CodeType, FrameType
from typing import Any

from twonets.core.errors import Invalid

ALLOWED_BUILTINS: Mapping[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs",
        "min",
        "max",
        "round",
        "len",
        "sum",
        "sorted",
        "int",
        "float",
        "str",
        "bool",
    )
}
# Long enough for any rule a process needs; short enough that a loop cannot hold a worker.
TIME_LIMIT_SECONDS = 0.5
# Statements and expressions a condition or script may use; anything else is refused.
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Expression,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.Delete,
    ast.Del,
    ast.If,
    ast.For,
    ast.While,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.expr_context,
)
# Attribute names refused besides those starting with "_": format reaches attributes itself.
_REFUSED_ATTRIBUTES = frozenset({"format", "format_map", "mro", "gi_frame", "f_globals"})
_MAX_POWER = 1000


class ScriptRefused(Invalid):
    """A condition or script of a process file broke the rules of the restricted evaluator."""

    slug = "script-refused"
    title = "Process script refused"


def _refuse(source: str, node: ast.AST | None, why: str) -> ScriptRefused:
    line = getattr(node, "lineno", None)
    where = f" (line {line})" if line else ""
    snippet = " ".join(source.split())[:80]
    return ScriptRefused(f"script {snippet!r}{where}: {why}")


def check(source: str, *, mode: str) -> ast.Module | ast.Expression:
    """Parse ``source`` (``eval`` or ``exec`` mode) and refuse what the evaluator forbids."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise _refuse(source, None, f"not valid Python: {exc.msg} (line {exc.lineno})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise _refuse(source, node, "imports are not allowed")
        if not isinstance(node, _ALLOWED_NODES):
            kind = type(node).__name__
            raise _refuse(source, node, f"{kind} is not allowed in process scripts")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise _refuse(source, node, f"names starting with '_' are not allowed: {node.id}")
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr in _REFUSED_ATTRIBUTES
        ):
            raise _refuse(source, node, f"attribute {node.attr!r} is not allowed")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            right = node.right
            if not (
                isinstance(right, ast.Constant)
                and isinstance(right.value, int)
                and abs(right.value) <= _MAX_POWER
            ):
                raise _refuse(source, node, f"powers need a constant exponent up to {_MAX_POWER}")
    assert isinstance(tree, ast.Module | ast.Expression)
    return tree


class _Deadline:
    """A trace function that stops the running script once its time is up."""

    def __init__(self, source: str, seconds: float) -> None:
        self.source = source
        self.seconds = seconds
        self.until = time.monotonic() + seconds

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == _FILENAME:
            frame.f_trace_opcodes = False
            if time.monotonic() > self.until:
                raise _refuse(self.source, None, f"ran longer than {self.seconds:g} s")
            return self
        return None


_FILENAME = "<process script>"


def _run(code: CodeType, source: str, scope: dict[str, Any], seconds: float) -> Any:
    deadline = _Deadline(source, seconds)
    previous = sys.gettrace()
    sys.settrace(deadline)
    try:
        return eval(code, scope)  # the code was checked above; builtins are the allow-list
    except ScriptRefused:
        raise
    except NameError as exc:
        name = getattr(exc, "name", None) or str(exc)
        if hasattr(builtins, str(name)):
            allowed = ", ".join(ALLOWED_BUILTINS)
            raise _refuse(
                source, None, f"{name} is not allowed (builtins allowed: {allowed})"
            ) from None
        raise _refuse(source, None, f"{name} is not in the application's data") from None
    except Exception as exc:  # the script's own fault (a wrong type, a division by zero)
        raise _refuse(source, None, f"{type(exc).__name__}: {exc}") from None
    finally:
        sys.settrace(previous)


def _scope(data: Mapping[str, Any]) -> dict[str, Any]:
    scope = {k: v for k, v in data.items() if not k.startswith("_")}
    scope["__builtins__"] = dict(ALLOWED_BUILTINS)
    return scope


def evaluate(
    expression: str, data: Mapping[str, Any], *, seconds: float = TIME_LIMIT_SECONDS
) -> Any:
    """The value of a condition or expression over ``data``."""
    tree = check(expression, mode="eval")
    code = compile(tree, _FILENAME, "eval")
    return _run(code, expression, _scope(data), seconds)


def execute(script: str, data: dict[str, Any], *, seconds: float = TIME_LIMIT_SECONDS) -> None:
    """Run a script task's script over ``data``, which it may change (in place)."""
    tree = check(script, mode="exec")
    code = compile(tree, _FILENAME, "exec")
    scope = _scope(data)
    _run(code, script, scope, seconds)
    scope.pop("__builtins__", None)
    for key in [k for k in data if not k.startswith("_") and k not in scope]:
        del data[key]
    data.update({k: v for k, v in scope.items() if not callable(v)})
