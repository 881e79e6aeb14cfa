"""Staying subscribed to an MQTT broker: one loop for every subscriber of the platform.

Each subscriber (meters and sensors, group-rental meters, truck cameras and drones) keeps a
**persistent session**: a stable client identifier and ``clean_session`` off, so that the
broker keeps its subscription and queues QoS 1 messages while it is away, across a restart
of the broker as well when the broker persists its state (Mosquitto's ``persistence true``,
Debian's default). A lost connection is retried with a growing pause (1 s, doubling, at
most 30 s); messages the broker queued meanwhile arrive on reconnection.

What this does not cover: a message the client library acknowledged (QoS 1 PUBACK is sent
on receipt) whose handling then failed or whose process died before storing it. Handlers
store in batches within fractions of a second; ``docs/runbook.md`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from twonets.core.errors import ConfigurationError

log = logging.getLogger(__name__)

MAX_PAUSE_SECONDS = 30.0
DEFAULT_CLIENT_PREFIX = "twonets"


def parse_url(url: str) -> tuple[str, int]:
    """Host and port of an ``mqtt://host:port`` URL (1883 by default)."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ConfigurationError(f"TWONETS_MQTT_URL: should be mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or 1883


def client_identifier(prefix: str, part: str) -> str:
    """The stable client id of one subscriber: its topic prefix and its part.

    ``twonets-devices`` for the default prefix; subscribers with another topic prefix get
    sessions of their own.
    """
    return f"{prefix.replace('/', '-') or DEFAULT_CLIENT_PREFIX}-{part}"


async def keep_subscribed(
    host: str,
    port: int,
    topic_filter: str,
    consume: Callable[[aiomqtt.Client], Coroutine[Any, Any, None]],
    stop: asyncio.Event,
    *,
    identifier: str,
    subscribed: asyncio.Event | None = None,
    on_lost: Callable[[Exception], None] | None = None,
) -> None:
    """Subscribe to ``topic_filter`` at QoS 1 and run ``consume`` until ``stop`` is set.

    ``consume(client)`` reads ``client.messages``; when it ends with an MQTT error (the
    broker went away) the loop reconnects to the same session after a pause.
    """
    pause = 1.0
    while not stop.is_set():
        try:
            async with aiomqtt.Client(
                host, port, identifier=identifier, clean_session=False
            ) as client:
                await client.subscribe(topic_filter, qos=1)
                if subscribed is not None:
                    subscribed.set()
                pause = 1.0
                consumer = asyncio.create_task(consume(client))
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait(
                    {consumer, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                stopper.cancel()
                if consumer in done:
                    consumer.result()  # the broker went away: raises MqttError
                else:
                    consumer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await consumer
        except aiomqtt.MqttError as exc:
            if subscribed is not None:
                subscribed.clear()
            if on_lost is not None:
                on_lost(exc)
            log.warning("MQTT broker %s:%d: %s; retrying in %.0fs", host, port, exc, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
