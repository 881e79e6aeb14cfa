"""Operators' GBFS feeds fetched on the server's schedule: the register and one round.

Operators of the operations centre register a feed (operator and URL). Each round
(``fetch_round``, run by ``api.setup`` every ``FETCH_EVERY_SECONDS``) fetches every active
feed outside any transaction, then writes each feed's snapshots in its own transaction
with the feed's outcome (when, how many bikes, or the error), and finally checks the
register of zones for the current hour. One feed failing does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.errors import Invalid, TwonetsError
from twonets.operations.bikes.fetch import FeedUnavailable, fetch_snapshots
from twonets.operations.bikes.models import BikeFeed
from twonets.operations.bikes.service.authority import check_may_import
from twonets.operations.bikes.service.data import write_snapshots
from twonets.operations.bikes.service.zones import Oversupply, check_zones

log = logging.getLogger(__name__)
FETCH_EVERY_SECONDS = 300.0
Fetcher = Callable[[str, str], pd.DataFrame]


@dataclass(frozen=True)
class Round:
    """What one round of fetching did."""

    fetched: dict[str, int]  # URL → bikes seen
    failed: dict[str, str]  # URL → why
    opened: list[Oversupply]


def register_feed(
    session: Session, caller: Principal, *, operator: str, url: str, now: datetime
) -> BikeFeed:
    """Add an operator's GBFS feed to those the server fetches (or reactivate it)."""
    check_may_import(caller)
    operator, url = operator.strip(), url.strip()
    if not 1 <= len(operator) <= 32:
        raise Invalid.field("operator", "length", "should be 1 to 32 characters")
    if not url.startswith(("http://", "https://")) or len(url) > 512:
        raise Invalid.field("url", "http-url", "should be an http(s) URL of at most 512 characters")
    feed = session.scalar(select(BikeFeed).where(BikeFeed.url == url))
    if feed is None:
        feed = BikeFeed(operator=operator, url=url, created_at=now, active=True)
        session.add(feed)
    feed.operator, feed.active = operator, True
    session.flush()
    return feed


def fetch_round(
    factory: sessionmaker[Session],
    *,
    resolution: int,
    now: datetime,
    fetch: Fetcher = fetch_snapshots,
) -> Round:
    """Fetch every active feed, write what each reported, then check the zones."""
    with factory() as session:
        feeds = [
            (f.id, f.operator, f.url)
            for f in session.scalars(select(BikeFeed).where(BikeFeed.active).order_by(BikeFeed.id))
        ]
    fetched: dict[str, int] = {}
    failed: dict[str, str] = {}
    for feed_id, operator, url in feeds:
        try:
            snapshots = fetch(url, operator)
        except (FeedUnavailable, TwonetsError) as exc:
            failed[url] = str(exc.detail if isinstance(exc, TwonetsError) else exc)
            snapshots = None
        with unit_of_work(factory) as session:
            feed = session.get(BikeFeed, feed_id)
            if feed is None:
                continue
            feed.fetched_at = now
            if snapshots is None:
                feed.last_error = failed[url][:2000]
                continue
            write_snapshots(session, snapshots, resolution=resolution)
            feed.fetched_rows, feed.last_error = len(snapshots), None
            fetched[url] = len(snapshots)
    with unit_of_work(factory) as session:
        opened = check_zones(session, hour=now, resolution=resolution, now=now)
    if failed:
        log.warning("bikes: %d of %d feeds failed: %s", len(failed), len(feeds), failed)
    return Round(fetched, failed, opened)
