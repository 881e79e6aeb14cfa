"""The operations centre's tables."""

from __future__ import annotations
