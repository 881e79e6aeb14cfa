"""Fixtures of the code pages' tests: the code world, and the app on it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from codes.world import T, World, world
from web.codes.desk import Desk

__all__ = ["desk", "world"]


@pytest.fixture
def desk(world: World, app: FastAPI, client: TestClient) -> Desk:
    now = [T]
    app.state.coding = world.ctx
    app.state.clock = lambda: now[0]
    return Desk(app, world, now)
