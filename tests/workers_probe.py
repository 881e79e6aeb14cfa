"""The platform's worker app plus one probe job, for tests/test_workers.py.

Each worker process of ``twonets serve --workers N`` imports ``create``; the probe job writes
one line (its process id, the time) per tick to ``TWONETS_TEST_PROBE_FILE``, so the test can
count who ran the background work, and how often.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from fastapi import FastAPI

from twonets.web.app import create_app_from_environment

TICK_SECONDS = 0.25


def create() -> FastAPI:
    """The worker app with the probe appended to its background work."""
    app = create_app_from_environment()
    probe = Path(os.environ["TWONETS_TEST_PROBE_FILE"])

    async def tick(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with probe.open("a") as out:
                out.write(f"{os.getpid()} {time.time():.3f}\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)

    app.state.background.append(tick)
    return app
