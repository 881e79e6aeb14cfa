"""API fuzzing: every operation of the platform's OpenAPI document, with schemathesis.

Generated, not listed by hand: the operations come from the app's own OpenAPI document (a
route added tomorrow is fuzzed without anyone remembering it), the callers from the roles
(tests/test_access_matrix.py's principals: one account per role in Shanghai and Jiangsu, a
resident, an enterprise, nobody). Each operation is called with generated requests

- as a caller who may call it (one of its declared roles; a resident where any logged-in
  account may; nobody where it is public), and
- where it names roles, as a caller who may not, who must get 401 or 403 every time.

Every response must: not be a server error; have a status code, content type and body the
document describes (schemathesis' conformance checks; ``web/openapi.py`` documents the
errors); and, for an error, be ``application/problem+json`` whose ``status`` is the HTTP
status (Open311 answers errors in its specification's own shape, which its operations
document). CI runs a bounded number of examples per operation; a longer run is

    TWONETS_FUZZ_EXAMPLES=200 .venv/bin/pytest -p no:xdist tests/test_api_fuzz.py

and ``TWONETS_FUZZ_SEED`` repeats a run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session, sessionmaker

from test_access_matrix import Caller, _callers
from twonets.core.http import access_of, iter_calls
from twonets.core.models import Role
from twonets.web.openapi import OPEN311_PREFIX, PROBLEM_MEDIA_TYPE

EXAMPLES = int(os.environ.get("TWONETS_FUZZ_EXAMPLES", "4"))
WRONG_EXAMPLES = max(1, EXAMPLES // 2)
SEED = int(os.environ.get("TWONETS_FUZZ_SEED", "20261207"))
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass(frozen=True)
class Access:
    """Who may call an operation: ``public``, ``authenticated`` or the roles it names."""

    kind: str
    roles: frozenset[Role] = frozenset()


def declared_access(app: FastAPI) -> dict[tuple[str, str], Access]:
    """The access each route declares, by (METHOD, path)."""
    found: dict[tuple[str, str], Access] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        dependant = getattr(context, "dependant", None) or route.dependant
        declared = {access_of(call) for call in iter_calls(dependant)} - {None}
        roles = frozenset(
            Role(r)
            for d in declared
            if d and d.startswith("roles:")
            for r in d.removeprefix("roles:").split(",")
        )
        if roles:
            access = Access("roles", roles)
        elif "authenticated" in declared:
            access = Access("authenticated")
        else:
            access = Access("public")
        for method in context.methods or ():
            found[(method.upper(), str(context.path))] = access
    return found


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type", "")
    return str(value[0] if isinstance(value, list) else value)


def _problems_of(label: str, response: Any, case: Any) -> list[str]:
    """What is wrong with one response (empty when nothing is)."""
    problems = []
    status = response.status_code
    if status >= 500:
        problems.append(f"{label}: server error {status}: {response.text[:300]}")
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as failure:  # schemathesis raises a FailureGroup (an ExceptionGroup)
        if isinstance(failure, KeyboardInterrupt):
            raise
        lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
        problems.append(f"{label}: {status}: {' | '.join(lines[:5])[:400]}")
    if status >= 400 and not case.operation.path.startswith(OPEN311_PREFIX):
        kind = _content_type(response)
        if PROBLEM_MEDIA_TYPE not in kind:
            problems.append(f"{label}: {status} answered as {kind!r}, not problem+json")
        elif response.json().get("status") != status:
            problems.append(f"{label}: {status} but the problem says {response.json()!r:.200}")
    return problems


def _fuzz(
    operation: Any, caller: Caller, examples: int, expect: Callable[[int], bool] | None
) -> list[str]:
    """Call ``operation`` with generated requests as ``caller``; the problems found."""
    label = f"{operation.method.upper()} {operation.path} as {caller.name}"
    found: list[str] = []
    headers = {"Origin": "http://testserver", "Accept": "application/json"}
    if caller.token is not None:
        headers["Authorization"] = f"Bearer {caller.token}"

    @seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        # Siting optimisation answers in seconds on a busy machine: allow it a minute.
        response = case.call(headers=headers, timeout=60)
        found.extend(_problems_of(label, response, case))
        if expect is not None and not expect(response.status_code):
            found.append(f"{label}: expected a refusal, got {response.status_code}")

    run()
    return found


@pytest.fixture
def fuzz_callers(session_factory: sessionmaker[Session], migrated_url: str) -> list[Caller]:
    """The access matrix's principals, on SQLite (the API's answers are the app's)."""
    if not migrated_url.startswith("sqlite"):
        pytest.skip("the fuzzing runs on SQLite; each service's own tests run on both")
    return _callers(session_factory)


def _allowed(access: Access, callers: list[Caller]) -> Caller:
    if access.kind == "public":
        return next(c for c in callers if c.token is None)
    if access.kind == "authenticated":
        return next(c for c in callers if c.roles == {Role.CITIZEN})
    return next(c for c in callers if c.roles & access.roles and ".js." not in c.name)


def _refused(access: Access, callers: list[Caller]) -> Caller | None:
    if access.kind != "roles":
        return None
    # A resident, unless residents may; then an account of a role the operation does not name.
    outsiders = [c for c in callers if c.token is not None and not c.roles & access.roles]
    return next((c for c in outsiders if c.roles == {Role.CITIZEN}), outsiders[0])


def test_every_operation_answers_within_its_document_for_callers_who_may_and_may_not(
    app: FastAPI, fuzz_callers: list[Caller]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    access = declared_access(app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100, "the document lists the API of every domain"
    problems: list[str] = []
    refused_checked = 0
    for operation in operations:
        declared = access[(operation.method.upper(), operation.path)]
        problems += _fuzz(operation, _allowed(declared, fuzz_callers), EXAMPLES, None)
        outsider = _refused(declared, fuzz_callers)
        if outsider is not None:
            refused_checked += 1
            problems += _fuzz(operation, outsider, WRONG_EXAMPLES, lambda s: s in (401, 403))
    assert refused_checked > 50
    assert problems == [], "\n".join(problems[:40])


def test_the_document_describes_errors_as_problems(app: FastAPI) -> None:
    document = app.openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            default = operation["responses"]["default"]["content"]
            if path.startswith(OPEN311_PREFIX):
                assert "application/json" in default, f"{method} {path}"
            else:
                assert PROBLEM_MEDIA_TYPE in default, f"{method} {path}"
