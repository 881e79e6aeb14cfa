"""Households' readings from the operations centre's MQTT meter feed.

Meters publish to ``<prefix>/meters/<kind>/<device>`` (the feed operations/devices reads
too). A household's water, electricity and gas meters publish under the household's id as
the device, each message either the consumption since the meter's last message (``value``)
or the meter's cumulative register (``register``)::

    twonets/meters/water/H000123  {"value": 0.42, "unit": "m3", "time": "2026-11-30T08:00+08:00"}
    twonets/meters/electricity/H000123  {"value": 1.8, "unit": "kWh", "id": "e-000913"}
    twonets/meters/gas/H000123  {"register": 1234.56, "unit": "m3", "time": "..."}
    twonets/meters/gas/H000123  {"register": 0.4, "unit": "m3", "reset": true, "time": "..."}

``id`` (a string or a whole number) names the message, so a repeat is counted once; without
it, a message with its ``time`` is known by its time and value. ``reset: true`` says the
register counts from a reset (a new meter). The subscriber applies each message to the
household's month (Shanghai time; ``time`` defaults to the time of receipt) in batches, one
transaction per batch (:func:`service_meters.add_meter_readings`, which refuses repeats and
tells registers' resets and implausible jumps apart). Other kinds and devices that are no
household are the devices part's and are left alone; a broken message is counted and
logged, never fatal; a lost broker is reconnected to with a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiomqtt
from sqlalchemy.orm import Session, sessionmaker

from twonets.core import mqtt
from twonets.core.db import unit_of_work, utcnow
from twonets.core.mqtt import parse_url
from twonets.operations.rentals.service_meters import (
    DEFAULT_RULES,
    MeterReading,
    MeterRules,
    add_meter_readings,
    message_key,
)

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "twonets"
UNITS = {"water": "m3", "electricity": "kWh", "gas": "m3"}
ID_MAX = 128


class BadMessage(ValueError):
    """A message of the feed that is no household reading; ``reason`` is its counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def parse(topic: str, payload: bytes, *, prefix: str, now: datetime) -> MeterReading | None:
    """The household reading a message carries; ``None`` when it is not a utility's."""
    parts = topic.split("/")
    head = prefix.split("/")
    if parts[: len(head)] != head or len(parts) != len(head) + 3 or parts[len(head)] != "meters":
        return None
    utility, device = parts[-2], parts[-1]
    if utility not in UNITS:
        return None
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("payload", f"{topic}: not JSON") from None
    if not isinstance(body, dict):
        raise BadMessage("payload", f"{topic}: should be an object")
    register = "register" in body
    if register == ("value" in body):
        raise BadMessage("value", f"{topic}: give value or register, one of them")
    name = "register" if register else "value"
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadMessage("value", f"{topic}: {name} should be a number")
    if value < 0:
        raise BadMessage("value", f"{topic}: {name} is negative ({value})")
    reset = body.get("reset", False)
    if not isinstance(reset, bool) or (reset and not register):
        raise BadMessage("reset", f"{topic}: reset should be true or false, with a register")
    if body.get("unit") != UNITS[utility]:
        raise BadMessage("unit", f"{topic}: unit should be {UNITS[utility]}")
    message_id = body.get("id")
    if message_id is not None:
        if isinstance(message_id, bool) or not isinstance(message_id, str | int):
            raise BadMessage("id", f"{topic}: id should be a string or a whole number")
        message_id = str(message_id)
        if not 0 < len(message_id) <= ID_MAX:
            raise BadMessage("id", f"{topic}: id should have 1 to {ID_MAX} characters")
    at = now
    timed = body.get("time") is not None
    if timed:
        try:
            at = datetime.fromisoformat(str(body["time"]))
        except ValueError:
            raise BadMessage("time", f"{topic}: time is not ISO 8601") from None
        if at.tzinfo is None:
            raise BadMessage("time", f"{topic}: time needs its offset")
    at = at.astimezone(UTC)
    key = message_key(
        utility,
        message_id=message_id,
        at=at if timed else None,
        value=float(value),
        register=register,
        reset=reset,
    )
    return MeterReading(
        device, utility, float(value), at, register=register, reset=reset, key=key, timed=timed
    )


@dataclass
class FeedStats:
    """What the feed has seen since it started."""

    messages: int = 0
    added: int = 0
    not_households: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # Households' messages that added nothing, by why (duplicate, reset, implausible, late).
    refused: Counter[str] = field(default_factory=Counter)


class MeterFeed:
    """Subscribes to the meter topics and adds households' readings to their months."""

    def __init__(
        self,
        url: str,
        factory: sessionmaker[Session],
        *,
        prefix: str = DEFAULT_PREFIX,
        identifier: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        linger: float = 0.2,
        rules: MeterRules = DEFAULT_RULES,
    ) -> None:
        self.host, self.port = parse_url(url)
        # The broker keeps this session (its subscription, QoS 1 messages) while away.
        self.identifier = identifier or mqtt.client_identifier(prefix.strip("/"), "rentals-meters")
        self.factory = factory
        self.prefix = prefix.strip("/")
        self.clock = clock
        self.linger = linger
        self.rules = rules
        self.stats = FeedStats()
        self.subscribed = asyncio.Event()
        self._queue: list[MeterReading] = []

    def handle(self, topic: str, payload: bytes) -> None:
        """Validate one message and queue its reading (counted and logged when bad)."""
        self.stats.messages += 1
        try:
            reading = parse(topic, payload, prefix=self.prefix, now=self.clock())
        except BadMessage as exc:
            self.stats.rejected[exc.reason] += 1
            log.warning("meter message dropped: %s", exc)
            return
        if reading is not None:
            self._queue.append(reading)

    def flush(self) -> None:
        """Write the queued readings in one transaction."""
        batch, self._queue = self._queue, []
        if not batch:
            return
        with unit_of_work(self.factory) as session:
            applied = add_meter_readings(session, batch, now=self.clock(), rules=self.rules)
        self.stats.added += applied.added
        self.stats.not_households += len(batch) - applied.households
        for reason in ("duplicates", "resets", "implausible", "late"):
            if count := getattr(applied, reason):
                self.stats.refused[reason] += count

    async def _flusher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.linger)
            try:
                await asyncio.to_thread(self.flush)
            except Exception:  # the database is away: count and log; the broker moved on
                self.stats.rejected["storage"] += 1
                log.exception("meter readings not stored")

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe and add readings until ``stop`` is set, reconnecting when needed."""
        flusher = asyncio.create_task(self._flusher(stop))
        await mqtt.keep_subscribed(
            self.host,
            self.port,
            f"{self.prefix}/meters/+/+",
            self._consume,
            stop,
            identifier=self.identifier,
            subscribed=self.subscribed,
            on_lost=None,
        )
        await flusher

    async def _consume(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            self.handle(str(message.topic), data)
