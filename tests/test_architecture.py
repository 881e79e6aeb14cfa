"""The module rules of DESIGN.md, checked on the real import graph and the real app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grimp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from importlinter.cli import lint_imports
from starlette.routing import Mount

from twonets.core.http import access_of, iter_calls

DOMAINS = ("licences", "codes", "services", "appeals", "operations", "health", "requests")
SHARED = ("governance", "trust")


def test_import_linter_contracts_are_kept() -> None:
    assert lint_imports(no_cache=True) == 0


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_domains_never_import_each_others_models_or_adapters() -> None:
    graph = grimp.build_graph("twonets")
    offences = []
    for importer in graph.modules:
        source = _package(importer)
        if source not in DOMAINS + SHARED:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            target = _package(imported)
            if target in DOMAINS + SHARED and target != source:
                leaf = imported.split(".")[2] if imported.count(".") >= 2 else ""
                # DESIGN.md: domains never import each other's models (nor their HTTP, command
                # line or demo adapters); services and pure modules are theirs to call.
                if leaf in {"models", "api", "cli", "demo"}:
                    offences.append(f"{importer} -> {imported}")
    assert offences == []


@dataclass(frozen=True)
class _Route:
    path: str
    methods: frozenset[str]
    dependant: Any


def _routes(app: FastAPI) -> list[_Route]:
    """Every API route as served, including those of included routers, with full paths."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            dependant = getattr(context, "dependant", None) or context.original_route.dependant
            found.append(_Route(str(context.path), frozenset(context.methods or ()), dependant))
    return found


def test_every_route_declares_who_may_call_it(app: FastAPI) -> None:
    routes = _routes(app)
    # The walk must see the routes of included routers, or it would prove nothing.
    assert {"/api/v1/me", "/login", "/healthz"} <= {r.path for r in routes}
    undeclared = []
    for route in _routes(app):
        declared = [access_of(call) for call in iter_calls(route.dependant)]
        if not any(declared):
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert undeclared == []


def test_the_check_would_catch_an_undeclared_route(app: FastAPI) -> None:
    @app.get("/api/v1/undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    route = next(r for r in _routes(app) if r.path == "/api/v1/undeclared")
    assert not any(access_of(c) for c in iter_calls(route.dependant))


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/api/v1/me", "authenticated"), ("/api/v1/staff", "roles:admin"), ("/healthz", "public")],
)
def test_declarations_are_what_the_routes_need(app: FastAPI, path: str, expected: str) -> None:
    route = next(r for r in _routes(app) if r.path == path)
    assert expected in {access_of(c) for c in iter_calls(route.dependant)}


def test_static_files_are_the_only_mount(app: FastAPI) -> None:
    mounts = [r.path for r in app.routes if isinstance(r, Mount)]
    assert mounts == ["/static"]
