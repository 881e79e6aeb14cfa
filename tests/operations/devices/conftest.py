"""Fixtures of the device-intake tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

RunAsync = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture
def run_async() -> RunAsync:
    """Run a coroutine to the end on a fresh event loop in a thread of its own.

    The browser tests keep Playwright's synchronous API (an event loop of its own) alive in
    the main thread for the whole session; ``asyncio.run`` there would refuse to start.
    """

    def run(coroutine: Coroutine[Any, Any, None]) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, coroutine).result()

    return run
