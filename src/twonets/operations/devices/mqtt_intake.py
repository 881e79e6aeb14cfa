"""The MQTT subscriber for meters and sensors: ``<prefix>/meters/<kind>/<device>``.

Each message is one reading as JSON, validated with pydantic::

    {"value": 12.5, "unit": "m3", "time": "2026-11-30T08:00:00+08:00", "lon": 121.47, "lat": 31.23}

``time`` defaults to the time of receipt; ``lon``/``lat`` (WGS-84) are optional and come
together. Readings are batched (one transaction per batch) into ``ops.device.reading``
events. A bad topic or payload is counted per reason and logged, never fatal; a lost broker
is reconnected to with a growing pause.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import aiomqtt
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session, sessionmaker

from twonets.core import mqtt
from twonets.core.db import unit_of_work, utcnow
from twonets.core.mqtt import parse_url
from twonets.operations.devices import service
from twonets.operations.devices.gateway import Batcher
from twonets.operations.devices.service import Reading

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "twonets"
KINDS = frozenset({"water", "electricity", "gas", "heat", "noise", "air", "level", "flow"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_PAYLOAD = 4096
_MAX_TRACKED = 100_000


class ReadingIn(BaseModel):
    """One reading as a meter or sensor publishes it."""

    model_config = ConfigDict(extra="forbid")

    value: Annotated[float, Field(allow_inf_nan=False)]
    unit: Annotated[str, Field(min_length=1, max_length=16)]
    time: AwareDatetime | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> ReadingIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat come together")
        return self


class PayloadError(ValueError):
    """A message that is not a reading; ``reason`` is the counter it lands in."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def parse_message(topic: str, payload: bytes, *, prefix: str, now: datetime) -> Reading:
    """The reading a message carries, or ``PayloadError`` saying why not."""
    parts = topic.split("/")
    head = prefix.split("/")
    if parts[: len(head)] != head or len(parts) != len(head) + 3 or parts[len(head)] != "meters":
        raise PayloadError("topic", f"{topic}: should be {prefix}/meters/<kind>/<device>")
    kind, device = parts[-2], parts[-1]
    if kind not in KINDS:
        raise PayloadError("kind", f"{topic}: kind should be one of {', '.join(sorted(KINDS))}")
    if not _NAME.match(device):
        raise PayloadError("device", f"{topic}: device should be 1-64 letters, digits, ._-")
    if len(payload) > _MAX_PAYLOAD:
        raise PayloadError("size", f"{topic}: {len(payload)} bytes, at most {_MAX_PAYLOAD}")
    try:
        body = ReadingIn.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise PayloadError("payload", f"{topic}: {where}: {first['msg']}") from None
    return Reading(
        device=device,
        kind=kind,
        value=body.value,
        unit=body.unit,
        time=(body.time or now).astimezone(UTC),
        lon=body.lon,
        lat=body.lat,
    )


@dataclass
class IntakeStats:
    """What the subscriber has seen since it started."""

    messages: int = 0
    readings: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0


class MqttIntake:
    """Subscribes to the meter topics and records their readings in batches."""

    def __init__(
        self,
        url: str,
        write: Callable[[list[Reading]], Awaitable[None]],
        *,
        prefix: str = DEFAULT_PREFIX,
        identifier: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_batch: int = 500,
        linger: float = 0.05,
    ) -> None:
        self.host, self.port = parse_url(url)
        # The broker keeps this session (its subscription, QoS 1 messages) while away.
        self.identifier = identifier or mqtt.client_identifier(prefix.strip("/"), "devices")
        self.prefix = prefix.strip("/")
        self.clock = clock
        self.stats = IntakeStats()
        self.batcher: Batcher[Reading] = Batcher(write, max_items=max_batch, linger=linger)
        self.subscribed = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()
        self._over: dict[tuple[str, str], bool] = {}

    @property
    def topic_filter(self) -> str:
        """The subscription: every kind and device under the prefix."""
        return f"{self.prefix}/meters/+/+"

    async def handle(self, topic: str, payload: bytes) -> None:
        """Validate one message and queue its reading (counted and logged when bad)."""
        self.stats.messages += 1
        try:
            reading = parse_message(topic, payload, prefix=self.prefix, now=self.clock())
        except PayloadError as exc:
            self.stats.rejected[exc.reason] += 1
            log.warning("MQTT message dropped: %s", exc)
            return
        if (reading.kind, reading.unit) in service.READING_THRESHOLDS:
            key = (reading.kind, reading.device)
            over = service.over_threshold(reading.kind, reading.unit, reading.value)
            # A case opens when a sensor goes over its threshold, not for every reading above.
            if over and not self._over.get(key, False):
                reading = dataclasses.replace(reading, crossed=True)
            if len(self._over) >= _MAX_TRACKED and key not in self._over:
                self._over.clear()  # bounded memory; at worst one duplicate, merged by intake
            self._over[key] = over
        try:
            await self.batcher.submit([reading])
        except Exception:  # the database is away: count and log; the broker has moved on
            self.stats.rejected["storage"] += 1
            log.exception("reading of %s/%s not stored", reading.kind, reading.device)
            return
        self.stats.readings += 1

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
            on_lost=self._lost,
        )
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)

    def _lost(self, _exc: Exception) -> None:
        self.stats.reconnects += 1

    async def _consume(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            # Handled concurrently, so that one batch gathers many messages.
            task = asyncio.create_task(self.handle(str(message.topic), data))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)


def database_writer(
    factory: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
) -> Callable[[list[Reading]], Awaitable[None]]:
    """A batch writer recording readings in one transaction per batch."""

    async def write(readings: Sequence[Reading]) -> None:
        def work() -> None:
            with unit_of_work(factory) as session:
                service.record_readings(session, readings, now=clock())

        await asyncio.to_thread(work)

    return write
