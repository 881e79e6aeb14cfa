"""The restricted evaluator refuses the usual escapes, each with a reason that says which."""

from __future__ import annotations

import time

import pytest

from twonets.services import sandbox
from twonets.services.sandbox import ScriptRefused


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("__import__('os')", "names starting with '_' are not allowed: __import__"),
        ("().__class__.__bases__", "attribute '__bases__' is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "is not allowed"),
        ("open('/etc/passwd').read()", "open is not allowed"),
        ("exec('x = 1')", "exec is not allowed"),
        ("eval('1')", "eval is not allowed"),
        ("getattr(1, 'real')", "getattr is not allowed"),
        ("'{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
        ("(lambda: 1)()", "Lambda is not allowed"),
        ("2 ** 10 ** 10", "powers need a constant exponent"),
        ("[x for x in range(10)]", "range is not allowed"),
    ],
)
def test_an_expression_that_escapes_is_refused(source: str, reason: str) -> None:
    with pytest.raises(ScriptRefused) as refused:
        sandbox.evaluate(source, {})

    assert reason in refused.value.detail
    assert refused.value.status == 422


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("import os", "imports are not allowed"),
        ("from os import system", "imports are not allowed"),
        ("def f():\n    return 1", "FunctionDef is not allowed"),
        ("class A:\n    pass", "ClassDef is not allowed"),
        ("global x\nx = 1", "Global is not allowed"),
        ("with open('x') as f:\n    pass", "With is not allowed"),
        ("try:\n    x = 1\nexcept Exception:\n    pass", "Try is not allowed"),
        ("_secret = 1", "names starting with '_' are not allowed"),
    ],
)
def test_a_script_that_escapes_is_refused(script: str, reason: str) -> None:
    with pytest.raises(ScriptRefused) as refused:
        sandbox.execute(script, {})

    assert reason in refused.value.detail


def test_a_long_loop_stops_at_the_time_bound() -> None:
    started = time.monotonic()

    with pytest.raises(ScriptRefused, match=r"ran longer than 0\.1 s"):
        sandbox.execute("i = 0\nwhile True:\n    i += 1", {}, seconds=0.1)

    assert time.monotonic() - started < 2


def test_builtins_beyond_the_allow_list_are_not_there() -> None:
    for name in ("print", "type", "object", "vars", "globals", "compile", "input"):
        with pytest.raises(ScriptRefused, match=f"{name} is not allowed"):
            sandbox.evaluate(f"{name}", {})


def test_allowed_builtins_and_data_work() -> None:
    data = {"amounts": [3, 1, 2], "rate": 0.5, "name": "张三"}

    assert sandbox.evaluate("sum(amounts) * rate", data) == 3.0
    assert sandbox.evaluate("sorted(amounts)[0] == min(amounts)", data) is True
    assert sandbox.evaluate("len(name) == 2 and str(round(2.6)) == '3'", data) is True
    assert sandbox.evaluate("f'{name}:{max(amounts)}'", data) == "张三:3"


def test_a_script_changes_the_data_in_place() -> None:
    data: dict[str, object] = {"amount": 10, "gone": 1}

    sandbox.execute("total = amount * 2\nitems = [i for i in [1, 2] if i > 1]\ndel gone", data)

    assert data == {"amount": 10, "total": 20, "items": [2]}


def test_data_with_underscore_names_is_not_visible() -> None:
    with pytest.raises(ScriptRefused, match="names starting with '_'"):
        sandbox.evaluate("_hidden", {"_hidden": 1})
