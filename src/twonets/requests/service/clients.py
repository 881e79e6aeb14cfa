"""Open311 client applications and their keys (only a key's hash is kept)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.requests.models import (
    Open311Client,
)

# --- Open311 client applications ------------------------------------------------------------


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(session: Session, name: str, *, now: datetime) -> tuple[int, str]:
    """A new Open311 client application and its key (shown once; only its hash is kept)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise Invalid.field("name", "length", "should be 1 to 64 characters")
    if session.scalar(select(Open311Client.id).where(Open311Client.name == name)) is not None:
        raise Conflict(f"an Open311 client {name!r} exists already")
    key = secrets.token_urlsafe(24)
    client = Open311Client(name=name, key_hash=_key_digest(key), created_at=now)
    session.add(client)
    session.flush()
    return client.id, key


def revoke_client(session: Session, name: str, *, now: datetime) -> None:
    """Revoke an Open311 client application's key at once."""
    found = session.execute(
        select(Open311Client.id, Open311Client.revoked_at).where(Open311Client.name == name.strip())
    ).one_or_none()
    if found is None:
        raise NotFound(f"no Open311 client {name!r}")
    if found[1] is None:
        client = session.get(Open311Client, found[0])  # governance: revoking, nothing is read
        assert client is not None
        client.revoked_at = now


def authenticate_client(session: Session, api_key: str | None) -> int:
    """The id of the live client application holding ``api_key``; ``Forbidden`` otherwise."""
    if not api_key:
        raise Forbidden("api_key: an Open311 client application's key is required")
    found = session.scalar(
        select(Open311Client.id).where(
            Open311Client.key_hash == _key_digest(api_key), Open311Client.revoked_at.is_(None)
        )
    )
    if found is None:
        raise Forbidden("api_key: invalid or revoked")
    return found
