"""The app factory: one FastAPI app built from one ``Settings`` object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from twonets import __version__
from twonets.core import events
from twonets.core.api import router as core_router
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, ping, utcnow
from twonets.core.errors import Unavailable
from twonets.core.http import public
from twonets.migrations import current_revision, head_revision
from twonets.web import pages
from twonets.web.errors import install_error_handlers

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
    bus: events.InProcessBus | None = None,
    relay: bool = True,
) -> FastAPI:
    """Build the platform's app; nothing connects until the app starts."""
    engine = engine or make_engine(settings.effective_database_url)
    bus = bus or events.InProcessBus()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task: asyncio.Task[None] | None = None
        publishers: list[Any] = []
        nats_publisher: events.NatsJetStreamPublisher | None = None
        if settings.events_url:
            nats_publisher = events.NatsJetStreamPublisher(
                settings.events_url,
                stream=settings.events_stream,
                subject_prefix=settings.events_subject_prefix,
            )
            publishers.append(nats_publisher)
        publishers.append(bus)
        if relay:
            outbox = events.OutboxRelay(app.state.session_factory, publishers)
            task = asyncio.create_task(outbox.run(stop, poll_seconds=settings.outbox_poll_seconds))
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if nats_publisher is not None:
                await nats_publisher.close()

    app = FastAPI(
        title="Two Nets",
        version=__version__,
        description="Government Services Net and City Operations Net, on one governed core.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock
    app.state.bus = bus
    app.state.secret_key = resolve_secret_key(settings)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    install_error_handlers(app)

    @app.get("/healthz", tags=["ops"], dependencies=[Depends(public)])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"], dependencies=[Depends(public)])
    def readyz() -> JSONResponse:
        """The database answers and its schema is at the newest migration."""
        try:
            ping(engine)
            current = current_revision(engine)
        except Exception as exc:
            raise Unavailable(f"database: {type(exc).__name__}") from None
        head = head_revision()
        if current != head:
            raise Unavailable(f"database: schema at {current}, expected {head}; run db upgrade")
        return JSONResponse({"status": "ready", "database": "ok", "schema": current})

    app.include_router(core_router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
