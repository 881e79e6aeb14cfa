"""How a request reaches another region's department, and how its reply comes back.

A step of a process can be worked by a department of another region (Jiangsu checks the
contribution years paid there). The platform writes a signed request (a compact JWS under
its region's issuing key); the other region answers with a signed reply that comes back
through ``services.service.receive_reply``. When that region runs its own deployment
(recognised here with its URL), the request is POSTed to its inbox and the reply comes back
to this platform's inbox (``services.service.crossing``). Otherwise ``InProcessTransport``
delivers by leaving the request in the shared table that the other region's department
reads (the demo city's simulated Jiangsu). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The media type of both messages (the JWS header's ``typ``).
MEDIA_TYPE = "twonets-service-message+jws"


@dataclass(frozen=True)
class Envelope:
    """A signed message on its way: who it is for and the JWS itself."""

    message_id: str
    kind: str  # request or reply
    to_region: str
    function: str
    jws: str


class Transport(Protocol):
    """Carries a signed request to another region's department."""

    def deliver(self, envelope: Envelope) -> None:
        """Hand the message over; raise to leave it pending for the next try."""


class InProcessTransport:
    """Regions in one deployment: the request waits in the shared table for the department."""

    def deliver(self, envelope: Envelope) -> None:
        """Nothing to carry: the other region's department reads its inbox from the table."""
