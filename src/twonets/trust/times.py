"""Times as the credential formats write them: CWT/JWT NumericDate and ISO 8601 with ``Z``."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def numeric_date(moment: datetime) -> int:
    """Whole seconds since the epoch (a NumericDate of RFC 7519)."""
    return math.floor(moment.timestamp())


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime: a credential's times are instants, not wall-clock readings."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def iso(moment: datetime) -> str:
    """The instant in UTC as ISO 8601 with ``Z``."""
    if moment.tzinfo is not UTC:  # decoded credential times are UTC already: no conversion
        moment = moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")
