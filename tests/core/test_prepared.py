"""Statements on the driver's cursor read and write what SQLAlchemy would (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from twonets.core.models import Account, AccountKind, AuthToken
from twonets.core.prepared import Prepared

T = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)

_TOKEN = Prepared(
    select(  # governance: a test's own token
        AuthToken.token_hash, AuthToken.expires_at, AuthToken.revoked_at, Account.active
    )
    .join(Account, Account.id == AuthToken.account_id)
    .where(AuthToken.token_hash == bindparam("digest"))
)
_ADD_TOKEN = Prepared(
    insert(AuthToken).returning(AuthToken.token_hash),
    columns=("token_hash", "account_id", "created_at", "expires_at"),
)


def test_an_insert_and_a_select_on_the_driver_match_what_sqlalchemy_reads(
    session: Session,
) -> None:
    account = Account(
        username="prepared.test",
        display_name="Prepared",
        password_hash="x",
        kind=AccountKind.STAFF,
        active=True,
    )
    session.add(account)
    session.flush()
    written = _ADD_TOKEN.rows(
        session, token_hash="d" * 64, account_id=account.id, created_at=T, expires_at=T
    )
    assert written == [("d" * 64,)]
    [record] = _TOKEN.records(session, digest="d" * 64)
    # Timestamps come back aware, as the ORM gives them; booleans as booleans.
    assert record.expires_at == T
    assert record.expires_at.tzinfo is not None
    assert record.revoked_at is None
    assert record.active is True
    stored = session.get_one(AuthToken, "d" * 64)
    session.refresh(stored)
    assert stored.expires_at == T
    assert stored.created_at == T
    assert _TOKEN.records(session, digest="e" * 64) == []
    assert _TOKEN.records(session, digest="d" * 64)[0].expires_at - T == timedelta(0)
