"""HTTP routes of health."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def setup(app: FastAPI) -> None:
    """Put this domain's context on ``app.state`` and register its background work."""
