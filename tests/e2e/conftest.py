"""Browser fixtures: the demo city served by uvicorn on a free port, and headless Chromium.

The browser is Debian's Chromium (``apt-get install chromium``), never one Playwright
downloads. Without it the browser tests skip, or fail under ``TWONETS_REQUIRE_SERVICES=1``.

``serve_demo`` is also used by ``screenshots.py``, which imports this file as a module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from demo_city import SEED, copy_of_demo
from local_servers import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
START_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class DemoLogin:
    """One demo login: what ``run_demo`` printed for the person trying the demo."""

    username: str
    password: str
    description: str


@dataclass(frozen=True)
class LiveServer:
    """The running demo city: where it answers and which accounts log in to it."""

    base_url: str
    accounts: tuple[DemoLogin, ...]
    # Where the server's text messages (sign-up codes) land.
    sms_outbox: Path | None = None
    # The server's database, for tests that check what it stored.
    database_url: str | None = None

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def account(self, description_prefix: str) -> DemoLogin:
        """The first demo account whose description starts with ``description_prefix``."""
        for account in self.accounts:
            if account.description.startswith(description_prefix):
                return account
        raise LookupError(f"no demo account described as {description_prefix!r}...")


def find_chromium() -> str | None:
    """Debian's Chromium, or the one named by ``TWONETS_CHROMIUM``; None if absent."""
    candidate = os.environ.get("TWONETS_CHROMIUM") or "/usr/bin/chromium"
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which(candidate) if os.sep not in candidate else None


def _wait_until_healthy(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the demo server stopped while starting")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
                last_error = f"status {response.status}"
        except OSError as exc:
            last_error = type(exc).__name__
        time.sleep(0.05)
    raise RuntimeError(
        f"the demo server did not answer /healthz within {START_TIMEOUT_SECONDS:.0f} s "
        f"({last_error})"
    )


@contextlib.contextmanager
def serve_demo(folder: Path, *, seeded: tuple[str, Path] | None = None) -> Iterator[LiveServer]:
    """Serve the demo city (scale 1, seed 11) from SQLite under ``folder``.

    ``seeded`` is the database URL and var folder of a copy of the city already seeded (see
    tests/demo_city.py); without it the city is seeded here.
    """
    import uvicorn

    from twonets import migrations
    from twonets.core.config import Settings, SmsAdapter
    from twonets.demo import run_demo
    from twonets.web import create_app

    url, var = seeded or (f"sqlite:///{folder / 'e2e.db'}", folder / "var")
    settings = Settings(var_dir=var, database_url=url, events_url=None, sms_adapter=SmsAdapter.FILE)
    migrations.upgrade(url)
    accounts = tuple(
        DemoLogin(a.username, a.password, a.description)
        for a in run_demo(settings, scale=1, seed=SEED)
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="twonets-e2e-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, thread)
        yield LiveServer(
            base_url=base_url,
            accounts=accounts,
            sms_outbox=settings.effective_sms_outbox,
            database_url=url,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_SECONDS)
        app.state.engine.dispose()


@contextlib.contextmanager
def launch_chromium(executable_path: str) -> Iterator[Browser]:
    """Headless Chromium driven by Playwright's sync API; everything closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable_path, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def _unavailable(name: str, reason: str) -> None:
    # The root conftest's rule, restated: conftest files are not importable as modules.
    message = f"{name} is not available ({reason})"
    if os.environ.get("TWONETS_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and TWONETS_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable the browser tests drive."""
    path = find_chromium()
    if path is None:
        wanted = os.environ.get("TWONETS_CHROMIUM") or "/usr/bin/chromium"
        _unavailable("Chromium", f"{wanted} not found; apt-get install chromium")
    assert path is not None
    return path


# Package scope (this folder is a package for it): Playwright's sync API keeps an event loop
# running in the main thread while it is open, so it must close before the tests in other
# folders that run their own event loops.
@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo city served on 127.0.0.1 for the browser tests."""
    folder = tmp_path_factory.mktemp("e2e")
    with serve_demo(folder, seeded=copy_of_demo(tmp_path_factory, folder, seed=SEED)) as server:
        yield server


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One headless Chromium for the browser tests."""
    with launch_chromium(chromium_path) as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page in its own context (no cookies shared between tests)."""
    context = browser.new_context(base_url=live_server.base_url, locale="en-GB")
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        page.close()
        context.close()


@contextlib.contextmanager
def _phone(browser: Browser, live_server: LiveServer, locale: str) -> Iterator[Page]:
    from e2e.browser import PHONE

    context = browser.new_context(
        base_url=live_server.base_url,
        locale=locale,
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        page.close()
        context.close()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page the size of a phone (390×844), touch and all, in English."""
    with _phone(browser, live_server, "en-GB") as page:
        yield page


@pytest.fixture
def chinese_phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A phone (390×844) whose browser asks for Chinese, the pages' first language."""
    with _phone(browser, live_server, "zh-CN") as page:
        yield page
