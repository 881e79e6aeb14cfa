"""Text messages to a phone on record: one small interface, and the adapters a city starts with.

A use case that must reach a person's phone (a sign-up code) takes an ``SmsSender`` and calls
``send``; which gateway carries the message is the deployment's choice
(``TWONETS_SMS_ADAPTER``). Two adapters ship: ``ConsoleSms`` prints each message on the
server's console (the demo: the person trying it reads the code there), and ``FileSms``
appends each message as one JSON line to a file (tests read it back; a city's own gateway
can consume it). A carrier's gateway is a third class with the same ``send``.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO

from twonets.core.config import Settings, SmsAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    """One text message as it was handed to the gateway."""

    phone: str
    text: str
    sent_at: datetime


class SmsSender(Protocol):
    """Something that delivers a text message to a phone number."""

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        """Hand ``text`` to the gateway for ``phone``."""


def masked_phone(phone: str) -> str:
    """A phone number as a console or a log may show it: ``138****5678``."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


class ConsoleSms:
    """Prints each message on a console (standard error unless told otherwise).

    The number is masked: the console is read by whoever runs the server, and it only needs
    the text to try the platform.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        """Print the message with the masked number."""
        stream = self._stream or sys.stderr
        print(f"SMS to {masked_phone(phone)}: {text}", file=stream, flush=True)
        log.info("text message handed to the console for %s", masked_phone(phone))


class FileSms:
    """Appends each message to a file as one JSON line (``phone``, ``text``, ``sent_at``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        """Append the message to the outbox file."""
        line = json.dumps(
            {"phone": phone, "text": text, "sent_at": now.isoformat()}, ensure_ascii=False
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")

    def messages(self) -> list[SmsMessage]:
        """Every message appended so far, oldest first."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                found.append(
                    SmsMessage(
                        phone=record["phone"],
                        text=record["text"],
                        sent_at=datetime.fromisoformat(record["sent_at"]),
                    )
                )
        return found


def sms_sender(settings: Settings) -> SmsSender:
    """The adapter the settings name."""
    if settings.sms_adapter is SmsAdapter.FILE:
        return FileSms(settings.effective_sms_outbox)
    return ConsoleSms()
