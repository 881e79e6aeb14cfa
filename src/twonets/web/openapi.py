"""The OpenAPI document says what errors look like: RFC 9457 problem+json on every operation.

FastAPI documents each operation's success response and a 422 of its own shape
(``HTTPValidationError``), which this platform never sends: bad input is a problem+json
naming each field and rule (``web/errors.py``). This module rewrites the generated document
once, for every operation, present and future: the 422 becomes a ``Problem`` with its
``errors`` list, and a ``default`` response covers every other error status (401, 403, 404,
409, 413, 415, 429, 503, ...) with the same schema. Open311 GeoReport v2 answers errors in
its specification's own shape (a list of ``code`` and ``description``), so its operations
document that instead. ``tests/test_api_fuzz.py`` holds every response to this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_MEDIA_TYPE = "application/problem+json"
OPEN311_PREFIX = "/open311/"

_FIELD_PROBLEM: dict[str, Any] = {
    "title": "FieldProblem",
    "type": "object",
    "description": "One field that broke one rule.",
    "properties": {
        "field": {"type": "string", "description": "The field, as a dotted path."},
        "rule": {"type": "string", "description": "The rule's stable name."},
        "detail": {"type": "string"},
    },
    "required": ["field", "rule", "detail"],
}

_PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details; more members may follow.",
    "properties": {
        "type": {"type": "string", "description": "The problem type's URI."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
    },
    "required": ["type", "title", "status"],
}

_OPEN311_ERRORS: dict[str, Any] = {
    "title": "Open311Errors",
    "type": "array",
    "description": "Errors in GeoReport v2's shape.",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "required": ["code", "description"],
    },
}

_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


def _open311_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Open311Errors"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's errors described as this platform sends them."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["FieldProblem"] = _FIELD_PROBLEM
    schemas["Problem"] = _PROBLEM
    schemas["Open311Errors"] = _OPEN311_ERRORS
    for path, item in document.get("paths", {}).items():
        respond = _open311_response if path.startswith(OPEN311_PREFIX) else _problem_response
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = respond("Invalid input: each field and the rule it breaks")
            responses.setdefault("default", respond("An error"))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with its errors described (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
