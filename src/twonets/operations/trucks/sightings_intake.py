"""The MQTT subscriber for road cameras and patrol drones: ``<prefix>/trucks/<source>/<device>``.

``source`` is ``camera`` or ``drone``; each message is one event as JSON::

    {"id": "E-0001", "kind": "uncovered_load", "time": "2026-11-30T23:12:00+08:00",
     "lon": 121.556, "lat": 31.221, "image": "s3://patrol/2026-11-30/E-0001.jpg"}

``kind`` is ``uncovered_load``, ``spilled_material`` or ``dirty_wheels``; ``lon``/``lat`` are
WGS-84 (a device reporting GCJ-02 says ``"crs": "gcj02"`` and is converted here, at the
boundary); ``image`` is a reference to the picture kept by the device's own store (the
platform keeps the reference, not the picture). Each event is matched to the truck whose fix
was nearest in space and time and joined to that truck's trip
(``service.record_sightings``). A bad message is counted per reason and logged, never fatal;
a lost broker is reconnected to with a growing pause.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

import aiomqtt
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from twonets.core import mqtt
from twonets.core.db import unit_of_work, utcnow
from twonets.core.geo import gcj02_to_wgs84
from twonets.core.mqtt import parse_url
from twonets.operations.trucks import service

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "twonets"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_PAYLOAD = 4096


class EventIn(BaseModel):
    """One event as a camera or a drone publishes it."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["uncovered_load", "spilled_material", "dirty_wheels"]
    time: AwareDatetime
    lon: Annotated[float, Field(ge=73, le=136)]
    lat: Annotated[float, Field(ge=3, le=54)]
    image: Annotated[str, Field(min_length=1, max_length=512)]
    crs: Literal["wgs84", "gcj02"] = "wgs84"


class EventError(ValueError):
    """A message that is not an event; ``reason`` is the counter it lands in."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def parse_event(topic: str, payload: bytes, *, prefix: str) -> service.SightingIn:
    """The event a message carries, or ``EventError`` saying why not."""
    parts = topic.split("/")
    head = prefix.split("/")
    if parts[: len(head)] != head or len(parts) != len(head) + 3 or parts[len(head)] != "trucks":
        raise EventError("topic", f"{topic}: should be {prefix}/trucks/<camera|drone>/<device>")
    source, device = parts[-2], parts[-1]
    if source not in service.SOURCES:
        raise EventError("source", f"{topic}: source should be camera or drone")
    if not _NAME.match(device):
        raise EventError("device", f"{topic}: device should be 1-64 letters, digits, ._-")
    if len(payload) > _MAX_PAYLOAD:
        raise EventError("size", f"{topic}: {len(payload)} bytes, at most {_MAX_PAYLOAD}")
    try:
        body = EventIn.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise EventError("payload", f"{topic}: {where}: {first['msg']}") from None
    lon, lat = (body.lon, body.lat) if body.crs == "wgs84" else gcj02_to_wgs84(body.lon, body.lat)
    return service.SightingIn(
        source=source,
        device=device,
        event_id=body.id,
        kind=body.kind,
        time=body.time.astimezone(UTC),
        lon=lon,
        lat=lat,
        image_ref=body.image,
    )


@dataclass
class SightingStats:
    """What the subscriber has seen since it started."""

    messages: int = 0
    recorded: int = 0
    matched: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class SightingIntake:
    """Subscribes to the camera and drone topics and records each event, matched."""

    def __init__(
        self,
        url: str,
        factory: sessionmaker[Session],
        *,
        prefix: str = DEFAULT_PREFIX,
        identifier: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.host, self.port = parse_url(url)
        # The broker keeps this session (its subscription, QoS 1 messages) while away.
        self.identifier = identifier or mqtt.client_identifier(
            prefix.strip("/"), "trucks-sightings"
        )
        self.factory = factory
        self.prefix = prefix.strip("/")
        self.clock = clock
        self.stats = SightingStats()
        self.subscribed = asyncio.Event()

    @property
    def topic_filter(self) -> str:
        """The subscription: every source and device under the prefix."""
        return f"{self.prefix}/trucks/+/+"

    def record(self, event: service.SightingIn) -> bool:
        """Record one event (its own transaction); whether it was matched to a truck."""
        with unit_of_work(self.factory) as session:
            rows = service.record_sightings(session, [event], now=self.clock())
            return bool(rows and rows[0].truck_id is not None)

    async def handle(self, topic: str, payload: bytes) -> None:
        """Validate one message and record its event (counted and logged when bad)."""
        self.stats.messages += 1
        try:
            event = parse_event(topic, payload, prefix=self.prefix)
        except EventError as exc:
            self.stats.rejected[exc.reason] += 1
            log.warning("truck event dropped: %s", exc)
            return
        try:
            matched = await asyncio.to_thread(self.record, event)
        except Exception:
            self.stats.rejected["storage"] += 1
            log.exception("truck event %s/%s not stored", event.device, event.event_id)
            return
        self.stats.recorded += 1
        self.stats.matched += matched

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe and handle messages until ``stop`` is set, reconnecting when needed."""
        await mqtt.keep_subscribed(
            self.host,
            self.port,
            self.topic_filter,
            self._consume,
            stop,
            identifier=self.identifier,
            subscribed=self.subscribed,
            on_lost=None,
        )

    async def _consume(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            await self.handle(str(message.topic), data)  # in order: events are few
