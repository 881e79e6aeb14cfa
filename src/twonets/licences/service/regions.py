"""Other regions' deployments as a licence verifier sees them: recognising one by its URL and
anchor, fetching its status lists (on the server's schedule, and on demand when a licence
names a list due for refresh), and reading a licence's status from the list kept here.

A region's status lists are published at ``status_uri(region, n)`` on its platform (list 0
fetched with the region's trust list; a list n > 0 the first time a licence names it, then
refreshed as list 0 is); each token is verified under that region's keys (from its trust
list, itself verified under the pinned anchor) when it is fetched, and kept with its ``exp``
and ``ttl``. A verification reads the list kept while it is current; once it has expired
(the region unreachable for longer than the list's lifetime) the verdict is "cannot check
revocation", never a pass.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.licences.service.context import Licensing, parse_status_uri, status_uri
from twonets.licences.status import PublicKey, StatusList, open_status_list_token
from twonets.licences.verify import StatusUnavailable
from twonets.trust import remote
from twonets.trust.keys import format_time, kid_text
from twonets.trust.remote import RemoteDocument, RemoteRegion

STATUS_LIST = "status-list"
# Status lists opened from the kept tokens, by (url, the token's signature): another token
# has another signature, so an entry never stands for a list other than the one kept.
_OPENED_MAX = 64
_opened: dict[tuple[str, str], StatusList] = {}
_opened_lock = threading.Lock()
# A token without ``exp`` is held at most this long (ours always carry one).
DEFAULT_LIFETIME = timedelta(hours=1)


def _region_keys(
    session: Session, ctx: Licensing, region: str, now: datetime
) -> dict[str, PublicKey]:
    store = ctx.trust_store(session, now)
    if not store.is_trusted(region):
        return {}
    return {
        kid_text(k.kid): k.public_key  # type: ignore[misc]
        for k in store.trust_list(region).keys
    }


def _check(session: Session, ctx: Licensing, region: str, uri: str, now: datetime) -> remote.Check:
    def check(body: str) -> tuple[datetime, datetime, datetime]:
        token = open_status_list_token(
            body.strip(),
            public_keys=_region_keys(session, ctx, region, now),
            at=now,
            uri=uri,
        )
        expires = token.expires_at or token.issued_at + DEFAULT_LIFETIME
        ttl = timedelta(seconds=token.ttl) if token.ttl else expires - now
        return token.issued_at, expires, min(now + ttl, expires)

    return check


def status_document(
    session: Session,
    ctx: Licensing,
    region: str,
    *,
    now: datetime,
    force: bool = False,
    n: int = 0,
) -> RemoteDocument | None:
    """The status list ``n`` of a remote region as kept here, fetched when due or never
    fetched (or ``force``)."""
    found = remote.remote_region(session, region)
    if found is None:
        return None
    uri = status_uri(region, n)
    check = _check(session, ctx, region, uri, now)
    if force:
        return remote.fetch_document(
            session,
            found,
            uri,
            kind=STATUS_LIST,
            now=now,
            fetch=ctx.fetcher(),
            check=check,
        )
    return remote.remote_document(
        session,
        region,
        uri,
        kind=STATUS_LIST,
        now=now,
        fetch=ctx.fetcher(),
        check=check,
    )


def remote_status_of(
    session: Session, ctx: Licensing, uri: str, idx: int, *, now: datetime
) -> int | None:
    """The status at ``idx`` in a remote region's list; None when ``uri`` is no remote list.

    Raises ``StatusUnavailable`` when the list was never had or has expired.
    """
    named = parse_status_uri(uri)
    if named is None:
        return None
    region, n = named
    found = remote.remote_region(session, region)
    if found is None:
        return None
    doc = status_document(session, ctx, region, now=now, n=n)
    since = format_time(found.last_success_at) if found.last_success_at else "never"
    which = "the status list" if n == 0 else f"status list {n}"
    if doc is None:
        raise StatusUnavailable(
            f"{which} of {region} could not be fetched from {found.base_url} "
            f"({found.last_error or 'not fetched yet'})"
        )
    if now >= doc.expires_at:
        raise StatusUnavailable(
            f"{which} of {region} kept here went stale at {format_time(doc.expires_at)}"
            f"; {region} ({found.base_url}) last answered at {since}"
        )
    key = (doc.url, doc.body.strip().rsplit(".", 1)[-1])  # the token's signature
    opened = _opened.get(key)
    if opened is None:
        # Verified when it was fetched; opened (signature, inflate) once per fetch here.
        opened = open_status_list_token(
            doc.body,
            public_keys=_region_keys(session, ctx, region, now),
            at=doc.fetched_at,
            uri=uri,
        ).status_list
        with _opened_lock:
            _opened[key] = opened
            while len(_opened) > _OPENED_MAX:
                _opened.pop(next(iter(_opened)))
    return opened.get(idx)


def kept_lists(session: Session, found: RemoteRegion) -> list[int]:
    """The numbers of a remote region's status lists kept here (list 0 first, always)."""
    numbers = {0}
    for url in session.scalars(
        select(RemoteDocument.url).where(
            RemoteDocument.region_code == found.region_code,
            RemoteDocument.kind == STATUS_LIST,
        )
    ):
        named = parse_status_uri(url.removeprefix(found.base_url))
        if named is not None and named[0] == found.region_code:
            numbers.add(named[1])
    return sorted(numbers)


def current_status_tokens(session: Session, *, now: datetime) -> dict[str, str]:
    """The remote status list tokens kept here and still current, every list of each remote
    region (for an offline bundle)."""
    out = {}
    for found in remote.remote_regions(session):
        for n in kept_lists(session, found):
            uri = status_uri(found.region_code, n)
            doc = session.get(RemoteDocument, found.base_url + uri)
            if doc is not None and now < doc.expires_at:
                out[uri] = doc.body.strip()
    return out


@dataclass
class Refreshed:
    """What one refresh of the remote regions did: per region, "ok" or why it failed."""

    regions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, str]:
        """As JSON."""
        return dict(self.regions)


def refresh_regions(
    session: Session, ctx: Licensing, *, now: datetime, force: bool = False
) -> Refreshed:
    """Fetch the trust list and status list of every remote region that is due (all with
    ``force``); a region that cannot be reached keeps what is held, its error noted."""
    done = Refreshed()
    for found in remote.remote_regions(session):
        done.regions[found.region_code] = _refresh_one(session, ctx, found, now=now, force=force)
    return done


def _refresh_one(
    session: Session, ctx: Licensing, found: RemoteRegion, *, now: datetime, force: bool
) -> str:
    region = found.region_code
    try:
        held = session.get(RemoteDocument, found.base_url + remote.trust_list_path(region))
        if force or held is None or now >= held.refresh_after:
            remote.refresh_trust_list(session, found, now=now, fetch=ctx.fetcher())
        for n in kept_lists(session, found):
            status_document(session, ctx, region, now=now, force=force, n=n)
    except TwonetsError as exc:
        return exc.detail
    if found.last_error:
        return found.last_error
    return "ok"


def recognise(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    region: str,
    base_url: str,
    anchor: str,
    now: datetime,
) -> RemoteRegion:
    """Recognise a region's deployment (administrators only) and fetch its status list."""
    found = remote.recognise_remote(
        session,
        principal,
        region=region,
        base_url=base_url,
        anchor=anchor,
        now=now,
        fetch=ctx.fetcher(),
    )
    # Recognised all the same if its status list cannot be had now: the schedule fetches it.
    with contextlib.suppress(TwonetsError):
        status_document(session, ctx, found.region_code, now=now, force=True)
    return found


def refresh(session: Session, ctx: Licensing, principal: Principal, *, now: datetime) -> Refreshed:
    """An administrator's "refresh now": every remote region's lists fetched at once."""
    remote.require_admin(principal)
    return refresh_regions(session, ctx, now=now, force=True)
