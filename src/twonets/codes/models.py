"""The code service's tables."""

from __future__ import annotations
