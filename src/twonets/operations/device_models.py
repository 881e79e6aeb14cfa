"""Device intake's tables: terminals and their last known positions."""

from __future__ import annotations
