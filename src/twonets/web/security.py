"""The web's own defences: security headers on every response, and same-origin state changes.

Pages keep the login in an HTTP-only cookie, so a form on another site could make the
browser post to ours with it (cross-site request forgery). Every state-changing request to
a page (anything but GET, HEAD and OPTIONS outside ``/api/`` and ``/open311/``) must
therefore show that it came from one of our own pages: browsers send ``Sec-Fetch-Site``
(``same-origin``) and ``Origin`` with every such request, and a page of another site cannot
forge either. The API
accepts only the ``Authorization: Bearer`` header, which a browser never adds on its own, so
it needs no such check; nor does Open311 (``/open311/``), whose clients send their
application's ``api_key`` in the form.

The Content-Security-Policy allows scripts only from our own origin (no inline script, no
``eval``), no framing, and no other host for anything; a city that names its own map tile
server (``TWONETS_MAP_TILES_URL``) adds that one host for images.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twonets.core.errors import PROBLEM_BASE

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a browser says of a request that one of our own pages (or the user, typing the
# address) started; "cross-site" and "same-site" (a sibling subdomain) are refused.
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def content_security_policy(*, image_hosts: Iterable[str] = ()) -> str:
    """The policy every response carries (``image_hosts``: extra origins for map tiles)."""
    images = " ".join(["'self'", "data:", "blob:", *image_hosts])
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": images,
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def origin_of(url: str) -> str | None:
    """The ``scheme://host[:port]`` of a URL, or None when it has none."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin_refusal(
    *, method: str, path: str, own_origin: str, origin: str | None, fetch_site: str | None
) -> str | None:
    """Why a request must be refused as possibly forged, or None when it may go on."""
    if method.upper() in SAFE_METHODS or path.startswith(("/api/", "/open311/")):
        return None
    if fetch_site is not None:
        if fetch_site.lower() in ALLOWED_FETCH_SITES:
            return None
        return f"the request came from another site (Sec-Fetch-Site: {fetch_site})"
    if origin is not None and origin != "null":
        if origin.lower() == own_origin.lower():
            return None
        return f"the request came from another site (Origin: {origin})"
    return "the request names no origin; forms are accepted only from this platform's pages"


class SecurityMiddleware:
    """Adds the security headers to every response and refuses cross-site state changes."""

    def __init__(self, app: ASGIApp, *, image_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(image_hosts=image_hosts)),
            (b"x-content-type-options", "nosniff"),
            (b"x-frame-options", "DENY"),
            (b"referrer-policy", "same-origin"),
            (b"cross-origin-opener-policy", "same-origin"),
            (b"permissions-policy", "camera=(self), geolocation=(self), microphone=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = same_origin_refusal(
            method=scope["method"],
            path=scope["path"],
            own_origin=_own_origin(scope, headers),
            origin=headers.get("origin"),
            fetch_site=headers.get("sec-fetch-site"),
        )
        if refusal is not None:
            await self._refuse(scope, send, refusal)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v.encode()) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, detail: str) -> None:
        body = json.dumps(
            {
                "type": PROBLEM_BASE + "cross-site-request",
                "title": "Cross-site request refused",
                "status": 403,
                "detail": detail,
                "instance": scope["path"],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *((k, v.encode()) for k, v in self.headers),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}".lower()
