"""The app factory: one FastAPI app built from one ``Settings`` object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from twonets import __version__
from twonets.codes import api as codes_api
from twonets.core import auth, events, leases
from twonets.core.api import router as core_router
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import (
    make_engine,
    make_session_factory,
    ping,
    pool_figures,
    unit_of_work,
    utcnow,
)
from twonets.core.errors import Unavailable
from twonets.core.http import public
from twonets.governance import ledger
from twonets.governance.api import router as governance_router
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.health import api as health_api
from twonets.licences import api as licences_api
from twonets.licences.api import router as licences_router
from twonets.licences.service import Licensing
from twonets.migrations import current_revision, head_revision
from twonets.operations.bikes import api as bike_api
from twonets.operations.cases import api as operations_api
from twonets.operations.devices import api as device_api
from twonets.operations.rentals import api as rentals_api
from twonets.operations.trucks import api as truck_api
from twonets.requests import api as requests_api
from twonets.requests import figures_api as requests_figures_api
from twonets.requests import open311
from twonets.services import api as services_api
from twonets.web import codes as code_pages
from twonets.web import core as core_pages
from twonets.web import governance as governance_pages
from twonets.web import health as health_pages
from twonets.web import i18n, openapi
from twonets.web import licences as licence_pages
from twonets.web import operations as operations_pages
from twonets.web import requests as requests_pages
from twonets.web import services as services_pages
from twonets.web.errors import install_error_handlers
from twonets.web.security import SecurityMiddleware, origin_of

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
    engine = engine or make_engine(
        settings.effective_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        ping_after_idle=settings.database_ping_after_idle_seconds,
    )
    bus = bus or events.InProcessBus()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
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
        tasks: list[asyncio.Task[None]] = []
        if relay:
            outbox = events.OutboxRelay(app.state.session_factory, publishers)

            async def relay_outbox(stop: asyncio.Event) -> None:
                await outbox.run(stop, poll_seconds=settings.outbox_poll_seconds)

            async def sequence(stop: asyncio.Event) -> None:
                await _sequence_ledger(app, stop, settings)

            # Once across the server's worker processes: whoever holds the lease runs it all.
            works = [relay_outbox, sequence, *app.state.background]
            tasks.append(
                asyncio.create_task(
                    leases.run_leased(app.state.leases, leases.BACKGROUND, works, stop)
                )
            )
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                await task
            if nats_publisher is not None:
                await nats_publisher.close()

    app = FastAPI(
        title="Two Nets",
        version=__version__,
        description="Government Services Net and City Operations Net, on one governed core.",
        lifespan=lifespan,
        # The API page is ours (below): Swagger UI from the platform's own static files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock
    app.state.bus = bus
    app.state.secret_key = resolve_secret_key(settings)
    app.state.leases = leases.Leases(app.state.session_factory, seconds=settings.lease_seconds)
    app.state.principals = auth.PrincipalCache(settings.principal_cache_seconds)
    app.state.governance = Governance(Catalogue(), app.state.secret_key)
    app.state.licensing = Licensing(app.state.secret_key, gov=app.state.governance)
    app.state.templates = templates = Jinja2Templates(
        directory=HERE / "templates", context_processors=[i18n.page_context, _map_context]
    )
    templates.env.add_extension("jinja2.ext.i18n")
    # Outside a request (never for a page) texts stay as written; pages get their language's.
    templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    templates.env.filters["named"] = i18n.named
    # Long-running work a domain registers in its setup: each runs until ``stop`` is set.
    background: list[Callable[[asyncio.Event], Awaitable[None]]] = []
    app.state.background = background
    for domain in (
        licences_api,
        health_api,
        codes_api,
        operations_api,
        device_api,
        truck_api,
        rentals_api,
        requests_api,
        services_api,
        bike_api,
    ):
        domain.setup(app)
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
        answer: dict[str, Any] = {"status": "ready", "database": "ok", "schema": current}
        # This process's database connections: "in_use" near kept + more means requests are
        # about to wait for one (docs/runbook.md).
        connections = pool_figures(engine)
        if connections is not None:
            answer["connections"] = connections
        return JSONResponse(answer)

    # Routes are tried in order: the codes API, whose scans every gate of the city sends,
    # comes first (after the probes), not after the hundred routes of the other domains.
    app.include_router(codes_api.router)
    app.include_router(core_router)
    app.include_router(governance_router)
    app.include_router(licences_router)
    app.include_router(health_api.router)
    app.include_router(operations_api.router)
    app.include_router(device_api.router)
    app.include_router(rentals_api.router)
    app.include_router(requests_figures_api.router)
    app.include_router(requests_api.router)
    app.include_router(open311.router)
    app.include_router(services_api.router)
    app.include_router(bike_api.router)
    app.include_router(truck_api.router)
    app.include_router(core_pages.router)
    app.include_router(governance_pages.router)
    app.include_router(licence_pages.router)
    app.include_router(health_pages.router)
    app.include_router(code_pages.router)
    app.include_router(operations_pages.router)
    app.include_router(requests_pages.router)
    app.include_router(services_pages.router)

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    def api_page(request: Request) -> HTMLResponse:
        """The API described by its OpenAPI document, in Swagger UI served from here."""
        page: HTMLResponse = app.state.templates.TemplateResponse(
            request, "docs.html", {"openapi_url": app.openapi_url}
        )
        return page

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Depends(public)])
    def favicon() -> RedirectResponse:
        """Browsers and tools that ask for the classic icon get the platform's SVG icon."""
        return RedirectResponse("/static/favicon.svg", status_code=301)

    openapi.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    tiles = origin_of(settings.map_tiles_url) if settings.map_tiles_url else None
    app.add_middleware(i18n.LanguageMiddleware)
    app.add_middleware(SecurityMiddleware, image_hosts=[tiles] if tiles else [])
    return app


def create_app_from_environment() -> FastAPI:
    """The app from ``TWONETS_*`` settings: the factory each of ``serve --workers N`` imports."""
    return create_app(Settings())


def _map_context(request: Request) -> dict[str, Any]:
    """What the maps of every page need: the city's own tile server, if it names one."""
    settings: Settings = request.app.state.settings
    return {
        "map_tiles": settings.map_tiles_url,
        "map_tiles_attribution": settings.map_tiles_attribution,
    }


async def _sequence_ledger(app: FastAPI, stop: asyncio.Event, settings: Settings) -> None:
    """Move recorded reads into the hash-chained ledger in batches, off the read path."""
    gov: Governance = app.state.governance

    def once() -> int:
        with unit_of_work(app.state.session_factory) as session:
            return ledger.sequence_pending(session, gov.signer, now=app.state.clock())

    while not stop.is_set():
        try:
            count = await asyncio.to_thread(once)
        except Exception:  # a busy or briefly absent database: try again next round
            log.exception("ledger sequencing failed")
            count = 0
        if count == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.ledger_seconds)
