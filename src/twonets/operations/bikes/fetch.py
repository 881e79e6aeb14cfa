"""Fetching an operator's GBFS feed over HTTP: the adapter between ``gbfs`` and the network.

A feed's URL is either the discovery document (``gbfs.json``, naming the other feeds per
language) or a ``free_bike_status`` document itself. From a discovery document the dockless
``free_bike_status`` is read when it is offered, else ``station_information`` with
``station_status``. Documents are fetched with the standard library (no client dependency),
each at most ``MAX_BYTES`` within ``timeout`` seconds; a document that is not GBFS is a
``BikeDataError`` naming the feed, like a bad entry.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.error import URLError

import pandas as pd

from twonets.operations.bikes import gbfs
from twonets.operations.bikes.trips import BikeDataError

MAX_BYTES = 32 * 1024 * 1024
LANGUAGES = ("zh", "zh-CN", "en")


class FeedUnavailable(Exception):
    """The feed did not answer, or answered with an error status."""


def _get(url: str, timeout: float) -> Mapping[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise FeedUnavailable(f"{url}: only http and https feeds are fetched")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read(MAX_BYTES + 1)
    except (URLError, TimeoutError, OSError) as exc:
        raise FeedUnavailable(f"{url}: {exc}") from None
    if len(body) > MAX_BYTES:
        raise BikeDataError(url, None, None, "larger than 32 MB")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BikeDataError(url, None, None, f"not JSON ({exc})") from None
    if not isinstance(document, Mapping):
        raise BikeDataError(url, None, None, "should be a JSON object")
    return document


def _feeds(document: Mapping[str, Any]) -> dict[str, str] | None:
    """The feeds a discovery document names (for the first language it offers), else None."""
    data = document.get("data")
    if not isinstance(data, Mapping) or "bikes" in data or "stations" in data:
        return None
    languages = [lang for lang in LANGUAGES if lang in data] + sorted(data)
    for language in languages:
        entry = data.get(language)
        feeds = entry.get("feeds") if isinstance(entry, Mapping) else None
        if isinstance(feeds, list):
            return {
                str(f["name"]): str(f["url"])
                for f in feeds
                if isinstance(f, Mapping) and "name" in f and "url" in f
            }
    return None


def fetch_snapshots(url: str, operator: str, *, timeout: float = 10.0) -> pd.DataFrame:
    """The parked bikes an operator's GBFS feed reports now, as snapshots."""
    document = _get(url, timeout)
    feeds = _feeds(document)
    if feeds is None:
        return gbfs.free_bikes(document, operator)
    if "free_bike_status" in feeds:
        return gbfs.free_bikes(_get(feeds["free_bike_status"], timeout), operator)
    if "station_information" in feeds and "station_status" in feeds:
        return gbfs.station_bikes(
            _get(feeds["station_information"], timeout),
            _get(feeds["station_status"], timeout),
            operator,
        )
    raise BikeDataError(
        "gbfs", None, "data.feeds", "names neither free_bike_status nor station_status"
    )
