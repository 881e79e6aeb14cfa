"""Tables of trust: the regions whose keys this platform holds, and the regions it recognises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import SensitiveKind, all_public, sensitive


class IssuingRegion(Base):
    """A region whose issuing keys this platform holds (private keys encrypted at rest)."""

    __tablename__ = "trust_issuing_region"
    __table_args__ = {"info": all_public()}

    region_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    suite: Mapped[str] = mapped_column(String(16))
    keyring: Mapped[dict[str, Any]] = mapped_column(JSON, info=sensitive(SensitiveKind.CREDENTIAL))
    # The key that signs the region's trust lists: verifiers pin its public half.
    anchor: Mapped[dict[str, Any]] = mapped_column(JSON, info=sensitive(SensitiveKind.CREDENTIAL))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    trust_list: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecognisedRegion(Base):
    """A region this platform's verifiers trust: its anchor and its latest signed list."""

    __tablename__ = "trust_recognised_region"
    __table_args__ = {"info": all_public()}

    region_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    anchor_pem: Mapped[str | None] = mapped_column(Text)
    trust_list: Mapped[str] = mapped_column(Text)
    # "signed" (a JWS checked against the anchor) or "pem" (a foreign issuer's certificates).
    kind: Mapped[str] = mapped_column(String(8), default="signed")
    home: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteRegion(Base):
    """A recognised region that runs its own deployment: where its lists are published.

    Its trust list and status lists are fetched from ``base_url`` on the server's schedule
    and on demand, and kept in ``trust_remote_document`` with their validity.
    """

    __tablename__ = "trust_remote_region"
    __table_args__ = {"info": all_public()}

    region_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(500))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the last fetch failed (None after a fetch that worked).
    last_error: Mapped[str | None] = mapped_column(Text)


class RemoteDocument(Base):
    """A signed document fetched from another region (a trust list, a status list), verified
    when fetched and kept with its validity, so verification goes on while that region is
    unreachable, until ``expires_at``."""

    __tablename__ = "trust_remote_document"
    __table_args__ = {"info": all_public()}

    url: Mapped[str] = mapped_column(String(600), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(8), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Refetch once this old, while the region answers (the document's ttl).
    refresh_after: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
