"""Code holders' revocations across the border: what a region publishes, what others check.

A code carries its holder's pseudonymous token; the holder's region decides revocations.
Each region publishes the revocations in force of its holders as a signed list (a compact
JWS under the region's issuing key, ``typ: twonets-holder-status+jws``) at
``/api/v1/codes/holder-status/{region}``, valid an hour and refetched every five minutes.
The list names no token: each entry is a digest of (token, scenario), which only someone
holding the code can compute, so the list tells nothing about who is revoked.

A platform that recognises that region's own deployment (``twonets.trust.remote``) keeps
the list it fetched and checks a scanned code of that region against it: revoked, or not,
or "cannot check revocation" once the list kept has expired (the region unreachable for
longer than an hour), never a silent pass.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.codes.context import Coding
from twonets.codes.models import CodeHolder, Revocation
from twonets.codes.scenarios import IDENTITY
from twonets.core.errors import Invalid, NotFound
from twonets.trust import remote
from twonets.trust.jws import (
    MalformedJws,
    b64url_decode,
    b64url_encode,
    parse_compact,
    sign_with_key,
)
from twonets.trust.keys import format_time

MEDIA_TYPE = "twonets-holder-status+jws"
LIFETIME = timedelta(hours=1)
TTL_SECONDS = 300
KIND = "holder-status"


class CannotCheck(Exception):
    """The list of a remote region's revocations is not at hand or has expired."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def path_of(region: str) -> str:
    """Where a region's platform publishes its holders' revocations."""
    return f"/api/v1/codes/holder-status/{region}"


def entry(token: str, scenario: str) -> str:
    """The published form of "the holder of ``token`` is revoked for ``scenario``"."""
    text = f"twonets-holder-status|{token}|{scenario}".encode()
    return hashlib.sha256(text).hexdigest()[:32]


def holder_status_token(session: Session, ctx: Coding, *, region: str, now: datetime) -> str:
    """The signed list of revocations in force of the region's holders (this platform's own)."""
    if not ctx.holds(session, region, now):
        raise NotFound(f"this platform publishes no holder status of region {region!r}")
    rows = session.execute(
        select(CodeHolder.token, Revocation.scenario_code)  # governance: published as digests
        .join(Revocation, Revocation.holder_id == CodeHolder.id)
        .where(CodeHolder.region_code == region, Revocation.restored_at.is_(None))
    ).all()
    key = ctx.signing_key(session, region, now)
    assert key.private_key is not None
    payload = {
        "region": region,
        "iat": int(now.timestamp()),
        "exp": int((now + LIFETIME).timestamp()),
        "ttl": TTL_SECONDS,
        "revoked": sorted({entry(token, scenario) for token, scenario in rows}),
    }
    header = {"typ": MEDIA_TYPE, "kid": b64url_encode(key.kid)}
    return sign_with_key(header, payload, key.private_key)


def _open(
    session: Session, ctx: Coding, text: str, *, region: str, now: datetime
) -> dict[str, Any]:
    """The payload of a region's list, once its signature verifies under that region's key."""
    try:
        parsed = parse_compact(text.strip())
        payload = parsed.payload_json()
        kid = b64url_decode(str(parsed.header.get("kid", "")))
    except (MalformedJws, ValueError) as exc:
        raise Invalid.field("holder_status", "compact-jws", str(exc)) from None
    if parsed.header.get("typ") != MEDIA_TYPE:
        raise Invalid.field("holder_status", "typ", f"should be a {MEDIA_TYPE}")
    signer, _ = ctx.trust_store(session, now).verify(
        kid, parsed.signing_input, parsed.signature, now
    )
    if signer != region or payload.get("region") != region:
        raise Invalid.field("holder_status", "region", f"is not the list of region {region}")
    for name in ("iat", "exp", "ttl"):
        if not isinstance(payload.get(name), int):
            raise Invalid.field(f"holder_status.{name}", "type", "should be an integer")
    if not isinstance(payload.get("revoked"), list):
        raise Invalid.field("holder_status.revoked", "type", "should be a list")
    return payload


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _kept(
    session: Session, ctx: Coding, region: str, *, now: datetime
) -> remote.RemoteDocument | None:
    """The region's list as kept here, refetched first when due."""

    def check(body: str) -> tuple[datetime, datetime, datetime]:
        payload = _open(session, ctx, body, region=region, now=now)
        issued, expires = _moment(payload["iat"]), _moment(payload["exp"])
        if now >= expires:
            raise Invalid.field("holder_status.exp", "expired", "the list has expired")
        return issued, expires, min(now + timedelta(seconds=payload["ttl"]), expires)

    return remote.remote_document(
        session, region, path_of(region), kind=KIND, now=now, fetch=ctx.fetcher(), check=check
    )


def refresh_remote(session: Session, ctx: Coding, *, now: datetime) -> int:
    """The scheduled work: refetch every remote region's list that is due; how many are
    current afterwards (one that cannot be fetched keeps the list held, its error noted)."""
    current = 0
    for found in remote.remote_regions(session):
        doc = _kept(session, ctx, found.region_code, now=now)
        current += doc is not None and now < doc.expires_at
    return current


def check_remote(
    session: Session, ctx: Coding, *, region: str, token: str, scenario: str, now: datetime
) -> bool | None:
    """Whether a remote region revoked this holder for ``scenario`` (or for identity); None
    when ``region`` is not a remote region here. ``CannotCheck`` when its list is stale."""
    found = remote.remote_region(session, region)
    if found is None:
        return None
    doc = _kept(session, ctx, region, now=now)
    if doc is None:
        raise CannotCheck(
            f"the revocations of {region} could not be fetched from {found.base_url} "
            f"({found.last_error or 'not fetched yet'})"
        )
    if now >= doc.expires_at:
        since = format_time(found.last_success_at) if found.last_success_at else "never"
        raise CannotCheck(
            f"the revocations of {region} kept here went stale at {format_time(doc.expires_at)}"
            f"; {region} last answered at {since}"
        )
    revoked = set(_open(session, ctx, doc.body, region=region, now=doc.fetched_at)["revoked"])
    return entry(token, scenario) in revoked or entry(token, IDENTITY) in revoked
