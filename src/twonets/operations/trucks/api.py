"""Muck-truck supervision in the app: the position consumer and the retention sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from twonets.core.db import unit_of_work
from twonets.core.events import Event
from twonets.operations.devices.service import LOCATION_TOPIC
from twonets.operations.trucks import service
from twonets.operations.trucks.config import TruckSettings
from twonets.operations.trucks.consumer import PositionConsumer
from twonets.operations.trucks.sightings_intake import SightingIntake

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


def setup(app: FastAPI) -> None:
    """Subscribe the position consumer to location events; flush and purge in background."""
    settings = TruckSettings()
    factory = app.state.session_factory
    live = service.LiveSupervision() if settings.live_checks else None
    consumer = PositionConsumer(
        factory, batch_size=settings.batch_size, live=live, clock=app.state.clock
    )
    app.state.truck_positions = consumer

    async def on_location(event: Event) -> None:
        if isinstance(event.payload, dict) and consumer.hold(event.payload):
            await asyncio.to_thread(consumer.flush)  # the database write, off the event loop

    app.state.bus.subscribe(LOCATION_TOPIC, on_location)

    def purge() -> int:
        with unit_of_work(factory) as session:
            return service.purge_positions(
                session, now=app.state.clock(), retention_days=settings.retention_days
            )

    async def keep(stop: asyncio.Event) -> None:
        waited = PURGE_EVERY_SECONDS
        while not stop.is_set():
            try:
                await asyncio.to_thread(consumer.flush)
                await asyncio.to_thread(consumer.check_silences)
                if waited >= PURGE_EVERY_SECONDS:
                    await asyncio.to_thread(purge)
                    waited = 0.0
            except Exception:  # a busy database: try again next round
                log.exception("truck positions: flush or purge failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.flush_seconds)
            waited += settings.flush_seconds
        await asyncio.to_thread(consumer.flush)

    app.state.background.append(keep)

    mqtt_url = app.state.settings.mqtt_url
    if mqtt_url:
        intake = SightingIntake(mqtt_url, factory, clock=app.state.clock)
        app.state.truck_sightings = intake
        app.state.background.append(intake.run)
