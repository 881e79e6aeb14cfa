"""Idempotency keys: a retried write returns the first outcome instead of writing twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import Conflict, Invalid
from twonets.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 128


def request_fingerprint(payload: Any) -> str:
    """A stable digest of a request body, to tell a true retry from a reused key."""
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str) -> str:
    """Validate an ``Idempotency-Key`` header value."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid.field(
            "Idempotency-Key",
            "idempotency-key",
            f"should be 1 to {MAX_KEY_LENGTH} printable characters",
        )
    return key


def replay(session: Session, scope: str, key: str, fingerprint: str) -> dict[str, Any] | None:
    """The stored response for this key, None if new; ``Conflict`` if reused for another body."""
    record = session.scalar(
        select(IdempotencyRecord).where(  # governance: this client's own stored response
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different request",
            extra={"field": "Idempotency-Key"},
        )
    return dict(record.response)


def remember(
    session: Session, scope: str, key: str, fingerprint: str, response: dict[str, Any]
) -> None:
    """Store the response in the same transaction as the write it describes."""
    session.add(
        IdempotencyRecord(scope=scope, key=key, request_hash=fingerprint, response=response)
    )


def once(
    session: Session,
    scope: str,
    key: str | None,
    payload: Any,
    write: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``write()`` once per idempotency key, in the caller's transaction.

    Without a key it simply runs; with one, a retry of the same ``payload`` gets the first
    answer back and a different payload under the same key is a ``Conflict``.
    """
    if key is None:
        return write()
    check_key(key)
    fingerprint = request_fingerprint(payload)
    previous = replay(session, scope, key, fingerprint)
    if previous is not None:
        return previous
    result = write()
    remember(session, scope, key, fingerprint, result)
    return result
