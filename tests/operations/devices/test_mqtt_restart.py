"""The MQTT broker restarted: the subscriber reconnects to its session and loses no QoS 1
message, including those published while it was still reconnecting.

A Mosquitto of the test's own (free port, persistence in a temporary folder) is restarted,
so that the shared broker other tests use is never disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine

from conftest import unavailable
from local_servers import free_port, wait_until_listening
from twonets.core.db import make_session_factory
from twonets.operations.devices.mqtt_intake import MqttIntake, database_writer

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


class Broker:
    """A private Mosquitto that keeps its sessions on disk, and can be restarted."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.port = free_port()
        self.binary, self.config = binary, folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {folder}/\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until_listening(self.port, self.process, "the private mosquitto")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # Mosquitto writes its sessions to disk on the way out
            self.process.wait(timeout=10)
            self.process = None


async def _publish(port: int, prefix: str, first: int, count: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for i in range(first, first + count):
            await client.publish(
                f"{prefix}/meters/electricity/EM-{i}", f'{{"value": {i}, "unit": "kWh"}}', qos=1
            )


@pytest.mark.asyncio
async def test_no_qos1_message_is_lost_when_the_broker_restarts(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the subscriber is the same on both databases; one is enough for MQTT")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        unavailable("mosquitto", "the binary is not installed")
    # Mosquitto drops root for its own user: its folder must be one that user can write.
    folder = Path(tempfile.mkdtemp(prefix="twonets-mqtt-"))
    folder.chmod(0o777)
    broker = Broker(binary, folder)
    broker.start()
    prefix = f"twonets-restart-{uuid.uuid4().hex[:8]}"
    intake = MqttIntake(
        f"mqtt://127.0.0.1:{broker.port}",
        database_writer(make_session_factory(engine), lambda: NOW),
        prefix=prefix,
        identifier=f"{prefix}-devices",
        clock=lambda: NOW,
        linger=0.01,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(intake.run(stop))
    try:
        await asyncio.wait_for(intake.subscribed.wait(), 10)
        await _publish(broker.port, prefix, 0, 3)
        for _ in range(200):
            if intake.stats.readings == 3:
                break
            await asyncio.sleep(0.05)
        assert intake.stats.readings == 3

        broker.stop()
        broker.start()
        # Published before the subscriber is back: the broker queues them in its session.
        await _publish(broker.port, prefix, 3, 5)
        for _ in range(600):
            if intake.stats.readings == 8:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    assert intake.stats.reconnects >= 1
    assert intake.stats.readings == 8
