"""Settings of muck-truck supervision (``TWONETS_TRUCKS_`` environment)."""

from __future__ import annotations

from pydantic import PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict


class TruckSettings(BaseSettings):
    """How long positions are kept and how they are written."""

    model_config = SettingsConfigDict(env_prefix="TWONETS_TRUCKS_", extra="ignore")

    # Positions older than this are deleted (tracks are re-checked within it).
    retention_days: PositiveInt = 180
    # The consumer of location events writes this many positions per statement ...
    batch_size: PositiveInt = 500
    # ... or whatever it holds after this many seconds.
    flush_seconds: PositiveFloat = 2.0
    # Check each batch of positions as it is written (violations seconds after they happen);
    # off: only the sweep checks stored positions.
    live_checks: bool = True
