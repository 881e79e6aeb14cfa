"""The verifier's cache of status lists: each verified once, held while fresh, never rolled back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from twonets.licences.status.codec import InvalidStatusList, StatusList, _problem
from twonets.licences.status.token import (
    DEFAULT_LEEWAY,
    InvalidStatusListToken,
    PublicKey,
    StatusListToken,
    open_status_list_token,
)


@dataclass(frozen=True)
class _Entry:
    token: StatusListToken
    fetched_at: datetime


class StatusCache:
    """Verified status lists per URI, refetched once older than ``min(max_age, token ttl)``.

    A revocation therefore reaches this verifier within that period, and no later: a list is
    also refetched when its token expires. ``fetch(uri)`` returns the token text (its errors,
    e.g. :class:`~twonets.core.errors.Unavailable`, pass through: the cache fails closed and
    keeps nothing stale). A refetched token issued before the one held is refused, so an old
    token cannot be replayed to hide a revocation. Not thread-safe: one cache per worker.
    """

    def __init__(
        self,
        fetch: Callable[[str], str],
        *,
        public_keys: Mapping[str, PublicKey],
        max_age: timedelta,
        clock: Callable[[], datetime],
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> None:
        if max_age <= timedelta(0):
            raise _problem(InvalidStatusList, "max_age", "range", "must be positive")
        self._fetch = fetch
        self._public_keys = public_keys
        self._max_age = max_age
        self._clock = clock
        self._leeway = leeway
        self._entries: dict[str, _Entry] = {}

    def status_of(self, uri: str, idx: int) -> int:
        """The status of the licence at ``idx`` in the list at ``uri`` (a :class:`StatusType`)."""
        return self.get_status_list(uri).get(idx)

    def get_status_list(self, uri: str) -> StatusList:
        """The list at ``uri``: the one held while fresh, else a newly fetched and verified one."""
        now = self._clock()
        entry = self._entries.get(uri)
        if entry is not None and self._fresh(entry, now):
            return entry.token.status_list
        token = open_status_list_token(
            self._fetch(uri), public_keys=self._public_keys, at=now, uri=uri, leeway=self._leeway
        )
        if entry is not None and token.issued_at < entry.token.issued_at:
            raise _problem(
                InvalidStatusListToken,
                "iat",
                "rollback",
                f"the list at {uri!r} was issued at {token.issued_at:%Y-%m-%dT%H:%M:%SZ}, "
                f"before the one already held ({entry.token.issued_at:%Y-%m-%dT%H:%M:%SZ})",
            )
        self._entries[uri] = _Entry(token, now)
        return token.status_list

    def _fresh(self, entry: _Entry, now: datetime) -> bool:
        limit = self._max_age
        if entry.token.ttl is not None:
            limit = min(limit, timedelta(seconds=entry.token.ttl))
        expires_at = entry.token.expires_at
        return now - entry.fetched_at < limit and (expires_at is None or now < expires_at)
