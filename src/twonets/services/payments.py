"""How a service's one payment is taken: an adapter, and the demo's stand-in for a bank.

The tax-and-fees filing ends with one payment of everything due. The platform asks a
``PaymentProvider`` to charge the payer and gets a receipt back; a real provider (the
treasury's unified payment platform) would be another implementation of the same method.
Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PaymentReceipt:
    """What the provider says about a charge: its transaction and the amount taken."""

    transaction_id: str
    amount: float
    paid_at: datetime


class PaymentRefused(Exception):
    """The provider refused the charge (the message says why)."""


class PaymentProvider(Protocol):
    """Charges a payer once for a reference; charging the same reference again is refused."""

    def charge(self, *, reference: str, payer: str, amount: float, now: datetime) -> PaymentReceipt:
        """Take ``amount`` yuan from ``payer`` for ``reference``."""


class DemoPayments:
    """A stand-in bank for the demo and the tests: every charge succeeds, once per reference."""

    def __init__(self) -> None:
        self.charged: dict[str, PaymentReceipt] = {}

    def charge(self, *, reference: str, payer: str, amount: float, now: datetime) -> PaymentReceipt:
        """A receipt whose transaction id is derived from the reference, payer and amount."""
        if amount < 0:
            raise PaymentRefused(f"the amount {amount} is negative")
        if reference in self.charged:
            raise PaymentRefused(f"{reference} is paid already")
        digest = hashlib.sha256(f"{reference}|{payer}|{amount:.2f}".encode()).hexdigest()
        receipt = PaymentReceipt(f"DEMO-{digest[:16].upper()}", round(amount, 2), now)
        self.charged[reference] = receipt
        return receipt
