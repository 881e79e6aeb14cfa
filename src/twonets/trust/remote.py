"""Regions as separate deployments: recognising another region's platform by its URL and
anchor, and keeping what it publishes (its trust list, its status lists) cached here.

An administrator recognises a region by its trust anchor (a PEM public key obtained out of
band) and the URL of its platform. The region's signed trust list is fetched from
``{url}/api/v1/trust/lists/{region}``, verified under the pinned anchor (never under the key
the other region serves beside it), and kept as any recognised region's list. Other signed
documents it publishes (its status lists, its code holders' revocations) are fetched by the
domains that read them through ``remote_document``: each is verified by the caller's
``check`` when fetched, then kept in ``trust_remote_document`` with its validity.

A document is refetched once past its ``refresh_after`` (the server's scheduled work does
it for every remote region; a verification that meets a document due does it on demand).
While the other region is unreachable the one held is used until its ``expires_at``; after
that the caller has nothing current and says so ("cannot check revocation"), never a pass.
A document issued before the one held is refused (no rollback to hide a revocation).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Invalid, NotFound, TwonetsError, Unavailable
from twonets.core.events import record_event
from twonets.core.models import Role
from twonets.trust import service as trust
from twonets.trust.errors import InvalidTrustList, Rollback
from twonets.trust.keys import check_region, format_time
from twonets.trust.models import RecognisedRegion
from twonets.trust.models import RemoteDocument as RemoteDocument  # the rows callers read
from twonets.trust.models import RemoteRegion as RemoteRegion
from twonets.trust.store import TrustStore
from twonets.trust.trustlist import verify_trust_list

log = logging.getLogger(__name__)

# A fetch: the body at a URL, or ``Unavailable`` (unreachable, time-out, not HTTP 200).
Fetch = Callable[[str], str]
# What a domain checks of a document it fetched: (issued_at, expires_at, refresh_after).
Check = Callable[[str], tuple[datetime, datetime, datetime]]

FETCH_TIMEOUT_SECONDS = 5.0
MAX_BODY_BYTES = 4_000_000
TRUST_LIST = "trust-list"
# A trust list is refetched this often (its next_update is weeks away; keys rotate sooner).
TRUST_LIST_REFRESH = timedelta(hours=1)


def trust_list_path(region: str) -> str:
    """Where a platform publishes a region's anchor and signed trust list."""
    return f"/api/v1/trust/lists/{region}"


def http_get(url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> str:
    """The body at ``url`` over HTTP(S); ``Unavailable`` when it cannot be had now.

    ``timeout``: seconds to connect and then between bytes (a region that answers slower is
    unavailable now; the refresh tries again when the list is due).
    """
    if not url.startswith(("http://", "https://")):
        raise Unavailable(f"{url}: only http and https are fetched")
    request = urllib.request.Request(url, headers={"Accept": "application/json, */*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body: bytes = answer.read(MAX_BODY_BYTES + 1)
    except HTTPError as exc:
        raise Unavailable(f"{url} answered HTTP {exc.code}") from None
    except (URLError, TimeoutError, OSError) as exc:
        raise Unavailable(f"{url} cannot be reached: {exc}") from None
    if len(body) > MAX_BODY_BYTES:
        raise Unavailable(f"{url} sent more than {MAX_BODY_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unavailable(f"{url} did not send UTF-8 text") from None


def check_base_url(value: str) -> str:
    """A platform's base URL (http or https, a host, no query), without its trailing slash."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid.field("url", "url", "should be the platform's http:// or https:// address")
    if parts.query or parts.fragment:
        raise Invalid.field("url", "url", "should have no query or fragment")
    return text


def require_admin(principal: Principal) -> None:
    """Only a region's administrator recognises other regions and refreshes their lists."""
    principal.require(Role.ADMIN)


def _trust_list_of(body: str, url: str) -> str:
    """The compact JWS of a published trust list (the JSON the platform serves, or bare)."""
    text = body.strip()
    if text.startswith("{"):
        try:
            served = json.loads(text)
        except ValueError:
            raise InvalidTrustList(f"{url} did not serve JSON") from None
        jws = served.get("trust_list") if isinstance(served, dict) else None
        if not isinstance(jws, str):
            raise InvalidTrustList(f"{url} served no trust_list")
        return jws
    return text


def recognise_remote(
    session: Session,
    principal: Principal,
    *,
    region: str,
    base_url: str,
    anchor: str,
    now: datetime,
    fetch: Fetch = http_get,
) -> RemoteRegion:
    """Recognise a region's own deployment: fetch its trust list, verify it under ``anchor``."""
    require_admin(principal)
    region = check_region(region)
    url = check_base_url(base_url)
    pinned = trust.load_anchor(anchor)
    if session.get(RecognisedRegion, region) is not None:
        raise Conflict(f"region {region} is already recognised; drop it first")
    list_url = url + trust_list_path(region)
    jws = _trust_list_of(fetch(list_url), list_url)
    TrustStore().add_region(pinned, jws, now, region=region)
    trust.recognise_region(session, anchor=anchor, trust_list=jws, now=now)
    remote = RemoteRegion(
        region_code=region,
        base_url=url,
        added_by=principal.username,
        added_at=now,
        last_attempt_at=now,
        last_success_at=now,
    )
    session.add(remote)
    _keep(session, region, list_url, TRUST_LIST, jws, _list_dates(jws, pinned, now), now)
    record_event(session, "trust.region.remote", {"region": region, "url": url})
    session.flush()
    return remote


def _list_dates(jws: str, anchor: object, now: datetime) -> tuple[datetime, datetime, datetime]:
    listed = verify_trust_list(jws, anchor, now)  # type: ignore[arg-type]
    assert listed.issued_at is not None
    assert listed.next_update is not None
    return listed.issued_at, listed.next_update, min(now + TRUST_LIST_REFRESH, listed.next_update)


def _keep(
    session: Session,
    region: str,
    url: str,
    kind: str,
    body: str,
    dates: tuple[datetime, datetime, datetime],
    now: datetime,
) -> RemoteDocument:
    issued_at, expires_at, refresh_after = dates
    held = session.get(RemoteDocument, url)
    if held is None:
        held = RemoteDocument(url=url, region_code=region, kind=kind)
        session.add(held)
    elif issued_at < held.issued_at:
        raise Rollback(
            f"{url}: the document served was issued at {format_time(issued_at)}, before the "
            f"one held ({format_time(held.issued_at)}); rollback refused"
        )
    held.body, held.issued_at, held.expires_at = body, issued_at, expires_at
    held.refresh_after, held.fetched_at = refresh_after, now
    return held


def remote_regions(session: Session) -> Sequence[RemoteRegion]:
    """The recognised regions that run their own deployment, by region."""
    return session.scalars(select(RemoteRegion).order_by(RemoteRegion.region_code)).all()


def remote_region(session: Session, region: str) -> RemoteRegion | None:
    """The deployment of ``region``, if it is a remote one."""
    return session.get(RemoteRegion, region)


def _failed(remote: RemoteRegion, exc: TwonetsError, now: datetime) -> None:
    remote.last_attempt_at = now
    remote.last_error = exc.detail[:2000]
    log.warning("region %s: %s", remote.region_code, exc.detail)


def fetch_document(
    session: Session,
    remote: RemoteRegion,
    path: str,
    *,
    kind: str,
    now: datetime,
    fetch: Fetch,
    check: Check,
) -> RemoteDocument:
    """Fetch a document the region publishes at ``path``, check it, keep it (or raise)."""
    url = remote.base_url + path
    try:
        body = fetch(url)
        kept = _keep(session, remote.region_code, url, kind, body, check(body), now)
    except TwonetsError as exc:
        _failed(remote, exc, now)
        raise
    remote.last_attempt_at = remote.last_success_at = now
    remote.last_error = None
    session.flush()
    return kept


def remote_document(
    session: Session,
    region: str,
    path: str,
    *,
    kind: str,
    now: datetime,
    fetch: Fetch,
    check: Check,
) -> RemoteDocument | None:
    """The document ``region`` publishes at ``path``: the one held while it needs no refresh,
    else fetched now; the one held (maybe expired: the caller checks) when the region cannot
    be reached. None when ``region`` is not a remote region or nothing was ever fetched."""
    remote = session.get(RemoteRegion, region)
    if remote is None:
        return None
    held = session.get(RemoteDocument, remote.base_url + path)
    if held is not None and now < held.refresh_after:
        return held
    try:
        return fetch_document(session, remote, path, kind=kind, now=now, fetch=fetch, check=check)
    except TwonetsError:
        return held


def refresh_trust_list(
    session: Session, remote: RemoteRegion, *, now: datetime, fetch: Fetch
) -> str:
    """Fetch the region's trust list again; a newer one replaces the list recognised here."""
    record = session.get(RecognisedRegion, remote.region_code)
    if record is None or record.anchor_pem is None:
        raise NotFound(f"region {remote.region_code} is no longer recognised")
    pinned = trust.load_anchor(record.anchor_pem)
    held_sequence: int | None = None
    try:
        held_sequence = verify_trust_list(record.trust_list, pinned, now).sequence
    except TwonetsError:
        held_sequence = None  # stale or broken: any list verifying under the anchor replaces it

    def check(body: str) -> tuple[datetime, datetime, datetime]:
        jws = _trust_list_of(body, remote.base_url)
        listed = verify_trust_list(
            jws, pinned, now, region=remote.region_code, held_sequence=held_sequence
        )
        assert listed.issued_at is not None
        assert listed.next_update is not None
        refresh = min(now + TRUST_LIST_REFRESH, listed.next_update)
        return listed.issued_at, listed.next_update, refresh

    kept = fetch_document(
        session,
        remote,
        trust_list_path(remote.region_code),
        kind=TRUST_LIST,
        now=now,
        fetch=fetch,
        check=check,
    )
    jws = _trust_list_of(kept.body, remote.base_url)
    kept.body = jws
    if jws != record.trust_list:
        record.trust_list = jws
        record.updated_at = now
        record_event(session, "trust.list.fetched", {"region": remote.region_code})
    session.flush()
    return jws


@dataclass(frozen=True)
class RemoteFacts:
    """A remote region as an administrator reads it: where, when last reached, what failed."""

    region: str
    url: str
    last_success_at: datetime | None
    last_error: str | None
    documents: int
    stale_documents: int

    def to_json(self) -> dict[str, object]:
        """As JSON."""
        return {
            "region": self.region,
            "url": self.url,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "last_error": self.last_error,
            "documents": self.documents,
            "stale_documents": self.stale_documents,
        }


def describe_remote(session: Session, *, now: datetime) -> list[RemoteFacts]:
    """Each remote region and the state of what is cached of it."""
    out = []
    for remote in remote_regions(session):
        docs = session.scalars(
            select(RemoteDocument).where(RemoteDocument.region_code == remote.region_code)
        ).all()
        out.append(
            RemoteFacts(
                region=remote.region_code,
                url=remote.base_url,
                last_success_at=remote.last_success_at,
                last_error=remote.last_error,
                documents=len(docs),
                stale_documents=sum(1 for d in docs if now >= d.expires_at),
            )
        )
    return out
