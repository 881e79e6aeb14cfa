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

# The packages of twonets that are not domains: entry points (nothing imports them) and core
# (everything may import it). Every other package is a domain, or shared (governance, trust).
NOT_DOMAINS = frozenset({"cli", "web", "demo", "migrations", "core"})
# DESIGN.md: a domain reaches another only through its service (a module or a package). Some
# offer more on purpose; that public face is listed here, module by module, with the reason.
PUBLIC_FACE: dict[str, dict[str, str]] = {
    "governance": {
        "catalogue": "the data classes every domain's columns declare",
        "ledger": "the citizen's own reads, shown by each domain",
        "sealing": "field sealing every domain applies to its sensitive columns",
    },
    "trust": {
        "keys": "key ids and issuing keys",
        "store": "the trust store a verifier holds",
        "suites": "the signature suites",
        "jws": "the one JWS compact codec",
        "cose": "the one COSE_Sign1 / CWT codec",
        "base45": "the base45 alphabet of QR payloads",
        "times": "the instants of credentials (NumericDate, ISO 8601 with Z)",
        "errors": "the trust errors callers catch",
        "remote": "other regions' deployments: their URLs and the lists fetched of them",
    },
}
# Domains made of parts, each part with its own service (operations: the case loop, device
# intake, and the rooms beside them). Another domain reaches a part through that service.
DOMAIN_PARTS: dict[str, frozenset[str]] = {
    "operations": frozenset({"cases", "devices", "rentals", "trucks", "bikes"}),
}
# Offences known today, each with its reason; the list only shrinks.
KNOWN_EXCEPTIONS: dict[str, str] = {}


def test_import_linter_contracts_are_kept() -> None:
    assert lint_imports(no_cache=True) == 0


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in NOT_DOMAINS else None


def _offends(importer: str, imported: str) -> bool:
    """Whether ``importer`` reaches past another domain's service and public face."""
    source, target = _domain(importer), _domain(imported)
    if source is None or target is None or source == target:
        return False
    parts = imported.split(".")
    if len(parts) == 2:  # the package itself (its __init__)
        return False
    if parts[2] == "service" or parts[2] in PUBLIC_FACE.get(target, {}):
        return False
    in_a_part = parts[2] in DOMAIN_PARTS.get(target, frozenset())
    return not (in_a_part and (len(parts) == 3 or parts[3] == "service"))


def test_domains_reach_each_other_only_through_service_and_public_face() -> None:
    graph = grimp.build_graph("twonets")
    offences = sorted(
        f"{importer} -> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if _offends(importer, imported)
    )
    assert [o for o in offences if o not in KNOWN_EXCEPTIONS] == []
    assert sorted(set(KNOWN_EXCEPTIONS) - set(offences)) == [], "mended: drop from the list"


@pytest.mark.parametrize(
    ("importer", "imported", "offends"),
    [
        ("twonets.codes.service", "twonets.licences.models", True),
        ("twonets.codes.service", "twonets.operations.device_models", True),
        ("twonets.health.service.reserve", "twonets.operations.devices.api", True),
        ("twonets.codes.demo", "twonets.health._cli_reserve", True),
        ("twonets.codes.demo", "twonets.health.cli.reserve", True),
        ("twonets.health.demo", "twonets.licences.service", False),
        ("twonets.health.demo", "twonets.licences.service.issuing", False),
        ("twonets.codes.token", "twonets.trust.cose", False),
        ("twonets.codes.token", "twonets.trust._der", True),
        ("twonets.licences.api", "twonets.licences.models", False),
        ("twonets.web.app", "twonets.licences.api", False),
        ("twonets.health.service", "twonets.operations.cases.service", False),
        ("twonets.health.service", "twonets.operations.cases.service.intake", False),
        ("twonets.health.service", "twonets.operations.cases.models", True),
        ("twonets.health.service", "twonets.operations.cases", False),
        ("twonets.codes.service", "twonets.licences.status.service", True),
    ],
)
def test_the_rule_holds_for_any_module_of_another_domain(
    importer: str, imported: str, offends: bool
) -> None:
    assert _offends(importer, imported) is offends


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
