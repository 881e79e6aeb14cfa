"""Holder keys: the public keys of an account's own wallets, one per device.

A wallet (a phone's browser with a non-extractable WebCrypto key, or the command-line wallet
with a key file) makes its key pair itself and registers only the public JWK here. Only the
account itself registers, lists and removes its keys; credentials are then issued bound to one
of them (``cnf.jwk``), and only that wallet can sign their key-binding JWTs. A removed key gets
no new credentials (those already issued stay valid until they expire).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.licences import sdjwt
from twonets.licences.models import HolderKey

# More keys than devices one person uses is a wallet registering a key on every visit.
MAX_KEYS_PER_ACCOUNT = 10
DEVICE_MAX_CHARS = 64


def _holder(principal: Principal) -> int:
    if principal.subject is None:
        raise Forbidden("only residents and enterprises hold licences and register wallet keys")
    return principal.account_id


def holder_key_json(row: HolderKey) -> dict[str, Any]:
    """A registered key as its holder sees it (the public JWK, never anything private)."""
    return {
        "id": row.id,
        "device": row.device,
        "jwk": json.loads(row.jwk),
        "thumbprint": row.thumbprint,
        "created_at": row.created_at,
        "removed_at": row.removed_at,
    }


def register_holder_key(
    session: Session, principal: Principal, *, jwk: Any, device: str, now: datetime
) -> HolderKey:
    """Register the public key of one of the caller's wallets (idempotent per key).

    The JWK must be a public EC P-256 or Ed25519 key; one carrying a private member (``d``)
    is refused and nothing is stored. Registering a key the account already has returns it
    (a removed one comes back into use).
    """
    account = _holder(principal)
    label = device.strip() if isinstance(device, str) else ""
    if not label or len(label) > DEVICE_MAX_CHARS:
        raise Invalid.field(
            "device", "length", f"name the device in 1 to {DEVICE_MAX_CHARS} characters"
        )
    try:
        public = sdjwt.public_only_jwk(jwk)
    except ValueError as exc:
        raise Invalid.field("jwk", "public-key", str(exc)) from None
    thumbprint = sdjwt.jwk_thumbprint(public)
    row = session.scalar(
        select(HolderKey).where(  # governance: the caller's own wallet keys
            HolderKey.account_id == account, HolderKey.thumbprint == thumbprint
        )
    )
    if row is not None:
        row.removed_at = None
        row.device = label
        return row
    active = session.scalar(
        select(func.count(HolderKey.id)).where(
            HolderKey.account_id == account, HolderKey.removed_at.is_(None)
        )
    )
    if (active or 0) >= MAX_KEYS_PER_ACCOUNT:
        raise Conflict(
            f"this account already has {MAX_KEYS_PER_ACCOUNT} wallet keys; remove one first"
        )
    row = HolderKey(
        account_id=account,
        device=label,
        jwk=json.dumps(public, separators=(",", ":"), sort_keys=True),
        thumbprint=thumbprint,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def holder_keys(session: Session, principal: Principal) -> list[HolderKey]:
    """The caller's registered wallet keys in use, newest first."""
    account = _holder(principal)
    rows = session.scalars(
        select(HolderKey)  # governance: the caller's own wallet keys
        .where(HolderKey.account_id == account, HolderKey.removed_at.is_(None))
        .order_by(HolderKey.created_at.desc(), HolderKey.id.desc())
    ).all()
    return list(rows)


def own_holder_key(session: Session, principal: Principal, key_id: int) -> HolderKey:
    """One of the caller's keys in use; another account's key is refused (403)."""
    account = _holder(principal)
    row = session.get(HolderKey, key_id)  # governance: checked to be the caller's own below
    if row is None:
        raise NotFound(f"wallet key {key_id} does not exist")
    if row.account_id != account:
        raise Forbidden(f"wallet key {key_id} belongs to another account: only it may use it")
    if row.removed_at is not None:
        raise Conflict(f"wallet key {key_id} was removed; register the device's key again")
    return row


def remove_holder_key(
    session: Session, principal: Principal, *, key_id: int, now: datetime
) -> HolderKey:
    """Stop using one of the caller's keys (a lost phone): no new credential is bound to it."""
    row = own_holder_key(session, principal, key_id)
    row.removed_at = now
    return row
