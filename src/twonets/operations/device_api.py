"""HTTP routes of device intake: terminals and vehicle positions as a map layer."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def setup(app: FastAPI) -> None:
    """Register device intake's background work (the gateway, the MQTT subscriber)."""
