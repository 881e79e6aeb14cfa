"""PostgreSQL goes away under the platform: 503 problem+json while it is away, recovery after.

The shared server must not be stopped (other tests use it), so the platform reaches it
through a TCP proxy of the test's own: taking the proxy down drops every open connection and
refuses new ones, which is what the platform sees when PostgreSQL restarts or fails over.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from twonets.core.config import Settings
from twonets.core.db import make_engine
from twonets.web import create_app


class Proxy:
    """Forwards 127.0.0.1:<port> to the database server until taken down."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut every open one."""
        if self._listener is not None:
            # Shutting the listener down wakes the thread blocked in accept(); closing alone
            # would leave the kernel's socket listening until that call returned.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for link in self._links:
                with contextlib.suppress(OSError):
                    link.shutdown(socket.SHUT_RDWR)
                link.close()
            self._links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def login(client: TestClient) -> Any:
    """A login of an unknown account: the database must be asked."""
    body = {"username": "nobody-here", "password": "not the password"}
    return client.post("/api/v1/auth/token", json=body)


@pytest.fixture
def proxy(migrated_url: str) -> Iterator[Proxy]:
    if migrated_url.startswith("sqlite"):
        pytest.skip("a file database does not go away; this is PostgreSQL's fault")
    url = make_url(migrated_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.up()
    yield proxy
    proxy.down()


def test_requests_fail_with_503_while_the_database_is_away_and_recover_after(
    proxy: Proxy, migrated_url: str, tmp_path: Path
) -> None:
    url = make_url(migrated_url).set(port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=2, max_overflow=0)
    settings = Settings(var_dir=tmp_path / "var", database_url=url, events_url=None)
    with TestClient(create_app(settings, engine=engine, relay=False)) as client:
        assert client.get("/readyz").status_code == 200
        assert login(client).status_code == 401  # the database answered: no such account

        proxy.down()
        away = login(client)
        ready = client.get("/readyz")

        assert away.status_code == 503
        assert away.headers["content-type"].startswith("application/problem+json")
        assert away.headers["retry-after"] == "5"
        assert away.json()["type"].endswith("/unavailable")
        assert ready.status_code == 503

        proxy.up()
        back = login(client)
        assert back.status_code == 401, back.text
        assert client.get("/readyz").status_code == 200
    engine.dispose()
