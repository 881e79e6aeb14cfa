"""Where notices to filers go out: e-mail through SMTP, text messages through an SMS adapter.

``SmtpMail`` hands each e-mail to an SMTP server with the standard library's client
(``smtplib``); ``LogMail`` only logs (a deployment without a mail server, the demo). Text
messages use the platform's SMS adapters (``twonets.core.sms``: the console, a file, or a
carrier's gateway with the same ``send``); ``LogSms`` only logs (the demo's seeding).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from twonets.core.config import Settings
from twonets.core.sms import SmsSender, masked_phone, sms_sender

log = logging.getLogger(__name__)


class MailSender(Protocol):
    """Something that delivers an e-mail; raises ``OSError`` (or ``smtplib``'s) on failure."""

    def send(self, to: str, subject: str, text: str, *, now: datetime) -> None:
        """Deliver ``text`` to ``to``."""


class SmtpMail:
    """Sends through an SMTP server (``smtplib``), one connection per message."""

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, to: str, subject: str, text: str, *, now: datetime) -> None:
        """Hand the message to the server; a refusal raises."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
        message.set_content(text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            server.send_message(message)


class LogMail:
    """Logs each e-mail instead of sending it (no mail server configured)."""

    def send(self, to: str, subject: str, text: str, *, now: datetime) -> None:
        """Log the message, the address masked."""
        name, _, domain = to.partition("@")
        log.info("e-mail to %s***@%s: %s", name[:1], domain, subject)


class LogSms:
    """Logs each text message instead of sending it (the demo's adapter)."""

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        """Log the message, the number masked."""
        log.info("text message to %s: %s", masked_phone(phone), text[:40])


@dataclass(frozen=True)
class Outlets:
    """The adapters notices to filers go out through."""

    mail: MailSender
    sms: SmsSender


def outlets_for(settings: Settings) -> Outlets:
    """The adapters the settings name: SMTP when a server is configured, else the log."""
    mail: MailSender = (
        SmtpMail(settings.smtp_host, settings.smtp_port, settings.mail_from)
        if settings.smtp_host
        else LogMail()
    )
    return Outlets(mail=mail, sms=sms_sender(settings))


__all__ = ["LogMail", "LogSms", "MailSender", "Outlets", "SmtpMail", "outlets_for"]
