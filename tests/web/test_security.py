"""The web's defences: same-origin state changes, security headers, the offline API page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from twonets.core.config import Settings
from twonets.web import create_app
from twonets.web.security import content_security_policy, origin_of, same_origin_refusal

OWN = "http://testserver"
LOGIN = {"username": "nobody", "password": "wrong-password"}


def _bare_client(app: FastAPI) -> TestClient:
    """A client that sends no Origin of its own (like a script, or a forged form's browser)."""
    return TestClient(app)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "https://evil.example"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-site", "Origin": OWN}, True),
        ({}, True),
        ({"Origin": "null"}, True),
        ({"Origin": OWN}, False),
        ({"Sec-Fetch-Site": "same-origin"}, False),
        ({"Sec-Fetch-Site": "none"}, False),
    ],
)
def test_a_page_form_posted_from_elsewhere_is_refused(
    app: FastAPI, headers: dict[str, str], refused: bool
) -> None:
    with _bare_client(app) as client:
        response = client.post("/login", data=LOGIN, headers=headers)

    if refused:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/cross-site-request")
        assert "another site" in problem["detail"] or "names no origin" in problem["detail"]
    else:
        # The form reached the login handler, which refuses the wrong password itself.
        assert response.status_code == 401


def test_the_api_is_not_subject_to_the_origin_check(app: FastAPI) -> None:
    # The API takes only a bearer token, which a forged form cannot attach.
    with _bare_client(app) as client:
        response = client.post(
            "/api/v1/auth/token", json=LOGIN, headers={"Origin": "https://evil.example"}
        )

    assert response.status_code == 401


def test_reading_a_page_needs_no_origin(app: FastAPI) -> None:
    with _bare_client(app) as client:
        response = client.get("/login")

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/login", "/api/v1/districts", "/no-such-page", "/healthz"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)

    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_static_files_carry_the_headers_too(client: TestClient) -> None:
    response = client.get("/static/favicon.svg")

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_citys_tile_server_is_the_one_other_host_for_images(
    tmp_path: Path, migrated_url: str
) -> None:
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=migrated_url,
        map_tiles_url="https://tiles.city.example/{z}/{x}/{y}.png",
    )
    app = create_app(settings, relay=False)
    with TestClient(app) as client:
        policy = client.get("/healthz").headers["content-security-policy"]
    app.state.engine.dispose()

    images = next(d for d in policy.split("; ") if d.startswith("img-src"))
    assert images == "img-src 'self' data: blob: https://tiles.city.example"
    scripts = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert scripts == "script-src 'self'"


def test_the_api_page_loads_swagger_ui_from_the_platform(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    html = response.text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/docs.js" in html
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # no inline script
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_the_classic_icon_address_leads_to_the_platforms_icon(client: TestClient) -> None:
    response = client.get("/favicon.ico", follow_redirects=False)

    assert response.status_code == 301
    assert response.headers["location"] == "/static/favicon.svg"


@given(
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
    path=st.from_regex(r"/[a-z/]{0,20}", fullmatch=True).filter(
        lambda p: not p.startswith("/api/")
    ),
    site=st.sampled_from(["cross-site", "same-site"]),
    origin=st.one_of(st.none(), st.just(OWN), st.just("https://evil.example")),
)
def test_a_cross_site_fetch_is_refused_whatever_its_origin_header_says(
    method: str, path: str, site: str, origin: str | None
) -> None:
    refusal = same_origin_refusal(
        method=method, path=path, own_origin=OWN, origin=origin, fetch_site=site
    )

    assert refusal is not None


@given(method=st.sampled_from(["GET", "HEAD", "OPTIONS"]), origin=st.text(max_size=30))
def test_safe_methods_are_never_refused(method: str, origin: str) -> None:
    assert (
        same_origin_refusal(
            method=method, path="/x", own_origin=OWN, origin=origin, fetch_site="cross-site"
        )
        is None
    )


def test_origin_of_keeps_scheme_host_and_port() -> None:
    assert origin_of("https://Tiles.Example:8443/{z}/{x}/{y}.png") == "https://tiles.example:8443"
    assert origin_of("/relative/path") is None


def test_the_policy_forbids_inline_script_and_framing() -> None:
    policy = content_security_policy()

    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"


def test_a_citys_tile_server_reaches_the_maps_of_the_pages(
    tmp_path: Path, migrated_url: str
) -> None:
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=migrated_url,
        map_tiles_url="https://tiles.city.example/{z}/{x}/{y}.png",
        map_tiles_attribution="© 城市测绘院",
    )
    app = create_app(settings, relay=False)
    with TestClient(app) as client:
        with_tiles = client.get("/districts").text
    app.state.engine.dispose()

    assert (
        '<meta name="twonets-map-tiles" content="https://tiles.city.example/{z}/{x}/{y}.png" '
        'data-attribution="© 城市测绘院">'
    ) in with_tiles
    assert with_tiles.index("leaflet.js") < with_tiles.index("maps.js")
    assert with_tiles.index("maps.js") < with_tiles.index("districts.js")


def test_without_a_tile_server_the_maps_stay_offline(client: TestClient) -> None:
    page = client.get("/districts").text

    assert "twonets-map-tiles" not in page
